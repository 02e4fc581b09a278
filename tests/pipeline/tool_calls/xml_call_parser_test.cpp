// Qwen3-Coder's XML-style tool calls (vLLM's qwen3_coder parser): parameters converted by their
// schema type, arguments in json.dumps form, streamed one parameter at a time; fed whole and cut
// into every piece size, the deltas must add up to the whole message.
#include <catch2/catch.hpp>

#include <string>

#include "pipeline/tool_calls/tool_call_parser.hpp"
#include "tests/pipeline/tool_calls/parser_pieces.hpp"
#include "pipeline/tool_calls/xml_call_parser.hpp"

using namespace troupe;
using troupe::test::arguments_of;

namespace {

ToolCallMode coder() {
  ToolCallMode mode{ToolCallMode::Kind::Auto, ToolCallFormat::Qwen3Coder};
  mode.parameter_types = {{"write_file", {{"path", "string"}, {"content", "string"}, {"mode", "integer"}}},
                          {"search", {{"query", "string"}, {"limit", "number"}, {"exact", "boolean"},
                                      {"filters", "object"}, {"tags", "array"}, {"any", ""}}}};
  return mode;
}

MessageDelta streamed(const std::string& text, std::size_t piece) { return test::fed_in_pieces(*make_tool_call_parser(coder()), text, piece); }

}  // namespace

