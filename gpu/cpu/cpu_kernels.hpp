#pragma once
// The CPU implementation of every operation in the forward pass. Each function is both the CPU
// backend's kernel and the reference its CUDA counterpart is tested against, so each is written
// for clarity first: plain loops over row-major float32 buffers, parallel over independent rows.
//
// Layouts: activations are row-major [tokens, width]. A "row stride" lets a kernel work on a
// slice of a wider fused buffer (q, k and v live side by side in one [tokens, q+2kv] buffer).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>

#include "gpu/cpu/kv_dtype.hpp"
#include "gpu/cpu/thread_pool.hpp"
#include "model/model_spec.hpp"

namespace troupe::cpu {

// C[M,N] = A[M,K] · W[N,K]^T (+ C when accumulate). W is a weight in PyTorch's [out, in] layout.
void matmul_nt(const float* a, const float* w, float* c, int64_t m, int64_t n, int64_t k, bool accumulate = false);

// Kernels that take a ThreadPool* split their rows over it; nullptr runs them on the caller.

// out[r] = x[r] / sqrt(mean(x[r]^2) + eps) * weight, for `rows` rows of `dim` values (weight
// nullptr: none, Gemma 4's value norm).
void rms_norm(const float* x, const float* weight, float* out, int64_t rows, int64_t dim, float eps,
              int64_t x_stride, int64_t out_stride, ThreadPool* pool = nullptr);

// out[r] = (x[r] - mean(x[r])) / sqrt(var(x[r]) + eps) * weight + bias: LayerNorm (bias nullptr:
// none, Cohere's).
void layer_norm(const float* x, const float* weight, const float* bias, float* out, int64_t rows, int64_t dim,
                float eps, int64_t x_stride, int64_t out_stride, ThreadPool* pool = nullptr);

// The fused step between sublayers: residual += delta, then out = rms_norm(residual).
void add_rms_norm(float* residual, const float* delta, const float* weight, float* out, int64_t rows,
                  int64_t dim, float eps, ThreadPool* pool = nullptr);

// Rotates `heads` heads of `head_dim` in each of `tokens` rows (stride `row_stride`) in place, by
// the half-split convention over the first r = 2·inv_freq.size() dimensions of each head: pair
// (i, i + r/2) is rotated by positions[t] * inv_freq[i]; dimensions r.. pass (partial rotary when
// r < head_dim).
void apply_rope(float* x, int64_t tokens, int64_t heads, int64_t head_dim, int64_t row_stride,
                const int32_t* positions, std::span<const double> inv_freq, ThreadPool* pool = nullptr);

// The MLP's activation of one value (SwigluOai: see gated below): relu², ReLU, SiLU, x·σ(x), GELU, x·Φ(x); or GELU's tanh form,
// 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))) (PyTorch's gelu(approximate="tanh")), computed as
// x·σ(2·√(2/π)·(x + 0.044715·x³)) — the same function (0.5·(1 + tanh z) = σ(2z)) at the cost of
// one exp, a quarter of tanh's; σ(z) = 1 / (1 + e^−z) saturates cleanly at both ends.
inline float activate(float x, Activation act) {
  if (act == Activation::Identity) return x;  // applied before (xIELU: cpu::xielu)
  if (act == Activation::ReluSquared) {  // Nemotron-H's relu², max(x, 0)²
    x = std::max(x, 0.0f);
    return x * x;
  }
  if (act == Activation::GeluTanh) {
    constexpr float kTwoSqrt2OverPi = 1.5957691216057308f;
    return x / (1.0f + std::exp(-kTwoSqrt2OverPi * (x + 0.044715f * x * x * x)));
  }
  if (act == Activation::Relu) return std::max(x, 0.0f);
  if (act == Activation::Gelu) return 0.5f * x * (1.0f + std::erf(x * 0.70710678118654752f));  // x·Φ(x)
  return x / (1.0f + std::exp(-x));
}

// torch's softplus, log(1 + e^x) (threshold 20: x itself above it): the recurrent layers' time steps.
inline float softplus(float x) { return x > 20.0f ? x : std::log1p(std::exp(x)); }

// Apertus's xIELU with one layer's parameters (αp, αn as used, not as stored), in place over n values:
// x > 0: αp·x² + β·x, else (expm1(min(x, ε)) − x)·αn + β·x.
struct XieluParams {
  float alpha_p = 0.0f, alpha_n = 0.0f, beta = 0.5f, eps = -1e-6f;
};
void xielu(float* x, int64_t n, const XieluParams& p);

// One gated-MLP value from its gate and up values: act(g) · u, or gpt-oss's clamped SwiGLU,
// min(g, 7) · σ(1.702 · min(g, 7)) · (clamp(u, −7, 7) + 1).
inline float gated(float g, float u, Activation act) {
  if (act == Activation::SwigluOai) {
    constexpr float kLimit = 7.0f, kAlpha = 1.702f;
    g = std::min(g, kLimit);
    return g / (1.0f + std::exp(-kAlpha * g)) * (std::clamp(u, -kLimit, kLimit) + 1.0f);
  }
  return activate(g, act) * u;
}

// out[r, i] = gated(gate_up[r, i], gate_up[r, inter + i]): gate and up projections side by side.
void gated_activation(const float* gate_up, float* out, int64_t rows, int64_t inter, Activation act,
                      ThreadPool* pool = nullptr);

// out[r, i] = activate(x[r, i]): the activation of an MLP without a gate (Nemotron-H's), rows of `inter`.
void ungated_activation(const float* x, float* out, int64_t rows, int64_t inter, Activation act, ThreadPool* pool = nullptr);

// Clamps every value of `rows` rows of `width` values (stride `row_stride`) to [-limit, limit].
void clamp_rows(float* x, int64_t rows, int64_t width, int64_t row_stride, float limit);

// Gemma 3n's Gaussian top-k on `rows` rows of `width` values (stride `row_stride`), in place: each
// value less the row's mean + k · its standard deviation (over the row, as a population), and 0
// where that is negative — what is left of the values above the cutoff that a normal distribution of
// the row's mean and spread would put its top fraction above (k its quantile).
void gaussian_top_k(float* x, int64_t rows, int64_t width, int64_t row_stride, float k);

// x[i] *= factor for `n` values.
void scale(float* x, int64_t n, float factor);

// residual[i] += delta[i] for `n` values.
void add(float* residual, const float* delta, int64_t n);

// x[r, i] += bias[i] for `rows` rows of `width` values: a projection's bias (cuda::add_bias's reference).
void add_bias(float* x, const float* bias, int64_t rows, int64_t width);

// out[t] = table[ids[t]] for rows of `dim` floats.
// A tensor-parallel rank holds the table's rows of ids [first_id, first_id + held): other ids give
// zero rows (their rank supplies them in the sum).
void embedding_gather(const float* table, const int32_t* ids, float* out, int64_t tokens, int64_t dim,
                      int64_t first_id = 0, int64_t held = INT64_MAX);

// Paged KV cache of one layer: [num_blocks, block_size, kv_heads] rows of head_dim values for
// keys and the same for values, each row stored as `dtype` (gpu/cpu/kv_dtype.hpp) in row_bytes.
// Latent attention's cache is one plane: its values are its keys (`values` == `keys`).
struct PagedKv {
  std::byte* keys;
  std::byte* values;
  int64_t block_size;
  int64_t kv_heads;
  int64_t head_dim;
  KvDtype dtype;
  int64_t row_bytes;  // kv_row_bytes(dtype, head_dim)

