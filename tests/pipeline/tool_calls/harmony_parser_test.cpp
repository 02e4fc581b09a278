// gpt-oss's harmony replies as vLLM's chat API reports them: the analysis channel is `reasoning`,
// the final channel content, commentary messages to functions.NAME tool calls. Each reply is fed
// whole and cut into every piece size, so that markers split across tokens are covered; the pieces
// must add up to the whole message.
#include <catch2/catch.hpp>

#include <string>

#include "pipeline/tool_calls/harmony_parser.hpp"
#include "pipeline/tool_calls/tool_call_parser.hpp"
#include "tests/pipeline/tool_calls/parser_pieces.hpp"

using namespace troupe;
using troupe::test::arguments_of;

namespace {

// The reply fed in pieces of `piece` bytes, the deltas appended.
MessageDelta streamed(const std::string& text, std::size_t piece, bool calls) {
  HarmonyParser parser(calls);
  return test::fed_in_pieces(parser, text, piece);
}

}  // namespace

TEST_CASE("harmony: analysis is reasoning, final is content, markers are removed", "[tool_calls][harmony]") {
  // As gpt-oss answers after the prompt's <|start|>assistant; the reply's <|return|> is an
  // end-of-generation token whose text the output leaves out.
  const std::string reply =
      "<|channel|>analysis<|message|>User asks: 2+2. Simple: 4 < 5.<|end|>"
      "<|start|>assistant<|channel|>final<|message|>2 + 2 = **4**.";
  for (std::size_t piece : {1, 2, 3, 5, 11, 1000}) {
    INFO("piece " << piece);
    const MessageDelta all = streamed(reply, piece, false);
    CHECK(all.reasoning == "User asks: 2+2. Simple: 4 < 5.");
    CHECK(all.content == "2 + 2 = **4**.");
    CHECK(all.tool_calls.empty());
  }
  const ParsedMessage message = parse_message(ToolCallMode{ToolCallMode::Kind::None, ToolCallFormat::Harmony}, reply);
  REQUIRE(message.content);
  CHECK(*message.content == "2 + 2 = **4**.");
  REQUIRE(message.reasoning);
  CHECK(*message.reasoning == "User asks: 2+2. Simple: 4 < 5.");
}

TEST_CASE("harmony: a commentary message to a function is a tool call", "[tool_calls][harmony]") {
  const std::string reply =
      "<|channel|>analysis<|message|>Need weather.<|end|>"
      "<|start|>assistant<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>"
      "{\"city\": \"Paris\"}";  // then <|call|>, an end-of-generation token
  for (std::size_t piece : {1, 4, 7, 1000}) {
    INFO("piece " << piece);
    const MessageDelta all = streamed(reply, piece, true);
    CHECK(all.reasoning == "Need weather.");
    CHECK(all.content.empty());
    REQUIRE_FALSE(all.tool_calls.empty());
    CHECK(all.tool_calls.front().index == 0);
    CHECK(all.tool_calls.front().name == "get_weather");
    CHECK(all.tool_calls.front().arguments == "");  // OpenAI's first delta of a call
    CHECK(arguments_of(all, 0) == "{\"city\": \"Paris\"}");
  }
  const ParsedMessage message = parse_message(ToolCallMode{ToolCallMode::Kind::Auto, ToolCallFormat::Harmony}, reply);
  CHECK_FALSE(message.content);
  REQUIRE(message.tool_calls.size() == 1);
  CHECK(message.tool_calls[0].name == "get_weather");
  CHECK(message.tool_calls[0].arguments == "{\"city\": \"Paris\"}");
  CHECK(message.tool_calls[0].id.starts_with("chatcmpl-tool-"));
  // The recipient in the role part of the header, as the template writes past calls.
  const ParsedMessage role_form = parse_message(
      ToolCallMode{ToolCallMode::Kind::Auto, ToolCallFormat::Harmony},
      "<|start|>assistant to=functions.lookup<|channel|>commentary json<|message|>{\"q\": 1}<|call|>");
  REQUIRE(role_form.tool_calls.size() == 1);
  CHECK(role_form.tool_calls[0].name == "lookup");
  CHECK(role_form.tool_calls[0].arguments == "{\"q\": 1}");
}

TEST_CASE("harmony: without tools a call's body is content; text without a header is content", "[tool_calls][harmony]") {
  const MessageDelta no_tools =
      streamed("<|channel|>commentary to=functions.f <|constrain|>json<|message|>{\"a\": 1}", 3, false);
  CHECK(no_tools.tool_calls.empty());
  CHECK(no_tools.content == "{\"a\": 1}");
  CHECK(streamed("Plain answer, no channels.", 4, false).content == "Plain answer, no channels.");
  // A preamble on commentary, then the final answer.
  const MessageDelta preamble = streamed(
      "<|channel|>commentary<|message|>Checking.<|end|><|start|>assistant<|channel|>final<|message|>Done.", 2, true);
  CHECK(preamble.content == "Checking.Done.");
  // "<|" that begins no marker stays text; a reply cut inside a header says nothing of it.
  CHECK(streamed("<|channel|>final<|message|>a <|b|> c", 1, false).content == "a <|b|> c");
  const MessageDelta cut = streamed("<|channel|>analysis<|message|>thinking<|end|><|start|>assistant<|chan", 3, false);
  CHECK(cut.reasoning == "thinking");
  CHECK(cut.content.empty());
}
