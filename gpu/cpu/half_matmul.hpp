#pragma once
// C = A · W^T for a weight kept in a 16-bit float type (BF16 or F16: safetensors checkpoints, and
// the GGUF tensors llama.cpp leaves unquantized) and a few activation rows. Each weight is widened
// to float32 as it is read — exactly: bfloat16 is float32's top half, and every float16 is a
// float32 — and multiplied in float32, so a decode step reads 2 bytes a weight where the float32
// copy it replaces read 4 (and the weights take half the memory). With more rows CpuWeight widens
// tiles for OpenBLAS instead.
// Two implementations: a portable one, the reference, and an AVX2 one (F16C for float16) chosen at
// run time. The widened weights are the same; only the order of the sums differs.
#include <cstdint>

#include "model/dtype.hpp"

namespace troupe::cpu {

struct HalfMatmulJob {
  DType type;               // BF16 or F16
  const std::uint16_t* w;   // the weight: out_rows rows of cols values
  int64_t cols;
  int64_t out_rows;         // the weight's rows; also C's row stride
  const float* a;           // [m, cols]
  float* c;                 // [m, out_rows]
  int64_t m;                // activation rows, any number (taken 4 at a time)
  bool accumulate;          // add to C instead of overwriting it
};

// Activation rows up to which CpuWeight multiplies the 16-bit rows directly rather than widening
// float32 tiles for OpenBLAS.
inline constexpr int64_t kHalfMatmulMaxRows = 16;

// Output columns [n0, n1) of C, for every activation row.
void half_matmul_portable(const HalfMatmulJob& job, int64_t n0, int64_t n1);
void half_matmul_avx2(const HalfMatmulJob& job, int64_t n0, int64_t n1);  // only where cpu_isa() >= Avx2

// The implementation this machine runs.
void half_matmul(const HalfMatmulJob& job, int64_t n0, int64_t n1);

}  // namespace troupe::cpu
