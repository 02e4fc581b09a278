#pragma once
// What the x86 kernels of interleaved_matmul.hpp share (the AVX2 one and the AVX-512 VNNI one):
// the record layout of interleaved_weights.hpp as offsets, the activation broadcast, the final
// store and Q4_K's scale decoding. Included only by those kernels' translation units. The
// functions carry target("avx2,fma,f16c"), a subset of what the AVX-512 kernel's functions carry,
// so they inline into both.
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "gpu/cpu/interleaved_matmul.hpp"
#include "gpu/cpu/interleaved_weights.hpp"
#include "model/dequantize.hpp"  // kIq4Values

#define TROUPE_AVX2 __attribute__((target("avx2,fma,f16c")))

namespace troupe::cpu {

// The lattice types (interleaved_matmul_lattice_avx2.cpp), for the AVX2 and the AVX-512 dispatch.
void interleaved_matmul_lattice_avx2(const InterleavedMatmulJob& job, int64_t g0, int64_t g1);

}  // namespace troupe::cpu

namespace troupe::cpu::interleaved {

using u8 = std::uint8_t;

// Bytes of one group record (8 blocks) and where its quants start (interleaved_weights.hpp).
template <DType T> struct Record;
template <> struct Record<DType::Q4_0> { static constexpr int64_t kBytes = 144, kQuants = 16; };
template <> struct Record<DType::Q4_1> { static constexpr int64_t kBytes = 160, kQuants = 32; };
template <> struct Record<DType::Q5_0> { static constexpr int64_t kBytes = 176, kQuants = 48; };
template <> struct Record<DType::Q8_0> { static constexpr int64_t kBytes = 272, kQuants = 16; };
template <> struct Record<DType::Q4_K> { static constexpr int64_t kBytes = 1152, kQuants = 128; };
template <> struct Record<DType::Q5_K> { static constexpr int64_t kBytes = 1408, kQuants = 384, kHigh = 128; };
template <> struct Record<DType::IQ4_NL> { static constexpr int64_t kBytes = 144, kQuants = 16; };
template <> struct Record<DType::MXFP4_F16> { static constexpr int64_t kBytes = 144, kQuants = 16; };
template <> struct Record<DType::IQ4_XS> { static constexpr int64_t kBytes = 1088, kQuants = 64; };
template <> struct Record<DType::Q3_K> { static constexpr int64_t kBytes = 880, kQuants = 256, kScales = 768, kD = 864; };
template <> struct Record<DType::Q2_K> { static constexpr int64_t kBytes = 672, kQuants = 128, kD = 640, kDmin = 656; };
template <> struct Record<DType::Q6_K> {
  static constexpr int64_t kBytes = 1680;
  // The 32-byte vectors of step v (0..7) of half h: ql run u (2h or 2h + 1), and qh run h.
  static constexpr int64_t ql(int64_t u, int64_t v) { return q6k_ql_vector(u, v); }
  static constexpr int64_t qh(int64_t h, int64_t v) { return q6k_qh_vector(h, v); }
};

// Four activation bytes broadcast to every 32-bit lane.
TROUPE_AVX2 inline __m256i broadcast4(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm256_set1_epi32(v);
}

// Group g's 8 output columns of activation rows r0 .. r0+RM-1 from their accumulators.
template <int RM>
TROUPE_AVX2 inline void store_rows(const InterleavedMatmulJob& j, int64_t g, int64_t r0, const __m256* acc) {
  for (int r = 0; r < RM; ++r) {
    float* out = j.c + (r0 + r) * j.c_stride + g * kInterleavedRows;
    _mm256_storeu_ps(out, j.accumulate ? _mm256_add_ps(_mm256_loadu_ps(out), acc[r]) : acc[r]);
  }
}

// Software prefetch of the weight stream kPrefetchBytes ahead of a record of `Bytes` bytes (one
// prefetch per cache line it spans). The records of a product are one contiguous stream (groups
// follow each other), and with one activation row the loads otherwise wait on memory: 4 % more
// decode on its own in the 1B-shape A/B runs of docs/BENCHMARKS.md, 20 % more for Q4_K_M.
constexpr int64_t kPrefetchBytes = 2048;

template <int64_t Bytes>
TROUPE_AVX2 inline void prefetch_ahead(const u8* rec) {
  for (int64_t o = 0; o < Bytes; o += 64) _mm_prefetch(reinterpret_cast<const char*>(rec + kPrefetchBytes + o), _MM_HINT_T0);
}

// Q4_K: per super-block of 256 columns, the 8 rows' sub-block scales d·sc_j and offsets −dmin·m_j
// (j = 0..7) as float vectors (lane i = row i), decoded from the 6-bit fields of all 8 rows at once
// as model/dequantize.hpp's k_quant_scale_min does for one.
TROUPE_AVX2 inline void q4k_scales(const u8* rec, __m256* scale, __m256* offset) {
  const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(rec)));
  const __m256 dmin = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(rec + 16)));
  __m256i b[12];  // byte k of the 8 rows' scale fields, widened to int32 lanes
  for (int k = 0; k < 12; ++k) b[k] = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(rec + 32 + 8 * k)));
  const __m256i low6 = _mm256_set1_epi32(63), low4 = _mm256_set1_epi32(15);
  for (int j = 0; j < 8; ++j) {
    __m256i sc, m;
    if (j < 4) {
      sc = _mm256_and_si256(b[j], low6);
      m = _mm256_and_si256(b[j + 4], low6);
    } else {
      sc = _mm256_or_si256(_mm256_and_si256(b[j + 4], low4), _mm256_slli_epi32(_mm256_srli_epi32(b[j - 4], 6), 4));
      m = _mm256_or_si256(_mm256_srli_epi32(b[j + 4], 4), _mm256_slli_epi32(_mm256_srli_epi32(b[j], 6), 4));
    }
    scale[j] = _mm256_mul_ps(d, _mm256_cvtepi32_ps(sc));
    offset[j] = _mm256_xor_ps(_mm256_mul_ps(dmin, _mm256_cvtepi32_ps(m)), _mm256_set1_ps(-0.0f));
  }
}

