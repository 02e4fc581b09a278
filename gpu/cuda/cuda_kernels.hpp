#pragma once
// Host entry points of the CUDA kernels, one per operation of the forward pass, each the device
// counterpart of the function of the same name in gpu/cpu/cpu_kernels.hpp (its reference in
// tests/gpu/cuda/). This header includes no CUDA header: pointers are device pointers, `stream`
// is a cudaStream_t (nullptr: the legacy default stream). Every launch is checked and throws
// std::runtime_error on failure.
//
// Precision: the residual stream, GEMM outputs (q, k, v, gate|up, logits) and every reduction are
// float32; what feeds a GEMM or the KV cache is stored as `StorageType` (bf16 or fp16), the type
// of the weights.
#include <cstdint>

#include "model/model_spec.hpp"  // Activation

struct CUstream_st;  // the CUDA runtime's stream, as cudaStream_t = CUstream_st*

namespace troupe::cuda {

using Stream = CUstream_st*;

enum class StorageType { BF16, FP16 };

inline constexpr int64_t kStorageBytes = 2;  // bytes per value of either StorageType

// out[t, :] = float(table[ids[t] - first_id, :]) * multiplier; table is [held, dim] in `type`, out
// float32 [tokens, dim] (Gemma scales its embeddings by sqrt(dim)). An id outside [first_id,
// first_id + held) gives a zero row: a tensor-parallel rank holds a slice of the vocabulary.
void embedding_gather(const void* table, StorageType type, const int32_t* ids, float* out, int64_t tokens,
                      int64_t dim, float multiplier, int64_t first_id, int64_t held, Stream stream);

// For r in [0, rows): with src = rows_index ? rows_index[r] : r,
//   residual[src] += delta[src] (skipped when delta is null), then
//   out[r] = residual[src] / sqrt(mean(residual[src]^2) + eps) * weight   (out in `type`).
// residual and delta are float32 [*, dim]; out is [rows, dim]. The gathered form (rows_index)
// serves the final norm on the rows that need logits.
void add_rms_norm(float* residual, const float* delta, const float* weight, void* out, StorageType type,
                  const int32_t* rows_index, int64_t rows, int64_t dim, float eps, Stream stream);

// RMSNorm of float32 rows in place: x[r] = x[r] / sqrt(mean(x[r]^2) + eps) * weight, for `rows`
// rows of `dim` (Gemma's norms on the attention and MLP outputs).
void rms_norm_in_place(float* x, const float* weight, int64_t rows, int64_t dim, float eps, Stream stream);

// Per-head RMSNorm in place (Qwen3's q/k norm): `heads` vectors of head_dim in each of `tokens`
// float32 rows at stride row_stride, each normalized and scaled by weight[head_dim].
void head_rms_norm(float* x, const float* weight, int64_t tokens, int64_t heads, int64_t head_dim,
                   int64_t row_stride, float eps, Stream stream);

// x[t, :] += bias for float32 rows of `width` (q|k|v biases of Qwen2).
void add_bias(float* x, const float* bias, int64_t rows, int64_t width, Stream stream);

// Clamps float32 values of `rows` rows of `width` (stride row_stride) to [-limit, limit]
// (IQuest-Coder's clip_qkv).
void clamp_rows(float* x, int64_t rows, int64_t width, int64_t row_stride, float limit, Stream stream);

// x = cap · tanh(x / cap) over n contiguous float32 values (Gemma 2's final-logit soft-capping).
void softcap(float* x, int64_t n, float cap, Stream stream);

// Half-split rotary embedding in place over the first rotary_dim dimensions of each head: pair
// (i, i + rotary_dim/2) rotated by positions[t] * inv_freq[i] (inv_freq: rotary_dim/2 doubles; the
// angle is formed in double, as the CPU reference does, so large positions lose no phase); the
// other dimensions pass (partial rotary when rotary_dim < head_dim).
void apply_rope(float* x, int64_t tokens, int64_t heads, int64_t head_dim, int64_t rotary_dim, int64_t row_stride,
                const int32_t* positions, const double* inv_freq, Stream stream);

// out[r, i] = act(gate_up[r, i]) * gate_up[r, inter + i] (SiLU, or GELU's tanh form, as
// cpu::activate); gate_up float32, out in `type`.
void gated_activation(const float* gate_up, void* out, StorageType type, int64_t rows, int64_t inter, Activation act,
                      Stream stream);

// Paged KV cache of one layer: keys and values each [num_blocks * block_size slots, kv_width]
// (= [block, slot in block, kv head, head_dim]) in `type`. Slot s of the cache is block s /
// block_size, position s % block_size in it.
struct DeviceKv {
  void* keys;
  void* values;
  StorageType type;
  int64_t block_size;
  int64_t kv_heads;
  int64_t head_dim;
};

// Writes the k and v rows (float32, stride row_stride) of `tokens` tokens into cache slots
// slots[t] (= block_table[pos / block_size] * block_size + pos % block_size).
void kv_store(const DeviceKv& kv, const int32_t* slots, int64_t tokens, const float* k, const float* v,
              int64_t row_stride, Stream stream);

// Where each query token of a step reads its keys: token t belongs to sequence s = token_seq[t],
// whose block table starts at block_tables[table_offsets[s]] (the step's tables concatenated),
// and sits at position positions[t]; it attends to positions 0 .. positions[t] of its sequence
// (causal), or to the last `window` of them (AttentionWindow).
struct AttentionIndex {
  const int32_t* block_tables;
  const int32_t* table_offsets;
  const int32_t* token_seq;
  const int32_t* positions;
};

// A layer's score scale and sliding window, as cpu::AttentionOptions: position p is seen from
// position pos when max(0, pos − window + 1) <= p <= pos (window 0: every p <= pos).
struct AttentionWindow {
  float scale;
  int64_t window;
  float softcap = 0.0f;  // scores soft-capped to softcap · tanh(s / softcap) (Gemma 2); 0: none
};

// Causal grouped-query attention over the paged cache: q float32 [tokens, heads * head_dim] at
// stride q_stride (query head h reads kv head h / (heads / kv_heads)); out [tokens, heads *
// head_dim] in kv.type. Softmax accumulated in float32 online. Requires head_dim <= kMaxHeadDim.
inline constexpr int64_t kMaxHeadDim = 256;
void paged_attention(const DeviceKv& kv, const AttentionIndex& index, const float* q, int64_t q_stride,
                     int64_t tokens, int64_t heads, const AttentionWindow& window, void* out, Stream stream);

// Fills n values of `type` with offset + scale * u, u uniform in [-1, 1) from a hash of (seed,
// index): random weights without a host copy, for benchmarks and tests.
void fill_random(void* dst, StorageType type, int64_t n, uint64_t seed, float offset, float scale, Stream stream);
void fill_random_f32(float* dst, int64_t n, uint64_t seed, float offset, float scale, Stream stream);

// Per-row sampling parameters as the sampling kernel reads them (see gpu/device_sampling.hpp).
struct RowSampling {
  float temperature;   // < 1e-5: greedy
  int32_t top_k;       // <= 0: none
  float top_p;         // 1: none
  float min_p;         // 0: none
  double u;            // the draw, uniform in [0, 1), from the sequence's host-side stream
};

// One token per row of float32 logits [rows, vocab] (rows at stride `row_stride` floats):
// greedy or temperature / top-k / top-p / min-p sampling with the row's uniform draw u. Writes
// tokens[r] and, when logprobs is not null, the log-softmax of the raw row at that token.
void sample_rows(const float* logits, int64_t rows, int64_t vocab, int64_t row_stride, const RowSampling* params,
                 int32_t* tokens, float* logprobs, Stream stream);

}  // namespace troupe::cuda
