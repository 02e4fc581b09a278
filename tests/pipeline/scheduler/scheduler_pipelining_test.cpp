// Planning step N+1 while step N runs: kPendingToken inputs, at most two steps outstanding, tokens
// of a sequence that finished in N discarded from N+1, and the order complete() demands.
#include <catch2/catch.hpp>

#include <numeric>
#include <stdexcept>

#include "fake_executor.hpp"

namespace troupe {

namespace {

std::vector<int32_t> prompt_of(int n) { return test::consecutive_tokens(n, 30); }

}  // namespace

TEST_CASE("scheduler: the next step is planned with pending tokens while one is in flight", "[scheduler][pipelining]") {
  Scheduler s({.max_model_len = 256, .block_size = 4, .num_blocks = 64});
  REQUIRE(s.add(test::make_request(1, prompt_of(8), 10)) == AddResult::Accepted);
  auto step0 = s.schedule();
  REQUIRE(step0);
  CHECK(step0->sequences[0].sample);
  auto step1 = s.schedule();
  REQUIRE(step1);
  CHECK(step1->step_id == step0->step_id + 1);
  REQUIRE(step1->sequences.size() == 1);
  CHECK(step1->batch.sequences[0].tokens == std::vector<int32_t>{kPendingToken});
  CHECK(step1->batch.sequences[0].num_cached == 8);  // the pending token sits at position 8
  CHECK(step1->batch.sequences[0].block_table.size() == 3);
  CHECK_FALSE(step1->sequences[0].first_time);
  CHECK(s.stats().num_steps_in_flight == 2);
  CHECK_FALSE(s.schedule());  // at most two outstanding

  CHECK_THROWS_AS(s.complete(step1->step_id, std::vector<SampledToken>{{1, 5}}), std::invalid_argument);
  CHECK_THROWS_AS(s.complete(step0->step_id, std::vector<SampledToken>{}), std::invalid_argument);
  const auto u0 = s.complete(step0->step_id, std::vector<SampledToken>{{1, 100}});
  REQUIRE(u0.size() == 1);
  CHECK(u0[0].new_tokens == std::vector<int32_t>{100});
  CHECK(u0[0].first_token);
  // Step 2 is planned before step 1's token is known: pending again, one position further.
  auto step2 = s.schedule();
  REQUIRE(step2);
  CHECK(step2->batch.sequences[0].tokens == std::vector<int32_t>{kPendingToken});
  CHECK(step2->batch.sequences[0].num_cached == 9);
  const auto u1 = s.complete(step1->step_id, std::vector<SampledToken>{{1, 101}});
  REQUIRE(u1.size() == 1);
  CHECK(u1[0].new_tokens == std::vector<int32_t>{101});
  CHECK_FALSE(u1[0].first_token);
  s.complete(step2->step_id, std::vector<SampledToken>{{1, 102}});
  // Nothing in flight: the last token is known and used directly.
  auto step3 = s.schedule();
  REQUIRE(step3);
  CHECK(step3->batch.sequences[0].tokens == std::vector<int32_t>{102});
  CHECK(step3->batch.sequences[0].num_cached == 10);
}

TEST_CASE("scheduler: a sequence that finishes in step N has its step N+1 token discarded", "[scheduler][pipelining]") {
  Scheduler s({.max_model_len = 256, .block_size = 4, .num_blocks = 64});
  auto a = test::make_request(1, prompt_of(8), 10);
  a.eos_token_ids = {2};
  auto b = test::make_request(2, prompt_of(5), 10);
  REQUIRE(s.add(a) == AddResult::Accepted);
  REQUIRE(s.add(b) == AddResult::Accepted);
  auto step0 = s.schedule();
  auto step1 = s.schedule();
  REQUIRE(step0);
  REQUIRE(step1);
  REQUIRE(step1->sequences.size() == 2);
  const auto u0 = s.complete(step0->step_id, std::vector<SampledToken>{{1, 2}, {2, 40}});  // 1 emits eos
  REQUIRE(u0.size() == 2);
  CHECK(u0[0].id == 1);
  CHECK(u0[0].finished == FinishReason::Stop);
  CHECK(u0[0].stop_token == 2);
  CHECK(u0[0].new_tokens == std::vector<int32_t>{2});
  CHECK(s.stats().num_running == 1);
  CHECK(s.stats().kv_used_blocks == 2);  // only sequence 2 (6 slots) holds blocks now
  const auto u1 = s.complete(step1->step_id, std::vector<SampledToken>{{1, 77}, {2, 41}});
  REQUIRE(u1.size() == 1);
  CHECK(u1[0].id == 2);
  auto step2 = s.schedule();
  REQUIRE(step2);
  CHECK(step2->released == std::vector<SeqId>{1});
  REQUIRE(step2->sequences.size() == 1);
  CHECK(step2->sequences[0].id == 2);
}

TEST_CASE("scheduler: a sequence sure to hit its length limit is not scheduled again", "[scheduler][pipelining]") {
  Scheduler s({.max_model_len = 256, .block_size = 4, .num_blocks = 64});
  REQUIRE(s.add(test::make_request(1, prompt_of(8), 1)) == AddResult::Accepted);
  auto step0 = s.schedule();
  REQUIRE(step0);
  CHECK_FALSE(s.schedule());  // its only token is in flight
  const auto u = s.complete(step0->step_id, std::vector<SampledToken>{{1, 9}});
  REQUIRE(u.size() == 1);
  CHECK(u[0].finished == FinishReason::Length);
  CHECK(s.stats().kv_used_blocks == 0);
  CHECK_FALSE(s.has_unscheduled_work());
}

TEST_CASE("scheduler: pipelined and unpipelined runs produce identical outputs", "[scheduler][pipelining]") {
  SchedulerConfig config{.max_num_seqs = 5, .max_num_batched_tokens = 24, .max_model_len = 128, .block_size = 4, .num_blocks = 200};
  std::vector<SequenceRequest> requests;
  for (SeqId id = 0; id < 10; ++id) {
    auto r = test::make_request(id, prompt_of(3 + 5 * static_cast<int>(id)), 4 + static_cast<int64_t>(id));
    r.eos_token_ids = {static_cast<int32_t>(10 + id * 37 % 1000)};
    requests.push_back(r);
  }
  // Every 7th position of every sequence answers one of the eos ids.
  const test::TokenFn token = [](SeqId id, int64_t pos) {
    return pos % 7 == 0 ? static_cast<int32_t>(10 + id * 37 % 1000) : test::default_token(id, pos);
  };
  std::map<SeqId, std::vector<int32_t>> outputs[2];
  for (int in_flight = 1; in_flight <= 2; ++in_flight) {
    Scheduler s(config);
    test::FakeExecutor exec(config.num_blocks, config.block_size, token);
    for (const auto& r : requests) REQUIRE(s.add(r) == AddResult::Accepted);
    const auto result = test::drive(s, exec, in_flight);
    CHECK(result.errors.empty());
    CHECK(exec.errors().empty());
    for (const auto& r : requests) CHECK(result.outputs.at(r.id) == test::expected_output(r, token, 128));
    outputs[in_flight - 1] = result.outputs;
    CHECK(s.stats().kv_used_blocks == 0);
  }
  CHECK(outputs[0] == outputs[1]);
}

}  // namespace troupe
