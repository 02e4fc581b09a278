// Speculative decoding in the scheduler: proposals from the sequence's own tokens, 1..K+1 tokens
// per verified decode, the rejected guesses' KV slots given back, finishes inside a proposal, the
// batch-size and per-sequence back-off. The fake executor writes garbage into rejected guesses'
// slots and checks every cached prefix it is handed, so a miscounted position is caught.
#include <catch2/catch.hpp>

#include "fake_executor.hpp"

namespace troupe {

namespace {

SchedulerConfig speculative_config(int64_t k, int64_t batch_limit = 8) {
  SchedulerConfig config{.max_num_seqs = 32, .max_num_batched_tokens = 256, .max_model_len = 512, .block_size = 4,
                         .num_blocks = 400};
  config.speculative.method = SpeculativeMethod::Ngram;
  config.speculative.num_speculative_tokens = k;
  config.speculative.prompt_lookup_min = 2;
  config.speculative.prompt_lookup_max = 4;
  config.speculative.disable_by_batch_size = batch_limit;
  return config;
}

// A sequence whose text repeats with period 7 (as an edit repeats its source), except at the
// positions where `deviate` says so: n-gram guesses are mostly right and sometimes wrong.
test::TokenFn periodic(int64_t deviate_every) {
  return [deviate_every](SeqId id, int64_t pos) {
    if (deviate_every > 0 && pos % deviate_every == 0) return static_cast<int32_t>(500 + (pos * 31 + id) % 97);
    return static_cast<int32_t>(100 + pos % 7);
  };
}

std::vector<int32_t> periodic_prompt(int n) {
  std::vector<int32_t> p;
  for (int i = 0; i < n; ++i) p.push_back(100 + i % 7);
  return p;
}

}  // namespace

TEST_CASE("scheduler: speculative decodes give the same tokens as plain decoding, KV intact", "[scheduler][speculative]") {
  for (const int64_t deviate : {int64_t{0}, int64_t{5}, int64_t{13}}) {
    for (const int64_t k : {int64_t{1}, int64_t{3}, int64_t{8}}) {
      CAPTURE(deviate, k);
      const test::TokenFn token = periodic(deviate);
      Scheduler s(speculative_config(k));
      test::FakeExecutor exec(400, 4, token);
      std::vector<SequenceRequest> requests;
      for (SeqId id = 1; id <= 4; ++id) {
        requests.push_back(test::make_request(id, periodic_prompt(20 + static_cast<int>(id)), 60 + static_cast<int64_t>(id) * 7));
        REQUIRE(s.add(requests.back()) == AddResult::Accepted);
      }
      int64_t speculative_entries = 0;
      const auto result = test::drive(s, exec, 2, [&](const ScheduledStep& step) {
        for (const auto& sc : step.sequences) speculative_entries += sc.num_draft > 0;
        s.kv().check_invariants();
      });
      CHECK(result.errors.empty());
      CHECK(exec.errors().empty());
      for (const auto& r : requests) CHECK(result.outputs.at(r.id) == test::expected_output(r, token, 512));
      CHECK(speculative_entries > 0);
      const SchedulerStats stats = s.stats();
      CHECK(stats.spec_drafts == speculative_entries);
      CHECK(stats.spec_accepted_tokens <= stats.spec_draft_tokens);
      if (deviate == 0) CHECK(stats.spec_accepted_tokens == stats.spec_draft_tokens);  // always right
      CHECK(s.stats().kv_used_blocks == 0);
      s.kv().check_invariants();
      // Fewer steps than tokens: a step produced several tokens for a sequence.
      if (deviate == 0) CHECK(result.steps < 60);
    }
  }
}

TEST_CASE("scheduler: a stop inside an accepted proposal drops what follows it", "[scheduler][speculative]") {
  const test::TokenFn token = periodic(0);
  Scheduler s(speculative_config(6));
  test::FakeExecutor exec(400, 4, token);
  auto r = test::make_request(1, periodic_prompt(21), 50);
  r.eos_token_ids = {103};  // comes every 7 tokens: after min_tokens, inside some proposal
  r.min_tokens = 10;
  REQUIRE(s.add(r) == AddResult::Accepted);
  const auto result = test::drive(s, exec, 2);
  CHECK(result.errors.empty());
  CHECK(exec.errors().empty());
  CHECK(result.outputs.at(1) == test::expected_output(r, token, 512));
  CHECK(result.finished.at(1) == FinishReason::Stop);
  CHECK(result.stop_token.at(1) == 103);
  CHECK(s.stats().kv_used_blocks == 0);
}

TEST_CASE("scheduler: proposals stop at max_new_tokens and max_model_len", "[scheduler][speculative]") {
  const test::TokenFn token = periodic(0);
  SECTION("max_new_tokens") {
    Scheduler s(speculative_config(8));
    test::FakeExecutor exec(400, 4, token);
    const auto r = test::make_request(1, periodic_prompt(21), 11);
    REQUIRE(s.add(r) == AddResult::Accepted);
    const auto result = test::drive(s, exec, 2, [&](const ScheduledStep& step) {
      for (const auto& sc : step.sequences) CHECK(sc.num_draft <= 8);
    });
    CHECK(result.outputs.at(1).size() == 11);
    CHECK(result.finished.at(1) == FinishReason::Length);
    CHECK(exec.errors().empty());
  }
  SECTION("max_model_len") {
    SchedulerConfig config = speculative_config(8);
    config.max_model_len = 30;
    Scheduler s(config);
    test::FakeExecutor exec(400, 4, token);
    const auto r = test::make_request(1, periodic_prompt(21), 100);
    REQUIRE(s.add(r) == AddResult::Accepted);
    const auto result = test::drive(s, exec, 2, [&](const ScheduledStep& step) {
      for (const auto& e : step.batch.sequences) CHECK(e.num_cached + static_cast<int64_t>(e.tokens.size()) <= 30);
    });
    CHECK(result.outputs.at(1).size() == 9);
    CHECK(exec.errors().empty());
  }
}

TEST_CASE("scheduler: no speculation past disable_by_batch_size; two steps in flight again", "[scheduler][speculative]") {
  const test::TokenFn token = periodic(0);
  Scheduler s(speculative_config(4, /*batch_limit=*/3));
  test::FakeExecutor exec(400, 4, token);
  std::vector<SequenceRequest> requests;
  for (SeqId id = 1; id <= 6; ++id) {  // lengths differ: the batch shrinks under the limit late
    requests.push_back(test::make_request(id, periodic_prompt(20), 10 + 20 * static_cast<int64_t>(id)));
    REQUIRE(s.add(requests.back()) == AddResult::Accepted);
  }
  bool pipelined = false;
  int64_t speculative_with_many = 0;
  std::size_t max_in_flight = 0;
  const auto result = test::drive(s, exec, 2, [&](const ScheduledStep& step) {
    const SchedulerStats stats = s.stats();
    max_in_flight = std::max<std::size_t>(max_in_flight, static_cast<std::size_t>(stats.num_steps_in_flight));
    int decodes = 0;
    for (const auto& sc : step.sequences) decodes += sc.decode;
    for (const auto& sc : step.sequences) speculative_with_many += (sc.num_draft > 0 && decodes > 3);
    pipelined = pipelined || stats.num_steps_in_flight == 2;
  });
  CHECK(pipelined);  // six decoders: plain pipelined decoding
  CHECK(speculative_with_many == 0);
  CHECK(s.stats().spec_drafts > 0);  // the last three, once the others finished
  CHECK(exec.errors().empty());
  for (const auto& r : requests) CHECK(result.outputs.at(r.id) == test::expected_output(r, token, 512));
}

TEST_CASE("scheduler: a sequence whose guesses miss backs off", "[scheduler][speculative]") {
  // Tokens drawn from 7 symbols at random: almost every 2-token suffix occurred before, so a
  // proposal is possible at nearly every step, and its first guess is right one time in seven.
  const test::TokenFn token = [](SeqId, int64_t pos) {
    uint64_t x = static_cast<uint64_t>(pos) * 0x9e3779b97f4a7c15ULL;
    x ^= x >> 29;
    return static_cast<int32_t>(100 + (x * 0xbf58476d1ce4e5b9ULL >> 60) % 7);
  };
  SchedulerConfig config = speculative_config(4);
  config.speculative.prompt_lookup_min = config.speculative.prompt_lookup_max = 2;
  Scheduler s(config);
  test::FakeExecutor exec(400, 4, token);
  const auto r = test::make_request(1, periodic_prompt(28), 300);
  REQUIRE(s.add(r) == AddResult::Accepted);
  const auto result = test::drive(s, exec, 2);
  CHECK(exec.errors().empty());
  CHECK(result.outputs.at(1) == test::expected_output(r, token, 512));
  const SchedulerStats stats = s.stats();
  CAPTURE(stats.spec_drafts, stats.spec_accepted_tokens, result.steps);
  // Without the back-off nearly every one of the ~250+ steps would carry a proposal.
  CHECK(stats.spec_drafts > 5);
  CHECK(stats.spec_drafts < result.steps / 2);
}

}  // namespace troupe
