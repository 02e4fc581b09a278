// POST /v1/chat/completions bodies: messages, tools, template options, chat-specific limits and
// logprobs.
#include "pipeline/openai/chat_request.hpp"
#include "tests/pipeline/openai/openai_test_support.hpp"

namespace troupe::test {
namespace {

const std::string kUser = R"({"role":"user","content":"Hi"})";

GenerationRequest parse_messages(const std::string& messages, const std::string& fields = "") {
  return parse_chat_request(R"({"model":"m","messages":)" + messages + (fields.empty() ? "" : "," + fields) + "}",
                            kContext);
}

GenerationRequest parse(const std::string& fields) { return parse_messages("[" + kUser + "]", fields); }

ApiError reject(const std::string& fields) {
  return rejection([&] { parse(fields); });
}

ApiError reject_messages(const std::string& messages) {
  return rejection([&] { parse_messages(messages); });
}

TEST_CASE("chat: defaults; max_tokens unset means the context left", "[openai]") {
  const GenerationRequest request = parse("");
  CHECK(request.endpoint == Endpoint::ChatCompletions);
  CHECK(request.messages.size() == 1);
  CHECK(request.stop.max_tokens == kMaxTokensFromContext);
  CHECK(request.add_generation_prompt);
  CHECK_FALSE(request.tools);
  CHECK(request.chat_template_kwargs.empty());
  CHECK_FALSE(request.logprobs);
  // min_tokens is not bounded by an unset max_tokens.
  CHECK(parse(R"("min_tokens":100)").stop.min_tokens == 100);
}

TEST_CASE("chat: max_completion_tokens wins over max_tokens", "[openai]") {
  CHECK(parse(R"("max_tokens":10)").stop.max_tokens == 10);
  CHECK(parse(R"("max_completion_tokens":20)").stop.max_tokens == 20);
  CHECK(parse(R"("max_completion_tokens":20,"max_tokens":10)").stop.max_tokens == 20);
  CHECK(reject(R"("max_completion_tokens":0)").param == "max_completion_tokens");
  CHECK(mentions(reject(R"("max_tokens":5000)"), "between 1 and 4096"));
}

TEST_CASE("chat: message roles and content shapes", "[openai]") {
  const GenerationRequest request = parse_messages(
      R"([{"role":"system","content":"Be brief."},{"role":"developer","content":"x"},)"
      R"({"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}],"name":"bob"},)"
      R"({"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},)"
      R"({"role":"tool","content":"42","tool_call_id":"c1"}])");
  REQUIRE(request.messages.size() == 5);
  CHECK(request.messages[2].at("content").as_string() == "a\nb");
  CHECK(request.messages[2].at("name").as_string() == "bob");
  CHECK(request.messages[3].at("content").is_null());
  CHECK(request.messages[3].at("tool_calls").as_array().size() == 1);
  CHECK(request.messages[4].at("tool_call_id").as_string() == "c1");
  // An assistant message may leave content out entirely.
  CHECK(parse_messages(R"([{"role":"assistant"}])").messages[0].at("content").is_null());
}

TEST_CASE("chat: invalid messages name the message and field", "[openai]") {
  CHECK(mentions(rejection([] { parse_chat_request(R"({"model":"m"})", kContext); }), "'messages' is required"));
  CHECK(mentions(reject_messages("[]"), "at least one"));
  CHECK(reject_messages(R"("Hi")").param == "messages");
  CHECK(reject_messages(R"(["Hi"])").param == "messages[0]");
  CHECK(reject_messages(R"([{"content":"Hi"}])").param == "messages[0].role");
  const ApiError role = reject_messages("[" + kUser + R"(,{"role":"robot","content":"x"}])");
  CHECK(role.param == "messages[1].role");
  CHECK(mentions(role, "robot"));
  CHECK(reject_messages(R"([{"role":"user"}])").param == "messages[0].content");
  CHECK(reject_messages(R"([{"role":"user","content":null}])").param == "messages[0].content");
  CHECK(reject_messages(R"([{"role":"user","content":5}])").param == "messages[0].content");
  const ApiError image = reject_messages(R"([{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}])");
  CHECK(image.param == "messages[0].content[0].type");
  CHECK(mentions(image, "not supported"));
  CHECK(reject_messages(R"([{"role":"user","content":[{"type":"text"}]}])").param == "messages[0].content[0].text");
  CHECK(reject_messages(R"([{"role":"user","content":["a"]}])").param == "messages[0].content[0]");
  CHECK(reject_messages(R"([{"role":"user","content":"x","tool_calls":[]}])").param == "messages[0].tool_calls");
  CHECK(reject_messages(R"([{"role":"assistant","content":"x","tool_calls":[{"type":"function"}]}])").param ==
        "messages[0].tool_calls[0].function");
  CHECK(reject_messages(R"([{"role":"assistant","content":"x","tool_calls":[{"function":{"arguments":"{}"}}]}])")
            .param == "messages[0].tool_calls[0].function.name");
  CHECK(reject_messages(R"([{"role":"assistant","content":"x","tool_calls":{}}])").param == "messages[0].tool_calls");
  CHECK(reject_messages(R"([{"role":"tool","content":"x","tool_call_id":3}])").param == "messages[0].tool_call_id");
  CHECK(reject_messages(R"([{"role":"user","content":"x","name":3}])").param == "messages[0].name");
}

