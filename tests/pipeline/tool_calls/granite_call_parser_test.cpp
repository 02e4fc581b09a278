// Granite 3.x's tool calls (granite_call_parser.hpp), read as vLLM's granite parser reads them: an
// optional <|tool_call|> or <tool_call>, then a JSON array of {"name", "arguments"} objects, whose
// arguments come out as json.dumps writes them; anything else is the reply as written. Fed whole
// and cut into pieces of every size, a reply gives the same message.
#include <catch2/catch.hpp>

#include <string>

#include "pipeline/tool_calls/tool_call_parser.hpp"
#include "tests/pipeline/tool_calls/parser_pieces.hpp"

using namespace troupe;
using troupe::test::arguments_of;

namespace {

const ToolCallMode kGranite{ToolCallMode::Kind::Auto, ToolCallFormat::Granite};

MessageDelta streamed(const std::string& text, std::size_t piece) {
  return test::fed_in_pieces(*make_tool_call_parser(kGranite), text, piece);
}

}  // namespace

TEST_CASE("granite: a JSON list of calls after <|tool_call|>, <tool_call> or nothing; content null",
          "[tool_calls][granite]") {
  const std::string calls = R"([{"name": "get_weather", "arguments": {"city":"Zürich","days":2}},
    {"arguments": {}, "name": "get_time"}])";
  for (const std::string prefix : {"<|tool_call|>", " <|tool_call|>\n", "<tool_call>", "", "\n"}) {
    const std::string reply = prefix + calls;
    INFO("reply: " << reply);
    const ParsedMessage m = parse_message(kGranite, reply);
    CHECK_FALSE(m.content.has_value());
    REQUIRE(m.tool_calls.size() == 2);
    CHECK(m.tool_calls[0].name == "get_weather");
    CHECK(m.tool_calls[0].arguments == R"({"city": "Zürich", "days": 2})");
    CHECK(m.tool_calls[1].name == "get_time");
    CHECK(m.tool_calls[1].arguments == "{}");
    CHECK(m.tool_calls[0].id != m.tool_calls[1].id);
    for (std::size_t piece : {1, 2, 3, 5, 13, 1000}) {
      INFO("pieces of " << piece);
      const MessageDelta all = streamed(reply, piece);
      CHECK(all.content.empty());
      CHECK(arguments_of(all, 0) == m.tool_calls[0].arguments);
      CHECK(arguments_of(all, 1) == "{}");
    }
  }
}

TEST_CASE("granite: a reply that is not a list of calls is content, as written", "[tool_calls][granite]") {
  for (const std::string reply : {"The weather in Paris is sunny.", "  Sure.", "<|tool_call|>I cannot call that.",
                                  "[1, 2] are numbers", R"(<|tool_call|>[{"name": 1, "arguments": {}}])",
                                  R"([{"name": "f", "arguments": {"a": 1})", "<|tool_", " \n"}) {
    INFO("reply: " << reply);
    const ParsedMessage m = parse_message(kGranite, reply);
    CHECK(m.tool_calls.empty());
    CHECK(m.content == std::optional<std::string>(reply));
  }
  // Streamed, text is content as it arrives (a reply's first characters decide).
  for (std::size_t piece : {1, 4, 100}) {
    CHECK(streamed("The weather in Paris is sunny.", piece).content == "The weather in Paris is sunny.");
    CHECK(streamed("<|tool_call|>I cannot call that.", piece).content == "<|tool_call|>I cannot call that.");
  }
}

TEST_CASE("granite is a --tool-call-parser name", "[tool_calls][granite]") {
  ToolCallFormat format = ToolCallFormat::Hermes;
  REQUIRE(tool_call_format_from_name("granite", format));
  CHECK(format == ToolCallFormat::Granite);
  CHECK(tool_call_format_name(ToolCallFormat::Granite) == "granite");
}
