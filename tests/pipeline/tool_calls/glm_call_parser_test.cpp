// GLM-4.5's tool calls (vLLM's glm45 parser): a name line, then <arg_key>/<arg_value> pairs whose
// values are text when the schema says string and JSON otherwise; arguments in json.dumps form,
// streamed one argument at a time; fed whole and cut into every piece size, the deltas must add up
// to the whole message.
#include <catch2/catch.hpp>

#include <string>

#include "pipeline/tool_calls/glm_call_parser.hpp"
#include "pipeline/tool_calls/tool_call_parser.hpp"
#include "tests/pipeline/tool_calls/parser_pieces.hpp"

using namespace troupe;
using troupe::test::arguments_of;

namespace {

ToolCallMode glm() {
  ToolCallMode mode{ToolCallMode::Kind::Auto, ToolCallFormat::Glm45};
  mode.parameter_types = {{"get_weather", {{"city", "string"}, {"days", "integer"}, {"detail", "boolean"}}},
                          {"search", {{"query", "string"}, {"filters", "object"}, {"code", "string"}}}};
  return mode;
}

MessageDelta streamed(const std::string& text, std::size_t piece) { return test::fed_in_pieces(*make_tool_call_parser(glm()), text, piece); }

}  // namespace

TEST_CASE("glm45: arguments are text when the schema says string, else the JSON they are", "[tool_calls][glm45]") {
  CHECK(glm_argument_json(" Paris ", true) == R"("Paris")");
  CHECK(glm_argument_json("42", true) == R"("42")");       // a string parameter stays text
  CHECK(glm_argument_json("null", true) == R"("null")");
  CHECK(glm_argument_json("42", false) == "42");
  CHECK(glm_argument_json(R"({"a":[1,2.5]})", false) == R"({"a": [1, 2.5]})");
  CHECK(glm_argument_json("True", false) == "true");       // Python's literals
  CHECK(glm_argument_json("None", false) == "null");
  CHECK(glm_argument_json("red fox", false) == R"("red fox")");  // not JSON: text
}

TEST_CASE("glm45: calls after text, streamed and whole", "[tool_calls][glm45]") {
  const std::string reply =
      "Let me check.\n<tool_call>get_weather\n<arg_key>city</arg_key>\n<arg_value>Zürich</arg_value>\n"
      "<arg_key>days</arg_key>\n<arg_value>3</arg_value>\n<arg_key>detail</arg_key>\n<arg_value>true</arg_value>\n"
      "</tool_call>\n<tool_call>search\n<arg_key>code</arg_key>\n<arg_value>if a < b: print(\"x\")</arg_value>\n"
      "<arg_key>filters</arg_key>\n<arg_value>{\"lang\": \"py\"}</arg_value>\n<arg_key>extra</arg_key>\n"
      "<arg_value>7</arg_value>\n</tool_call>";
  const std::string first = R"({"city": "Zürich", "days": 3, "detail": true})";
  const std::string second = R"j({"code": "if a < b: print(\"x\")", "filters": {"lang": "py"}, "extra": 7})j";
  for (std::size_t piece : {1, 2, 3, 7, 13, 1000}) {
    INFO("piece " << piece);
    const MessageDelta all = streamed(reply, piece);
    CHECK(all.content == "Let me check.\n");
    REQUIRE(all.tool_calls.size() >= 2);
    CHECK(all.tool_calls.front().name == "get_weather");
    CHECK(arguments_of(all, 0) == first);
    CHECK(arguments_of(all, 1) == second);
  }
  const ParsedMessage message = parse_message(glm(), reply);
  REQUIRE(message.tool_calls.size() == 2);
  CHECK(message.tool_calls[0].name == "get_weather");
  CHECK(message.tool_calls[0].arguments == first);
  CHECK(message.tool_calls[1].name == "search");
  CHECK(message.tool_calls[1].arguments == second);
  CHECK(message.content == "Let me check.\n");
}

TEST_CASE("glm45: GLM-4.7's key on the name's line, a call without arguments, a cut reply, plain text",
          "[tool_calls][glm45]") {
  const ParsedMessage inline_key =
      parse_message(glm(), "<tool_call>get_weather<arg_key>city</arg_key><arg_value>Oslo</arg_value></tool_call>");
  REQUIRE(inline_key.tool_calls.size() == 1);
  CHECK(inline_key.tool_calls[0].name == "get_weather");
  CHECK(inline_key.tool_calls[0].arguments == R"({"city": "Oslo"})");
  CHECK_FALSE(inline_key.content);
  const ParsedMessage bare = parse_message(glm(), "<tool_call>search\n</tool_call>");
  REQUIRE(bare.tool_calls.size() == 1);
  CHECK(bare.tool_calls[0].arguments == "{}");
  const MessageDelta cut = streamed("<tool_call>search\n<arg_key>query</arg_key>\n<arg_value>red f", 3);
  CHECK(arguments_of(cut, 0) == R"({"query": "red f"})");
  const ParsedMessage text = parse_message(glm(), "No tool: 2 < 3 and <b> is bold.");
  CHECK(text.tool_calls.empty());
  CHECK(text.content == "No tool: 2 < 3 and <b> is bold.");
  // GLM's templates are read as this format (they write <arg_key>, and <tool_call> too).
  CHECK(tool_call_format_of_template("<tool_call>{function-name}\n<arg_key>{arg-key-1}</arg_key>") == ToolCallFormat::Glm45);
  ToolCallFormat named;
  REQUIRE(tool_call_format_from_name("glm45", named));
  CHECK(named == ToolCallFormat::Glm45);
}
