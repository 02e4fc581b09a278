#include "model/dequantize.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>

#include "common/float16.hpp"
#include "model/fp8_weights.hpp"
#include "model/iq_quants.hpp"

namespace troupe {
namespace {

using u8 = std::uint8_t;

// Legacy 32-element blocks. Low nibbles hold elements 0..15, high nibbles 16..31.
void q4_0(const u8* b, float* y) {
  const float d = fp16_load(b);
  const u8* qs = b + 2;
  for (int j = 0; j < 16; ++j) {
    y[j] = static_cast<float>((qs[j] & 0x0F) - 8) * d;
    y[j + 16] = static_cast<float>((qs[j] >> 4) - 8) * d;
  }
}

void q4_1(const u8* b, float* y) {
  const float d = fp16_load(b);
  const float m = fp16_load(b + 2);
  const u8* qs = b + 4;
  for (int j = 0; j < 16; ++j) {
    y[j] = static_cast<float>(qs[j] & 0x0F) * d + m;
    y[j + 16] = static_cast<float>(qs[j] >> 4) * d + m;
  }
}

// Q5: bit j of the 32-bit qh word is the fifth bit of element j.
std::uint32_t load_u32(const u8* p) {
  return std::uint32_t{p[0]} | (std::uint32_t{p[1]} << 8) | (std::uint32_t{p[2]} << 16) |
         (std::uint32_t{p[3]} << 24);
}

void q5_0(const u8* b, float* y) {
  const float d = fp16_load(b);
  const std::uint32_t qh = load_u32(b + 2);
  const u8* qs = b + 6;
  for (int j = 0; j < 16; ++j) {
    const int lo = (qs[j] & 0x0F) | static_cast<int>(((qh >> j) & 1u) << 4);
    const int hi = (qs[j] >> 4) | static_cast<int>(((qh >> (j + 16)) & 1u) << 4);
    y[j] = static_cast<float>(lo - 16) * d;
    y[j + 16] = static_cast<float>(hi - 16) * d;
  }
}

void q5_1(const u8* b, float* y) {
  const float d = fp16_load(b);
  const float m = fp16_load(b + 2);
  const std::uint32_t qh = load_u32(b + 4);
  const u8* qs = b + 8;
  for (int j = 0; j < 16; ++j) {
    const int lo = (qs[j] & 0x0F) | static_cast<int>(((qh >> j) & 1u) << 4);
    const int hi = (qs[j] >> 4) | static_cast<int>(((qh >> (j + 16)) & 1u) << 4);
    y[j] = static_cast<float>(lo) * d + m;
    y[j + 16] = static_cast<float>(hi) * d + m;
  }
}

void q8_0(const u8* b, float* y) {
  const float d = fp16_load(b);
  const auto* qs = reinterpret_cast<const std::int8_t*>(b + 2);
  for (int j = 0; j < 32; ++j) y[j] = static_cast<float>(qs[j]) * d;
}

// K-quants: 256-element super-blocks of eight 32-element sub-blocks, each with a 6-bit scale and
// a 6-bit min packed into 12 bytes (k_quant_scale_min, dequantize.hpp).

void q4_k(const u8* b, float* y) {
  const float d = fp16_load(b);
  const float dmin = fp16_load(b + 2);
  const u8* scales = b + 4;
  const u8* q = b + 16;
  for (int sub = 0; sub < 8; sub += 2) {  // two sub-blocks share 32 bytes: low then high nibbles
    int sc, m;
    k_quant_scale_min(sub, scales, sc, m);
    const float d1 = d * static_cast<float>(sc), m1 = dmin * static_cast<float>(m);
    k_quant_scale_min(sub + 1, scales, sc, m);
    const float d2 = d * static_cast<float>(sc), m2 = dmin * static_cast<float>(m);
    for (int l = 0; l < 32; ++l) y[l] = d1 * static_cast<float>(q[l] & 0x0F) - m1;
    for (int l = 0; l < 32; ++l) y[l + 32] = d2 * static_cast<float>(q[l] >> 4) - m2;
    y += 64;
    q += 32;
  }
}

void q5_k(const u8* b, float* y) {
  const float d = fp16_load(b);
  const float dmin = fp16_load(b + 2);
  const u8* scales = b + 4;
  const u8* qh = b + 16;
  const u8* q = b + 48;
  for (int sub = 0; sub < 8; sub += 2) {
    int sc, m;
    k_quant_scale_min(sub, scales, sc, m);
    const float d1 = d * static_cast<float>(sc), m1 = dmin * static_cast<float>(m);
    k_quant_scale_min(sub + 1, scales, sc, m);
    const float d2 = d * static_cast<float>(sc), m2 = dmin * static_cast<float>(m);
    const u8 bit_lo = static_cast<u8>(1u << sub), bit_hi = static_cast<u8>(2u << sub);
    for (int l = 0; l < 32; ++l) {
      y[l] = d1 * static_cast<float>((q[l] & 0x0F) + ((qh[l] & bit_lo) ? 16 : 0)) - m1;
    }
    for (int l = 0; l < 32; ++l) {
      y[l + 32] = d2 * static_cast<float>((q[l] >> 4) + ((qh[l] & bit_hi) ? 16 : 0)) - m2;
    }
    y += 64;
    q += 32;
  }
}

// Q6_K: each half (128 elements) takes 64 low-nibble bytes and 32 bytes of 2-bit high parts;
// 16 signed 8-bit scales, one per 16 elements, times one f16 d.
void q6_k(const u8* b, float* y) {
  const u8* ql = b;
  const u8* qh = b + 128;
  const auto* sc = reinterpret_cast<const std::int8_t*>(b + 192);
  const float d = fp16_load(b + 208);
  for (int half = 0; half < 2; ++half) {
    for (int l = 0; l < 32; ++l) {
      const int is = l / 16;
      const int q1 = ((ql[l] & 0x0F) | (((qh[l] >> 0) & 3) << 4)) - 32;
      const int q2 = ((ql[l + 32] & 0x0F) | (((qh[l] >> 2) & 3) << 4)) - 32;
      const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
      const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
      y[l] = d * static_cast<float>(sc[is]) * static_cast<float>(q1);
      y[l + 32] = d * static_cast<float>(sc[is + 2]) * static_cast<float>(q2);
      y[l + 64] = d * static_cast<float>(sc[is + 4]) * static_cast<float>(q3);
      y[l + 96] = d * static_cast<float>(sc[is + 6]) * static_cast<float>(q4);
    }
    y += 128;
    ql += 64;
    qh += 32;
    sc += 8;
  }
}

// Q2_K: per 128 elements, 32 bytes of 2-bit quants at shifts 0, 2, 4, 6 (32 elements each); every
// 16 elements a byte of 4-bit scale (low) and 4-bit min (high), times f16 d and dmin.
void q2_k(const u8* b, float* y) {
  const u8* scales = b;
  const u8* q = b + 16;
  const float d = fp16_load(b + 80);
  const float dmin = fp16_load(b + 82);
  for (int half = 0; half < 2; ++half) {
    for (int shift = 0; shift < 8; shift += 2) {
      for (int part = 0; part < 2; ++part) {  // 16 elements of q[16·part ..]
        const u8 sc = *scales++;
        const float dl = d * static_cast<float>(sc & 0x0F), ml = dmin * static_cast<float>(sc >> 4);
        for (int l = 0; l < 16; ++l) y[l] = dl * static_cast<float>((q[16 * part + l] >> shift) & 3) - ml;
        y += 16;
      }
    }
    q += 32;
  }
}

// Q3_K: Q2_K's arrangement of 2-bit quants, a third bit in hmask (bit j of byte l for the
// 32-element run j, element l; a clear bit subtracts 4), signed 6-bit scales per 16 (q3_k_scale).
void q3_k(const u8* b, float* y) {
  const u8* hmask = b;
  const u8* q = b + 32;
  const u8* scales = b + 96;
  const float d = fp16_load(b + 108);
  int group = 0, run = 0;
  for (int half = 0; half < 2; ++half) {
    for (int shift = 0; shift < 8; shift += 2, ++run) {
      for (int part = 0; part < 2; ++part, ++group) {
        const float dl = d * static_cast<float>(q3_k_scale(group, scales) - 32);
        for (int l = 16 * part; l < 16 * part + 16; ++l) {
          const int v = ((q[l] >> shift) & 3) - ((hmask[l] >> run) & 1 ? 0 : 4);
          *y++ = dl * static_cast<float>(v);
        }
      }
    }
    q += 32;
  }
}

// 32 values from 16 bytes of 4-bit indices into `table` (low nibbles elements 0..15, high
// 16..31), times d: the IQ4 and MXFP4 blocks.
void table_nibbles(const u8* qs, float d, const std::int8_t* table, float* y) {
  for (int j = 0; j < 16; ++j) {
    y[j] = d * static_cast<float>(table[qs[j] & 0x0F]);
    y[j + 16] = d * static_cast<float>(table[qs[j] >> 4]);
  }
}

// IQ4_NL: one f16 d, 16 bytes of table indices.
void iq4_nl(const u8* b, float* y) { table_nibbles(b + 2, fp16_load(b), kIq4Values, y); }

// IQ4_XS: eight IQ4_NL-like sub-blocks of 32 sharing one f16 d, each with a 6-bit scale.
void iq4_xs(const u8* b, float* y) {
  const float d = fp16_load(b);
  for (int j = 0; j < 8; ++j) table_nibbles(b + 8 + 16 * j, d * static_cast<float>(iq4_xs_scale(j, b) - 32), kIq4Values, y + 32 * j);
}

// MXFP4_F16: IQ4_NL's layout (f16 d, 16 nibble bytes) indexing MXFP4's table.
void mxfp4_f16(const u8* b, float* y) { table_nibbles(b + 2, fp16_load(b), kMxfp4Values, y); }

// The lattice types (model/iq_quants.hpp), one function per type as BlockDequantizer wants.
template <DType T>
void lattice(const u8* b, float* y) { iq_dequantize_block(T, b, y); }

// MXFP4: one E8M0 byte e (the scale 2^(e − 127), applied as half of it to the doubled values),
// 16 bytes of E2M1 indices.
void mxfp4(const u8* b, float* y) { table_nibbles(b + 1, mxfp4_scale(b[0]), kMxfp4Values, y); }

}  // namespace

void mxfp4_to_f16_scale(const std::byte* src, int64_t blocks, std::byte* dst) {
  const auto* s = reinterpret_cast<const u8*>(src);
  auto* o = reinterpret_cast<u8*>(dst);
  for (int64_t i = 0; i < blocks; ++i, s += 17, o += 18) {
    // The values are k · 2^(e − 128) with k in −12..12: d = 2^(e − 128) is a float16 for e in
    // 104..143; below that d is float16's least subnormal 2^−24 and k is rescaled and rounded to a
    // value of the table (the weights are under 12 · 2^−25 in magnitude: zero in any product).
    const int e = s[0];
    if (e > 143) {
      throw std::invalid_argument("MXFP4 block scale 2^" + std::to_string(e - 128) + " exceeds float16's range");
    }
    const std::uint16_t d = float_to_fp16(std::ldexp(1.0f, std::max(e, 104) - 128));
    std::memcpy(o, &d, 2);
    if (e >= 104) {
      std::memcpy(o + 2, s + 1, 16);
      continue;
    }
    // k · 2^(e − 104) rounds to 0 for every k but ±12, ±8, ±6 at e = 103 (to ±6, ±4, ±3).
    const auto rescaled = [&](int nibble) {
      const float v = std::ldexp(static_cast<float>(kMxfp4Values[nibble]), e - 104);
      int best = 0;
      for (int k = 1; k < 16; ++k) {
        if (std::fabs(static_cast<float>(kMxfp4Values[k]) - v) < std::fabs(static_cast<float>(kMxfp4Values[best]) - v)) best = k;
      }
      return best;
    };
    for (int j = 0; j < 16; ++j) o[2 + j] = static_cast<u8>(rescaled(s[1 + j] & 0x0F) | (rescaled(s[1 + j] >> 4) << 4));
  }
}

void dequantize(DType type, const std::byte* src, float* dst, int64_t elements) {
  const int64_t per_block = dtype_block_elements(type);
  if (elements % per_block != 0) {
    throw std::invalid_argument(std::to_string(elements) + " elements are not whole " +
                                std::string(dtype_name(type)) + " blocks");
  }
  if (elements == 0) return;  // an empty tensor: src and dst may be null
  const auto* s = reinterpret_cast<const u8*>(src);
  switch (type) {
    case DType::F32:
      std::memcpy(dst, src, static_cast<std::size_t>(elements) * 4);
      return;
    case DType::F16:
      for (int64_t i = 0; i < elements; ++i) dst[i] = fp16_load(s + 2 * i);
      return;
    case DType::U8:
      for (int64_t i = 0; i < elements; ++i) dst[i] = static_cast<float>(s[i]);
      return;
    case DType::F8_E4M3:  // the e4m3 numbers alone: their block scales are fp8_weights.hpp's
      for (int64_t i = 0; i < elements; ++i) dst[i] = fp8_e4m3_to_float(s[i]);
      return;
    case DType::BF16:
      for (int64_t i = 0; i < elements; ++i) {
        std::uint16_t h;
        std::memcpy(&h, s + 2 * i, 2);
        dst[i] = bf16_to_float(h);
      }
      return;
    default:
      break;
  }
  const BlockDequantizer block_fn = block_dequantizer(type);
  const int64_t blocks = elements / per_block;
  const int64_t block_bytes = dtype_block_bytes(type);
  for (int64_t i = 0; i < blocks; ++i) block_fn(s + i * block_bytes, dst + i * per_block);
}

BlockDequantizer block_dequantizer(DType type) {
  switch (type) {
    case DType::Q4_0: return q4_0;
    case DType::Q4_1: return q4_1;
    case DType::Q5_0: return q5_0;
    case DType::Q5_1: return q5_1;
    case DType::Q8_0: return q8_0;
    case DType::Q4_K: return q4_k;
    case DType::Q5_K: return q5_k;
    case DType::Q6_K: return q6_k;
    case DType::Q2_K: return q2_k;
    case DType::Q3_K: return q3_k;
    case DType::IQ4_NL: return iq4_nl;
    case DType::IQ4_XS: return iq4_xs;
    case DType::MXFP4: return mxfp4;
    case DType::MXFP4_F16: return mxfp4_f16;
    case DType::IQ2_XXS: return lattice<DType::IQ2_XXS>;
    case DType::IQ2_XS: return lattice<DType::IQ2_XS>;
    case DType::IQ2_S: return lattice<DType::IQ2_S>;
    case DType::IQ3_XXS: return lattice<DType::IQ3_XXS>;
    case DType::IQ3_S: return lattice<DType::IQ3_S>;
    case DType::IQ1_S: return lattice<DType::IQ1_S>;
    case DType::IQ1_M: return lattice<DType::IQ1_M>;
    default: throw std::logic_error("block_dequantizer: " + std::string(dtype_name(type)) + " is not a block type");
  }
}

}  // namespace troupe
