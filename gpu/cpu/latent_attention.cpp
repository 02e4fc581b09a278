#include "gpu/cpu/latent_attention.hpp"

#include <cmath>

#include "gpu/cpu/paged_attention.hpp"
#include "model/latent_heads.hpp"
#include "model/model_files.hpp"

namespace troupe::cpu {

void rope_rotate(float* x, int64_t rows, int64_t row_stride, int64_t heads, int64_t head_stride, int64_t dims,
                 const int32_t* positions, std::span<const double> inv_freq, bool pairs, float factor) {
  const int64_t half = dims / 2;
  std::vector<float> cos_t(static_cast<std::size_t>(half)), sin_t(static_cast<std::size_t>(half));
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t i = 0; i < half; ++i) {
      const double angle = static_cast<double>(positions[r]) * inv_freq[static_cast<std::size_t>(i)];
      cos_t[static_cast<std::size_t>(i)] = static_cast<float>(std::cos(angle)) * factor;
      sin_t[static_cast<std::size_t>(i)] = static_cast<float>(std::sin(angle)) * factor;
    }
    for (int64_t h = 0; h < heads; ++h) {
      float* head = x + r * row_stride + h * head_stride;
      for (int64_t i = 0; i < half; ++i) {
        float& a = head[pairs ? 2 * i : i];
        float& b = head[pairs ? 2 * i + 1 : i + half];
        const float c = cos_t[static_cast<std::size_t>(i)], s = sin_t[static_cast<std::size_t>(i)];
        const float a0 = a, b0 = b;
        a = a0 * c - b0 * s;
        b = b0 * c + a0 * s;
      }
    }
  }
}

void per_head_products(const std::vector<CpuWeight>& weights, const float* in, int64_t in_stride, int64_t in_head,
                       float* out, int64_t out_stride, int64_t out_head, int64_t tokens, ThreadPool* pool) {
  const int64_t rows = weights.front().rows(), cols = weights.front().cols();
  const auto head = [&](int64_t h, ThreadPool* inner) {
    thread_local std::vector<float> a, c;  // head h's input rows and product, contiguous
    a.resize(static_cast<std::size_t>(tokens * cols));
    c.resize(static_cast<std::size_t>(tokens * rows));
    for (int64_t t = 0; t < tokens; ++t) std::copy_n(in + t * in_stride + h * in_head, cols, a.data() + t * cols);
    weights[static_cast<std::size_t>(h)].matmul(a.data(), c.data(), tokens, /*accumulate=*/false, inner);
    for (int64_t t = 0; t < tokens; ++t) std::copy_n(c.data() + t * rows, rows, out + t * out_stride + h * out_head);
  };
  const auto heads = static_cast<int64_t>(weights.size());
  if (weights.front().takes_quantized()) {  // int8 kernels, one head per thread at a time
    parallel_for(pool, heads, [&](int64_t h0, int64_t h1) {
      for (int64_t h = h0; h < h1; ++h) head(h, nullptr);
    });
  } else {  // float32: OpenBLAS, called from this thread only
    for (int64_t h = 0; h < heads; ++h) head(h, pool);
  }
}

LatentAttention::LatentAttention(const ModelFiles& model, const LayerLayout& names, CpuWeight::Mode mode)
    : mla_(model.spec().mla.value()),
      heads_(model.spec().num_heads),
      eps_(static_cast<float>(model.spec().rms_eps)),
      rope_factor_(static_cast<float>(rope_attention_factor(model.spec().rope))) {
  const int64_t hidden = model.spec().hidden_size, qk = heads_ * mla_.qk_dim();
  const int64_t kv_rows = mla_.kv_lora_rank + mla_.rope_dim;
  using Parts = std::vector<CpuWeight::Part>;
  if (mla_.q_lora_rank > 0) {
    input_ = CpuWeight::load(model, Parts{{names.q_a, {mla_.q_lora_rank, hidden}}, {names.kv_a, {kv_rows, hidden}}}, mode);
    q_a_norm_ = model.load_f32(names.q_a_norm, {mla_.q_lora_rank});
    q_b_ = CpuWeight::load(model, Parts{{names.q_b, {qk, mla_.q_lora_rank}}}, mode);
  } else {
    input_ = CpuWeight::load(model, Parts{{names.q, {qk, hidden}}, {names.kv_a, {kv_rows, hidden}}}, mode);
  }
  kv_a_norm_ = model.load_f32(names.kv_a_norm, {mla_.kv_lora_rank});
  // Each head's up-projections (model/latent_heads.hpp): W_uk_h as llama.cpp's k_b stores it,
  // transposed, or from kv_b's rows, transposed here (as float32).
  const int64_t c = mla_.kv_lora_rank, n = mla_.nope_dim, v = mla_.v_head_dim;
  const bool stored_transposed = model.find(latent_head_name(names.k_b, 0)) != nullptr;
  for (int64_t h = 0; h < heads_; ++h) {
    if (stored_transposed) {
      uk_.push_back(CpuWeight::load(model, Parts{{latent_head_name(names.k_b, h), {c, n}}}, mode));
    } else {
      const std::vector<float> rows = model.load_f32(latent_head_name(names.kv_b, h), {n, c});
      std::vector<float> transposed(rows.size());
      for (int64_t i = 0; i < n; ++i) {
        for (int64_t j = 0; j < c; ++j) transposed[static_cast<std::size_t>(j * n + i)] = rows[static_cast<std::size_t>(i * c + j)];
      }
      uk_.push_back(CpuWeight::from_f32(std::move(transposed), c, n));
    }
    uv_.push_back(CpuWeight::load(model, Parts{{latent_head_name(names.v_b, h), {v, c}}}, mode));
  }
}

