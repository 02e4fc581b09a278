#pragma once
// The lattice types' 32-weight chunks (model/iq_quants.hpp) as 32 signed bytes of q, for the AVX2
// kernels (lattice_unpack_avx2.hpp, and int8_matmul_avx2.cpp for rows short of a group of 8): the
// table entries fetched by index (four 8-byte or eight 4-byte loads), then the signs applied (byte
// masks from a table, or spread from 32 sign bits), or IQ1's 8·g ± 1 formed. The same values as
// iq_chunk() (checked through the kernels' tests). Included only by those translation units.
#include <immintrin.h>

#include <array>
#include <cstdint>
#include <cstring>

#include "model/iq_quants.hpp"

#ifndef TROUPE_AVX2
#define TROUPE_AVX2 __attribute__((target("avx2,fma,f16c")))
#endif

namespace troupe::cpu::iq {

using u8 = std::uint8_t;

// The sign byte of each 7-bit sign index (iq_signs), for IQ3_XXS, which spreads the bits.
inline constexpr auto kSignBytes = [] {
  std::array<u8, 128> t{};
  for (int i = 0; i < 128; ++i) t[static_cast<std::size_t>(i)] = iq_signs(i);
  return t;
}();

// The same signs as byte masks, for IQ2_XXS and IQ2_XS: byte k of entry i is 0xFF where weight k
// is negative, one 8-byte load per 8 weights instead of spreading bits (1.25-1.3x on their one-row
// product; IQ3_XXS, whose values already take eight 4-byte loads a chunk, got 4 % slower so).
inline constexpr auto kSignMasks = [] {
  std::array<std::uint64_t, 128> t{};
  for (int i = 0; i < 128; ++i) {
    for (int k = 0; k < 8; ++k) {
      if ((iq_signs(i) >> k) & 1) t[static_cast<std::size_t>(i)] |= std::uint64_t{0xFF} << (8 * k);
    }
  }
  return t;
}();

using iq_detail::u16_at;
using iq_detail::u32_at;

// v negated in the bytes where `minus` is 0xFF.
TROUPE_AVX2 inline __m256i negated_where(__m256i v, __m256i minus) { return _mm256_sub_epi8(_mm256_xor_si256(v, minus), minus); }

// v negated in the bytes whose bit of `negative` is set (bit k: byte k).
TROUPE_AVX2 inline __m256i with_signs(__m256i v, std::uint32_t negative) {
  const __m256i spread = _mm256_shuffle_epi8(  // byte k <- byte k / 8 of the mask
      _mm256_set1_epi32(static_cast<int>(negative)),
      _mm256_setr_epi64x(0x0000000000000000, 0x0101010101010101, 0x0202020202020202, 0x0303030303030303));
  const __m256i bit = _mm256_set1_epi64x(static_cast<long long>(0x8040201008040201ULL));
  return negated_where(v, _mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit));  // 0xFF where negative
}

TROUPE_AVX2 inline __m256i entries64(std::uint64_t e0, std::uint64_t e1, std::uint64_t e2, std::uint64_t e3) {
  return _mm256_set_epi64x(static_cast<long long>(e3), static_cast<long long>(e2), static_cast<long long>(e1),
                           static_cast<long long>(e0));
}

// Four 7-bit sign indices at bits 0, 7, 14, 21 of `word` as four sign bytes.
inline std::uint32_t packed_signs(std::uint32_t word) {
  return kSignBytes[word & 127] | (std::uint32_t{kSignBytes[(word >> 7) & 127]} << 8) |
         (std::uint32_t{kSignBytes[(word >> 14) & 127]} << 16) | (std::uint32_t{kSignBytes[(word >> 21) & 127]} << 24);
}

// Four 7-bit sign indices at bits 0, 7, 14, 21 of `word` as the 32 bytes' masks.
TROUPE_AVX2 inline __m256i sign_masks(std::uint32_t word) {
  return entries64(kSignMasks[word & 127], kSignMasks[(word >> 7) & 127], kSignMasks[(word >> 14) & 127],
                   kSignMasks[(word >> 21) & 127]);
}

// IQ1: 8·g + shift, with g in {−1, 0, 1} and each 8-byte group's shift ±1 (0x01 or 0xFF bytes).
TROUPE_AVX2 inline __m256i shifted(__m256i g, __m256i shift) {
  const __m256i g2 = _mm256_add_epi8(g, g), g4 = _mm256_add_epi8(g2, g2);
  return _mm256_add_epi8(_mm256_add_epi8(g4, g4), shift);
}

inline long long shift_bytes(bool negative) { return negative ? -1LL : 0x0101010101010101LL; }

