#include "gpu/cpu/cpu_kernels.hpp"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace troupe::cpu {

void matmul_nt(const float* a, const float* w, float* c, int64_t m, int64_t n, int64_t k, bool accumulate) {
  if (m == 1) {  // a decode step of one sequence: OpenBLAS 0.3.21 does not route this to GEMV itself
    cblas_sgemv(CblasRowMajor, CblasNoTrans, static_cast<int>(n), static_cast<int>(k), 1.0f, w,
                static_cast<int>(k), a, 1, accumulate ? 1.0f : 0.0f, c, 1);
    return;
  }
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(m), static_cast<int>(n),
              static_cast<int>(k), 1.0f, a, static_cast<int>(k), w, static_cast<int>(k),
              accumulate ? 1.0f : 0.0f, c, static_cast<int>(n));
}

void rms_norm(const float* x, const float* weight, float* out, int64_t rows, int64_t dim, float eps,
              int64_t x_stride, int64_t out_stride, ThreadPool* pool) {
  parallel_for(pool, rows, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const float* xr = x + r * x_stride;
      float* o = out + r * out_stride;
      double sum = 0.0;  // double: a long row of squares loses digits in float
      for (int64_t i = 0; i < dim; ++i) sum += static_cast<double>(xr[i]) * xr[i];
      const float inv = static_cast<float>(1.0 / std::sqrt(sum / static_cast<double>(dim) + eps));
      if (weight == nullptr) {
        for (int64_t i = 0; i < dim; ++i) o[i] = xr[i] * inv;
      } else {
        for (int64_t i = 0; i < dim; ++i) o[i] = xr[i] * inv * weight[i];
      }
    }
  });
}

void layer_norm(const float* x, const float* weight, const float* bias, float* out, int64_t rows, int64_t dim,
                float eps, int64_t x_stride, int64_t out_stride, ThreadPool* pool) {
  parallel_for(pool, rows, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const float* xr = x + r * x_stride;
      float* o = out + r * out_stride;
      double sum = 0.0;
      for (int64_t i = 0; i < dim; ++i) sum += xr[i];
      const double mean = sum / static_cast<double>(dim);
      double squares = 0.0;  // about the mean, in a second pass: no cancellation
      for (int64_t i = 0; i < dim; ++i) squares += (xr[i] - mean) * (xr[i] - mean);
      const double inv = 1.0 / std::sqrt(squares / static_cast<double>(dim) + eps);
      for (int64_t i = 0; i < dim; ++i) o[i] = static_cast<float>((xr[i] - mean) * inv) * weight[i];
      if (bias != nullptr) {
        for (int64_t i = 0; i < dim; ++i) o[i] += bias[i];
      }
    }
  });
}

void xielu(float* x, int64_t n, const XieluParams& p) {
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    x[i] = v > 0.0f ? p.alpha_p * v * v + p.beta * v : (std::expm1(std::min(v, p.eps)) - v) * p.alpha_n + p.beta * v;
  }
}

void add_rms_norm(float* residual, const float* delta, const float* weight, float* out, int64_t rows,
                  int64_t dim, float eps, ThreadPool* pool) {
  const int64_t n = rows * dim;
  for (int64_t i = 0; i < n; ++i) residual[i] += delta[i];
  rms_norm(residual, weight, out, rows, dim, eps, dim, dim, pool);
}

void apply_rope(float* x, int64_t tokens, int64_t heads, int64_t head_dim, int64_t row_stride,
                const int32_t* positions, std::span<const double> inv_freq, ThreadPool* pool) {
  const auto half = static_cast<int64_t>(inv_freq.size());  // pairs rotated: the first 2·half dimensions
  parallel_for(pool, tokens, [&](int64_t begin, int64_t end) {
  std::vector<float> cos_t(half), sin_t(half);
  for (int64_t t = begin; t < end; ++t) {
    for (int64_t i = 0; i < half; ++i) {
      const double angle = static_cast<double>(positions[t]) * inv_freq[i];
      cos_t[i] = static_cast<float>(std::cos(angle));
      sin_t[i] = static_cast<float>(std::sin(angle));
    }
    for (int64_t h = 0; h < heads; ++h) {
      float* v = x + t * row_stride + h * head_dim;
      for (int64_t i = 0; i < half; ++i) {
        const float a = v[i], b = v[i + half];
        v[i] = a * cos_t[i] - b * sin_t[i];
        v[i + half] = b * cos_t[i] + a * sin_t[i];
      }
    }
  }
  });
}

void gated_activation(const float* gate_up, float* out, int64_t rows, int64_t inter, Activation act,
                      ThreadPool* pool) {
  parallel_for(pool, rows, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const float* g = gate_up + r * 2 * inter;
      const float* u = g + inter;
      float* o = out + r * inter;
      for (int64_t i = 0; i < inter; ++i) o[i] = gated(g[i], u[i], act);
    }
  });
}

