#pragma once
// GGML's lattice block types: IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S, IQ1_S and IQ1_M (what
// llama-quantize writes for its IQ1_*, IQ2_*, IQ3_XXS/XS/S/M file types; 1.56 to 3.44 bits a weight).
// Each block holds 256 weights. Every 8 (IQ3: 4) weights are an index into a fixed table of small
// integers (model/iq_grids.inc), with signs from separate bits (IQ1: none, a ±1/8 shift instead),
// and every 32 (or 16) weights a 3- or 4-bit scale of the block's float16 d.
//
// Every such weight is exactly unit · multiplier · q, with small integers q and multiplier:
//   type     block bytes  q (per weight)             multiplier (per 16)  unit
//   IQ2_XXS   66          ±{8, 25, 43}               2·s + 1 (per 32)     d / 8
//   IQ2_XS    74          ±{8, 25, 43}               2·s + 1              d / 8
//   IQ2_S     82          ±{8, 25, 43}               2·s + 1              d / 8
//   IQ3_XXS   98          ±{4, 12, …, 52, 62}        2·s + 1 (per 32)     d / 4
//   IQ3_S    110          ±{1, 3, …, 15}             2·s + 1 (per 32)     d
//   IQ1_S     50          8·{−1, 0, 1} ± 1           2·s + 1 (per 32)     d / 8
//   IQ1_M     56          8·{−1, 0, 1} ± 1           2·s + 1              d / 8 (d spread over
//                                                                         the scales' top nibbles)
// which is what the gguf package computes (d·(0.5 + s)·0.25 · grid · sign, …): each product is
// exact in float32, so dequantize() equals it bit for bit. The CPU backend's int8 kernels read the
// same form (gpu/cpu/int8_matmul.hpp): q against int8 activations, times the multiplier, times unit.
#include <cstdint>
#include <cstring>

#include "common/float16.hpp"
#include "model/dtype.hpp"

