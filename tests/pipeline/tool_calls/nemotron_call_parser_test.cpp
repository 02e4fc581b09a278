// Nemotron Nano 2's tool calls (nemotron_call_parser.hpp), as NVIDIA's nemotron_json parser for
// vLLM reads them: text, then <TOOLCALL> and a JSON array of {"name", "arguments"} objects, then
// </TOOLCALL>; the text before the tag is content. Fed whole and cut into pieces of every size, a
// reply gives the same message.
#include <catch2/catch.hpp>

#include <string>

#include "pipeline/tool_calls/tool_call_parser.hpp"
#include "tests/pipeline/tool_calls/parser_pieces.hpp"

using namespace troupe;
using troupe::test::arguments_of;

namespace {

const ToolCallMode kNemotron{ToolCallMode::Kind::Auto, ToolCallFormat::NemotronJson};

MessageDelta streamed(const std::string& text, std::size_t piece) {
  return test::fed_in_pieces(*make_tool_call_parser(kNemotron), text, piece);
}

}  // namespace

TEST_CASE("nemotron_json: a JSON list of calls in <TOOLCALL>, the text before it content", "[tool_calls][nemotron]") {
  const std::string calls = R"(<TOOLCALL>[{"name": "get_weather", "arguments": {"city":"Zürich","days":2}}, )"
                            R"({"name": "get_time", "arguments": {}}]</TOOLCALL>)";
  for (const std::string before : {"", "Let me look that up.\n"}) {
    const std::string reply = before + calls;
    INFO("reply: " << reply);
    const ParsedMessage m = parse_message(kNemotron, reply);
    CHECK(m.content == (before.empty() ? std::nullopt : std::optional<std::string>(before)));
    REQUIRE(m.tool_calls.size() == 2);
    CHECK(m.tool_calls[0].name == "get_weather");
    CHECK(m.tool_calls[0].arguments == R"({"city": "Zürich", "days": 2})");
    CHECK(m.tool_calls[1].name == "get_time");
    CHECK(m.tool_calls[1].arguments == "{}");
    for (std::size_t piece : {1, 2, 3, 5, 13, 1000}) {
      INFO("pieces of " << piece);
      const MessageDelta all = streamed(reply, piece);
      CHECK(all.content == before);
      CHECK(arguments_of(all, 0) == m.tool_calls[0].arguments);
      CHECK(arguments_of(all, 1) == "{}");
    }
  }
}

TEST_CASE("nemotron_json: a reply without calls, or whose list does not read as calls, is content as written",
          "[tool_calls][nemotron]") {
  for (const std::string reply : {"The weather in Paris is sunny.", "Use <TOOL for that.", "<TOOLCALL>not a list",
                                  R"(<TOOLCALL>[{"name": 1, "arguments": {}}]</TOOLCALL>)", "a < b"}) {
    INFO("reply: " << reply);
    const ParsedMessage m = parse_message(kNemotron, reply);
    CHECK(m.tool_calls.empty());
    CHECK(m.content == std::optional<std::string>(reply));
  }
  for (std::size_t piece : {1, 4, 100}) {
    CHECK(streamed("The weather in Paris is sunny.", piece).content == "The weather in Paris is sunny.");
    CHECK(streamed("Use <TOOL for that.", piece).content == "Use <TOOL for that.");
    CHECK(streamed("<TOOLCALL> not a list", piece).content == "<TOOLCALL> not a list");
  }
}

TEST_CASE("nemotron_json is a --tool-call-parser name; nemotron_v3 a --reasoning-parser name", "[tool_calls][nemotron]") {
  ToolCallFormat format = ToolCallFormat::Hermes;
  REQUIRE(tool_call_format_from_name("nemotron_json", format));
  CHECK(format == ToolCallFormat::NemotronJson);
  CHECK(tool_call_format_name(ToolCallFormat::NemotronJson) == "nemotron_json");
  ReasoningFormat reasoning = ReasoningFormat::None;
  bool harmony = true;
  REQUIRE(reasoning_format_from_name("nemotron_v3", reasoning, harmony));
  CHECK(reasoning == ReasoningFormat::Qwen3);
  CHECK_FALSE(harmony);
}
