#pragma once
// Dequantization of GGUF block formats (and widening of F16/BF16) to float32. This is the
// reference every device-side dequantization is checked against, and it is checked itself block
// for block against the `gguf` Python package (tests/model/dequantize_test.cpp).
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "model/dtype.hpp"

namespace troupe {

// Converts `elements` values of type `type` starting at `src` into `dst`. `elements` must be a
// whole number of blocks (throws std::invalid_argument otherwise).
void dequantize(DType type, const std::byte* src, float* dst, int64_t elements);

// The function that converts one block of a quantized `type` (dtype_block_elements(type) values
// from dtype_block_bytes(type) bytes), for callers that walk the blocks themselves. Throws
// std::logic_error for a type without blocks (F32, F16, BF16).
using BlockDequantizer = void (*)(const std::uint8_t* block, float* out);
BlockDequantizer block_dequantizer(DType type);

// The 6-bit scale and 6-bit min of sub-block j (0..7) of a Q4_K/Q5_K super-block, from its 12
// packed bytes `q` (after d and dmin): sub-blocks 0-3 keep theirs in the low 6 bits of bytes 0-3
// (scale) and 4-7 (min); sub-blocks 4-7 combine a nibble of bytes 8-11 with the top 2 bits of
// bytes 0-7. Inline: the CPU kernels call it per block.
inline void k_quant_scale_min(int j, const std::uint8_t* q, int& scale, int& min) {
  if (j < 4) {
    scale = q[j] & 63;
    min = q[j + 4] & 63;
  } else {
    scale = (q[j + 4] & 0x0F) | ((q[j - 4] >> 6) << 4);
    min = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
}

// The 6-bit scale (0..63, applied as scale − 32) of 16-weight group i (0..15) of a Q3_K super-block,
// from its 12 packed bytes `q`: the low 4 bits are a nibble of bytes 0-7 (low nibbles for groups
// 0-7, high for 8-15), the top 2 bits a pair of bits of bytes 8-11 (byte 8 + i % 4, bits 2·(i / 4)).
inline int q3_k_scale(int i, const std::uint8_t* q) {
  const int low = i < 8 ? (q[i] & 0x0F) : (q[i - 8] >> 4);
  return low | (((q[8 + i % 4] >> (2 * (i / 4))) & 3) << 4);
}

// The 16 values an IQ4_NL/IQ4_XS nibble indexes (GGML's non-linear 4-bit grid), times the block's
// scale.
inline constexpr std::int8_t kIq4Values[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                               1,    13,   25,  38,  53,  69,  89,  113};

// The 6-bit scale (0..63, applied as scale − 32) of 32-weight sub-block j (0..7) of an IQ4_XS
// super-block: the low 4 bits a nibble of scales_l[j / 2], the top 2 bits bits 2j, 2j + 1 of the
// little-endian 16-bit scales_h.
inline int iq4_xs_scale(int j, const std::uint8_t* block) {
  const int scales_h = block[2] | (block[3] << 8);
  return ((block[4 + j / 2] >> (4 * (j % 2))) & 0x0F) | (((scales_h >> (2 * j)) & 3) << 4);
}

// The 16 values an MXFP4 nibble indexes: FP4 (E2M1) 0, 0.5, 1, 1.5, 2, 3, 4, 6 and their
// negatives, doubled to integers (GGML's convention), so the block's scale is applied halved.
inline constexpr std::int8_t kMxfp4Values[16] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};

// An MXFP4 block's scale for the doubled values: 2^(e − 128) for its E8M0 byte e.
inline float mxfp4_scale(std::uint8_t e) { return std::ldexp(1.0f, static_cast<int>(e) - 128); }

// `blocks` MXFP4 blocks (17 bytes each) rewritten as MXFP4_F16 blocks (18 bytes each) of the same
// values, for the CPU kernels: exact for block scales 2^(e − 128) that float16 holds (e of
// 104..143); throws std::invalid_argument above that range, rounds to float16's least subnormal
// below it.
void mxfp4_to_f16_scale(const std::byte* src, int64_t blocks, std::byte* dst);

}  // namespace troupe
