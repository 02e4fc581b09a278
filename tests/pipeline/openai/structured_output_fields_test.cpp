// response_format, vLLM's structured_outputs and the older guided_* fields: what each becomes, and
// the 400s for malformed, conflicting or unsupported constraints.
#include "pipeline/openai/chat_request.hpp"
#include "pipeline/openai/completion_request.hpp"
#include "tests/pipeline/openai/openai_test_support.hpp"

namespace troupe::test {
namespace {

using Kind = StructuredOutputRequest::Kind;

GenerationRequest chat(const std::string& fields) {
  return parse_chat_request(R"({"model":"m","messages":[{"role":"user","content":"Hi"}],)" + fields + "}", kContext);
}
GenerationRequest completion(const std::string& fields) {
  return parse_completion_request(R"({"model":"m","prompt":"Hi",)" + fields + "}", kContext);
}
ApiError reject(const std::string& fields) {
  return rejection([&] { chat(fields); });
}

TEST_CASE("structured output: response_format json_object and json_schema (with strict)", "[openai]") {
  const auto object = chat(R"("response_format":{"type":"json_object"})");
  REQUIRE(object.structured_output);
  CHECK(object.structured_output->kind == Kind::JsonObject);
  const auto schema = chat(
      R"("response_format":{"type":"json_schema","json_schema":{"name":"person","strict":true,)"
      R"("schema":{"type":"object","properties":{"name":{"type":"string"}},"required":["name"],"additionalProperties":false}}})");
  REQUIRE(schema.structured_output);
  CHECK(schema.structured_output->kind == Kind::JsonSchema);
  CHECK(boost::json::parse(schema.structured_output->text).at("required").as_array().size() == 1);
  CHECK_FALSE(chat(R"("response_format":{"type":"text"})").structured_output);
  CHECK(completion(R"("response_format":{"type":"json_object"})").structured_output);
}

TEST_CASE("structured output: vLLM's structured_outputs object and guided_* fields", "[openai]") {
  const auto json = chat(R"("structured_outputs":{"json":{"type":"integer"},"disable_any_whitespace":true})");
  REQUIRE(json.structured_output);
  CHECK(json.structured_output->kind == Kind::JsonSchema);
  CHECK(json.structured_output->disable_any_whitespace);
  const auto json_text = chat(R"("structured_outputs":{"json":"{\"type\":\"boolean\"}"})");
  CHECK(json_text.structured_output->text == R"({"type":"boolean"})");
  const auto regex = completion(R"("structured_outputs":{"regex":"[0-9]{3}","whitespace_pattern":" ?"})");
  CHECK(regex.structured_output->kind == Kind::Regex);
  CHECK(regex.structured_output->whitespace_pattern == " ?");
  const auto choice = chat(R"("structured_outputs":{"choice":["yes","no"],"json":null})");
  CHECK(choice.structured_output->choices == std::vector<std::string>{"yes", "no"});
  CHECK(chat(R"("structured_outputs":{"grammar":"root ::= \"a\"+"})").structured_output->kind == Kind::Grammar);
  CHECK(chat(R"("structured_outputs":{"json_object":true})").structured_output->kind == Kind::JsonObject);
  CHECK_FALSE(chat(R"("structured_outputs":{"json_object":false})").structured_output);
  CHECK(chat(R"("guided_json":{"type":"string"},"guided_decoding_backend":"xgrammar")").structured_output->kind == Kind::JsonSchema);
  CHECK(chat(R"("guided_regex":"a+")").structured_output->kind == Kind::Regex);
  CHECK(completion(R"("guided_choice":["a","b"])").structured_output->kind == Kind::Choice);
  CHECK(chat(R"("guided_grammar":"root ::= \"x\"")").structured_output->kind == Kind::Grammar);
  // response_format wins over structured_outputs' constraint; the whitespace option stays.
  const auto both = chat(R"("structured_outputs":{"regex":"a","disable_any_whitespace":true},"response_format":{"type":"json_object"})");
  CHECK(both.structured_output->kind == Kind::JsonObject);
  CHECK(both.structured_output->disable_any_whitespace);
}

TEST_CASE("structured output: malformed, conflicting and unsupported constraints are 400s naming the field", "[openai]") {
  CHECK(reject(R"("response_format":{"type":"json_schema"})").param == "response_format");
  CHECK(reject(R"("response_format":{"type":"json_schema","json_schema":{"name":"x"}})").param == "response_format");
  CHECK(reject(R"("response_format":{"type":"xml"})").param == "response_format");
  CHECK(reject(R"("response_format":{"type":"structural_tag"})").param == "response_format");
  CHECK(reject(R"("structured_outputs":{"regex":"a","choice":["b"]})").status == 400);
  CHECK(reject(R"("structured_outputs":{"json":{}},"guided_regex":"a")").status == 400);
  CHECK(reject(R"("structured_outputs":{"choice":[]})").param == "structured_outputs.choice");
  CHECK(reject(R"("structured_outputs":{"choice":[1]})").param == "structured_outputs.choice");
  CHECK(reject(R"("structured_outputs":{"structural_tag":"{}"})").param == "structured_outputs.structural_tag");
  CHECK(reject(R"("structured_outputs":[])").param == "structured_outputs");
  CHECK(reject(R"("guided_json":3)").param == "guided_json");
  const ApiError keyword = reject(R"("response_format":{"type":"json_schema","json_schema":{"name":"x","schema":)"
                                  R"({"type":"object","properties":{"tags":{"type":"array","uniqueItems":true}}}}})");
  CHECK(keyword.param == "response_format");
  CHECK(mentions(keyword, "uniqueItems"));
  CHECK(mentions(keyword, "#/properties/tags"));
  const ApiError regex = reject(R"("structured_outputs":{"regex":"(a)\\1"})");
  CHECK(regex.param == "structured_outputs.regex");
  CHECK(mentions(regex, "backreferences"));
  CHECK(mentions(reject(R"("guided_grammar":"start: x")"), "grammar"));
}

}  // namespace
}  // namespace troupe::test
