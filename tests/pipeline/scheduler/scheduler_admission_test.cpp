// Scheduler admission and step shape: request validation, the queue bound, the token budget and
// max_num_seqs on every step, chunked prefill accounting, decodes mixed with prefill chunks, abort.
#include <catch2/catch.hpp>

#include <numeric>
#include <stdexcept>

#include "fake_executor.hpp"

namespace troupe {

namespace {

std::vector<int32_t> prompt_of(int n, int32_t first = 20) { return test::consecutive_tokens(n, first); }

int64_t batch_tokens(const ScheduledStep& s) {
  int64_t n = 0;
  for (const auto& q : s.batch.sequences) n += static_cast<int64_t>(q.tokens.size());
  return n;
}

}  // namespace

TEST_CASE("scheduler: add validates requests and bounds the waiting queue", "[scheduler]") {
  Scheduler s({.max_num_seqs = 1, .max_model_len = 64, .block_size = 4, .num_blocks = 100, .max_waiting = 2});
  CHECK(s.add(test::make_request(1, prompt_of(10), 5)) == AddResult::Accepted);
  CHECK(s.add(test::make_request(2, prompt_of(10), 5)) == AddResult::Accepted);
  CHECK(s.add(test::make_request(3, prompt_of(10), 5)) == AddResult::Accepted);
  CHECK(s.add(test::make_request(4, prompt_of(10), 5)) == AddResult::QueueFull);
  CHECK(s.add(test::make_request(5, prompt_of(64), 5)) == AddResult::TooLong);  // no room for a token
  CHECK_THROWS_AS(s.add(test::make_request(1, prompt_of(10), 5)), std::invalid_argument);
  CHECK_THROWS_AS(s.add(test::make_request(6, {}, 5)), std::invalid_argument);
  CHECK_THROWS_AS(s.add(test::make_request(7, prompt_of(3), 0)), std::invalid_argument);
  CHECK(s.stats().num_waiting == 3);  // one for the free running slot, two queued
  // Admitting frees queue room.
  REQUIRE(s.schedule());
  CHECK(s.stats().num_waiting == 2);
  CHECK(s.stats().num_running == 1);
  CHECK(s.add(test::make_request(4, prompt_of(10), 5)) == AddResult::QueueFull);
  s.abort(1);
  CHECK(s.add(test::make_request(4, prompt_of(10), 5)) == AddResult::Accepted);

  // The cache, not only max_model_len, bounds a prompt.
  Scheduler small({.max_model_len = 1000, .block_size = 4, .num_blocks = 5});
  CHECK(small.max_sequence_len() == 20);
  CHECK(small.add(test::make_request(1, prompt_of(20), 5)) == AddResult::TooLong);
  CHECK(small.add(test::make_request(2, prompt_of(19), 5)) == AddResult::Accepted);
  CHECK_THROWS_AS(Scheduler({.num_blocks = 0}), std::invalid_argument);
}

TEST_CASE("scheduler: every step respects the token budget and max_num_seqs", "[scheduler]") {
  const int64_t budget = GENERATE(7, 16, 64);
  const int64_t max_seqs = GENERATE(1, 3, 8);
  const int in_flight = GENERATE(1, 2);
  SchedulerConfig config{.max_num_seqs = max_seqs, .max_num_batched_tokens = budget, .max_model_len = 256,
                         .block_size = 4, .num_blocks = 400};
  Scheduler s(config);
  test::FakeExecutor exec(config.num_blocks, config.block_size);
  std::vector<SequenceRequest> requests;
  for (SeqId id = 0; id < 12; ++id) {
    requests.push_back(test::make_request(id, prompt_of(5 + 7 * static_cast<int>(id), static_cast<int32_t>(100 * id)), 3 + static_cast<int64_t>(id) % 5));
    REQUIRE(s.add(requests.back()) == AddResult::Accepted);
  }
  bool bad_step = false;
  const auto result = test::drive(s, exec, in_flight, [&](const ScheduledStep& step) {
    const int64_t tokens = batch_tokens(step);
    if (tokens > budget || static_cast<int64_t>(step.sequences.size()) > max_seqs ||
        tokens != step.prefill_tokens + step.decode_tokens || s.stats().num_running > max_seqs)
      bad_step = true;
  });
  CHECK_FALSE(bad_step);
  CHECK(result.errors.empty());
  CHECK(exec.errors().empty());
  for (const auto& r : requests) {
    CHECK(result.outputs.at(r.id) == test::expected_output(r, test::default_token, 256));
    CHECK(result.finished.at(r.id) == FinishReason::Length);
  }
  CHECK(s.stats().kv_used_blocks == 0);
  CHECK(s.stats().num_running == 0);
  CHECK_FALSE(s.has_unscheduled_work());
}

TEST_CASE("scheduler: a long prompt is prefilled in budget-sized chunks and sampled on the last", "[scheduler]") {
  Scheduler s({.max_num_batched_tokens = 32, .max_model_len = 256, .block_size = 16, .num_blocks = 64});
  const auto request = test::make_request(9, prompt_of(100), 3);
  REQUIRE(s.add(request) == AddResult::Accepted);
  const std::vector<int64_t> chunk{32, 32, 32, 4};
  for (std::size_t i = 0; i < chunk.size(); ++i) {
    auto step = s.schedule();
    REQUIRE(step);
    REQUIRE(step->sequences.size() == 1);
    const auto& q = step->batch.sequences[0];
    CHECK(q.num_cached == static_cast<int64_t>(32 * i));
    CHECK(static_cast<int64_t>(q.tokens.size()) == chunk[i]);
    CHECK(q.tokens.front() == (*request.prompt)[32 * i]);
    CHECK(static_cast<int64_t>(q.block_table.size()) == (q.num_cached + chunk[i] + 15) / 16);
    CHECK(step->prefill_tokens == chunk[i]);
    CHECK(step->decode_tokens == 0);
    CHECK(step->sequences[0].first_time == (i == 0));
    CHECK(step->sequences[0].sample == (i + 1 == chunk.size()));
    const std::vector<SampledToken> sampled = step->sequences[0].sample
                                                  ? std::vector<SampledToken>{{9, 777}}
                                                  : std::vector<SampledToken>{};
    const auto updates = s.complete(step->step_id, sampled);
    if (i + 1 < chunk.size()) {
      CHECK(updates.empty());
    } else {
      REQUIRE(updates.size() == 1);
      CHECK(updates[0].new_tokens == std::vector<int32_t>{777});
      CHECK(updates[0].first_token);
    }
  }
  auto decode = s.schedule();
  REQUIRE(decode);
  CHECK(decode->batch.sequences[0].tokens == std::vector<int32_t>{777});
  CHECK(decode->batch.sequences[0].num_cached == 100);
  CHECK(decode->decode_tokens == 1);
  CHECK(decode->prefill_tokens == 0);
}

TEST_CASE("scheduler: decodes come first and share a step with prefill chunks", "[scheduler]") {
  Scheduler s({.max_num_batched_tokens = 10, .max_model_len = 256, .block_size = 4, .num_blocks = 64});
  REQUIRE(s.add(test::make_request(1, prompt_of(6), 10)) == AddResult::Accepted);
  auto first = s.schedule();
  REQUIRE(first);
  s.complete(first->step_id, std::vector<SampledToken>{{1, 50}});
  REQUIRE(s.add(test::make_request(2, prompt_of(30), 10)) == AddResult::Accepted);
  auto mixed = s.schedule();
  REQUIRE(mixed);
  REQUIRE(mixed->sequences.size() == 2);
  CHECK(mixed->sequences[0].id == 1);
  CHECK(mixed->sequences[0].sample);
  CHECK_FALSE(mixed->sequences[0].first_time);
  CHECK(mixed->batch.sequences[0].tokens == std::vector<int32_t>{50});
  CHECK(mixed->sequences[1].id == 2);
  CHECK_FALSE(mixed->sequences[1].sample);  // 9 of 30 prompt tokens fit the budget
  CHECK(mixed->batch.sequences[1].tokens.size() == 9);
  CHECK(mixed->decode_tokens == 1);
  CHECK(mixed->prefill_tokens == 9);
}

TEST_CASE("scheduler: abort frees blocks at once and tells the executor", "[scheduler]") {
  Scheduler s({.max_model_len = 256, .block_size = 4, .num_blocks = 64});
  REQUIRE(s.add(test::make_request(1, prompt_of(20), 50)) == AddResult::Accepted);
  REQUIRE(s.add(test::make_request(2, prompt_of(12, 500), 50)) == AddResult::Accepted);
  auto step0 = s.schedule();
  REQUIRE(step0);
  CHECK(s.stats().kv_used_blocks == 5 + 3);
  auto step1 = s.schedule();  // pipelined: both decode with pending tokens
  REQUIRE(step1);
  CHECK(step1->sequences.size() == 2);
  s.abort(1);
  CHECK(s.stats().kv_used_blocks == 4);  // sequence 2: 13 slots
  CHECK(s.stats().num_running == 1);
  // Its tokens from the steps in flight are dropped.
  for (const auto& u : s.complete(step0->step_id, std::vector<SampledToken>{{1, 11}, {2, 12}})) CHECK(u.id == 2);
  for (const auto& u : s.complete(step1->step_id, std::vector<SampledToken>{{1, 11}, {2, 13}})) CHECK(u.id == 2);
  auto step2 = s.schedule();
  REQUIRE(step2);
  CHECK(step2->released == std::vector<SeqId>{1});
  REQUIRE(step2->sequences.size() == 1);
  CHECK(step2->sequences[0].id == 2);
  // Aborting a waiting sequence the executor never saw releases nothing.
  REQUIRE(s.add(test::make_request(3, prompt_of(8), 5)) == AddResult::Accepted);
  s.abort(3);
  s.abort(3);
  s.abort(42);
  s.abort(2);
  CHECK(s.stats().num_waiting == 0);
  CHECK(s.stats().kv_used_blocks == 0);
  s.complete(step2->step_id, std::vector<SampledToken>{{2, 14}});
  CHECK_FALSE(s.has_unscheduled_work());
  CHECK_FALSE(s.schedule());
}

}  // namespace troupe
