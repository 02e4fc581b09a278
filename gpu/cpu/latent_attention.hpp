#pragma once
// Multi-head latent attention on the CPU (DeepSeek-V2/V3, GLM-4.7-Flash; model/model_spec.hpp's
// MlaSpec has the maths), in the absorbed form: the cache keeps one row per token and layer, the
// normed latent c and the rotated shared key k_rope, [c, k_rope] (kv_lora_rank + rope_dim values);
// each query head becomes [q_nope W_uk_h, rope(q_rope)] over that row, multi-query attention over
// the latent gives each head a weighted sum of latents (the rows' first kv_lora_rank values; the
// values are the keys' rows, one cache plane), and W_uv_h turns that into the head's output.
//
// Per layer: the normed input's projection (input_projection(): q's or q_a's rows, then kv_a's,
// one product) is the caller's, fused with its norm as for any projection; forward() does the rest,
// up to o_proj's input. Each head's W_uk_h and W_uv_h is a CpuWeight of its own, kept in the
// file's blocks (GGUF) and multiplied by int8 activations, the heads' products shared out to the
// threads; float weights (safetensors) are multiplied head after head by OpenBLAS.
#include <cstdint>
#include <span>
#include <vector>

#include "gpu/backend.hpp"
#include "gpu/cpu/cpu_kernels.hpp"
#include "gpu/cpu/cpu_weight.hpp"
#include "gpu/cpu/quantized_activations.hpp"
#include "gpu/cpu/thread_pool.hpp"
#include "model/decoder_layout.hpp"

namespace troupe::cpu {

// Scratch a backend shares between its layers (grown as needed).
struct LatentScratch {
  std::vector<float> q_a;       // [tokens, q_lora_rank]: q_a's output, normed
  std::vector<float> q;         // [tokens, heads · (nope_dim + rope_dim)]
  std::vector<float> q_latent;  // [tokens, heads · row]: the query heads over the cache row
  std::vector<float> rows;      // [tokens, row]: the new tokens' cache rows
  std::vector<float> latent;    // [tokens, heads · row]: attention's output per head
  QuantizedActivations quantized;
};

class LatentAttention {
 public:
  LatentAttention(const ModelFiles& model, const LayerLayout& names, CpuWeight::Mode mode);

  // [q width + kv_lora_rank + rope_dim, hidden]: q's rows (q_proj's, or q_a_proj's q_lora_rank)
  // stacked over kv_a_proj_with_mqa's.
  const CpuWeight& input_projection() const { return input_; }
  int64_t output_width() const { return heads_ * mla_.v_head_dim; }
  int64_t bytes() const;

  // `projected`: [tokens, input_projection().rows()], the step's tokens in batch order. Stores each
  // token's cache row in `kv` (whose values are its keys), attends, and writes [tokens, heads ·
  // v_head_dim] into `out`. `query_scale` (null: none): per token, a factor on its query heads
  // (Llama 4's attention temperature, as Mistral Small 4 takes it).
  void forward(const float* projected, const StepBatch& batch, const int32_t* positions, const PagedKv& kv,
               const AttentionOptions& options, std::span<const double> inv_freq, float* out, LatentScratch& scratch,
               ThreadPool* pool, const float* query_scale = nullptr) const;

 private:
  MlaSpec mla_;
  int64_t heads_;
  float eps_;
  float rope_factor_;  // RoPE's attention factor (YaRN's), on q's and k's rotated dimensions alone
  CpuWeight input_;
  std::vector<float> q_a_norm_, kv_a_norm_;  // [q_lora_rank] (or empty), [kv_lora_rank]
  CpuWeight q_b_;                            // [heads · (nope + rope), q_lora_rank]; no rows without q_lora
  std::vector<CpuWeight> uk_;  // per head [kv_lora_rank, nope]: W_uk_hᵀ, a query's q_nope into the latent
  std::vector<CpuWeight> uv_;  // per head [v_head_dim, kv_lora_rank]: W_uv_h
};

// For every head h of `weights` (each [rows, cols]), out rows = in rows · W_hᵀ over `tokens` rows:
// head h reads `cols` values at in + t·in_stride + h·in_head and writes `rows` at out + t·out_stride
// + h·out_head.
void per_head_products(const std::vector<CpuWeight>& weights, const float* in, int64_t in_stride, int64_t in_head,
                       float* out, int64_t out_stride, int64_t out_head, int64_t tokens, ThreadPool* pool);

// Rotates the `dims` dimensions at x + h·head_stride of `heads` heads in each of `rows` rows
// (stride row_stride) by positions[r] · inv_freq[i], pairing dimensions (2i, 2i+1) when `pairs`,
// else (i, i + dims/2); cos and sin are multiplied by `factor`.
void rope_rotate(float* x, int64_t rows, int64_t row_stride, int64_t heads, int64_t head_stride, int64_t dims,
                 const int32_t* positions, std::span<const double> inv_freq, bool pairs, float factor);

}  // namespace troupe::cpu