void ungated_activation(const float* x, float* out, int64_t rows, int64_t inter, Activation act, ThreadPool* pool) {
  parallel_for(pool, rows, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin * inter; i < end * inter; ++i) out[i] = activate(x[i], act);
  });
}

void clamp_rows(float* x, int64_t rows, int64_t width, int64_t row_stride, float limit) {
  for (int64_t r = 0; r < rows; ++r) {
    float* row = x + r * row_stride;
    for (int64_t i = 0; i < width; ++i) row[i] = std::clamp(row[i], -limit, limit);
  }
}

void gaussian_top_k(float* x, int64_t rows, int64_t width, int64_t row_stride, float k) {
  for (int64_t r = 0; r < rows; ++r) {
    float* row = x + r * row_stride;
    double sum = 0.0;
    for (int64_t i = 0; i < width; ++i) sum += row[i];
    const double mean = sum / static_cast<double>(width);
    double squares = 0.0;
    for (int64_t i = 0; i < width; ++i) squares += (row[i] - mean) * (row[i] - mean);
    const auto cutoff = static_cast<float>(mean + std::sqrt(squares / static_cast<double>(width)) * k);
    for (int64_t i = 0; i < width; ++i) row[i] = std::max(row[i] - cutoff, 0.0f);
  }
}

void scale(float* x, int64_t n, float factor) {
  for (int64_t i = 0; i < n; ++i) x[i] *= factor;
}

void add(float* residual, const float* delta, int64_t n) {
  for (int64_t i = 0; i < n; ++i) residual[i] += delta[i];
}

void add_bias(float* x, const float* bias, int64_t rows, int64_t width) {
  for (int64_t r = 0; r < rows; ++r) add(x + r * width, bias, width);
}

void embedding_gather(const float* table, const int32_t* ids, float* out, int64_t tokens, int64_t dim, int64_t first_id,
                      int64_t held) {
  for (int64_t t = 0; t < tokens; ++t) {
    const int64_t row = static_cast<int64_t>(ids[t]) - first_id;
    if (row >= 0 && row < held) {
      std::copy_n(table + row * dim, dim, out + t * dim);
    } else {
      std::fill_n(out + t * dim, dim, 0.0f);
    }
  }
}

void kv_store(const PagedKv& kv, const int32_t* block_table, int64_t start, int64_t tokens,
              const float* k, const float* v, int64_t row_stride) {
  const int64_t d = kv.head_dim;
  for (int64_t t = 0; t < tokens; ++t) {
    for (int64_t g = 0; g < kv.kv_heads; ++g) {
      kv_encode_row(kv.dtype, k + t * row_stride + g * d, d, kv.row(kv.keys, block_table, start + t, g));
      if (kv.values != kv.keys) kv_encode_row(kv.dtype, v + t * row_stride + g * d, d, kv.row(kv.values, block_table, start + t, g));
    }
  }
}

void paged_attention(const PagedKv& kv, const int32_t* block_table, int64_t start, int64_t tokens,
                     const float* q, int64_t q_stride, int64_t heads, const AttentionOptions& options, float* out,
                     ThreadPool* pool) {
  const int64_t d = kv.head_dim;
  const int64_t group = heads / kv.kv_heads;
  // One work item per (query token, head).
  parallel_for(pool, tokens * heads, [&](int64_t begin, int64_t end) {
    std::vector<float> scores, kp(static_cast<std::size_t>(d)), vp(static_cast<std::size_t>(d));
    for (int64_t item = begin; item < end; ++item) {
      const int64_t t = item / heads, h = item % heads;
      const int64_t pos = start + t;
      const int64_t g = h / group;
      const float* qh = q + t * q_stride + h * d;
      const int64_t first = options.first_visible(pos);
      scores.resize(static_cast<std::size_t>(pos + 1 - first));
      float max_score = -INFINITY;
      for (int64_t p = first; p <= pos; ++p) {
        kv_decode_row(kv.dtype, kv.row(kv.keys, block_table, p, g), d, kp.data());
        float dot = 0.0f;
        for (int64_t i = 0; i < d; ++i) dot += qh[i] * kp[i];
        scores[p - first] = options.score(dot);
        max_score = std::max(max_score, scores[p - first]);
      }
      double denom = options.sink_term(h, max_score);
      for (float& s : scores) {  // scores.size() == pos + 1 - first
        s = std::exp(s - max_score);
        denom += s;
      }
      float* o = out + (t * heads + h) * d;
      std::fill_n(o, d, 0.0f);
      for (int64_t p = first; p <= pos; ++p) {
        kv_decode_row(kv.dtype, kv.row(kv.values, block_table, p, g), d, vp.data());
        const float w = static_cast<float>(scores[p - first] / denom);
        for (int64_t i = 0; i < d; ++i) o[i] += w * vp[i];
      }
    }
  });
}

}  // namespace troupe::cpu
