// Token-level finish rules: eos, stop token ids, min_tokens, max_new_tokens, max_model_len.
#include <catch2/catch.hpp>

#include "fake_executor.hpp"

namespace troupe {

namespace {

// Tokens: position p answers 1000 + p, except the positions listed answer the given id.
test::TokenFn scripted(std::map<int64_t, int32_t> at) {
  return [at](SeqId, int64_t pos) {
    const auto it = at.find(pos);
    return it != at.end() ? it->second : static_cast<int32_t>(1000 + pos);
  };
}

test::DriveResult run_one(const SequenceRequest& r, const test::TokenFn& token, int64_t max_model_len = 256) {
  SchedulerConfig config{.max_model_len = max_model_len, .block_size = 4, .num_blocks = 100};
  Scheduler s(config);
  test::FakeExecutor exec(config.num_blocks, config.block_size, token);
  REQUIRE(s.add(r) == AddResult::Accepted);
  auto result = test::drive(s, exec, 2);
  CHECK(result.errors.empty());
  CHECK(exec.errors().empty());
  CHECK(s.stats().kv_used_blocks == 0);
  return result;
}

}  // namespace

TEST_CASE("scheduler: eos and stop ids finish with Stop, but not before min_tokens", "[scheduler]") {
  auto r = test::make_request(1, {5, 6, 7, 8}, 20);
  r.eos_token_ids = {2};
  r.stop_token_ids = {3};
  SECTION("eos") {
    const auto out = run_one(r, scripted({{6, 2}}));
    CHECK(out.outputs.at(1) == std::vector<int32_t>{1004, 1005, 2});
    CHECK(out.finished.at(1) == FinishReason::Stop);
    CHECK(out.stop_token.at(1) == 2);
  }
  SECTION("stop id") {
    const auto out = run_one(r, scripted({{5, 3}}));
    CHECK(out.outputs.at(1) == std::vector<int32_t>{1004, 3});
    CHECK(out.stop_token.at(1) == 3);
  }
  SECTION("min_tokens defers both") {
    r.min_tokens = 4;
    const auto out = run_one(r, scripted({{4, 2}, {5, 3}, {6, 2}, {8, 3}}));
    CHECK(out.outputs.at(1) == std::vector<int32_t>{2, 3, 2, 1007, 3});
    CHECK(out.finished.at(1) == FinishReason::Stop);
  }
  SECTION("ignore_eos: no eos ids, runs to max_new_tokens") {
    r.eos_token_ids.clear();
    r.max_new_tokens = 5;
    const auto out = run_one(r, scripted({{4, 2}, {6, 2}}));
    CHECK(out.outputs.at(1).size() == 5);
    CHECK(out.finished.at(1) == FinishReason::Length);
    CHECK_FALSE(out.stop_token.at(1).has_value());
  }
  SECTION("a stop token on the last allowed token still reports Stop") {
    r.max_new_tokens = 3;
    const auto out = run_one(r, scripted({{6, 2}}));
    CHECK(out.finished.at(1) == FinishReason::Stop);
  }
}

TEST_CASE("scheduler: max_model_len ends a sequence with Length", "[scheduler]") {
  const auto r = test::make_request(1, {5, 6, 7, 8, 9, 10}, 100);
  const auto out = run_one(r, scripted({}), 10);
  CHECK(out.outputs.at(1).size() == 4);
  CHECK(out.finished.at(1) == FinishReason::Length);
}

}  // namespace troupe
