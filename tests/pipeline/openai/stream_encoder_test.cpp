// Streaming chunks: one per choice delta, the role on a choice's first chat chunk, running text
// offsets, a usage-only last chunk when asked, and errors.
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

boost::json::object parsed(const std::string& payload) { return boost::json::parse(payload).as_object(); }

TEST_CASE("stream: chat chunks put the role on each choice's first chunk", "[openai]") {
  StreamEncoder encoder(Endpoint::ChatCompletions, {"chatcmpl-1", 9, "m"}, 2, false, false);
  const auto first = encoder.encode(event_with({delta(0, "a"), delta(1, "b")}));
  REQUIRE(first.size() == 2);
  for (const std::string& payload : first) {
    const auto chunk = parsed(payload);
    CHECK(chunk.at("object").as_string() == "chat.completion.chunk");
    CHECK(chunk.at("id").as_string() == "chatcmpl-1");
    CHECK(chunk.at("choices").at(0).at("delta").at("role").as_string() == "assistant");
    CHECK(chunk.at("choices").at(0).at("finish_reason").is_null());
    CHECK(chunk.at("choices").at(0).at("logprobs").is_null());
  }
  CHECK(parsed(first[1]).at("choices").at(0).at("index").as_int64() == 1);
  const auto next = encoder.encode(event_with({delta(0, "c", FinishReason::Stop)}, true));
  REQUIRE(next.size() == 1);
  const auto chunk = parsed(next[0]);
  CHECK_FALSE(chunk.at("choices").at(0).at("delta").as_object().contains("role"));
  CHECK(chunk.at("choices").at(0).at("delta").at("content").as_string() == "c");
  CHECK(chunk.at("choices").at(0).at("finish_reason").as_string() == "stop");
}

TEST_CASE("stream: include_usage adds a last chunk with empty choices", "[openai]") {
  StreamEncoder encoder(Endpoint::Completions, {"cmpl-1", 9, "m"}, 1, false, true);
  CHECK(encoder.encode(event_with({delta(0, "a")})).size() == 1);
  const auto last = encoder.encode(event_with({delta(0, "b", FinishReason::Length)}, true));
  REQUIRE(last.size() == 2);
  const auto usage = parsed(last[1]);
  CHECK(usage.at("object").as_string() == "text_completion");
  CHECK(usage.at("choices").as_array().empty());
  CHECK(usage.at("usage").at("prompt_tokens").as_int64() == 4);
  CHECK(usage.at("usage").at("completion_tokens").as_int64() == 2);
  CHECK(usage.at("usage").at("total_tokens").as_int64() == 6);
}

TEST_CASE("stream: without include_usage there is no usage chunk", "[openai]") {
  StreamEncoder encoder(Endpoint::Completions, {"cmpl-1", 9, "m"}, 1, false, false);
  CHECK(encoder.encode(event_with({delta(0, "b", FinishReason::Stop)}, true)).size() == 1);
}

TEST_CASE("stream: empty deltas are skipped, finishing ones are not", "[openai]") {
  StreamEncoder encoder(Endpoint::Completions, {"cmpl-1", 9, "m"}, 1, false, false);
  CHECK(encoder.encode(event_with({delta(0, "")})).empty());
  const auto finish = encoder.encode(event_with({delta(0, "", FinishReason::Stop)}, true));
  REQUIRE(finish.size() == 1);
  CHECK(parsed(finish[0]).at("choices").at(0).at("text").as_string() == "");
}

TEST_CASE("stream: completion logprobs offsets continue across chunks", "[openai]") {
  StreamEncoder encoder(Endpoint::Completions, {"cmpl-1", 9, "m"}, 1, true, false);
  ChoiceDelta a = delta(0, "ab");
  a.logprobs = {TokenLogprob{1, "ab", -0.5f, {}}};
  ChoiceDelta b = delta(0, "c");
  b.logprobs = {TokenLogprob{2, "c", -0.5f, {}}};
  encoder.encode(event_with({a}));
  const auto second = parsed(encoder.encode(event_with({b}))[0]);
  CHECK(second.at("choices").at(0).at("logprobs").at("text_offset").at(0).as_int64() == 2);
}

TEST_CASE("stream: an error event becomes one error payload", "[openai]") {
  StreamEncoder encoder(Endpoint::ChatCompletions, {"chatcmpl-1", 9, "m"}, 1, false, true);
  GenerationEvent failed;
  failed.error = ApiError{500, "server_error", "executor failed", std::nullopt, 0};
  const auto payloads = encoder.encode(failed);
  REQUIRE(payloads.size() == 1);
  CHECK(parsed(payloads[0]).at("error").at("message").as_string() == "executor failed");
  CHECK(parsed(payloads[0]).at("error").at("code").as_int64() == 500);
}

TEST_CASE("stream: a delta for a choice that does not exist is an engine bug", "[openai]") {
  StreamEncoder encoder(Endpoint::ChatCompletions, {"chatcmpl-1", 9, "m"}, 1, false, false);
  CHECK_THROWS_AS(encoder.encode(event_with({delta(3, "x")})), std::out_of_range);
}

}  // namespace
}  // namespace troupe::test
