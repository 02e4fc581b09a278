// Prefix caching through the scheduler: shared prompt prefixes are computed once, n > 1 choices of
// one request share their prompt blocks, and the counters follow vLLM's token semantics.
#include <catch2/catch.hpp>

#include <numeric>

#include "fake_executor.hpp"

namespace troupe {

namespace {

std::vector<int32_t> prompt_of(int n, int32_t first = 40) { return test::consecutive_tokens(n, first); }

}  // namespace

TEST_CASE("scheduler: a later prompt with a shared prefix starts from the cached blocks", "[scheduler][prefix]") {
  SchedulerConfig config{.max_model_len = 256, .block_size = 16, .num_blocks = 64};
  Scheduler s(config);
  test::FakeExecutor exec(config.num_blocks, config.block_size);
  const auto a = test::make_request(1, prompt_of(64), 4);
  REQUIRE(s.add(a) == AddResult::Accepted);
  auto first = test::drive(s, exec, 2);
  REQUIRE(first.errors.empty());
  CHECK(first.cached_prompt_tokens.at(1) == 0);

  auto shared = prompt_of(50);  // 48 tokens in 3 full blocks match, then the tail differs
  shared.insert(shared.end(), {7, 7, 7, 7, 7});
  const auto b = test::make_request(2, shared, 4);
  REQUIRE(s.add(b) == AddResult::Accepted);
  int64_t first_num_cached = -1;
  auto second = test::drive(s, exec, 2, [&](const ScheduledStep& step) {
    if (first_num_cached < 0) first_num_cached = step.batch.sequences.at(0).num_cached;
  });
  REQUIRE(second.errors.empty());
  CHECK(exec.errors().empty());
  CHECK(first_num_cached == 48);
  CHECK(second.cached_prompt_tokens.at(2) == 48);
  CHECK(second.outputs.at(2) == test::expected_output(b, test::default_token, 256));
  CHECK(s.stats().prefix_queries_tokens == 64 + 55);
  CHECK(s.stats().prefix_hits_tokens == 48);
  CHECK(s.stats().kv_used_blocks == 0);
  CHECK(s.stats().kv_cached_blocks > 0);
}

TEST_CASE("scheduler: n > 1 choices share their prompt blocks", "[scheduler][prefix]") {
  const bool prefix_caching = GENERATE(true, false);
  SchedulerConfig config{.max_model_len = 512, .block_size = 16, .num_blocks = 200, .enable_prefix_caching = prefix_caching};
  auto peak_for = [&](int n, test::DriveResult* out) {
    Scheduler s(config);
    test::FakeExecutor exec(config.num_blocks, config.block_size);
    const auto prompt = std::make_shared<const std::vector<int32_t>>(prompt_of(200));
    for (int i = 0; i < n; ++i) {
      SequenceRequest r;
      r.id = static_cast<SeqId>(i);
      r.prompt = prompt;  // one prompt object, as the request actor shares it between choices
      r.max_new_tokens = 8;
      REQUIRE(s.add(r) == AddResult::Accepted);
    }
    *out = test::drive(s, exec, 2);
    CHECK(out->errors.empty());
    CHECK(exec.errors().empty());
    CHECK(s.stats().kv_used_blocks == 0);
    return out->max_used_blocks;
  };
  test::DriveResult one, four;
  const int64_t single = peak_for(1, &one);
  const int64_t quad = peak_for(4, &four);
  for (SeqId id = 0; id < 4; ++id) {
    SequenceRequest r = test::make_request(id, prompt_of(200), 8);
    CHECK(four.outputs.at(id) == test::expected_output(r, test::default_token, 512));
  }
  if (prefix_caching) {
    CHECK(quad < 2 * single);  // 12 shared prompt blocks + a private tail each
    for (SeqId id = 1; id < 4; ++id) CHECK(four.cached_prompt_tokens.at(id) == 192);
  } else {
    CHECK(quad == 4 * single);
  }
}

}  // namespace troupe

namespace troupe {

TEST_CASE("scheduler: a prompt whose logprobs are wanted is computed whole, every prompt row's logits asked",
          "[scheduler][prefix]") {
  // A chunk size below the prompt so the prompt takes several chunks.
  SchedulerConfig config{.max_num_batched_tokens = 32, .max_model_len = 256, .block_size = 16, .num_blocks = 64};
  Scheduler s(config);
  test::FakeExecutor exec(config.num_blocks, config.block_size);
  REQUIRE(s.add(test::make_request(1, prompt_of(64), 2)) == AddResult::Accepted);
  REQUIRE(test::drive(s, exec, 2).errors.empty());  // its blocks are now in the prefix cache

  auto wanting = test::make_request(2, prompt_of(64), 2);
  wanting.sampling.prompt_logprobs = 1;
  REQUIRE(s.add(wanting) == AddResult::Accepted);
  std::vector<std::pair<int64_t, bool>> chunks;  // (num_cached, all_logits) of each prompt chunk
  auto run = test::drive(s, exec, 2, [&](const ScheduledStep& step) {
    for (std::size_t i = 0; i < step.sequences.size(); ++i) {
      if (!step.sequences[i].decode) chunks.emplace_back(step.batch.sequences[i].num_cached, step.batch.sequences[i].all_logits);
    }
  });
  REQUIRE(run.errors.empty());
  CHECK(exec.errors().empty());
  CHECK(run.cached_prompt_tokens.at(2) == 0);  // the cached blocks were not used
  REQUIRE(chunks.size() == 2);
  CHECK(chunks[0] == std::pair<int64_t, bool>{0, true});
  CHECK(chunks[1] == std::pair<int64_t, bool>{32, true});
  CHECK(run.outputs.at(2) == test::expected_output(wanting, test::default_token, 256));
  CHECK(s.stats().prefix_queries_tokens == 64);  // no lookup counted for it, as vLLM skips it
}

}  // namespace troupe
