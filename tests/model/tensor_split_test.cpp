// How a model's heads, FFN columns and vocabulary divide among tensor-parallel ranks.
#include <catch2/catch.hpp>

#include "common/error.hpp"
#include "model/tensor_split.hpp"

using namespace troupe;

namespace {

ModelSpec shape(int64_t heads, int64_t kv, int64_t inter, int64_t vocab) {
  ModelSpec s;
  s.num_heads = heads;
  s.num_kv_heads = kv;
  s.head_dim = 64;
  s.intermediate_size = inter;
  s.vocab_size = vocab;
  return s;
}

// Every query head is on exactly one rank and reads its own kv head there.
void check_heads(const ModelSpec& spec, int size) {
  const int64_t group = spec.num_heads / spec.num_kv_heads;
  int64_t next_head = 0, next_col = 0, next_row = 0;
  for (int r = 0; r < size; ++r) {
    const RankShard s = shard_for(spec, r, size);
    INFO("rank " << r << " of " << size);
    CHECK(s.q_heads.begin == next_head);
    CHECK(s.num_heads() > 0);
    REQUIRE(s.num_heads() == s.num_kv_heads() * s.group);
    for (int64_t j = 0; j < s.num_heads(); ++j) CHECK(s.kv_heads[j / s.group] == (s.q_heads.begin + j) / group);
    CHECK(s.intermediate.begin == next_col);
    CHECK(s.vocab.begin == next_row);
    next_head = s.q_heads.end;
    next_col = s.intermediate.end;
    next_row = s.vocab.end;
  }
  CHECK(next_head == spec.num_heads);
  CHECK(next_col == spec.intermediate_size);
  CHECK(next_row == spec.vocab_size);
}

}  // namespace

TEST_CASE("ranks as many as kv heads (or a divisor) take whole GQA groups, vLLM's split", "[model][parallel]") {
  const ModelSpec spec = shape(32, 8, 14336, 128256);
  const RankShard s = shard_for(spec, 1, 4);
  CHECK(s.q_heads.begin == 8);
  CHECK(s.q_heads.end == 16);
  CHECK(s.kv_heads == std::vector<int64_t>{2, 3});
  CHECK(s.group == 4);
  CHECK(s.intermediate.size() == 14336 / 4);
  for (const int size : {1, 2, 4, 8}) check_heads(spec, size);
}

TEST_CASE("more ranks than kv heads replicate kv heads; uneven counts split as evenly as they can", "[model][parallel]") {
  const ModelSpec smollm2 = shape(9, 3, 1536, 49152);  // SmolLM2-135M
  for (const int size : {2, 3, 4, 5, 9}) check_heads(smollm2, size);
  // 4 ranks over 9 heads in 3 groups: rank 1 holds heads 2 and 3, one of each of two groups.
  const RankShard s = shard_for(smollm2, 1, 4);
  CHECK(s.q_heads.begin == 2);
  CHECK(s.q_heads.end == 4);
  CHECK(s.kv_heads == std::vector<int64_t>{0, 1});
  CHECK(s.group == 1);
  // 2 ranks (≤ 3 kv heads): whole groups, one and two.
  CHECK(shard_for(smollm2, 0, 2).q_heads.end == 3);
  check_heads(shape(4, 1, 128, 1000), 4);  // multi-query: one kv head on every rank
}

TEST_CASE("the FFN splits at whole blocks of the down projection, or says why not", "[model][parallel]") {
  const ModelSpec spec = shape(16, 4, 1536, 1000);
  const RankShard s = shard_for(spec, 3, 4, 256);  // Q4_K: 6 blocks over 4 ranks
  CHECK(s.intermediate.begin % 256 == 0);
  CHECK(s.intermediate.end == 1536);
  CHECK_THROWS_AS(shard_for(spec, 0, 8, 256), ConfigError);  // 6 blocks for 8 ranks
  CHECK_THROWS_WITH(shard_for(shape(2, 1, 128, 100), 0, 4), Catch::Contains("2 attention heads"));
}
