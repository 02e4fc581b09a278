#pragma once
// How a model's layers divide among the ranks of a tensor-parallel group (Megatron's split):
// each rank holds some query heads with the key/value heads they read, a slice of the FFN's
// intermediate columns and a slice of the vocabulary. Column-parallel weights (q/k/v, gate/up,
// embedding rows, LM head rows) take the rank's rows; row-parallel weights (o, down) take the
// matching input columns, and their partial outputs are summed across ranks.
//
// Heads: with at most as many ranks as key/value heads, a rank takes whole GQA groups (a kv head
// and its query heads), as evenly as the count allows; with more ranks than kv heads, a rank takes
// a contiguous range of query heads and a copy of every kv head they read (vLLM replicates kv heads
// the same way). The local layout keeps the attention kernels' rule "local query head j reads local
// kv head j / group": a kv head whose query heads on this rank are not a multiple of the local
// group size appears more than once.
//
// Pure logic, no weights: the backends ask it at load.
#include <cstdint>
#include <vector>

#include "model/model_spec.hpp"

namespace troupe {

struct IndexRange {
  int64_t begin = 0, end = 0;
  int64_t size() const { return end - begin; }
};

struct RankShard {
  int rank = 0, size = 1;
  IndexRange q_heads;             // the model's query heads this rank computes
  std::vector<int64_t> kv_heads;  // local kv head i is the model's kv head kv_heads[i]
  int64_t group = 1;              // local query heads per local kv head
  IndexRange intermediate;        // FFN intermediate columns (gate/up rows, down columns)
  IndexRange vocab;               // embedding / LM-head rows

  int64_t num_heads() const { return q_heads.size(); }
  int64_t num_kv_heads() const { return static_cast<int64_t>(kv_heads.size()); }
};

// Rank `rank` of `size`. `ffn_unit` is the granularity of the FFN split (the block length of the
// down projection's storage, 1 for float weights). Throws ConfigError when the model cannot give
// every rank at least one query head, one FFN unit and one vocabulary row.
RankShard shard_for(const ModelSpec& spec, int rank, int size, int64_t ffn_unit = 1);

}  // namespace troupe
