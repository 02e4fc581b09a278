#pragma once
// C = A · W^T with W in interleaved_weights.hpp's groups of 8 rows and A quantized to int8 blocks
// (quantized_activations.hpp): the CPU backend's products for every GGUF block type it reads but
// Q5_1 (interleaved_supports), at every batch size. The arithmetic is int8_matmul.hpp's (integer
// chunk sums, one float scaling per 32 weights, the offset term from the activation block sums)
// and so is its error bound; only the order of the float sums differs (and the per-16 scales of
// Q6_K, Q3_K and Q2_K, and the lattice types' multipliers, multiply the integer sums before they are
// converted to float).
//
// The AVX2 kernel, per group of 8 weight rows and up to 4 activation rows at a time, for each
// 32-column chunk: every 4 columns of the 8 rows are one vector (unpacked once for the activation
// rows), multiplied (maddubs) by 4 activation bytes broadcast across it; the int16 products of a
// chunk are summed in registers (no overflow: see the kernel) and widened once (madd) to the 8 rows'
// int32 chunk sums, which are scaled into 8 float accumulators. The weight bytes of a group are read
// once per 4 activation rows, from L1 after the first.
//
// Each activation row's result depends only on that row and the weights (no sum mixes rows, and the
// sums run in the same order whatever the row count): a sequence decodes to the same logits alone
// or in a batch of 64.
#include <cstdint>

#include "gpu/cpu/quantized_activations.hpp"
#include "model/dtype.hpp"

namespace troupe::cpu {

struct InterleavedMatmulJob {
  DType type;                        // one of interleaved_supports
  const std::uint8_t* groups;        // interleave_rows' bytes: groups of 8 weight rows
  int64_t cols;                      // a multiple of 32
  const QuantizedActivations* a;     // [m, cols]
  float* c;                          // C row r starts at c + r * c_stride; group g writes columns 8g .. 8g+7
  int64_t c_stride;
  bool accumulate;                   // add to C instead of overwriting it
};

// Groups [g0, g1) of weight rows (output columns 8·g0 .. 8·g1 − 1), for every activation row.
void interleaved_matmul_portable(const InterleavedMatmulJob& job, int64_t g0, int64_t g1);
void interleaved_matmul_avx2(const InterleavedMatmulJob& job, int64_t g0, int64_t g1);  // only where avx2_available()
// The same loops with AVX-512 VNNI's vpdpbusd, bit-identical to the AVX2 kernel; only where
// cpu_supports(CpuIsa::Avx512Vnni).
void interleaved_matmul_avx512(const InterleavedMatmulJob& job, int64_t g0, int64_t g1);

// The implementation this machine runs.
void interleaved_matmul(const InterleavedMatmulJob& job, int64_t g0, int64_t g1);

}  // namespace troupe::cpu
