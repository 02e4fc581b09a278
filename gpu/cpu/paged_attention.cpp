#include "gpu/cpu/paged_attention.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <numeric>
#include <vector>

#include "gpu/cpu/cpu_features.hpp"

namespace troupe::cpu {
namespace {

struct Item {
  int64_t seq, g, t0, t1, h0, h1;  // the query heads h0 .. h1 of kv head g, tokens t0 .. t1
  int64_t cost;  // keys read × rows: for ordering, longest first
};

enum class Tile { Portable, RowsAvx2, RowsAvx512 };

// One lane width for every item, decode rows included: a row's arithmetic then depends on neither
// the tile it shares nor whether it is prefilled or decoded (batch-invariant attention), so a
// prompt's echoed logprobs equal those of the same tokens decoded one by one. Decode rows (a
// token's query heads) fill fewer lanes; measured, that still beats a keys-in-lanes tile with its
// reductions at 8 query heads per kv head (1B shape, 4K context: 24.1 against 22.4 tok/s) and
// costs 15% at 3 (SmolLM2-135M, 4K context: 44 against 51 tok/s).
Tile choose_tile(CpuIsa isa) {
  if (isa >= CpuIsa::Avx512Vnni) return Tile::RowsAvx512;
  if (isa >= CpuIsa::Avx2) return Tile::RowsAvx2;
  return Tile::Portable;
}

}  // namespace

int64_t attention_tile_tokens(int64_t group) {
  const int64_t lanes_period = std::lcm<int64_t>(group, 16);  // rows: a whole number of 16-lane vectors
  return lanes_period / group * ((64 + lanes_period - 1) / lanes_period);
}

void paged_attention_tile_portable(const PagedKv& kv, const AttentionSequence& seq, int64_t q_stride, int64_t heads,
                                   const AttentionOptions& options, int64_t g, int64_t t0, int64_t t1, int64_t h0,
                                   int64_t h1) {
  const int64_t d = kv.head_dim, group = heads / kv.kv_heads;
  if (h1 < 0) h1 = group;
  std::vector<float> scores, kp(static_cast<std::size_t>(d)), vp(static_cast<std::size_t>(d));
  for (int64_t t = t0; t < t1; ++t) {
    const int64_t pos = seq.start + t;
    const int64_t first = options.first_visible(pos);
    for (int64_t h = g * group + h0; h < g * group + h1; ++h) {  // as cpu::paged_attention, row by row
      const float* qh = seq.q + t * q_stride + h * d;
      scores.resize(static_cast<std::size_t>(pos + 1 - first));
      float max_score = -INFINITY;
      for (int64_t p = first; p <= pos; ++p) {
        kv_decode_row(kv.dtype, kv.row(kv.keys, seq.block_table, p, g), d, kp.data());
        float dot = 0.0f;
        for (int64_t i = 0; i < d; ++i) dot += qh[i] * kp[i];
        scores[p - first] = options.score(dot);
        max_score = std::max(max_score, scores[p - first]);
      }
      double denom = options.sink_term(h, max_score);
      for (float& s : scores) {
        s = std::exp(s - max_score);
        denom += s;
      }
      float* o = seq.out + (t * heads + h) * d;
      std::fill_n(o, d, 0.0f);
      for (int64_t p = first; p <= pos; ++p) {
        kv_decode_row(kv.dtype, kv.row(kv.values, seq.block_table, p, g), d, vp.data());
        const float w = static_cast<float>(scores[p - first] / denom);
        for (int64_t i = 0; i < d; ++i) o[i] += w * vp[i];
      }
    }
  }
}

void paged_attention_step(const PagedKv& kv, std::span<const AttentionSequence> sequences, int64_t q_stride,
                          int64_t heads, const AttentionOptions& options, ThreadPool* pool, CpuIsa isa) {
  const int64_t group = heads / kv.kv_heads;
  // An item's query heads: a kv head's whole group (its rows share every key row read), or, past 8
  // query heads per kv head (latent attention's one kv head for all of them; Qwen3-235B's 16), the
  // group in even parts of at most 16, at least two, so that one sequence's decode spreads over the
  // threads. Each row's arithmetic is its own lane's: the split changes no result.
  const int64_t parts = group <= 8 ? 1 : std::max<int64_t>(2, (group + 15) / 16);
  const int64_t span = (group + parts - 1) / parts, tile_tokens = attention_tile_tokens(span);
  std::vector<Item> items;
  for (int64_t s = 0; s < static_cast<int64_t>(sequences.size()); ++s) {
    const AttentionSequence& seq = sequences[s];
    for (int64_t t0 = 0; t0 < seq.tokens; t0 += tile_tokens) {
      const int64_t t1 = std::min(seq.tokens, t0 + tile_tokens);
      const int64_t keys = seq.start + t1 - options.first_visible(seq.start + t0);
      for (int64_t g = 0; g < kv.kv_heads; ++g) {
        for (int64_t h0 = 0; h0 < group; h0 += span) {
          const int64_t h1 = std::min(group, h0 + span);
          items.push_back(Item{s, g, t0, t1, h0, h1, keys * (t1 - t0) * (h1 - h0)});
        }
      }
    }
  }
  // Longest first, then taken one by one as threads come free: the long items of a long prompt do
  // not all land on one thread.
  std::stable_sort(items.begin(), items.end(), [](const Item& a, const Item& b) { return a.cost > b.cost; });
  std::atomic<int64_t> next{0};
  const Tile tile = choose_tile(isa);
  const auto worker = [&](int64_t, int64_t) {
    for (int64_t i = next.fetch_add(1, std::memory_order_relaxed); i < static_cast<int64_t>(items.size());
         i = next.fetch_add(1, std::memory_order_relaxed)) {
      const Item& it = items[i];
      const AttentionSequence& seq = sequences[it.seq];
      switch (tile) {
        case Tile::RowsAvx512:
          paged_attention_rows_avx512(kv, seq, q_stride, heads, options, it.g, it.t0, it.t1, it.h0, it.h1);
          break;
        case Tile::RowsAvx2:
          paged_attention_rows_avx2(kv, seq, q_stride, heads, options, it.g, it.t0, it.t1, it.h0, it.h1);
          break;
        case Tile::Portable:
          paged_attention_tile_portable(kv, seq, q_stride, heads, options, it.g, it.t0, it.t1, it.h0, it.h1);
          break;
      }
    }
  };
  const int threads = pool == nullptr ? 1 : pool->size();
  parallel_for(pool, std::min<int64_t>(threads, static_cast<int64_t>(items.size())), worker);
}

}  // namespace troupe::cpu
