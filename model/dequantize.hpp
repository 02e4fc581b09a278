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

}  // namespace troupe
