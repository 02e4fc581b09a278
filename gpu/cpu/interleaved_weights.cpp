#include "gpu/cpu/interleaved_weights.hpp"

#include <cstring>
#include <stdexcept>
#include <string>

namespace troupe::cpu {
namespace {

using u8 = std::uint8_t;

// Where byte `b` of row i's block lands in the group's record (interleaved_weights.hpp's table);
// -1 for Q5_0's high-bit word, which is spread bit by bit (high_bit_position).
int64_t record_offset(DType type, int64_t i, int64_t b) {
  // Quant byte q of a row, in the vectors from `base` on: 4 bytes of each of the 8 rows per 32-byte
  // vector, and each run of 32 row bytes in 8 such vectors (256 record bytes).
  const auto spread = [&](int64_t base, int64_t q) { return base + 256 * (q / 32) + 32 * (q % 32 / 4) + 4 * i + q % 4; };
  const auto per_row = [&](int64_t base, int64_t k) { return base + 8 * k + i; };  // byte k of each row's field
  switch (type) {
    case DType::Q4_0:
    case DType::IQ4_NL:
    case DType::MXFP4_F16: return b < 2 ? 2 * i + b : spread(16, b - 2);
    case DType::Q4_1: return b < 2 ? 2 * i + b : b < 4 ? 16 + 2 * i + (b - 2) : spread(32, b - 4);
    case DType::Q5_0: return b < 2 ? 2 * i + b : b < 6 ? -1 : spread(48, b - 6);
    case DType::Q8_0: return b < 2 ? 2 * i + b : spread(16, b - 2);
    case DType::Q4_K:
      if (b < 4) return (b < 2 ? 0 : 16) + 2 * i + b % 2;  // d, dmin
      if (b < 16) return per_row(32, b - 4);                // the 12 bytes of 6-bit scales and mins
      return spread(128, b - 16);                           // qs
    case DType::Q5_K:  // Q4_K's record with the high bits between the scales and the nibbles
      if (b < 4) return (b < 2 ? 0 : 16) + 2 * i + b % 2;
      if (b < 16) return per_row(32, b - 4);
      if (b < 48) return spread(128, b - 16);               // qh
      return spread(384, b - 48);                           // qs
    case DType::Q6_K:
      if (b < 128) return q6k_ql_vector(b / 32, b % 32 / 4) + 4 * i + b % 4;                // ql
      if (b < 192) return q6k_qh_vector((b - 128) / 32, (b - 128) % 32 / 4) + 4 * i + b % 4;  // qh
      if (b < 208) return per_row(16, b - 192);     // the 16 int8 scales
      return 2 * i + (b - 208);                     // d
    case DType::IQ4_XS:
      if (b < 2) return 2 * i + b;                  // d
      if (b < 4) return 16 + 2 * i + (b - 2);       // scales_h
      if (b < 8) return per_row(32, b - 4);         // scales_l
      return spread(64, b - 8);                     // qs: sub-block j's 16 bytes in 128 record bytes
    case DType::Q3_K:
      if (b < 32) return spread(0, b);              // hmask
      if (b < 96) return spread(256, b - 32);       // qs
      if (b < 108) return per_row(768, b - 96);     // the 12 bytes of 6-bit scales
      return 864 + 2 * i + (b - 108);               // d
    case DType::Q2_K:
      if (b < 16) return per_row(0, b);             // the 16 scale|min bytes
      if (b < 80) return spread(128, b - 16);       // qs
      return (b < 82 ? 640 : 656) + 2 * i + b % 2;  // d, dmin
    case DType::IQ2_XXS: case DType::IQ2_XS: case DType::IQ2_S: case DType::IQ3_XXS: case DType::IQ3_S:
    case DType::IQ1_S: case DType::IQ1_M:
      return i * dtype_block_bytes(type) + b;       // the 8 rows' blocks one after another
    default: throw std::logic_error("interleaved weights: no layout for " + std::string(dtype_name(type)));
  }
}

// The record byte and bit holding the high bit of row i's Q5_0 weight j.
void high_bit_position(int64_t i, int j, int64_t& byte, int& bit) {
  const int w = j % 16;
  byte = 16 + 4 * i + w % 4;
  bit = (j < 16 ? 0 : 4) + w / 4;
}

}  // namespace

bool interleaved_supports(DType type) {
  switch (type) {
    case DType::Q4_0: case DType::Q4_1: case DType::Q5_0: case DType::Q8_0: case DType::Q2_K: case DType::Q3_K:
    case DType::Q4_K: case DType::Q5_K: case DType::Q6_K: case DType::IQ4_NL: case DType::IQ4_XS:
    case DType::MXFP4_F16: case DType::IQ2_XXS: case DType::IQ2_XS: case DType::IQ2_S: case DType::IQ3_XXS:
    case DType::IQ3_S: case DType::IQ1_S: case DType::IQ1_M:
      return true;
    default:
      return false;
  }
}

std::vector<std::byte> interleave_rows(DType type, const std::byte* blocks, int64_t rows, int64_t cols) {
  if (!interleaved_supports(type) || cols % dtype_block_elements(type) != 0) {
    throw std::invalid_argument("interleaved weights: cannot regroup " + std::string(dtype_name(type)) + " rows of " +
                                std::to_string(cols));
  }
  const int64_t block_bytes = dtype_block_bytes(type), chunks = cols / dtype_block_elements(type);
  const int64_t row_bytes = chunks * block_bytes;
  const int64_t groups = rows / kInterleavedRows, record = kInterleavedRows * block_bytes;
  std::vector<std::byte> out(static_cast<std::size_t>(groups * kInterleavedRows * row_bytes));
  auto* dst = reinterpret_cast<u8*>(out.data());
  const auto* src = reinterpret_cast<const u8*>(blocks);
  // record_offset for every (row, byte) once: the loop below runs over every byte of the model.
  std::vector<int64_t> offsets(static_cast<std::size_t>(record));
  for (int64_t i = 0; i < kInterleavedRows; ++i) {
    for (int64_t b = 0; b < block_bytes; ++b) offsets[static_cast<std::size_t>(i * block_bytes + b)] = record_offset(type, i, b);
  }
  for (int64_t g = 0; g < groups; ++g) {
    for (int64_t c = 0; c < chunks; ++c) {
      u8* rec = dst + (g * chunks + c) * record;
      for (int64_t i = 0; i < kInterleavedRows; ++i) {
        const u8* block = src + (g * kInterleavedRows + i) * row_bytes + c * block_bytes;
        const int64_t* at = offsets.data() + i * block_bytes;
        for (int64_t b = 0; b < block_bytes; ++b) {
          if (at[b] >= 0) rec[at[b]] = block[b];
        }
        if (type != DType::Q5_0) continue;
        for (int j = 0; j < 32; ++j) {
          int64_t byte;
          int bit;
          high_bit_position(i, j, byte, bit);
          const int value = (block[2 + j / 8] >> (j % 8)) & 1;
          rec[byte] = static_cast<u8>(rec[byte] | (value << bit));
        }
      }
    }
  }
  return out;
}

void deinterleave_row(DType type, const std::byte* interleaved, int64_t cols, int64_t r, std::byte* row_out) {
  const int64_t block_bytes = dtype_block_bytes(type), chunks = cols / dtype_block_elements(type);
  const int64_t g = r / kInterleavedRows, i = r % kInterleavedRows, record = kInterleavedRows * block_bytes;
  const auto* src = reinterpret_cast<const u8*>(interleaved);
  auto* dst = reinterpret_cast<u8*>(row_out);
  for (int64_t c = 0; c < chunks; ++c) {
    const u8* rec = src + (g * chunks + c) * record;
    u8* block = dst + c * block_bytes;
    for (int64_t b = 0; b < block_bytes; ++b) {
      const int64_t at = record_offset(type, i, b);
      if (at >= 0) block[b] = rec[at];
    }
    if (type != DType::Q5_0) continue;
    std::memset(block + 2, 0, 4);
    for (int j = 0; j < 32; ++j) {
      int64_t byte;
      int bit;
      high_bit_position(i, j, byte, bit);
      block[2 + j / 8] = static_cast<u8>(block[2 + j / 8] | (((rec[byte] >> bit) & 1) << (j % 8)));
    }
  }
}

}  // namespace troupe::cpu
