// How steps are cut into sub-steps for the device's fixed buffers (host only: runs everywhere
// the CUDA backend is built, with or without a device).
#if TROUPE_WITH_CUDA
#include <catch2/catch.hpp>

#include "gpu/cuda/step_plan.hpp"

using namespace troupe;
using namespace troupe::cuda;

namespace {

SequenceStep seq(int64_t cached, int64_t n, std::vector<int32_t> table, bool all = false) {
  SequenceStep s;
  s.num_cached = cached;
  for (int64_t i = 0; i < n; ++i) s.tokens.push_back(static_cast<int32_t>(100 + cached + i));
  s.block_table = std::move(table);
  s.all_logits = all;
  return s;
}

}  // namespace

TEST_CASE("cuda step plan: a step within the limits is one sub-step with the CPU's row order", "[gpu][cuda]") {
  StepBatch batch;
  batch.sequences = {seq(0, 3, {5, 6}, true), seq(17, 1, {2, 9, 4})};
  const auto plan = plan_step(batch, 16, StepLimits{64, 8, 8});
  REQUIRE(plan.size() == 1);
  const SubStep& s = plan[0];
  CHECK(s.ids == std::vector<int32_t>{100, 101, 102, 117});
  CHECK(s.positions == std::vector<int32_t>{0, 1, 2, 17});
  CHECK(s.token_seq == std::vector<int32_t>{0, 0, 0, 1});
  CHECK(s.slots == std::vector<int32_t>{5 * 16, 5 * 16 + 1, 5 * 16 + 2, 9 * 16 + 1});
  CHECK(s.table_offsets == std::vector<int32_t>{0, 1});
  CHECK(s.block_tables == std::vector<int32_t>{5, 2, 9});  // only the blocks covering each sequence
  CHECK(s.logit_rows == std::vector<int32_t>{0, 1, 2, 3});
  CHECK(s.row_sequence == std::vector<int32_t>{0, 0, 0, 1});
}

TEST_CASE("cuda step plan: long prefills are cut at the token limit with pieces in order", "[gpu][cuda]") {
  StepBatch batch;
  batch.sequences = {seq(0, 10, {0, 1, 2}), seq(4, 3, {3, 4})};
  const auto plan = plan_step(batch, 4, StepLimits{4, 8, 8});
  REQUIRE(plan.size() == 4);  // tokens 0-3, 4-7, 8-9 + 1 of seq 1, last 2 of seq 1
  CHECK(plan[0].positions == std::vector<int32_t>{0, 1, 2, 3});
  CHECK(plan[0].rows() == 0);
  CHECK(plan[1].positions == std::vector<int32_t>{4, 5, 6, 7});
  CHECK(plan[1].block_tables == std::vector<int32_t>{0, 1});
  CHECK(plan[2].positions == std::vector<int32_t>{8, 9, 4, 5});
  CHECK(plan[2].row_sequence == std::vector<int32_t>{0});
  CHECK(plan[2].logit_rows == std::vector<int32_t>{1});
  CHECK(plan[3].positions == std::vector<int32_t>{6});
  CHECK(plan[3].row_sequence == std::vector<int32_t>{1});
}

TEST_CASE("cuda step plan: row and sequence limits split steps and last_only ignores all_logits", "[gpu][cuda]") {
  StepBatch batch;
  batch.sequences = {seq(0, 5, {0, 1}, true), seq(0, 1, {2}), seq(0, 1, {3})};
  const auto plan = plan_step(batch, 4, StepLimits{100, 2, 3});
  int64_t rows = 0;
  for (const auto& s : plan) {
    CHECK(s.rows() <= 3);
    CHECK(s.sequences() <= 2);
    rows += s.rows();
  }
  CHECK(rows == 7);
  const auto last = plan_step(batch, 4, StepLimits{100, 8, 8}, /*last_only=*/true);
  REQUIRE(last.size() == 1);
  CHECK(last[0].row_sequence == std::vector<int32_t>{0, 1, 2});
  CHECK(last[0].logit_rows == std::vector<int32_t>{4, 5, 6});
}

TEST_CASE("cuda step plan: decode padding adds private rows after the real ones", "[gpu][cuda]") {
  StepBatch batch;
  batch.sequences = {seq(3, 1, {7}), seq(20, 1, {1, 8})};
  CHECK(is_decode_step(batch));
  auto plan = plan_step(batch, 16, StepLimits{64, 8, 8});
  REQUIRE(plan.size() == 1);
  pad_decode(plan[0], 4, 99, 16);
  CHECK(plan[0].tokens() == 4);
  CHECK(plan[0].slots == std::vector<int32_t>{7 * 16 + 3, 8 * 16 + 4, 99 * 16, 99 * 16});
  CHECK(plan[0].token_seq == std::vector<int32_t>{0, 1, 2, 3});
  CHECK(plan[0].block_tables == std::vector<int32_t>{7, 1, 8, 99, 99});
  CHECK(plan[0].logit_rows == std::vector<int32_t>{0, 1, 2, 3});
  batch.sequences.push_back(seq(0, 2, {3}));
  CHECK_FALSE(is_decode_step(batch));
}
#endif  // TROUPE_WITH_CUDA
