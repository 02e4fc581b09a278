// The pythonic tool calls (python_calls.hpp) against Python's own parser: every case of
// tests/fixtures/tool_calls/pythonic_calls.json (tools/make_pythonic_call_fixtures.py: ast.parse and
// json.dumps, read as vLLM's pythonic and lfm2 parsers read them) gives the same calls, or none; and
// LFM2's and the pythonic replies (pythonic_call_parser.hpp), fed whole and cut into every piece
// size, give the same message.
#include <catch2/catch.hpp>

#include <string>

#include "pipeline/tool_calls/python_calls.hpp"
#include "pipeline/tool_calls/tool_call_parser.hpp"
#include "tests/pipeline/tool_calls/parser_pieces.hpp"
#include "tests/support/fixtures.hpp"

using namespace troupe;
using troupe::test::arguments_of;

namespace {

MessageDelta streamed(ToolCallFormat format, const std::string& text, std::size_t piece) {
  return test::fed_in_pieces(*make_tool_call_parser(ToolCallMode{ToolCallMode::Kind::Auto, format}), text, piece);
}

ParsedMessage whole(ToolCallFormat format, const std::string& text) {
  return parse_message(ToolCallMode{ToolCallMode::Kind::Auto, format}, text);
}

}  // namespace

TEST_CASE("pythonic calls read as Python reads them", "[tool_calls][pythonic]") {
  const auto doc = test::read_json(test::fixture("tool_calls/pythonic_calls.json")).as_object();
  int lists = 0;
  for (const auto& entry : doc.at("cases").as_array()) {
    const auto& c = entry.as_object();
    const std::string text(c.at("text").as_string());
    INFO("text: " << text);
    const auto calls = python_calls(text);
    if (c.at("calls").is_null()) {
      CHECK_FALSE(calls.has_value());
      continue;
    }
    ++lists;
    REQUIRE(calls.has_value());
    const auto& expected = c.at("calls").as_array();
    REQUIRE(calls->size() == expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i) {
      CHECK(calls->at(i).name == std::string(expected[i].at("name").as_string()));
      CHECK(calls->at(i).arguments == std::string(expected[i].at("arguments").as_string()));
      CHECK(calls->at(i).id.starts_with("chatcmpl-tool-"));
    }
  }
  CHECK(lists >= 15);
  // Nesting without end (a model's text can do anything) is not calls, and does not exhaust the stack.
  CHECK_FALSE(python_calls("[f(a=" + std::string(100000, '[') + ")]").has_value());
  CHECK(python_calls("[f(a=" + std::string(60, '[') + std::string(60, ']') + ")]").has_value());
}

TEST_CASE("lfm2: text, a block of calls, text; streamed in any pieces as whole", "[tool_calls][pythonic]") {
  const std::string reply =
      "Checking both.<|tool_call_start|>[get_weather(city=\"Zürich\", days=3), get_time(zone='CET')]<|tool_call_end|>"
      " One moment.";
  const std::string first = R"({"city": "Zürich", "days": 3})";
  for (std::size_t piece : {1, 2, 3, 5, 19, 1000}) {
    INFO("piece " << piece);
    const MessageDelta all = streamed(ToolCallFormat::Lfm2, reply, piece);
    CHECK(all.content == "Checking both. One moment.");
    REQUIRE(all.tool_calls.size() == 4);
    CHECK(all.tool_calls[0].name == "get_weather");
    CHECK(all.tool_calls[0].arguments == "");  // OpenAI's shape: the name's delta has empty arguments
    CHECK(all.tool_calls[2].name == "get_time");
    CHECK(arguments_of(all, 0) == first);
    CHECK(arguments_of(all, 1) == R"({"zone": "CET"})");
  }
  const ParsedMessage message = whole(ToolCallFormat::Lfm2, reply);
  CHECK(message.content == "Checking both. One moment.");
  REQUIRE(message.tool_calls.size() == 2);
  CHECK(message.tool_calls[0].arguments == first);
  CHECK(message.tool_calls[0].id != message.tool_calls[1].id);
}

