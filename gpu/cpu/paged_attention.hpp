#pragma once
// Attention of a whole step (every sequence, prefill chunks and decode tokens) over the paged KV
// cache, as one parallel loop over work items of (sequence, kv head, tile of query tokens; past 8
// query heads per kv head, a part of them: latent attention's one kv head spreads over threads). The
// plain per-(token, head) loop is cpu_kernels.hpp's paged_attention, the reference. Each item's
// rows are its tokens × the query heads sharing the kv head; its tile reads each key and value row
// once for all of them, flash-style (a running max and sum per row instead of a row of scores as
// long as the context), with the query rows in vector lanes (attention_rows_kernel.hpp: AVX-512
// on 16 lanes, AVX2 on 8; a GEMM-shaped loop with no horizontal reductions). Without AVX2,
// paged_attention_tile_portable, the reference loop for the same rows.
// A sliding window (AttentionOptions) starts each row's context later: the keys before every
// row's window are not read at all. Caches narrower than float32 are decoded as they are read.
#include <cstdint>
#include <span>

#include "gpu/cpu/cpu_features.hpp"
#include "gpu/cpu/cpu_kernels.hpp"
#include "gpu/cpu/thread_pool.hpp"

namespace troupe::cpu {

// One sequence's part of the step: `tokens` query rows at positions start .. start+tokens-1, q rows
// at stride q_stride (heads * head_dim values each), out rows of heads * head_dim values.
struct AttentionSequence {
  const int32_t* block_table;
  int64_t start;
  int64_t tokens;
  const float* q;
  float* out;
};

// Every sequence of the step; the work items are shared by `pool`'s threads as they come free.
// `isa`: the tiles to run (tests pick each one this CPU supports).
void paged_attention_step(const PagedKv& kv, std::span<const AttentionSequence> sequences, int64_t q_stride,
                          int64_t heads, const AttentionOptions& options, ThreadPool* pool, CpuIsa isa = cpu_isa());

// Query tokens per work item for `group` query heads per kv head: rows (tokens × group) a multiple
// of 16 lanes and at least 64, enough to reuse each key row, few enough that a long prompt still
// splits into many items for the threads.
int64_t attention_tile_tokens(int64_t group);

// One work item: query tokens [t0, t1) of `seq`, the query heads of kv head g. The AVX2 and
// AVX-512 kernels only where cpu_supports() says so; paged_attention_tile_portable is the
// reference loop for the same rows. Each takes the query heads h0 .. h1 of kv head g (h1 < 0: all
// of its group).
void paged_attention_rows_avx512(const PagedKv& kv, const AttentionSequence& seq, int64_t q_stride, int64_t heads,
                                 const AttentionOptions& options, int64_t g, int64_t t0, int64_t t1,
                                 int64_t h0 = 0, int64_t h1 = -1);
void paged_attention_rows_avx2(const PagedKv& kv, const AttentionSequence& seq, int64_t q_stride, int64_t heads,
                               const AttentionOptions& options, int64_t g, int64_t t0, int64_t t1,
                               int64_t h0 = 0, int64_t h1 = -1);
void paged_attention_tile_portable(const PagedKv& kv, const AttentionSequence& seq, int64_t q_stride, int64_t heads,
                                   const AttentionOptions& options, int64_t g, int64_t t0, int64_t t1,
                                   int64_t h0 = 0, int64_t h1 = -1);

}  // namespace troupe::cpu
