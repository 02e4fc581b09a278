// Kimi K2's tool calls (kimi_k2_call_parser.hpp): a <|tool_calls_section_begin|> section of
// <|tool_call_begin|>functions.NAME:N<|tool_call_argument_begin|>{...}<|tool_call_end|> calls, as its
// chat template writes them (transformers itself cannot render them from the templates llama.cpp
// keeps: they append to a list, which Jinja's sandbox refuses), and its thinking (--reasoning-parser
// kimi_k2). Fed whole and cut into pieces of every size, a reply gives
// the same message.
#include <catch2/catch.hpp>

#include <boost/json.hpp>
#include <string>

#include "pipeline/tool_calls/tool_call_parser.hpp"
#include "tests/pipeline/tool_calls/parser_pieces.hpp"
#include "tests/support/fixtures.hpp"

using namespace troupe;
using troupe::test::arguments_of;
namespace json = boost::json;

namespace {

const ToolCallMode kKimi{ToolCallMode::Kind::Auto, ToolCallFormat::KimiK2};

MessageDelta streamed(const ToolCallMode& mode, const std::string& text, std::size_t piece) {
  return test::fed_in_pieces(*make_tool_call_parser(mode), text, piece);
}

const std::string kTwoCalls =
    "Let me check both.<|tool_calls_section_begin|><|tool_call_begin|>functions.get_weather:0"
    "<|tool_call_argument_begin|>{\"city\": \"Zürich\", \"days\": 3}<|tool_call_end|>\n"
    "<|tool_call_begin|> functions.search:1 <|tool_call_argument_begin|> {\"q\": \"a <b> c\"} <|tool_call_end|>"
    "<|tool_calls_section_end|>";

}  // namespace

TEST_CASE("kimi_k2: calls in a section, their ids the model's, whole and in pieces", "[tool_calls][kimi_k2]") {
  const ParsedMessage m = parse_message(kKimi, kTwoCalls);
  CHECK(m.content == std::optional<std::string>("Let me check both."));
  REQUIRE(m.tool_calls.size() == 2);
  CHECK((m.tool_calls[0].id == "functions.get_weather:0" && m.tool_calls[0].name == "get_weather"));
  CHECK(m.tool_calls[0].arguments == R"({"city": "Zürich", "days": 3})");
  CHECK((m.tool_calls[1].id == "functions.search:1" && m.tool_calls[1].name == "search"));
  CHECK(m.tool_calls[1].arguments == R"({"q": "a <b> c"})");
  for (std::size_t piece : {1, 2, 3, 5, 13, 1000}) {
    INFO("pieces of " << piece);
    const MessageDelta all = streamed(kKimi, kTwoCalls, piece);
    CHECK(all.content == "Let me check both.");
    CHECK(arguments_of(all, 0) == R"({"city": "Zürich", "days": 3})");
    CHECK(arguments_of(all, 1) == R"({"q": "a <b> c"})");
  }
  // The singular spelling of the section's tags, which vLLM reads too; a section left open at the end.
  const ParsedMessage singular = parse_message(
      kKimi, "<|tool_call_section_begin|><|tool_call_begin|>functions.f:0<|tool_call_argument_begin|>{}<|tool_call_end|>");
  REQUIRE(singular.tool_calls.size() == 1);
  CHECK((singular.tool_calls[0].name == "f" && singular.tool_calls[0].arguments == "{}"));
  CHECK_FALSE(singular.content.has_value());
  // Text after the section's end is dropped, as vLLM drops it.
  CHECK(parse_message(kKimi, kTwoCalls + " Done.").tool_calls.size() == 2);
}

TEST_CASE("kimi_k2: text and malformed calls are content", "[tool_calls][kimi_k2]") {
  for (const std::string text : {std::string("It is sunny in Paris."), std::string("a <|tool_call"),
                                 std::string("<|tool_calls_section_begin|><|tool_call_begin|>functions.f:0"
                                             "<|tool_call_argument_begin|>{\"a\": <|tool_call_end|>"),
                                 std::string("<|tool_calls_section_begin|><|tool_call_begin|>:0"
                                             "<|tool_call_argument_begin|>{}<|tool_call_end|>"),
                                 std::string("<|tool_calls_section_begin|>stray text<|tool_calls_section_end|>"),
                                 std::string("<|tool_calls_section_begin|><|tool_call_begin|>functions.f:0"
                                             "<|tool_call_argument_begin|>{\"a\": 1}")}) {
    INFO(text);
    const ParsedMessage m = parse_message(kKimi, text);
    CHECK(m.tool_calls.empty());
    CHECK(m.content == std::optional<std::string>(text));
  }
}

TEST_CASE("kimi_k2: thinking as deepseek_r1's, a tool-call section ending it", "[tool_calls][kimi_k2]") {
  ToolCallMode mode;
  mode.reasoning = ReasoningFormat::KimiK2;
  for (const std::string reply : {std::string("<think>The user wants Paris.</think>Sunny."), std::string("The user wants Paris.</think>Sunny.")}) {
    for (std::size_t piece : {1, 3, 1000}) {
      INFO(reply << " in pieces of " << piece);
      const MessageDelta all = streamed(mode, reply, piece);
      CHECK(all.reasoning == "The user wants Paris.");
      CHECK(all.content == "Sunny.");
    }
  }
  ToolCallMode with_calls = kKimi;
  with_calls.reasoning = ReasoningFormat::KimiK2;
  const std::string unclosed = "<think>A lookup.<|tool_calls_section_begin|><|tool_call_begin|>functions.get_time:0"
                               "<|tool_call_argument_begin|>{}<|tool_call_end|><|tool_calls_section_end|>";
  const ParsedMessage m = parse_message(with_calls, unclosed);
  CHECK(m.reasoning == std::optional<std::string>("A lookup."));
  REQUIRE(m.tool_calls.size() == 1);
  CHECK(m.tool_calls[0].name == "get_time");
  for (std::size_t piece : {1, 3, 1000}) {
    const MessageDelta all = streamed(with_calls, unclosed, piece);
    CHECK(all.reasoning == "A lookup.");
    CHECK(arguments_of(all, 0) == "{}");
  }
}

TEST_CASE("kimi_k2 is a --tool-call-parser and a --reasoning-parser name, and its template's format", "[tool_calls][kimi_k2]") {
  ToolCallFormat format = ToolCallFormat::Hermes;
  REQUIRE(tool_call_format_from_name("kimi_k2", format));
  CHECK(format == ToolCallFormat::KimiK2);
  CHECK(tool_call_format_name(ToolCallFormat::KimiK2) == "kimi_k2");
  ReasoningFormat reasoning = ReasoningFormat::None;
  bool harmony = true;
  REQUIRE(reasoning_format_from_name("kimi_k2", reasoning, harmony));
  CHECK(reasoning == ReasoningFormat::KimiK2);
  for (const char* name : {"chat_template/kimi_k2.json", "chat_template/kimi_k2_thinking.json"}) {
    const json::object fixture = test::read_json(test::fixture(name)).as_object();
    CHECK(tool_call_format_of_template(std::string(fixture.at("template").as_string())) == ToolCallFormat::KimiK2);
  }
}
