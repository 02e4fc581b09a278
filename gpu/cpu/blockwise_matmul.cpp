#include "gpu/cpu/blockwise_matmul.hpp"


#include <algorithm>

#include "gpu/cpu/cpu_features.hpp"
#include "model/dequantize.hpp"

namespace troupe::cpu {
namespace {

using u8 = std::uint8_t;
constexpr int64_t kBlock = 32;

}  // namespace

void blockwise_portable(const BlockwiseJob& j, int64_t n0, int64_t n1) {
  constexpr int64_t kGroup = 8;
  const int64_t nb = j.cols / kBlock;
  const int64_t block_bytes = dtype_block_bytes(j.type);
  const BlockDequantizer expand_block = block_dequantizer(j.type);  // the reference's own arithmetic
  // 32 partial sums per row, one per position in the block: independent adds that vectorize.
  float acc[kGroup][kBlock];
  for (int64_t n = n0; n < n1; ++n) {
    const u8* row = j.blocks + n * j.row_bytes;
    for (int64_t r0 = 0; r0 < j.m; r0 += kGroup) {
      const int64_t rows = std::min(kGroup, j.m - r0);
      for (int64_t r = 0; r < rows; ++r) std::fill(acc[r], acc[r] + kBlock, 0.0f);
      for (int64_t b = 0; b < nb; ++b) {
        float w[kBlock];
        expand_block(row + b * block_bytes, w);
        for (int64_t r = 0; r < rows; ++r) {
          const float* x = j.a + (r0 + r) * j.cols + b * kBlock;
          for (int64_t i = 0; i < kBlock; ++i) acc[r][i] += w[i] * x[i];
        }
      }
      for (int64_t r = 0; r < rows; ++r) {
        float s = 0.0f;
        for (int64_t i = 0; i < kBlock; ++i) s += acc[r][i];
        float& out = j.c[(r0 + r) * j.out_rows + n];
        out = j.accumulate ? out + s : s;
      }
    }
  }
}

void expand_blocks(DType type, const std::uint8_t* src, float* dst, int64_t blocks) {
  static const bool simd = cpu_isa() >= CpuIsa::Avx2;
  if (simd) {
    expand_blocks_avx2(type, src, dst, blocks);
  } else {
    dequantize(type, reinterpret_cast<const std::byte*>(src), dst, blocks * kBlock);
  }
}

void blockwise(const BlockwiseJob& job, int64_t n0, int64_t n1) {
  static const bool simd = cpu_isa() >= CpuIsa::Avx2;
  if (simd) {
    blockwise_avx2(job, n0, n1);
  } else {
    blockwise_portable(job, n0, n1);
  }
}

}  // namespace troupe::cpu