namespace troupe {

// The tables, one entry per index: its 8 (IQ3: 4) values as the entry's bytes, lowest first;
// unsigned magnitudes for IQ2 and IQ3, int8 (−1, 0, 1) for IQ1_S and IQ1_M.
extern const std::uint64_t kIq2xxsGrid[256];
extern const std::uint64_t kIq2xsGrid[512];
extern const std::uint64_t kIq2sGrid[1024];
extern const std::uint32_t kIq3xxsGrid[256];
extern const std::uint32_t kIq3sGrid[512];
extern const std::uint64_t kIq1sGrid[2048];

// IQ2_XXS, IQ2_XS and IQ3_XXS store 8 signs in 7 bits: the eighth makes the count of minus signs
// even. The sign byte (bit k set: weight k negative) of 7-bit index i.
constexpr std::uint8_t iq_signs(int i) {
  int parity = 0;
  for (int k = 0; k < 7; ++k) parity ^= (i >> k) & 1;
  return static_cast<std::uint8_t>(i | (parity << 7));
}

constexpr bool is_iq_lattice(DType type) {
  switch (type) {
    case DType::IQ2_XXS: case DType::IQ2_XS: case DType::IQ2_S: case DType::IQ3_XXS: case DType::IQ3_S:
    case DType::IQ1_S: case DType::IQ1_M:
      return true;
    default:
      return false;
  }
}

// A block's bytes (the table above; model/dtype.cpp's, checked equal by the tests), as a constant
// for the kernels' loops.
constexpr int64_t iq_block_bytes(DType type) {
  switch (type) {
    case DType::IQ2_XXS: return 66;
    case DType::IQ2_XS: return 74;
    case DType::IQ2_S: return 82;
    case DType::IQ3_XXS: return 98;
    case DType::IQ3_S: return 110;
    case DType::IQ1_S: return 50;
    case DType::IQ1_M: return 56;
    default: return 0;
  }
}

// 32 weights of a block in the form above: w_j = unit · multiplier[j / 16] · q[j].
struct IqChunk {
  std::int8_t q[32];
  int multiplier[2];
  float unit;
};

// Chunk j (0..7: weights 32j .. 32j + 31) of one block of a lattice type.
void iq_chunk(DType type, const std::uint8_t* block, int j, IqChunk& out);

// Block layouts (byte offsets): IQ2_XXS d@0, per chunk 4 index bytes + a 32-bit word (4 × 7 sign
// bits, 4-bit scale on top) @2; IQ2_XS d@0, 16-bit entries (9-bit index, 7 sign bits) @2, scales
// (a nibble per 16) @66; IQ2_S d@0, index low bytes @2, sign bytes @34, index high 2-bit pairs @66,
// scales @74; IQ3_XXS d@0, index bytes @2, per chunk a 32-bit word (4 × 7 sign bits, 4-bit scale)
// @66; IQ3_S d@0, index low bytes @2, index high bits @66, sign bytes @74, scales (a nibble per 32)
// @106; IQ1_S d@0, index low bytes @2, per chunk a 16-bit word (4 × 3 index high bits, 3-bit scale,
// shift sign on top) @34; IQ1_M index low bytes @0, per 8 weights a nibble (3 index high bits,
// shift sign) @32, four 16-bit words of 3-bit scales (and d's nibbles) @48.
//
// The parts the SIMD kernels read separately, inline (they run per chunk): the block's unit and
// chunk j's two multipliers.
namespace iq_detail {
inline std::uint16_t u16_at(const std::uint8_t* p) {
  std::uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}
inline std::uint32_t u32_at(const std::uint8_t* p) {
  std::uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
[[noreturn]] void not_lattice(DType type);
}  // namespace iq_detail

// The block's float16 d (IQ1_M: gathered from the top nibble of each of its four scale words,
// lowest word lowest) and the power of two that makes it the unit.
inline std::uint16_t iq_d_bits(DType type, const std::uint8_t* b) {
  if (type != DType::IQ1_M) return iq_detail::u16_at(b);
  std::uint16_t d = 0;
  for (int w = 0; w < 4; ++w) d |= static_cast<std::uint16_t>((iq_detail::u16_at(b + 48 + 2 * w) >> 12) << (4 * w));
  return d;
}

inline float iq_unit_factor(DType type) {
  switch (type) {
    case DType::IQ2_XXS: case DType::IQ2_XS: case DType::IQ2_S: case DType::IQ1_S: case DType::IQ1_M: return 0.125f;
    case DType::IQ3_XXS: return 0.25f;
    case DType::IQ3_S: return 1.0f;
    default: iq_detail::not_lattice(type);
  }
}

inline float iq_unit(DType type, const std::uint8_t* b) { return fp16_to_float(iq_d_bits(type, b)) * iq_unit_factor(type); }

inline void iq_multipliers(DType type, const std::uint8_t* b, int j, int m[2]) {
  using iq_detail::u16_at;
  using iq_detail::u32_at;
  switch (type) {
    case DType::IQ2_XXS: m[0] = m[1] = 2 * static_cast<int>(u32_at(b + 2 + 8 * j + 4) >> 28) + 1; return;
    case DType::IQ2_XS: case DType::IQ2_S: {
      const std::uint8_t scales = b[(type == DType::IQ2_XS ? 66 : 74) + j];
      m[0] = 2 * (scales & 0x0F) + 1;
      m[1] = 2 * (scales >> 4) + 1;
      return;
    }
    case DType::IQ3_XXS: m[0] = m[1] = 2 * static_cast<int>(u32_at(b + 66 + 4 * j) >> 28) + 1; return;
    case DType::IQ3_S: m[0] = m[1] = 2 * ((b[106 + j / 2] >> (4 * (j % 2))) & 0x0F) + 1; return;
    case DType::IQ1_S: m[0] = m[1] = 2 * ((u16_at(b + 34 + 2 * j) >> 12) & 7) + 1; return;
    case DType::IQ1_M:
      for (int h = 0; h < 2; ++h) {
        const int g = 2 * j + h;  // 16-weight group: 3 bits at 3·(g % 4) of word g / 4
        m[h] = 2 * ((u16_at(b + 48 + 2 * (g / 4)) >> (3 * (g % 4))) & 7) + 1;
      }
      return;
    default: iq_detail::not_lattice(type);
  }
}

// One block as 256 float32 values (dequantize.cpp's entry for these types).
void iq_dequantize_block(DType type, const std::uint8_t* block, float* out);

}  // namespace troupe