TEST_CASE("qwen3_coder: parameters become JSON by their schema types", "[tool_calls][qwen3_coder]") {
  CHECK(xml_parameter_json("Paris", "string") == R"("Paris")");
  CHECK(xml_parameter_json("say \"hi\"\n\tnow", "string") == R"("say \"hi\"\n\tnow")");
  CHECK(xml_parameter_json(" 42 ", "integer") == "42");
  CHECK(xml_parameter_json("4x", "integer") == R"("4x")");  // not an integer: kept as text
  CHECK(xml_parameter_json("2.50", "number") == "2.5");
  CHECK(xml_parameter_json("3.0", "number") == "3");  // no fraction: an integer, as vLLM gives it
  CHECK(xml_parameter_json("1e-7", "number") == "1e-07");
  CHECK(xml_parameter_json("True", "boolean") == "true");
  CHECK(xml_parameter_json("null", "string") == "null");
  CHECK(xml_parameter_json(R"({"a":[1,2]})", "object") == R"({"a": [1, 2]})");
  CHECK(xml_parameter_json("[1, 2", "array") == R"("[1, 2")");  // not JSON: text
  CHECK(xml_parameter_json("17", "") == "17");                  // untyped: the JSON it is
}

TEST_CASE("qwen3_coder: calls after text, streamed and whole", "[tool_calls][qwen3_coder]") {
  const std::string reply =
      "I'll write it.\n<tool_call>\n<function=write_file>\n<parameter=path>\nsrc/a.py\n</parameter>\n"
      "<parameter=content>\ndef f(x):\n    return x < 2\n\n</parameter>\n<parameter=mode>\n644\n</parameter>\n"
      "</function>\n</tool_call>\n<tool_call>\n<function=search>\n<parameter=limit>\n5\n</parameter>\n"
      "<parameter=exact>\nfalse\n</parameter>\n<parameter=filters>\n{\"lang\": \"py\"}\n</parameter>\n"
      "<parameter=extra>\n7\n</parameter>\n</function>\n</tool_call>";
  const std::string first = R"({"path": "src/a.py", "content": "def f(x):\n    return x < 2\n", "mode": 644})";
  const std::string second = R"({"limit": 5, "exact": false, "filters": {"lang": "py"}, "extra": "7"})";
  for (std::size_t piece : {1, 2, 3, 7, 13, 1000}) {
    INFO("piece " << piece);
    const MessageDelta all = streamed(reply, piece);
    CHECK(all.content == "I'll write it.\n");
    REQUIRE(all.tool_calls.size() >= 2);
    CHECK(all.tool_calls.front().name == "write_file");
    CHECK(all.tool_calls.front().arguments == "");
    CHECK(arguments_of(all, 0) == first);
    CHECK(arguments_of(all, 1) == second);
  }
  const ParsedMessage message = parse_message(coder(), reply);
  REQUIRE(message.tool_calls.size() == 2);
  CHECK(message.tool_calls[0].name == "write_file");
  CHECK(message.tool_calls[0].arguments == first);
  CHECK(message.tool_calls[1].name == "search");
  CHECK(message.tool_calls[1].arguments == second);
  CHECK(message.content == "I'll write it.\n");
}

TEST_CASE("qwen3_coder: plain text, a call without parameters, a reply cut inside a call", "[tool_calls][qwen3_coder]") {
  const ParsedMessage text = parse_message(coder(), "No tool needed: 2 < 3 and <b> is bold.");
  CHECK(text.tool_calls.empty());
  CHECK(text.content == "No tool needed: 2 < 3 and <b> is bold.");
  const ParsedMessage bare = parse_message(coder(), "<tool_call>\n<function=search>\n</function>\n</tool_call>");
  REQUIRE(bare.tool_calls.size() == 1);
  CHECK(bare.tool_calls[0].arguments == "{}");
  CHECK_FALSE(bare.content);
  const MessageDelta cut = streamed("<tool_call>\n<function=search>\n<parameter=query>\nred f", 3);
  CHECK(arguments_of(cut, 0) == R"({"query": "red f"})");
  // Qwen3-Coder's template is read as this format (before Hermes' <tool_call>).
  CHECK(tool_call_format_of_template("<tool_call>\n<function=example_function_name>\n<parameter=x>") ==
        ToolCallFormat::Qwen3Coder);
  ToolCallFormat named;
  REQUIRE(tool_call_format_from_name("qwen3_coder", named));
  CHECK(named == ToolCallFormat::Qwen3Coder);
}

namespace {

ToolCallMode minimax() {
  ToolCallMode mode = coder();
  mode.format = ToolCallFormat::MinimaxM2;
  return mode;
}

}  // namespace

// MiniMax-M2 (vLLM's minimax_m2 parser): the same calls under <minimax:tool_call>, <invoke name="...">
// and <parameter name="...">, several invokes to a block, names quoted, values trimmed.
TEST_CASE("minimax_m2: invokes in a block, streamed and whole", "[tool_calls][minimax_m2]") {
  const std::string reply =
      "Let me look.\n<minimax:tool_call>\n<invoke name=\"search\">\n<parameter name=\"query\">red fox</parameter>\n"
      "<parameter name=\"limit\">5</parameter>\n<parameter name='exact'>yes</parameter>\n"
      "<parameter name=\"tags\">[\"a\", \"b\"]</parameter>\n<parameter name=\"any\">None</parameter>\n</invoke>\n"
      "<invoke name=\"write_file\">\n<parameter name=\"path\">  notes.md </parameter>\n"
      "<parameter name=\"content\">\nline one\n</parameter>\n</invoke>\n</minimax:tool_call>";
  const std::string first = R"({"query": "red fox", "limit": 5, "exact": true, "tags": ["a", "b"], "any": null})";
  const std::string second = R"({"path": "notes.md", "content": "line one"})";
  for (std::size_t piece : {1, 2, 5, 11, 1000}) {
    INFO("piece " << piece);
    const MessageDelta all = test::fed_in_pieces(*make_tool_call_parser(minimax()), reply, piece);
    CHECK(all.content == "Let me look.\n");
    CHECK(arguments_of(all, 0) == first);
    CHECK(arguments_of(all, 1) == second);
  }
  const ParsedMessage message = parse_message(minimax(), reply);
  REQUIRE(message.tool_calls.size() == 2);
  CHECK(message.tool_calls[0].name == "search");
  CHECK(message.tool_calls[0].arguments == first);
  CHECK(message.tool_calls[1].name == "write_file");
  CHECK(message.tool_calls[1].arguments == second);
  CHECK(message.content == "Let me look.\n");
  // Plain text stays content; the template's <minimax:tool_call> names the format.
  CHECK(parse_message(minimax(), "No <b>tools</b> today.").content == "No <b>tools</b> today.");
  CHECK(tool_call_format_of_template("{{- '<minimax:tool_call>\\n' }}<invoke name=") == ToolCallFormat::MinimaxM2);
  ToolCallFormat named;
  REQUIRE(tool_call_format_from_name("minimax_m2", named));
  CHECK(named == ToolCallFormat::MinimaxM2);
}

// Seed-OSS (vLLM's seed_oss): Qwen3-Coder's calls in <seed:tool_call> blocks, after <seed:think>
// reasoning split as deepseek_r1 splits <think>.
TEST_CASE("seed_oss: calls in <seed:tool_call> blocks after <seed:think> reasoning", "[tool_calls][seed_oss]") {
  ToolCallMode mode = coder();
  mode.format = ToolCallFormat::SeedOss;
  mode.reasoning = ReasoningFormat::SeedOss;
  const std::string reply =
      "<seed:think>Need a search.<seed:cot_budget_reflect>12 tokens used.</seed:cot_budget_reflect></seed:think>"
      "Searching.\n<seed:tool_call>\n<function=search>\n<parameter=query>\nfox\n</parameter>\n"
      "<parameter=limit>\n3\n</parameter>\n</function>\n</seed:tool_call>";
  for (std::size_t piece : {1, 4, 1000}) {
    INFO("piece " << piece);
    const MessageDelta all = test::fed_in_pieces(*make_tool_call_parser(mode), reply, piece);
    CHECK(all.reasoning == "Need a search.<seed:cot_budget_reflect>12 tokens used.</seed:cot_budget_reflect>");
    CHECK(all.content == "Searching.\n");
    CHECK(arguments_of(all, 0) == R"({"query": "fox", "limit": 3})");
  }
  // The reply starts inside the reasoning when the model leaves <seed:think> out, as deepseek_r1's.
  const ParsedMessage opened = parse_message(mode, "Hm.</seed:think>Hello.");
  REQUIRE(opened.reasoning);
  CHECK(*opened.reasoning == "Hm.");
  CHECK(opened.content == "Hello.");
  // Seed-OSS's template writes <function= inside <seed:tool_call>: read as seed_oss, not qwen3_coder.
  CHECK(tool_call_format_of_template("{{ '<seed:tool_call>\\n<function=' + name }}") == ToolCallFormat::SeedOss);
  ToolCallFormat named;
  REQUIRE(tool_call_format_from_name("seed_oss", named));
  CHECK(named == ToolCallFormat::SeedOss);
  ReasoningFormat reasoning;
  bool harmony = false;
  REQUIRE(reasoning_format_from_name("seed_oss", reasoning, harmony));
  CHECK(reasoning == ReasoningFormat::SeedOss);
}
