#include "model/tensor_split.hpp"

#include <algorithm>
#include <numeric>
#include <string>

#include "common/error.hpp"

namespace troupe {
namespace {

// The r-th of n near-equal parts of [0, total).
IndexRange part(int64_t total, int r, int n) { return {total * r / n, total * (r + 1) / n}; }

std::string tp(int size) { return "--tensor-parallel-size " + std::to_string(size) + ": "; }

}  // namespace

RankShard shard_for(const ModelSpec& spec, int rank, int size, int64_t ffn_unit) {
  if (size < 1 || rank < 0 || rank >= size) throw ConfigError(tp(size) + "rank " + std::to_string(rank) + " is out of range");
  const int64_t heads = spec.num_heads, kv = spec.num_kv_heads, group = heads / kv;
  if (heads < size) {
    throw ConfigError(tp(size) + "the model has " + std::to_string(heads) + " attention heads, fewer than the ranks");
  }
  RankShard s;
  s.rank = rank;
  s.size = size;
  if (size <= kv) {  // whole GQA groups
    const IndexRange groups = part(kv, rank, size);
    s.q_heads = {groups.begin * group, groups.end * group};
    for (int64_t g = groups.begin; g < groups.end; ++g) s.kv_heads.push_back(g);
    s.group = group;
  } else {  // query heads, their kv heads replicated
    s.q_heads = part(heads, rank, size);
    // The rank's query heads of each kv head it touches; the local group divides every count.
    std::vector<std::pair<int64_t, int64_t>> touched;  // (kv head, query heads of it here)
    for (int64_t h = s.q_heads.begin; h < s.q_heads.end; ++h) {
      if (touched.empty() || touched.back().first != h / group) touched.push_back({h / group, 0});
      ++touched.back().second;
    }
    s.group = 0;
    for (const auto& [g, n] : touched) s.group = std::gcd(s.group, n);
    for (const auto& [g, n] : touched) s.kv_heads.insert(s.kv_heads.end(), static_cast<std::size_t>(n / s.group), g);
  }
  const int64_t unit = std::max<int64_t>(1, ffn_unit);
  // The rank's part of an MLP's `total` intermediate columns, in whole units.
  const auto columns = [&](int64_t total, const char* what) {
    if (total % unit != 0 || total / unit < size) {
      throw ConfigError(tp(size) + "the " + what + "'s " + std::to_string(total) + " columns do not split into " +
                        std::to_string(size) + " parts of whole " + std::to_string(unit) + "-column blocks");
    }
    const IndexRange units = part(total / unit, rank, size);
    return IndexRange{units.begin * unit, units.end * unit};
  };
  bool dense = !spec.moe || spec.moe->dense_beside;  // Gemma 4's layers have a dense MLP beside their experts
  for (int64_t i = 0; i < spec.num_layers && !dense; ++i) dense = !spec.sparse_mlp(i);
  if (dense) s.intermediate = columns(spec.intermediate_size, "FFN");
  if (spec.moe) s.expert_intermediate = columns(spec.moe->intermediate_size, "experts' FFN");
  for (int r = 0; r < size; ++r) s.vocab_split.push_back(part(spec.vocab_size, r, size));
  s.vocab = s.vocab_split[static_cast<std::size_t>(rank)];
  return s;
}

}  // namespace troupe