TEST_CASE("chat: tools, tool_choice and response_format", "[openai]") {
  const GenerationRequest request =
      parse(R"("tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}],)"
            R"("tool_choice":"auto")");
  REQUIRE(request.tools);
  CHECK(request.tools->at(0).at("function").at("name").as_string() == "get_weather");
  CHECK(parse(R"("tool_choice":"none")").messages.size() == 1);
  CHECK(reject(R"("tools":{})").param == "tools");
  CHECK(reject(R"("tools":[{"type":"retrieval"}])").param == "tools[0].type");
  CHECK(reject(R"("tools":[{"type":"function"}])").param == "tools[0].function");
  CHECK(reject(R"("tools":[{"type":"function","function":{"name":""}}])").param == "tools[0].function.name");
  CHECK(reject(R"("tool_choice":"required")").param == "tool_choice");
  CHECK(reject(R"("tool_choice":{"type":"function","function":{"name":"f"}})").param == "tool_choice");
  CHECK(parse(R"("response_format":{"type":"text"})").messages.size() == 1);
  CHECK(parse(R"("response_format":{"type":"json_object"})").structured_output.has_value());
}

TEST_CASE("chat: template options", "[openai]") {
  const GenerationRequest request =
      parse(R"("chat_template_kwargs":{"enable_thinking":false},"add_generation_prompt":false)");
  CHECK(request.chat_template_kwargs.at("enable_thinking").as_bool() == false);
  CHECK_FALSE(request.add_generation_prompt);
  CHECK(reject(R"("chat_template_kwargs":[])").param == "chat_template_kwargs");
  CHECK(reject(R"("add_generation_prompt":"no")").param == "add_generation_prompt");
  CHECK(reject(R"("continue_final_message":true)").param == "continue_final_message");
  CHECK_FALSE(parse(R"("continue_final_message":false)").messages.empty());
  CHECK(reject(R"("chat_template":"{{ messages }}")").param == "chat_template");
  CHECK(reject(R"("logit_bias":{"1":5})").param == "logit_bias");
}

TEST_CASE("chat: logprobs is a boolean, top_logprobs 0-20 and needs it", "[openai]") {
  CHECK_FALSE(parse(R"("logprobs":false)").logprobs);
  CHECK(parse(R"("logprobs":true)").logprobs == 0);
  CHECK(parse(R"("logprobs":true,"top_logprobs":5)").logprobs == 5);
  CHECK(parse(R"("logprobs":true,"top_logprobs":5)").sampling.logprobs == 5);
  CHECK(parse(R"("top_logprobs":0)").logprobs == std::nullopt);
  CHECK(mentions(reject(R"("top_logprobs":3)"), "requires 'logprobs'"));
  CHECK(mentions(reject(R"("logprobs":true,"top_logprobs":21)"), "between 0 and 20"));
  CHECK(reject(R"("logprobs":3)").param == "logprobs");
}

TEST_CASE("chat: shared fields behave as in completions", "[openai]") {
  const GenerationRequest request = parse(R"("n":2,"stream":true,"stream_options":{"include_usage":true},)"
                                          R"("temperature":1.0,"seed":7,"stop":["x"],"ignore_eos":true)");
  CHECK(request.n == 2);
  CHECK(request.stream);
  CHECK(request.include_usage);
  CHECK(request.sampling.temperature == 1.0);
  CHECK(request.sampling.seed == 7u);
  CHECK(request.stop.stop == std::vector<std::string>{"x"});
  CHECK(request.stop.ignore_eos);
  CHECK(rejection([] { parse_chat_request(R"({"model":"x","messages":[{"role":"user","content":"Hi"}]})", kContext); })
            .status == 404);
}

}  // namespace
}  // namespace troupe::test
