#pragma once
// C = A · W^T for a weight kept in GGUF 32-element blocks (Q4_0, Q4_1, Q8_0) and a few activation
// rows, block by block: each block is expanded to float32 once, with the arithmetic of
// model/dequantize.cpp, and used for every row. This is the decode step's hot loop (cpu_weight.hpp).
// Two implementations compute it: a portable one, the reference, which expands blocks with
// model/dequantize.cpp's own block functions, and an AVX2 one chosen at run time where the CPU has
// AVX2, FMA and F16C. They differ only in how the sums are ordered and rounded; the expanded
// weights are bit-identical.
#include <cstddef>
#include <cstdint>

#include "model/dtype.hpp"

namespace troupe::cpu {

struct BlockwiseJob {
  DType type;                 // Q4_0, Q4_1 or Q8_0
  const std::uint8_t* blocks; // the weight: out_rows rows of row_bytes
  int64_t row_bytes;
  int64_t cols;               // a multiple of 32
  int64_t out_rows;           // the weight's rows; also C's row stride
  const float* a;             // [m, cols]
  float* c;                   // [m, out_rows]
  int64_t m;                  // activation rows, any number (taken 8 at a time)
  bool accumulate;            // add to C instead of overwriting it
};

// Activation rows up to which CpuWeight multiplies block by block rather than expanding float32
// tiles for OpenBLAS (measured on SmolLM2, 2 cores: see docs/BENCHMARKS.md).
inline constexpr int64_t kBlockwiseMaxRows = 16;

// Output columns [n0, n1) of C, for every activation row.
void blockwise_portable(const BlockwiseJob& job, int64_t n0, int64_t n1);
void blockwise_avx2(const BlockwiseJob& job, int64_t n0, int64_t n1);  // only where avx2_available()

// The implementation this machine runs.
void blockwise(const BlockwiseJob& job, int64_t n0, int64_t n1);

// `blocks` consecutive blocks of `type` expanded to float32, bit-identical to model/dequantize.cpp
// (which it is on machines without AVX2); the tiles of CpuWeight's OpenBLAS path.
void expand_blocks(DType type, const std::uint8_t* src, float* dst, int64_t blocks);
void expand_blocks_avx2(DType type, const std::uint8_t* src, float* dst, int64_t blocks);

}  // namespace troupe::cpu