TEST_CASE("lfm2: only calls gives null content; an echo capped by a second end marker is dropped", "[tool_calls][pythonic]") {
  const std::string call = "<|tool_call_start|>[f(a=1)]<|tool_call_end|>";
  const ParsedMessage only = whole(ToolCallFormat::Lfm2, call);
  CHECK_FALSE(only.content.has_value());
  REQUIRE(only.tool_calls.size() == 1);
  const std::string echoed = call + "[f(a=1)]<|tool_call_end|>Done.";
  for (std::size_t piece : {1, 4, 1000}) {
    const MessageDelta all = streamed(ToolCallFormat::Lfm2, echoed, piece);
    CHECK(all.content == "Done.");
    CHECK(arguments_of(all, 0) == R"({"a": 1})");
    CHECK(all.tool_calls.size() == 2);
  }
  CHECK(whole(ToolCallFormat::Lfm2, echoed).content == "Done.");
}

TEST_CASE("lfm2: a block that is not calls makes the reply content; a cut-off block is read as it is", "[tool_calls][pythonic]") {
  const std::string bad = "Hi <|tool_call_start|>[f(a=x)]<|tool_call_end|> there";
  const ParsedMessage message = whole(ToolCallFormat::Lfm2, bad);
  CHECK(message.content == bad);
  CHECK(message.tool_calls.empty());
  const MessageDelta all = streamed(ToolCallFormat::Lfm2, bad, 3);
  CHECK(all.content == bad);
  CHECK(all.tool_calls.empty());
  // No end marker (max_tokens, or a stop on it): the block is what came.
  const ParsedMessage cut = whole(ToolCallFormat::Lfm2, "<|tool_call_start|>[f(a=1)]");
  REQUIRE(cut.tool_calls.size() == 1);
  CHECK(cut.tool_calls[0].arguments == R"({"a": 1})");
  // Without a block, all text; a partial marker at the end is text too.
  CHECK(whole(ToolCallFormat::Lfm2, "Plain <|tool_call").content == "Plain <|tool_call");
  CHECK(streamed(ToolCallFormat::Lfm2, "Plain <|tool_call", 2).content == "Plain <|tool_call");
}

TEST_CASE("pythonic: a reply that is a list of calls, or content", "[tool_calls][pythonic]") {
  const std::string reply = "[get_weather(city='Paris'), get_time()]";
  for (std::size_t piece : {1, 7, 1000}) {
    const MessageDelta all = streamed(ToolCallFormat::Pythonic, reply, piece);
    CHECK(all.content.empty());
    CHECK(arguments_of(all, 0) == R"({"city": "Paris"})");
    CHECK(arguments_of(all, 1) == "{}");
  }
  const ParsedMessage message = whole(ToolCallFormat::Pythonic, " \n" + reply);
  REQUIRE(message.tool_calls.size() == 2);
  CHECK_FALSE(message.content.has_value());
  CHECK(whole(ToolCallFormat::Pythonic, "The answer is [1].").content == "The answer is [1].");
  CHECK(streamed(ToolCallFormat::Pythonic, "The answer is [1].", 2).content == "The answer is [1].");
  const ParsedMessage not_calls = whole(ToolCallFormat::Pythonic, "[1, 2] are numbers");
  CHECK(not_calls.content == "[1, 2] are numbers");
  CHECK(not_calls.tool_calls.empty());
}

TEST_CASE("lfm2 and pythonic are --tool-call-parser names", "[tool_calls][pythonic]") {
  ToolCallFormat format = ToolCallFormat::Hermes;
  REQUIRE(tool_call_format_from_name("lfm2", format));
  CHECK(format == ToolCallFormat::Lfm2);
  REQUIRE(tool_call_format_from_name("pythonic", format));
  CHECK(format == ToolCallFormat::Pythonic);
  CHECK(tool_call_format_name(ToolCallFormat::Lfm2) == "lfm2");
}
