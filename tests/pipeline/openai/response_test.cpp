// Response bodies: whole completions and chat completions, logprobs in both shapes, usage, errors,
// the model list and request ids.
#include <boost/json.hpp>
#include <cmath>
#include <regex>

#include "pipeline/openai/chat_response.hpp"
#include "pipeline/openai/completion_response.hpp"
#include "pipeline/openai/response_options.hpp"
#include "pipeline/openai/error_body.hpp"
#include "pipeline/openai/logprobs_json.hpp"
#include "pipeline/openai/models_response.hpp"
#include "pipeline/openai/usage_json.hpp"
#include "tests/pipeline/openai/openai_test_support.hpp"

namespace troupe::test {
namespace {

const ResponseIdentity kIdentity{"cmpl-1", 1700000000, "m", "troupe-0.1.0-abcdef12"};

ResponseOptions options_for(Endpoint endpoint, int choices, bool with_logprobs, ResponseIdentity identity = kIdentity) {
  ResponseOptions options;
  options.endpoint = endpoint;
  options.identity = std::move(identity);
  options.choices = choices;
  options.with_logprobs = with_logprobs;
  return options;
}

TokenLogprob token(std::string text, float logprob, std::vector<TopLogprob> top = {}) {
  TokenLogprob t;
  t.token = std::move(text);
  t.logprob = logprob;
  t.top = std::move(top);
  return t;
}

ChoiceDelta delta(int index, std::string text, std::vector<int32_t> ids, std::optional<FinishReason> finish = {}) {
  ChoiceDelta d;
  d.index = index;
  d.text = std::move(text);
  d.token_ids = std::move(ids);
  d.finish = finish;
  return d;
}

TEST_CASE("responses: completion object with usage and stop reason", "[openai]") {
  ResponseAccumulator result(1);
  GenerationEvent first;
  first.prompt_tokens = 3;
  first.choices.push_back(delta(0, "Hel", {1}));
  result.add(first);
  GenerationEvent last;
  ChoiceDelta end = delta(0, "lo", {2}, FinishReason::Stop);
  end.stop_reason = std::string("\n");
  last.choices.push_back(end);
  last.done = true;
  result.add(last);

  const boost::json::object body = completion_response(options_for(Endpoint::Completions, 1, false), result);
  CHECK(body.at("id").as_string() == "cmpl-1");
  CHECK(body.at("object").as_string() == "text_completion");
  CHECK(body.at("created").as_int64() == 1700000000);
  CHECK(body.at("model").as_string() == "m");
  const auto& choice = body.at("choices").at(0).as_object();
  CHECK(choice.at("index").as_int64() == 0);
  CHECK(choice.at("text").as_string() == "Hello");
  CHECK(choice.at("logprobs").is_null());
  CHECK(choice.at("finish_reason").as_string() == "stop");
  CHECK(choice.at("stop_reason").as_string() == "\n");
  // A stop token id is a JSON number, as vLLM reports it (its stop_reason is int | str | None).
  CHECK(stop_reason_json(StopReason{int32_t{260}}) == boost::json::value(260));
  CHECK(stop_reason_json(std::nullopt).is_null());
  // No usage on the final event: counted from the events.
  CHECK(boost::json::serialize(body.at("usage")) ==
        R"({"prompt_tokens":3,"completion_tokens":2,"total_tokens":5,"prompt_tokens_details":{"cached_tokens":0}})");
}

TEST_CASE("responses: vLLM's envelope fields and the system_fingerprint", "[openai]") {
  ResponseAccumulator result(1);
  GenerationEvent last;
  last.choices.push_back(delta(0, "Paris.", {1, 2}, FinishReason::Stop));
  last.done = true;
  result.add(last);
  const auto chat = chat_response(options_for(Endpoint::ChatCompletions, 1, false), result);
  CHECK(chat.at("system_fingerprint").as_string() == "troupe-0.1.0-abcdef12");
  CHECK(chat.at("service_tier").is_null());
  const auto& message = chat.at("choices").at(0).at("message").as_object();
  CHECK(message.at("content").as_string() == "Paris.");
  // No calls: no tool_calls key at all (vLLM omits an empty list, as OpenAI does).
  CHECK_FALSE(message.contains("tool_calls"));
  for (const char* key : {"refusal", "annotations", "audio", "function_call"}) CHECK(message.at(key).is_null());
  const auto completion = completion_response(options_for(Endpoint::Completions, 1, false), result);
  CHECK(completion.at("system_fingerprint").as_string() == "troupe-0.1.0-abcdef12");
}

TEST_CASE("responses: tool calls in a chat message, and finish_reason tool_calls", "[openai]") {
  ResponseAccumulator result(1);
  GenerationEvent last;
  last.choices.push_back(delta(0, "<tool_call>\n{\"name\": \"w\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>",
                               {1, 2}, FinishReason::Stop));
  last.done = true;
  result.add(last);
  ResponseOptions options = options_for(Endpoint::ChatCompletions, 1, false);
  options.tool_calls.kind = ToolCallMode::Kind::Auto;
  options.tool_calls.format = ToolCallFormat::Hermes;
  const auto chat = chat_response(options, result);
  const auto& choice = chat.at("choices").at(0).as_object();
  CHECK(choice.at("finish_reason").as_string() == "tool_calls");
  CHECK(choice.at("message").at("content").is_null());
  const auto& call = choice.at("message").at("tool_calls").at(0).as_object();
  CHECK(call.at("type").as_string() == "function");
  CHECK(call.at("id").as_string().starts_with("chatcmpl-tool-"));
  CHECK(call.at("function").at("name").as_string() == "w");
  CHECK(call.at("function").at("arguments").as_string() == R"({"city": "Paris"})");
  // Plain text in auto mode: no calls, the engine's finish_reason.
  ResponseAccumulator plain(1);
  plain.add(GenerationEvent{{delta(0, "Hello", {1}, FinishReason::Length)}, std::nullopt, std::nullopt, true, 0});
  const auto text = chat_response(options, plain);
  CHECK(text.at("choices").at(0).at("finish_reason").as_string() == "length");
  CHECK(text.at("choices").at(0).at("message").at("content").as_string() == "Hello");
  // A named function keeps "stop" and content "".
  options.tool_calls.kind = ToolCallMode::Kind::Named;
  options.tool_calls.function_name = "w";
  ResponseAccumulator named(1);
  named.add(GenerationEvent{{delta(0, R"({"city":"Oslo"})", {1}, FinishReason::Stop)}, std::nullopt, std::nullopt, true, 0});
  const auto forced = chat_response(options, named);
  CHECK(forced.at("choices").at(0).at("finish_reason").as_string() == "stop");
  CHECK(forced.at("choices").at(0).at("message").at("content").as_string() == "");
  CHECK(forced.at("choices").at(0).at("message").at("tool_calls").at(0).at("function").at("arguments").as_string() ==
        R"({"city":"Oslo"})");
}

TEST_CASE("responses: a harmony reply's reasoning, content and call in one chat message", "[openai][harmony]") {
  ResponseAccumulator result(1);
  GenerationEvent last;
  last.choices.push_back(delta(0,
                               "<|channel|>analysis<|message|>Weather needed.<|end|><|start|>assistant<|channel|>"
                               "commentary to=functions.w <|constrain|>json<|message|>{\"city\": \"Paris\"}",
                               {1, 2}, FinishReason::Stop));
  last.done = true;
  result.add(last);
  ResponseOptions options = options_for(Endpoint::ChatCompletions, 1, false);
  options.tool_calls = ToolCallMode{ToolCallMode::Kind::Auto, ToolCallFormat::Harmony};
  const auto chat = chat_response(options, result);
  const auto& choice = chat.at("choices").at(0).as_object();
  CHECK(choice.at("finish_reason").as_string() == "tool_calls");
  CHECK(choice.at("message").at("reasoning").as_string() == "Weather needed.");
  CHECK(choice.at("message").at("content").is_null());
  CHECK(choice.at("message").at("tool_calls").at(0).at("function").at("name").as_string() == "w");
  CHECK(choice.at("message").at("tool_calls").at(0).at("function").at("arguments").as_string() == R"({"city": "Paris"})");
  // Other models' messages have no reasoning key.
  ResponseAccumulator plain(1);
  plain.add(GenerationEvent{{delta(0, "Hello", {1}, FinishReason::Stop)}, std::nullopt, std::nullopt, true, 0});
  CHECK_FALSE(chat_response(options_for(Endpoint::ChatCompletions, 1, false), plain)
                  .at("choices").at(0).at("message").as_object().contains("reasoning"));
}

TEST_CASE("responses: the engine's usage wins over counting", "[openai]") {
  ResponseAccumulator result(1);
  GenerationEvent last;
  last.choices.push_back(delta(0, "x", {1}, FinishReason::Length));
  last.usage = Usage{10, 4, 8};
  last.done = true;
  result.add(last);
  const Usage usage = result.usage();
  CHECK(usage.prompt_tokens == 10);
  CHECK(usage.completion_tokens == 4);
  CHECK(usage.cached_prompt_tokens == 8);
  CHECK(usage_json(usage).at("total_tokens").as_int64() == 14);
  CHECK(usage_json(usage).at("prompt_tokens_details").at("cached_tokens").as_int64() == 8);
}

TEST_CASE("responses: chat object with n choices", "[openai]") {
  ResponseAccumulator result(2);
  GenerationEvent event;
  event.choices.push_back(delta(1, "second", {1}, FinishReason::Length));
  event.choices.push_back(delta(0, "first", {1, 2}, FinishReason::Abort));
  event.done = true;
  result.add(event);
  const boost::json::object body = chat_response(options_for(Endpoint::ChatCompletions, 2, false, {"chatcmpl-9", 5, "m", ""}), result);
  CHECK(body.at("object").as_string() == "chat.completion");
  const auto& choices = body.at("choices").as_array();
  REQUIRE(choices.size() == 2);
  CHECK(choices[0].at("message").at("role").as_string() == "assistant");
  CHECK(choices[0].at("message").at("content").as_string() == "first");
  CHECK(choices[0].at("finish_reason").as_string() == "abort");
  CHECK(choices[0].at("stop_reason").is_null());
  CHECK(choices[1].at("finish_reason").as_string() == "length");
  CHECK(body.at("usage").at("completion_tokens").as_int64() == 3);
}

TEST_CASE("responses: a delta for a choice that does not exist is an engine bug", "[openai]") {
  ResponseAccumulator result(1);
  GenerationEvent event;
  event.choices.push_back(delta(1, "x", {1}));
  CHECK_THROWS_AS(result.add(event), std::out_of_range);
}

TEST_CASE("responses: completions logprobs shape and text offsets", "[openai]") {
  const std::vector<TokenLogprob> tokens = {token("H\xC3\xA9", -0.5f, {{1, "H\xC3\xA9", -0.5f}, {2, "A", -1.5f}}),
                                            token("llo", -0.25f, {{3, "llo", -0.25f}})};
  int64_t next = 0;
  const boost::json::object logprobs = completion_logprobs(tokens, 10, &next);
  CHECK(boost::json::serialize(logprobs.at("tokens")) == "[\"H\xC3\xA9\",\"llo\"]");
  CHECK(boost::json::serialize(logprobs.at("token_logprobs")) == "[-5E-1,-2.5E-1]");
  CHECK(logprobs.at("top_logprobs").at(0).at("A").as_double() == -1.5);
  CHECK(logprobs.at("top_logprobs").at(0).as_object().size() == 2);
  // Offsets count characters: "Hé" is two.
  CHECK(boost::json::serialize(logprobs.at("text_offset")) == "[10,12]");
  CHECK(next == 15);
}

TEST_CASE("responses: completions top_logprobs list the chosen token first; an echoed first token is null",
          "[openai]") {
  TokenLogprob first = token("Once", 0.0f);
  first.has_logprob = false;
  // Sampled below the top 2: it leads its dict, which then has 3 entries (vLLM's shape).
  const std::vector<TokenLogprob> tokens = {first, token(" upon", -4.0f, {{5, " a", -0.5f}, {6, " the", -1.0f}})};
  const boost::json::object logprobs = completion_logprobs(tokens, 0);
  CHECK(boost::json::serialize(logprobs.at("token_logprobs")) == "[null,-4E0]");
  CHECK(logprobs.at("top_logprobs").at(0).is_null());
  const auto& top = logprobs.at("top_logprobs").at(1).as_object();
  REQUIRE(top.size() == 3);
  CHECK(top.begin()->key() == " upon");
  CHECK(boost::json::serialize(logprobs.at("text_offset")) == "[0,4]");
}

TEST_CASE("responses: chat logprobs carry bytes and top candidates", "[openai]") {
  const boost::json::object logprobs = chat_logprobs({token("\xC3\xA9", -1.0f, {{7, "e", -2.0f}})});
  const auto& entry = logprobs.at("content").at(0).as_object();
  CHECK(entry.at("token").as_string() == "\xC3\xA9");
  CHECK(entry.at("logprob").as_double() == -1.0);
  CHECK(boost::json::serialize(entry.at("bytes")) == "[195,169]");
  CHECK(entry.at("top_logprobs").at(0).at("token").as_string() == "e");
  CHECK(boost::json::serialize(entry.at("top_logprobs").at(0).at("bytes")) == "[101]");
}

TEST_CASE("responses: -inf logprobs become -9999 so the JSON stays valid", "[openai]") {
  CHECK(json_logprob(-INFINITY) == -9999.0);
  CHECK(json_logprob(NAN) == -9999.0);
  CHECK(json_logprob(-0.5f) == -0.5);
  const std::string text = boost::json::serialize(chat_logprobs({token("a", -INFINITY)}));
  CHECK(boost::json::parse(text).at("content").at(0).at("logprob").as_double() == -9999.0);
}

TEST_CASE("responses: whole responses with logprobs", "[openai]") {
  ResponseAccumulator result(1);
  GenerationEvent event;
  ChoiceDelta d = delta(0, "ab", {1, 2}, FinishReason::Stop);
  d.logprobs = {token("a", -0.5f), token("b", -1.0f)};
  event.choices.push_back(d);
  event.done = true;
  result.add(event);
  const auto completion = completion_response(options_for(Endpoint::Completions, 1, true), result);
  CHECK(completion.at("choices").at(0).at("logprobs").at("tokens").as_array().size() == 2);
  const auto chat = chat_response(options_for(Endpoint::ChatCompletions, 1, true), result);
  CHECK(chat.at("choices").at(0).at("logprobs").at("content").as_array().size() == 2);
}

TEST_CASE("responses: error body shape", "[openai]") {
  ApiError error = invalid_request("'n' must be between 1 and 128, got 0.", "n");
  CHECK(error_json(error) ==
        R"({"error":{"message":"'n' must be between 1 and 128, got 0.","type":"invalid_request_error","param":"n","code":400}})");
  error.param.reset();
  CHECK(error_body(error).at("error").at("param").is_null());
  const ApiError missing = model_not_found("x", "m");
  CHECK(error_body(missing).at("error").at("code").as_int64() == 404);
  CHECK(error_body(missing).at("error").at("type").as_string() == "not_found_error");
}

TEST_CASE("responses: model list", "[openai]") {
  const boost::json::object body = models_response("m", 17, "/models/m", 2048);
  CHECK(body.at("object").as_string() == "list");
  const auto& model = body.at("data").at(0).as_object();
  CHECK(model.at("id").as_string() == "m");
  CHECK(model.at("object").as_string() == "model");
  CHECK(model.at("created").as_int64() == 17);
  CHECK(model.at("owned_by").as_string() == "troupe");
  CHECK(model.at("root").as_string() == "/models/m");
  CHECK(model.at("max_model_len").as_int64() == 2048);
}

TEST_CASE("responses: request ids are prefixed random hex", "[openai]") {
  const std::string completion = make_request_id(Endpoint::Completions);
  const std::string chat = make_request_id(Endpoint::ChatCompletions);
  CHECK(std::regex_match(completion, std::regex("cmpl-[0-9a-f]{32}")));
  CHECK(std::regex_match(chat, std::regex("chatcmpl-[0-9a-f]{32}")));
  CHECK(make_request_id(Endpoint::Completions) != completion);
  CHECK(unix_seconds_now() > 1700000000);
}

}  // namespace
}  // namespace troupe::test
