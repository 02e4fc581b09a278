#pragma once
// Activation rows quantized to int8 once per matmul input, for the integer dot products of
// int8_matmul.hpp. Each row of `cols` floats (cols a multiple of 32) becomes cols/32 blocks of 32
// int8 values q with a float scale d = max|x| / 127 (x ≈ d·q, |x − d·q| ≤ d/2) and a block sum
// s = d·Σq, which the weight formats with an offset (Q4_1's min, Q4_K's dmin·m, Q4_0's −8·d) need:
// Σ (w_scale·qw + w_offset)·x ≈ w_scale·d·Σ qw·q + w_offset·s.
//
// Stored as planes (structure of arrays) so that the kernels read the quants as 32-byte vectors and
// the scales and sums as contiguous floats. A fourth plane holds the integer Σq of every 16
// columns, made once with the quants: the weight types with a per-16 offset (Q2_K's mins) or an
// unsigned shift taken back by the VNNI kernels (Q6_K, Q3_K, IQ4) read it for every group of rows.
#include <cstdint>
#include <vector>

#include "gpu/cpu/thread_pool.hpp"
#include "model/model_spec.hpp"

namespace troupe::cpu {

inline constexpr int64_t kActivationBlock = 32;

class QuantizedActivations {
 public:
  // Resizes for `rows` rows of `cols` values; keeps the allocation when it shrinks.
  void reshape(int64_t rows, int64_t cols);

  int64_t rows() const { return rows_; }
  int64_t cols() const { return cols_; }
  int64_t blocks_per_row() const { return cols_ / kActivationBlock; }

  const int8_t* q(int64_t r) const { return q_.data() + r * cols_; }
  const float* d(int64_t r) const { return d_.data() + r * blocks_per_row(); }
  const float* s(int64_t r) const { return s_.data() + r * blocks_per_row(); }
  const int32_t* sums16(int64_t r) const { return sums16_.data() + r * (cols_ / 16); }  // [cols / 16]
  int8_t* q(int64_t r) { return q_.data() + r * cols_; }
  float* d(int64_t r) { return d_.data() + r * blocks_per_row(); }
  float* s(int64_t r) { return s_.data() + r * blocks_per_row(); }
  int32_t* sums16(int64_t r) { return sums16_.data() + r * (cols_ / 16); }

 private:
  int64_t rows_ = 0, cols_ = 0;
  std::vector<int8_t> q_;  // [rows, cols]
  std::vector<float> d_;   // [rows, cols / 32]
  std::vector<float> s_;   // [rows, cols / 32]
  std::vector<int32_t> sums16_;  // [rows, cols / 16]
};

// One row: x[cols] into the quants q[cols], scales d[cols/32] and sums s[cols/32]. q = round(x / d)
// to nearest even; a block of zeros gets d = 0. The two implementations are bit-identical.
void quantize_row_portable(const float* x, int64_t cols, int8_t* q, float* d, float* s);
void quantize_row_avx2(const float* x, int64_t cols, int8_t* q, float* d, float* s);  // only where avx2_available()

// `rows` rows of x (row stride x_stride) into `out`, reshaped to [rows, cols], split over `pool`
// (each row's quants, scales, sums and sums per 16 columns).
void quantize_activations(const float* x, int64_t rows, int64_t cols, int64_t x_stride, QuantizedActivations& out,
                          ThreadPool* pool = nullptr);

// The fused step before the attention and MLP projections: rms_norm(x) (as cpu::rms_norm computes
// it) quantized row by row, without writing the normed floats back to memory.
void rms_norm_quantize(const float* x, const float* weight, int64_t rows, int64_t dim, float eps,
                       QuantizedActivations& out, ThreadPool* pool = nullptr);

// The fused step between the MLP's projections: act(gate) · up (as cpu::gated_activation)
// quantized row by row; gate_up rows are [gate (inter) | up (inter)].
void gated_activation_quantize(const float* gate_up, int64_t rows, int64_t inter, Activation act,
                               QuantizedActivations& out, ThreadPool* pool = nullptr);

// The same for an MLP without a gate: activate(x) quantized row by row; x rows are [inter].
void ungated_activation_quantize(const float* x, int64_t rows, int64_t inter, Activation act, QuantizedActivations& out,
                                 ThreadPool* pool = nullptr);

}  // namespace troupe::cpu