// IQ4_NL/IQ4_XS (MXFP4_F16: MXFP4's table): 32 bytes of 4-bit table indices as the table's signed
// values (one byte shuffle).
TROUPE_AVX2 inline __m256i iq4_lookup(__m256i indices, const int8_t* values = kIq4Values) {
  const __m128i table = _mm_loadu_si128(reinterpret_cast<const __m128i*>(values));
  return _mm256_shuffle_epi8(_mm256_set_m128i(table, table), indices);
}

// IQ4_XS: the 8 rows' sub-block scales d·(ls_j − 32) (j = 0..7) as float vectors (lane i = row i),
// ls_j's low 4 bits from scales_l (byte j / 2 of each row, nibble j % 2), its top 2 bits from bits
// 2j, 2j + 1 of scales_h, as model/dequantize.hpp's iq4_xs_scale does for one row.
TROUPE_AVX2 inline void iq4xs_scales(const u8* rec, __m256* scale) {
  const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(rec)));
  const __m256i high = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(rec + 16)));
  const __m256i low4 = _mm256_set1_epi32(15), low2 = _mm256_set1_epi32(3), bias = _mm256_set1_epi32(32);
  for (int j = 0; j < 8; ++j) {
    const __m256i bytes = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(rec + 32 + 8 * (j / 2))));
    const __m256i low = _mm256_and_si256(_mm256_srli_epi32(bytes, 4 * (j % 2)), low4);
    const __m256i top = _mm256_slli_epi32(_mm256_and_si256(_mm256_srli_epi32(high, 2 * j), low2), 4);
    scale[j] = _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_or_si256(low, top), bias)));
  }
}

}  // namespace troupe::cpu::interleaved
