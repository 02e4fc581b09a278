#pragma once
// Dequantization of GGUF block formats (and widening of F16/BF16) to float32. This is the
// reference every device-side dequantization is checked against, and it is checked itself block
// for block against the `gguf` Python package (tests/model/dequantize_test.cpp).
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

}  // namespace troupe