// Chunk j of block b of type T.
template <DType T>
TROUPE_AVX2 inline __m256i chunk(const u8* b, int j) {
  if constexpr (T == DType::IQ2_XXS) {
    const u8* idx = b + 2 + 8 * j;
    const __m256i v = entries64(kIq2xxsGrid[idx[0]], kIq2xxsGrid[idx[1]], kIq2xxsGrid[idx[2]], kIq2xxsGrid[idx[3]]);
    return negated_where(v, sign_masks(u32_at(idx + 4)));
  } else if constexpr (T == DType::IQ2_XS) {
    const u8* q = b + 2 + 8 * j;
    std::uint16_t e[4];
    std::memcpy(e, q, 8);
    const __m256i v = entries64(kIq2xsGrid[e[0] & 511], kIq2xsGrid[e[1] & 511], kIq2xsGrid[e[2] & 511], kIq2xsGrid[e[3] & 511]);
    return negated_where(v, entries64(kSignMasks[e[0] >> 9], kSignMasks[e[1] >> 9], kSignMasks[e[2] >> 9],
                                      kSignMasks[e[3] >> 9]));
  } else if constexpr (T == DType::IQ2_S) {
    const u8* low = b + 2 + 4 * j;
    const int high = b[66 + j];
    const __m256i v = entries64(kIq2sGrid[low[0] | ((high << 8) & 0x300)], kIq2sGrid[low[1] | ((high << 6) & 0x300)],
                                kIq2sGrid[low[2] | ((high << 4) & 0x300)], kIq2sGrid[low[3] | ((high << 2) & 0x300)]);
    return with_signs(v, u32_at(b + 34 + 4 * j));
  } else if constexpr (T == DType::IQ3_XXS) {
    const u8* idx = b + 2 + 8 * j;
    const __m256i v = _mm256_set_epi32(
        static_cast<int>(kIq3xxsGrid[idx[7]]), static_cast<int>(kIq3xxsGrid[idx[6]]), static_cast<int>(kIq3xxsGrid[idx[5]]),
        static_cast<int>(kIq3xxsGrid[idx[4]]), static_cast<int>(kIq3xxsGrid[idx[3]]), static_cast<int>(kIq3xxsGrid[idx[2]]),
        static_cast<int>(kIq3xxsGrid[idx[1]]), static_cast<int>(kIq3xxsGrid[idx[0]]));
    return with_signs(v, packed_signs(u32_at(b + 66 + 4 * j)));
  } else if constexpr (T == DType::IQ3_S) {
    // Index k: low byte k, and bit k of the high byte as bit 8; the entries inserted from memory.
    // (A hardware gather of them was 1.2x faster in the row-major kernel, but 6 % slower than this
    // in the interleaved one, where eight rows' chunks are unpacked one after another.)
    const u8* q = b + 2 + 8 * j;
    const int h = b[66 + j];
    const auto entry = [&](int k) { return static_cast<int>(kIq3sGrid[q[k] | ((h << (8 - k)) & 256)]); };
    __m128i lo = _mm_cvtsi32_si128(entry(0)), hi = _mm_cvtsi32_si128(entry(4));
    lo = _mm_insert_epi32(lo, entry(1), 1);
    hi = _mm_insert_epi32(hi, entry(5), 1);
    lo = _mm_insert_epi32(lo, entry(2), 2);
    hi = _mm_insert_epi32(hi, entry(6), 2);
    lo = _mm_insert_epi32(lo, entry(3), 3);
    hi = _mm_insert_epi32(hi, entry(7), 3);
    const __m256i v = _mm256_set_m128i(hi, lo);
    return with_signs(v, u32_at(b + 74 + 4 * j));
  } else if constexpr (T == DType::IQ1_S) {
    const u8* low = b + 2 + 4 * j;
    const int h = u16_at(b + 34 + 2 * j);
    const __m256i g = entries64(kIq1sGrid[low[0] | ((h << 8) & 0x700)], kIq1sGrid[low[1] | ((h << 5) & 0x700)],
                                kIq1sGrid[low[2] | ((h << 2) & 0x700)], kIq1sGrid[low[3] | ((h >> 1) & 0x700)]);
    return shifted(g, _mm256_set1_epi64x(shift_bytes(h & 0x8000)));
  } else {  // IQ1_M: per 8 weights l a nibble of the 16-bit word: 3 index bits, then the shift's sign
    static_assert(T == DType::IQ1_M);
    const u8* low = b + 4 * j;
    const int qh = u16_at(b + 32 + 2 * j);  // kept in a register: byte-wise spills stalled forwarding
    const __m256i g = entries64(kIq1sGrid[low[0] | ((qh << 8) & 0x700)], kIq1sGrid[low[1] | ((qh << 4) & 0x700)],
                                kIq1sGrid[low[2] | (qh & 0x700)], kIq1sGrid[low[3] | ((qh >> 4) & 0x700)]);
    const __m256i sign_bits = _mm256_and_si256(_mm256_set1_epi64x(qh), _mm256_setr_epi64x(0x8, 0x80, 0x800, 0x8000));
    const __m256i positive = _mm256_cmpeq_epi64(sign_bits, _mm256_setzero_si256());
    return shifted(g, _mm256_or_si256(_mm256_set1_epi8(1), _mm256_andnot_si256(positive, _mm256_set1_epi8(-2))));
  }
}

}  // namespace troupe::cpu::iq
