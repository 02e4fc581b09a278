#include "gpu/cpu/quantized_activations.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "gpu/cpu/cpu_features.hpp"
#include "gpu/cpu/cpu_kernels.hpp"       // activate

namespace troupe::cpu {

void QuantizedActivations::reshape(int64_t rows, int64_t cols) {
  if (cols % kActivationBlock != 0) {
    throw std::invalid_argument("quantized activations: " + std::to_string(cols) + " columns are not whole blocks of 32");
  }
  rows_ = rows;
  cols_ = cols;
  q_.resize(static_cast<std::size_t>(rows * cols));
  d_.resize(static_cast<std::size_t>(rows * blocks_per_row()));
  s_.resize(static_cast<std::size_t>(rows * blocks_per_row()));
  sums16_.resize(static_cast<std::size_t>(rows * (cols / 16)));
}

void quantize_row_portable(const float* x, int64_t cols, int8_t* q, float* d, float* s) {
  for (int64_t b = 0; b < cols / kActivationBlock; ++b) {
    const float* xb = x + b * kActivationBlock;
    float amax = 0.0f;
    for (int64_t i = 0; i < kActivationBlock; ++i) amax = std::max(amax, std::abs(xb[i]));
    const float scale = amax / 127.0f;
    const float inverse = amax > 0.0f ? 127.0f / amax : 0.0f;
    int sum = 0;
    for (int64_t i = 0; i < kActivationBlock; ++i) {
      const int v = static_cast<int>(std::nearbyint(xb[i] * inverse));  // |v| <= 127
      q[b * kActivationBlock + i] = static_cast<int8_t>(v);
      sum += v;
    }
    d[b] = scale;
    s[b] = scale * static_cast<float>(sum);
  }
}

namespace {

// Row r of `out` from x[cols]: quants, scales and sums, then Σq of every 16 columns.
void quantize_row(const float* x, int64_t cols, QuantizedActivations& out, int64_t r) {
  static const bool simd = cpu_isa() >= CpuIsa::Avx2;
  if (simd) {
    quantize_row_avx2(x, cols, out.q(r), out.d(r), out.s(r));
  } else {
    quantize_row_portable(x, cols, out.q(r), out.d(r), out.s(r));
  }
  const int8_t* q = out.q(r);
  int32_t* sums = out.sums16(r);
  for (int64_t g = 0; g < cols / 16; ++g) {
    int32_t sum = 0;
    for (int64_t i = 0; i < 16; ++i) sum += q[16 * g + i];
    sums[g] = sum;
  }
}

}  // namespace

void quantize_activations(const float* x, int64_t rows, int64_t cols, int64_t x_stride, QuantizedActivations& out,
                          ThreadPool* pool) {
  out.reshape(rows, cols);
  const auto body = [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) quantize_row(x + r * x_stride, cols, out, r);
  };
  if (rows * cols < 16384) {  // a decode step's few rows: waking the pool costs more than the work
    body(0, rows);
  } else {
    parallel_for(pool, rows, body);
  }
}

void rms_norm_quantize(const float* x, const float* weight, int64_t rows, int64_t dim, float eps,
                       QuantizedActivations& out, ThreadPool* pool) {
  out.reshape(rows, dim);
  const auto body = [&](int64_t r0, int64_t r1) {
    thread_local std::vector<float> normed;
    normed.resize(static_cast<std::size_t>(dim));
    for (int64_t r = r0; r < r1; ++r) {
      const float* xr = x + r * dim;
      double sum = 0.0;  // as cpu::rms_norm
      for (int64_t i = 0; i < dim; ++i) sum += static_cast<double>(xr[i]) * xr[i];
      const float inv = static_cast<float>(1.0 / std::sqrt(sum / static_cast<double>(dim) + eps));
      for (int64_t i = 0; i < dim; ++i) normed[i] = xr[i] * inv * weight[i];
      quantize_row(normed.data(), dim, out, r);
    }
  };
  if (rows * dim < 16384) {
    body(0, rows);
  } else {
    parallel_for(pool, rows, body);
  }
}

namespace {

// Each row's `inter` values from `value(row, i)`, quantized: small steps in the calling thread.
template <typename Value>
void quantize_computed_rows(int64_t rows, int64_t inter, QuantizedActivations& out, ThreadPool* pool, Value value) {
  out.reshape(rows, inter);
  const auto body = [&](int64_t r0, int64_t r1) {
    thread_local std::vector<float> row;
    row.resize(static_cast<std::size_t>(inter));
    for (int64_t r = r0; r < r1; ++r) {
      for (int64_t i = 0; i < inter; ++i) row[i] = value(r, i);
      quantize_row(row.data(), inter, out, r);
    }
  };
  if (rows * inter < 16384) {
    body(0, rows);
  } else {
    parallel_for(pool, rows, body);
  }
}

}  // namespace

void gated_activation_quantize(const float* gate_up, int64_t rows, int64_t inter, Activation act,
                               QuantizedActivations& out, ThreadPool* pool) {
  quantize_computed_rows(rows, inter, out, pool, [&](int64_t r, int64_t i) {
    const float* g = gate_up + r * 2 * inter;
    return gated(g[i], g[inter + i], act);
  });
}

void ungated_activation_quantize(const float* x, int64_t rows, int64_t inter, Activation act, QuantizedActivations& out,
                                 ThreadPool* pool) {
  quantize_computed_rows(rows, inter, out, pool, [&](int64_t r, int64_t i) { return activate(x[r * inter + i], act); });
}

}  // namespace troupe::cpu
