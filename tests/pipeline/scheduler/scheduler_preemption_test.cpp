// Preemption by recompute under a tiny cache: every sequence still completes with exactly the
// tokens it produces without memory pressure, every preemption is reported, nothing is left held.
#include <catch2/catch.hpp>

#include <numeric>

#include "fake_executor.hpp"

namespace troupe {

namespace {

std::vector<SequenceRequest> workload() {
  std::vector<SequenceRequest> requests;
  for (SeqId id = 0; id < 16; ++id) {
    std::vector<int32_t> prompt(static_cast<std::size_t>(6 + (id * 5) % 23));
    // Half share a 12-token stem, so prefix-cache hits meet preemption too.
    std::iota(prompt.begin(), prompt.end(), id % 2 == 0 ? 50 : static_cast<int32_t>(200 + 40 * id));
    auto r = test::make_request(id, std::move(prompt), 20 + static_cast<int64_t>(id * 7) % 30);
    r.eos_token_ids = {3};
    requests.push_back(std::move(r));
  }
  return requests;
}

// Occasional eos so that some sequences stop early.
int32_t token(SeqId id, int64_t pos) { return (pos * 13 + static_cast<int64_t>(id)) % 41 == 0 ? 3 : test::default_token(id, pos); }

struct Run {
  test::DriveResult result;
  SchedulerStats stats;
};

Run run(int64_t num_blocks, bool prefix_caching, int in_flight) {
  SchedulerConfig config{.max_num_seqs = 16, .max_num_batched_tokens = 32, .max_model_len = 96, .block_size = 4,
                         .num_blocks = num_blocks, .enable_prefix_caching = prefix_caching};
  Scheduler scheduler(config);
  test::FakeExecutor exec(num_blocks, config.block_size, token);
  for (const auto& r : workload()) REQUIRE(scheduler.add(r) == AddResult::Accepted);
  Run out{test::drive(scheduler, exec, in_flight), scheduler.stats()};
  for (const auto& e : exec.errors()) FAIL_CHECK(e);
  return out;
}

}  // namespace

TEST_CASE("scheduler: preemption under a tiny cache loses no token and no sequence", "[scheduler][preemption]") {
  const bool prefix_caching = GENERATE(true, false);
  const int in_flight = GENERATE(1, 2);
  const auto relaxed = run(2000, prefix_caching, in_flight).result;
  REQUIRE(relaxed.errors.empty());
  const auto [tight, stats] = run(24, prefix_caching, in_flight);  // 96 token slots for 16 sequences
  REQUIRE(tight.errors.empty());
  CHECK(stats.preemptions_total > 0);
  CHECK(tight.preempted_updates == stats.preemptions_total);
  CHECK(stats.kv_used_blocks == 0);
  CHECK(stats.num_running == 0);
  CHECK(stats.num_waiting == 0);
  CHECK(tight.max_used_blocks <= 24);
  for (const auto& r : workload()) {
    CHECK(tight.outputs.at(r.id) == relaxed.outputs.at(r.id));
    CHECK(tight.outputs.at(r.id) == test::expected_output(r, token, 96));
    CHECK(tight.finished.at(r.id) == relaxed.finished.at(r.id));
  }
}

TEST_CASE("scheduler: a sequence that outgrows the whole cache ends with Length", "[scheduler][preemption]") {
  // 3 blocks of 4: at most 12 tokens in all, whatever max_model_len says.
  SchedulerConfig config{.max_model_len = 1000, .block_size = 4, .num_blocks = 3};
  Scheduler s(config);
  test::FakeExecutor exec(3, 4);
  const auto r = test::make_request(1, {10, 11, 12, 13, 14}, 100);
  REQUIRE(s.add(r) == AddResult::Accepted);
  const auto out = test::drive(s, exec, 2);
  CHECK(out.errors.empty());
  CHECK(exec.errors().empty());
  CHECK(out.outputs.at(1).size() == 7);
  CHECK(out.finished.at(1) == FinishReason::Length);
  CHECK(s.stats().kv_used_blocks == 0);
}

}  // namespace troupe

namespace troupe {

TEST_CASE("scheduler: the most recently admitted sequence yields its blocks and is reported once", "[scheduler][preemption]") {
  // 4 blocks of 4 slots; two 7-token prompts hold 2 blocks each, and both need a third at position 8.
  Scheduler s({.max_model_len = 16, .block_size = 4, .num_blocks = 4, .enable_prefix_caching = false});
  REQUIRE(s.add(test::make_request(1, {10, 11, 12, 13, 14, 15, 16}, 5)) == AddResult::Accepted);
  REQUIRE(s.add(test::make_request(2, {20, 21, 22, 23, 24, 25, 26}, 5)) == AddResult::Accepted);
  for (int32_t t = 0; t < 2; ++t) {
    auto step = s.schedule();
    REQUIRE(step);
    REQUIRE(step->sequences.size() == 2);
    s.complete(step->step_id, std::vector<SampledToken>{{1, 30 + t}, {2, 40 + t}});
  }
  auto step = s.schedule();
  REQUIRE(step);
  REQUIRE(step->sequences.size() == 1);
  CHECK(step->sequences[0].id == 1);
  CHECK(step->released == std::vector<SeqId>{2});
  CHECK(s.stats().preemptions_total == 1);
  CHECK(s.stats().num_waiting == 1);
  CHECK(s.stats().kv_used_blocks == 3);
  SECTION("reported with the next completion, tokens kept for recompute") {
    const auto updates = s.complete(step->step_id, std::vector<SampledToken>{{1, 32}});
    REQUIRE(updates.size() == 2);
    CHECK(updates[0].id == 2);
    CHECK(updates[0].preempted);
    CHECK(updates[0].new_tokens.empty());
    CHECK(updates[1].id == 1);
    s.abort(1);
    auto again = s.schedule();
    REQUIRE(again);
    REQUIRE(again->sequences.size() == 1);
    CHECK(again->sequences[0].id == 2);
    CHECK(again->sequences[0].first_time);
    CHECK(again->sequences[0].output_so_far == std::vector<int32_t>{40, 41});
    CHECK(again->batch.sequences[0].num_cached == 0);
    CHECK(again->batch.sequences[0].tokens == std::vector<int32_t>{20, 21, 22, 23, 24, 25, 26, 40, 41});
    CHECK(again->sequences[0].sample);
  }
  SECTION("not reported once aborted") {
    s.abort(2);
    const auto updates = s.complete(step->step_id, std::vector<SampledToken>{{1, 32}});
    REQUIRE(updates.size() == 1);
    CHECK(updates[0].id == 1);
  }
}

}  // namespace troupe
