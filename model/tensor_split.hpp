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
#include <string>
#include <vector>

#include "model/model_spec.hpp"

namespace troupe {

struct IndexRange {
  int64_t begin = 0, end = 0;
  int64_t size() const { return end - begin; }
};

// One stored tensor — its Hugging Face name and shape, [rows, cols] or [n] (n rows of one
// element) — and the part of it a rank holds: the listed row ranges in order (all rows when
// empty; a range may repeat) and one column range (all columns when empty).
struct TensorPart {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<IndexRange> rows = {};
  IndexRange cols = {};
  // Every value times this (Falcon-H1's µP multipliers, ModelSpec::Multipliers): applied as a
  // float weight is loaded; a weight kept in quantized blocks takes none.
  float scale = 1.0f;

  int64_t stored_cols() const { return shape.size() == 2 ? shape.back() : 1; }
  std::vector<IndexRange> row_ranges() const { return rows.empty() ? std::vector<IndexRange>{{0, shape.front()}} : rows; }
  IndexRange col_range() const { return cols.size() > 0 ? cols : IndexRange{0, stored_cols()}; }
  int64_t row_count() const {
    int64_t n = 0;
    for (const IndexRange& r : row_ranges()) n += r.size();
    return n;
  }
  // True when the part is the whole tensor, in its order.
  bool whole() const {
    const std::vector<IndexRange> r = row_ranges();
    return r.size() == 1 && r.front().begin == 0 && r.front().end == shape.front() && col_range().size() == stored_cols();
  }
};

struct RankShard {
  int rank = 0, size = 1;
  IndexRange q_heads;             // the model's query heads this rank computes
  std::vector<int64_t> kv_heads;  // local kv head i is the model's kv head kv_heads[i]
  int64_t group = 1;              // local query heads per local kv head
  IndexRange intermediate;        // FFN intermediate columns (gate/up rows, down columns)
  IndexRange expert_intermediate; // each expert's intermediate columns, likewise (mixture of experts)
  IndexRange vocab;               // embedding / LM-head rows
  std::vector<IndexRange> vocab_split;  // every rank's `vocab`, in rank order (rank 0 gathers the logits by it)

  int64_t num_heads() const { return q_heads.size(); }
  int64_t num_kv_heads() const { return static_cast<int64_t>(kv_heads.size()); }
  // The rows of the q and of the k (or v) projection this rank holds, for heads of head_dim.
  std::vector<IndexRange> q_rows(int64_t head_dim) const { return {{q_heads.begin * head_dim, q_heads.end * head_dim}}; }
  std::vector<IndexRange> kv_rows(int64_t head_dim) const {
    std::vector<IndexRange> rows;
    for (const int64_t g : kv_heads) rows.push_back({g * head_dim, (g + 1) * head_dim});
    return rows;
  }
};

// The listed row ranges (in order; a range may repeat) of a row-major matrix whose rows are
// `stride` elements, each row cut to its elements [offset, offset + count): a rank's part of a
// weight (elements are floats, or a row's bytes of quantized blocks).
template <typename T>
std::vector<T> select_rows(const std::vector<T>& all, int64_t stride, const std::vector<IndexRange>& rows, int64_t offset,
                           int64_t count) {
  std::vector<T> out;
  for (const IndexRange& range : rows) {
    for (int64_t r = range.begin; r < range.end; ++r) {
      const auto first = all.begin() + r * stride + offset;
      out.insert(out.end(), first, first + count);
    }
  }
  return out;
}

// The part's values out of the tensor's row-major float32 values (moved through when whole).
inline std::vector<float> select_part(std::vector<float> all, const TensorPart& p) {
  if (p.whole()) return all;
  const IndexRange cols = p.col_range();
  return select_rows(all, p.stored_cols(), p.row_ranges(), cols.begin, cols.size());
}

// Rank `rank` of `size`. `ffn_unit` is the granularity of the FFN split (the block length of the
// down projections' storage, 1 for float weights); experts split the same way, each rank holding
// a slice of every expert (vLLM's tensor-parallel MoE). Throws ConfigError when the model cannot
// give every rank at least one query head, one FFN unit of each MLP and one vocabulary row.
RankShard shard_for(const ModelSpec& spec, int rank, int size, int64_t ffn_unit = 1);

}  // namespace troupe