int64_t LatentAttention::bytes() const {
  int64_t heads = 0;
  for (const auto* w : {&uk_, &uv_}) {
    for (const CpuWeight& head : *w) heads += head.bytes();
  }
  const auto floats = q_a_norm_.size() + kv_a_norm_.size();
  return input_.bytes() + q_b_.bytes() + heads + static_cast<int64_t>(floats * sizeof(float));
}

void LatentAttention::forward(const float* projected, const StepBatch& batch, const int32_t* positions, const PagedKv& kv,
                              const AttentionOptions& options, std::span<const double> inv_freq, float* out,
                              LatentScratch& s, ThreadPool* pool, const float* query_scale) const {
  const int64_t tokens = batch.total_tokens();
  const int64_t c = mla_.kv_lora_rank, r = mla_.rope_dim, n = mla_.nope_dim, qk = mla_.qk_dim(), v = mla_.v_head_dim;
  const int64_t row = c + r;  // the cache row, a query head's width over it
  const int64_t in_width = input_.rows(), q_width = mla_.q_lora_rank > 0 ? mla_.q_lora_rank : heads_ * qk;

  // The query heads [q_nope, q_rope], from q_proj's rows or through q_a's norm and q_b.
  const float* q = projected;
  int64_t q_stride = in_width;
  if (mla_.q_lora_rank > 0) {
    s.q_a.resize(static_cast<std::size_t>(tokens * q_width));
    rms_norm(projected, q_a_norm_.data(), s.q_a.data(), tokens, q_width, eps_, in_width, q_width, pool);
    s.q.resize(static_cast<std::size_t>(tokens * heads_ * qk));
    if (q_b_.takes_quantized()) {
      quantize_activations(s.q_a.data(), tokens, q_width, q_width, s.quantized, pool);
      q_b_.matmul(s.quantized, s.q.data(), /*accumulate=*/false, pool);
    } else {
      q_b_.matmul(s.q_a.data(), s.q.data(), tokens, /*accumulate=*/false, pool);
    }
    q = s.q.data();
    q_stride = heads_ * qk;
  }

  // The new tokens' cache rows: the normed latent, then the shared key's rotated dimensions.
  s.rows.resize(static_cast<std::size_t>(tokens * row));
  const float* kv_part = projected + q_width;
  rms_norm(kv_part, kv_a_norm_.data(), s.rows.data(), tokens, c, eps_, in_width, row, pool);
  for (int64_t t = 0; t < tokens; ++t) {
    std::copy_n(kv_part + t * in_width + c, r, s.rows.data() + t * row + c);
  }
  rope_rotate(s.rows.data() + c, tokens, row, 1, row, r, positions, inv_freq, mla_.rope_pairs, rope_factor_);

  // Each query head over the cache row: [q_nope W_uk_h, rope(q_rope)].
  s.q_latent.resize(static_cast<std::size_t>(tokens * heads_ * row));
  per_head_products(uk_, q, q_stride, qk, s.q_latent.data(), heads_ * row, row, tokens, pool);
  for (int64_t h = 0; h < heads_; ++h) {
    for (int64_t t = 0; t < tokens; ++t) {
      std::copy_n(q + t * q_stride + h * qk + n, r, s.q_latent.data() + (t * heads_ + h) * row + c);
    }
  }
  rope_rotate(s.q_latent.data() + c, tokens, heads_ * row, heads_, row, r, positions, inv_freq, mla_.rope_pairs,
              rope_factor_);
  if (query_scale != nullptr) {  // the whole query head, as transformers scales [q_nope, q_rope]
    for (int64_t t = 0; t < tokens; ++t) {
      if (query_scale[t] == 1.0f) continue;
      for (float* x = s.q_latent.data() + t * heads_ * row; x != s.q_latent.data() + (t + 1) * heads_ * row; ++x) {
        *x *= query_scale[t];
      }
    }
  }

  // Store, then attend: multi-query attention over the rows, one KV head.
  s.latent.resize(static_cast<std::size_t>(tokens * heads_ * row));
  std::vector<AttentionSequence> sequences;
  sequences.reserve(batch.sequences.size());
  int64_t offset = 0;
  for (const auto& seq : batch.sequences) {
    const auto len = static_cast<int64_t>(seq.tokens.size());
    kv_store(kv, seq.block_table.data(), seq.num_cached, len, s.rows.data() + offset * row, nullptr, row);
    sequences.push_back({seq.block_table.data(), seq.num_cached, len, s.q_latent.data() + offset * heads_ * row,
                         s.latent.data() + offset * heads_ * row});
    offset += len;
  }
  paged_attention_step(kv, sequences, heads_ * row, heads_, options, pool);

  // Each head's output: its weighted latent (the first c values; the rest weigh k_rope) times W_uv_hᵀ.
  per_head_products(uv_, s.latent.data(), heads_ * row, row, out, heads_ * v, v, tokens, pool);
}

}  // namespace troupe::cpu