  PagedKv(std::byte* k, std::byte* v, int64_t block_size_, int64_t kv_heads_, int64_t head_dim_, KvDtype dtype_)
      : keys(k), values(v), block_size(block_size_), kv_heads(kv_heads_), head_dim(head_dim_), dtype(dtype_),
        row_bytes(kv_row_bytes(dtype_, head_dim_)) {}
  // A float32 cache (the reference layout the CUDA tests compare with).
  PagedKv(float* k, float* v, int64_t block_size_, int64_t kv_heads_, int64_t head_dim_)
      : PagedKv(reinterpret_cast<std::byte*>(k), reinterpret_cast<std::byte*>(v), block_size_, kv_heads_, head_dim_,
                KvDtype::Float32) {}

  // The row of kv head g at position pos of the sequence whose blocks `block_table` lists.
  std::byte* row(std::byte* base, const int32_t* block_table, int64_t pos, int64_t g) const {
    const int64_t slot = static_cast<int64_t>(block_table[pos / block_size]) * block_size + pos % block_size;
    return base + (slot * kv_heads + g) * row_bytes;
  }
};

// Stores the k and v rows of `tokens` new tokens (positions start .. start+tokens-1) into the
// cache slots the block table gives, encoded as the cache's dtype. `v` is not read when the
// cache's values are its keys.
void kv_store(const PagedKv& kv, const int32_t* block_table, int64_t start, int64_t tokens,
              const float* k, const float* v, int64_t row_stride);

// How a layer's attention forms scores and which cached positions a query sees: softmax of
// s = q·k × scale (soft-capped to softcap · tanh(s / softcap) when softcap > 0: Gemma 2) over
// positions max(0, pos − window + 1) .. pos, its own included (window 0: all of 0 .. pos). A
// sliding window of W keeps the W most recent positions, as Hugging Face's and llama.cpp's masks do.
struct AttentionOptions {
  float scale = 0.0f;
  int64_t window = 0;
  float softcap = 0.0f;
  // gpt-oss's per-head sink logits ([heads], the local heads'), or nullptr: head h's softmax
  // denominator gains e^(sinks[h] − m), m being the max its scores were exponentiated against.
  const float* sinks = nullptr;
  // Chunked attention (Llama 4): position p sees its chunk's positions from floor(p / chunk) · chunk
  // on; 0: none. Like a window's, the first position seen never decreases as p grows.
  int64_t chunk = 0;
  float sink_term(int64_t h, float max) const { return sinks != nullptr ? std::exp(sinks[h] - max) : 0.0f; }
  int64_t first_visible(int64_t pos) const {
    if (chunk > 0) return pos - pos % chunk;
    return window > 0 && pos >= window ? pos - window + 1 : 0;
  }
  float score(float dot) const { return softcap > 0.0f ? softcap * std::tanh(dot * scale / softcap) : dot * scale; }
};

// Causal attention of `tokens` query rows at positions start .. start+tokens-1 over the cached
// positions `options` lets each see, grouped-query: query head h reads kv head h / (heads/kv_heads).
// q rows have `heads * head_dim` values at stride q_stride; out rows are [heads * head_dim].
void paged_attention(const PagedKv& kv, const int32_t* block_table, int64_t start, int64_t tokens,
                     const float* q, int64_t q_stride, int64_t heads, const AttentionOptions& options, float* out,
                     ThreadPool* pool = nullptr);

}  // namespace troupe::cpu
