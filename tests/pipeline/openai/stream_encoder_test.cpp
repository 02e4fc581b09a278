// Streaming chunks in vLLM's shapes: a role-only first chunk per chat choice, one chunk per
// choice delta, "usage": null with include_usage and the running usage with
// continuous_usage_stats, the fingerprint on the last message, tool-call deltas, errors.
#include <boost/json.hpp>

#include "pipeline/openai/stream_encoder.hpp"
#include "tests/pipeline/openai/openai_test_support.hpp"

namespace troupe::test {
namespace {

GenerationEvent event_with(std::vector<ChoiceDelta> deltas, bool done = false) {
  GenerationEvent event;
  event.choices = std::move(deltas);
  event.done = done;
  event.prompt_tokens = 4;
  return event;
}

ChoiceDelta delta(int index, std::string text, std::optional<FinishReason> finish = {}) {
  ChoiceDelta d;
  d.index = index;
  d.text = std::move(text);
  if (!d.text.empty()) d.token_ids = {1};
  d.finish = finish;
  return d;
}

ResponseOptions options(Endpoint endpoint, int choices, bool with_logprobs = false, bool include_usage = false) {
  ResponseOptions o;
  o.endpoint = endpoint;
  o.identity = {endpoint == Endpoint::ChatCompletions ? "chatcmpl-1" : "cmpl-1", 9, "m", "troupe-x-12345678"};
  o.choices = choices;
  o.with_logprobs = with_logprobs;
  o.include_usage = include_usage;
  return o;
}

boost::json::object parsed(const std::string& payload) { return boost::json::parse(payload).as_object(); }

TEST_CASE("stream: a harmony reply streams its analysis as reasoning and its final channel as content",
          "[openai][harmony]") {
  ResponseOptions o = options(Endpoint::ChatCompletions, 1);
  o.tool_calls = ToolCallMode{ToolCallMode::Kind::None, ToolCallFormat::Harmony};
  StreamEncoder encoder(o);
  std::string reasoning, content;
  for (const char* piece : {"<|channel|>", "analysis", "<|message|>", "Think", " more", "<|end|>", "<|start|>",
                            "assistant", "<|channel|>", "final", "<|message|>", "Four", "."}) {
    for (const std::string& payload : encoder.encode(event_with({delta(0, piece)}))) {
      const boost::json::object chunk = parsed(payload);
      const auto& d = chunk.at("choices").at(0).at("delta").as_object();
      CHECK_FALSE((d.contains("content") && d.at("content").as_string().find("<|") != std::string::npos));
      if (d.contains("reasoning")) reasoning += d.at("reasoning").as_string();
      if (d.contains("content")) content += d.at("content").as_string();
    }
  }
  CHECK(reasoning == "Think more");
  CHECK(content == "Four.");
}

TEST_CASE("stream: each chat choice starts with a chunk that has only the role", "[openai]") {
  StreamEncoder encoder(options(Endpoint::ChatCompletions, 2));
  const auto first = encoder.encode(event_with({delta(0, "a"), delta(1, "b")}));
  REQUIRE(first.size() == 4);
  for (int i = 0; i < 2; ++i) {
    const auto chunk = parsed(first[static_cast<std::size_t>(i)]);
    CHECK(chunk.at("object").as_string() == "chat.completion.chunk");
    CHECK(chunk.at("id").as_string() == "chatcmpl-1");
    const auto& choice = chunk.at("choices").at(0).as_object();
    CHECK(choice.at("index").as_int64() == i);
    CHECK(boost::json::serialize(choice.at("delta")) == R"({"role":"assistant","content":""})");
    CHECK(choice.at("finish_reason").is_null());
    CHECK(choice.at("logprobs").is_null());
    CHECK_FALSE(chunk.contains("usage"));
  }
  const auto text = parsed(first[2]).at("choices").at(0).as_object();
  CHECK(boost::json::serialize(text.at("delta")) == R"({"content":"a"})");
  CHECK_FALSE(text.contains("stop_reason"));  // only the finishing chunk says it
  const auto next = encoder.encode(event_with({delta(0, "c", FinishReason::Stop)}, true));
  REQUIRE(next.size() == 1);
  const auto chunk = parsed(next[0]);
  CHECK(chunk.at("choices").at(0).at("finish_reason").as_string() == "stop");
  CHECK(chunk.at("choices").at(0).at("stop_reason").is_null());
  // Without include_usage the finishing chunk carries the fingerprint.
  CHECK(chunk.at("system_fingerprint").as_string() == "troupe-x-12345678");
}

TEST_CASE("stream: return_token_ids sends the prompt's ids once and every delta's ids, text or not", "[openai]") {
  ChoiceDelta silent;  // a control token: ids, no text
  silent.index = 0;
  silent.token_ids = {1};
  for (const Endpoint endpoint : {Endpoint::Completions, Endpoint::ChatCompletions}) {
    INFO((endpoint == Endpoint::Completions ? "completions" : "chat"));
    StreamEncoder plain(options(endpoint, 1));
    GenerationEvent first = event_with({});
    first.prompt_token_ids = {{5, 6, 7}};
    plain.encode(first);
    CHECK(plain.encode(event_with({silent})).empty());  // nothing to say without token ids

    ResponseOptions o = options(endpoint, 1);
    o.return_token_ids = true;
    StreamEncoder encoder(o);
    const auto opening = encoder.encode(first);
    if (endpoint == Endpoint::ChatCompletions) {
      REQUIRE(opening.size() == 1);  // the role chunk, with the prompt's ids at the top level
      CHECK(boost::json::serialize(parsed(opening[0]).at("prompt_token_ids")) == "[5,6,7]");
    }
    const auto chunks = encoder.encode(event_with({silent}));
    REQUIRE(chunks.size() == 1);
    const auto chunk = parsed(chunks[0]);
    const auto& choice = chunk.at("choices").at(0).as_object();
    CHECK(boost::json::serialize(choice.at("token_ids")) == "[1]");
    if (endpoint == Endpoint::Completions) {
      CHECK(boost::json::serialize(choice.at("prompt_token_ids")) == "[5,6,7]");  // on its first chunk only
      const auto next = parsed(encoder.encode(event_with({delta(0, "a")}))[0]);
      CHECK_FALSE(next.at("choices").at(0).as_object().contains("prompt_token_ids"));
    }
  }
}

TEST_CASE("stream: include_usage puts usage null on every chunk, then a usage chunk", "[openai]") {
  StreamEncoder encoder(options(Endpoint::Completions, 1, false, true));
  const auto first = encoder.encode(event_with({delta(0, "a")}));
  REQUIRE(first.size() == 1);
  CHECK(parsed(first[0]).at("usage").is_null());
  const auto last = encoder.encode(event_with({delta(0, "b", FinishReason::Length)}, true));
  REQUIRE(last.size() == 2);
  CHECK(parsed(last[0]).at("usage").is_null());
  CHECK_FALSE(parsed(last[0]).contains("system_fingerprint"));  // the usage chunk is the last message
  const auto usage = parsed(last[1]);
  CHECK(usage.at("object").as_string() == "text_completion");
  CHECK(usage.at("choices").as_array().empty());
  CHECK(usage.at("usage").at("prompt_tokens").as_int64() == 4);
  CHECK(usage.at("usage").at("completion_tokens").as_int64() == 2);
  CHECK(usage.at("usage").at("total_tokens").as_int64() == 6);
  CHECK(usage.at("system_fingerprint").as_string() == "troupe-x-12345678");
}

TEST_CASE("stream: continuous_usage_stats gives every chunk the usage so far", "[openai]") {
  ResponseOptions o = options(Endpoint::ChatCompletions, 1, false, true);
  o.continuous_usage = true;
  StreamEncoder encoder(o);
  const auto payloads = encoder.encode(event_with({delta(0, "a")}));
  REQUIRE(payloads.size() == 2);
  CHECK(boost::json::serialize(parsed(payloads[0]).at("usage")) ==
        R"({"prompt_tokens":4,"completion_tokens":0,"total_tokens":4})");
  CHECK(parsed(payloads[1]).at("usage").at("completion_tokens").as_int64() == 1);
  const auto last = encoder.encode(event_with({delta(0, "b", FinishReason::Stop)}, true));
  REQUIRE(last.size() == 2);
  CHECK(parsed(last[0]).at("usage").at("completion_tokens").as_int64() == 2);
  CHECK(parsed(last[1]).at("choices").as_array().empty());
}

TEST_CASE("stream: without include_usage there is no usage chunk and no usage key", "[openai]") {
  StreamEncoder encoder(options(Endpoint::Completions, 1));
  const auto payloads = encoder.encode(event_with({delta(0, "b", FinishReason::Stop)}, true));
  REQUIRE(payloads.size() == 1);
  CHECK_FALSE(parsed(payloads[0]).contains("usage"));
}

TEST_CASE("stream: empty deltas are skipped, finishing ones are not", "[openai]") {
  StreamEncoder encoder(options(Endpoint::Completions, 1));
  CHECK(encoder.encode(event_with({delta(0, "")})).empty());
  const auto finish = encoder.encode(event_with({delta(0, "", FinishReason::Stop)}, true));
  REQUIRE(finish.size() == 1);
  CHECK(parsed(finish[0]).at("choices").at(0).at("text").as_string() == "");
}

TEST_CASE("stream: completion logprobs offsets continue across chunks", "[openai]") {
  StreamEncoder encoder(options(Endpoint::Completions, 1, true));
  ChoiceDelta a = delta(0, "ab");
  a.logprobs = {TokenLogprob{1, "ab", -0.5f, {}}};
  ChoiceDelta b = delta(0, "c");
  b.logprobs = {TokenLogprob{2, "c", -0.5f, {}}};
  encoder.encode(event_with({a}));
  const auto second = parsed(encoder.encode(event_with({b}))[0]);
  CHECK(second.at("choices").at(0).at("logprobs").at("text_offset").at(0).as_int64() == 2);
}

TEST_CASE("stream: tool calls stream as OpenAI's deltas and finish with tool_calls", "[openai]") {
  ResponseOptions o = options(Endpoint::ChatCompletions, 1);
  o.tool_calls.kind = ToolCallMode::Kind::Auto;
  o.tool_calls.format = ToolCallFormat::Hermes;
  StreamEncoder encoder(o);
  std::vector<std::string> payloads;
  for (const char* piece : {"<tool_call>\n{\"name\": \"get_weather\", ", "\"arguments\": {\"city\": ", "\"Paris\"}}\n"}) {
    for (std::string& p : encoder.encode(event_with({delta(0, piece)}))) payloads.push_back(std::move(p));
  }
  for (std::string& p : encoder.encode(event_with({delta(0, "</tool_call>", FinishReason::Stop)}, true))) {
    payloads.push_back(std::move(p));
  }
  REQUIRE(payloads.size() == 5);  // role, name with "", two argument fragments, finish
  const auto named = parsed(payloads[1]).at("choices").at(0).at("delta").at("tool_calls").at(0).as_object();
  CHECK(named.at("index").as_int64() == 0);
  CHECK(named.at("type").as_string() == "function");
  CHECK(named.at("id").as_string().starts_with("chatcmpl-tool-"));
  // OpenAI's first delta: id, type, name and empty arguments, so that `arguments +=` works from it.
  CHECK(boost::json::serialize(named.at("function")) == R"({"name":"get_weather","arguments":""})");
  CHECK_FALSE(parsed(payloads[1]).at("choices").at(0).at("delta").as_object().contains("content"));
  const auto first_args = parsed(payloads[2]).at("choices").at(0).at("delta").at("tool_calls").at(0).as_object();
  CHECK(boost::json::serialize(first_args) == R"({"index":0,"function":{"arguments":"{\"city\": "}})");
  const auto more_args = parsed(payloads[3]).at("choices").at(0).at("delta").at("tool_calls").at(0).as_object();
  CHECK(more_args.at("function").at("arguments").as_string() == "\"Paris\"}");
  const auto finish = parsed(payloads[4]).at("choices").at(0).as_object();
  CHECK(finish.at("finish_reason").as_string() == "tool_calls");
  CHECK(boost::json::serialize(finish.at("delta")) == "{}");
}

TEST_CASE("stream: an error event becomes one error payload", "[openai]") {
  StreamEncoder encoder(options(Endpoint::ChatCompletions, 1, false, true));
  GenerationEvent failed;
  failed.error = ApiError{500, "server_error", "executor failed", std::nullopt, 0};
  const auto payloads = encoder.encode(failed);
  REQUIRE(payloads.size() == 1);
  CHECK(parsed(payloads[0]).at("error").at("message").as_string() == "executor failed");
  CHECK(parsed(payloads[0]).at("error").at("code").as_int64() == 500);
}

TEST_CASE("stream: a delta for a choice that does not exist is an engine bug", "[openai]") {
  StreamEncoder encoder(options(Endpoint::ChatCompletions, 1));
  CHECK_THROWS_AS(encoder.encode(event_with({delta(3, "x")})), std::out_of_range);
}

}  // namespace
}  // namespace troupe::test
