// The AVX2 implementation of interleaved_matmul.hpp. Compiled for the baseline like the rest of
// the build; only these functions carry target("avx2,fma,f16c"), and callers reach them only
// after avx2_available().
//
// int16 sums without overflow: activations are within ±127 (quantized_activations.hpp), so one
// maddubs lane (two products) is at most 2·15·127 = 3,810 for 4-bit weights and 2·31·127 = 7,874
// for Q5_0. A Q4 chunk adds 8 such lanes per int16 (30,480 < 32,767); Q5_0 adds 4 per int16 and
// keeps the chunk's two halves apart (31,496); Q8_0 (|w| ≤ 128, 32,512 per lane) widens every
// product to int32 at once.
#include <immintrin.h>

#include <cstring>

#include "gpu/cpu/interleaved_matmul.hpp"
#include "gpu/cpu/interleaved_weights.hpp"

#define TROUPE_AVX2 __attribute__((target("avx2,fma,f16c")))

namespace troupe::cpu {
namespace {

using u8 = std::uint8_t;

// Bytes of one group record (8 blocks) and where its quants start (interleaved_weights.hpp).
template <DType T> struct Record;
template <> struct Record<DType::Q4_0> { static constexpr int64_t kBytes = 144, kQuants = 16; };
template <> struct Record<DType::Q4_1> { static constexpr int64_t kBytes = 160, kQuants = 32; };
template <> struct Record<DType::Q5_0> { static constexpr int64_t kBytes = 176, kQuants = 48; };
template <> struct Record<DType::Q8_0> { static constexpr int64_t kBytes = 272, kQuants = 16; };

// Four activation bytes broadcast to every 32-bit lane.
TROUPE_AVX2 inline __m256i broadcast4(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm256_set1_epi32(v);
}

// The int32 chunk sums Σ qw·qx of the group's 8 rows (lane i = row i) for RM activation rows.
template <DType T, int RM>
TROUPE_AVX2 inline void chunk_dots(const u8* rec, const int8_t* const* x, __m256i* dot) {
  const __m256i ones = _mm256_set1_epi16(1);
  if constexpr (T == DType::Q8_0) {
    for (int q = 0; q < 8; ++q) {  // columns 4q .. 4q+3; signed weights through abs/sign
      const __m256i w = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(rec + Record<T>::kQuants + 32 * q));
      const __m256i w_abs = _mm256_sign_epi8(w, w);
      for (int r = 0; r < RM; ++r) {
        const __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(w_abs, _mm256_sign_epi8(broadcast4(x[r] + 4 * q), w)), ones);
        dot[r] = q == 0 ? p : _mm256_add_epi32(dot[r], p);
      }
    }
  } else {
    const __m256i nibble = _mm256_set1_epi8(0x0F);
    __m256i low[RM], high[RM];  // int16 sums of columns 0..15 and 16..31
    __m256i h = _mm256_setzero_si256();
    if constexpr (T == DType::Q5_0) h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(rec + 16));
    for (int l = 0; l < 4; ++l) {  // columns 4l .. 4l+3 (low nibbles) and 16+4l .. 16+4l+3 (high)
      const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(rec + Record<T>::kQuants + 32 * l));
      __m256i wl = _mm256_and_si256(v, nibble);
      __m256i wh = _mm256_and_si256(_mm256_srli_epi16(v, 4), nibble);
      if constexpr (T == DType::Q5_0) {  // bit l (low columns) or 4+l (high) of each byte to bit 4
        const __m256i bit4 = _mm256_set1_epi8(0x10);
        wl = _mm256_or_si256(wl, _mm256_and_si256(_mm256_sll_epi16(h, _mm_cvtsi32_si128(4 - l)), bit4));
        wh = _mm256_or_si256(wh, _mm256_and_si256(_mm256_srl_epi16(h, _mm_cvtsi32_si128(l)), bit4));
      }
      for (int r = 0; r < RM; ++r) {
        const __m256i pl = _mm256_maddubs_epi16(wl, broadcast4(x[r] + 4 * l));
        const __m256i ph = _mm256_maddubs_epi16(wh, broadcast4(x[r] + 16 + 4 * l));
        if constexpr (T == DType::Q5_0) {
          low[r] = l == 0 ? pl : _mm256_add_epi16(low[r], pl);
          high[r] = l == 0 ? ph : _mm256_add_epi16(high[r], ph);
        } else {
          const __m256i both = _mm256_add_epi16(pl, ph);
          low[r] = l == 0 ? both : _mm256_add_epi16(low[r], both);
        }
      }
    }
    for (int r = 0; r < RM; ++r) {
      dot[r] = _mm256_madd_epi16(low[r], ones);
      if constexpr (T == DType::Q5_0) dot[r] = _mm256_add_epi32(dot[r], _mm256_madd_epi16(high[r], ones));
    }
  }
}

// Group g's 8 output columns for activation rows r0 .. r0+RM-1.
template <DType T, int RM>
TROUPE_AVX2 void group_rows(const InterleavedMatmulJob& j, int64_t g, int64_t r0) {
  const QuantizedActivations& a = *j.a;
  const int64_t chunks = j.cols / 32;
  const u8* rec = j.groups + g * chunks * Record<T>::kBytes;
  __m256 acc[RM];
  for (int r = 0; r < RM; ++r) acc[r] = _mm256_setzero_ps();
  for (int64_t c = 0; c < chunks; ++c, rec += Record<T>::kBytes) {
    const int8_t* x[RM];
    for (int r = 0; r < RM; ++r) x[r] = a.q(r0 + r) + 32 * c;
    __m256i dot[RM];
    chunk_dots<T, RM>(rec, x, dot);
    const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(rec)));
    __m256 offset = _mm256_setzero_ps();  // w = d·qw + offset
    if constexpr (T == DType::Q4_1) offset = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(rec + 16)));
    if constexpr (T == DType::Q4_0) offset = _mm256_mul_ps(d, _mm256_set1_ps(-8.0f));
    if constexpr (T == DType::Q5_0) offset = _mm256_mul_ps(d, _mm256_set1_ps(-16.0f));
    for (int r = 0; r < RM; ++r) {
      acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot[r]), _mm256_mul_ps(d, _mm256_set1_ps(a.d(r0 + r)[c])), acc[r]);
      if constexpr (T != DType::Q8_0) acc[r] = _mm256_fmadd_ps(offset, _mm256_set1_ps(a.s(r0 + r)[c]), acc[r]);
    }
  }
  for (int r = 0; r < RM; ++r) {
    float* out = j.c + (r0 + r) * j.c_stride + g * kInterleavedRows;
    const __m256 v = j.accumulate ? _mm256_add_ps(_mm256_loadu_ps(out), acc[r]) : acc[r];
    _mm256_storeu_ps(out, v);
  }
}

template <DType T>
TROUPE_AVX2 void matmul(const InterleavedMatmulJob& j, int64_t g0, int64_t g1) {
  const int64_t m = j.a->rows();
  for (int64_t g = g0; g < g1; ++g) {
    int64_t r0 = 0;
    for (; r0 + 4 <= m; r0 += 4) group_rows<T, 4>(j, g, r0);
    switch (m - r0) {
      case 3: group_rows<T, 3>(j, g, r0); break;
      case 2: group_rows<T, 2>(j, g, r0); break;
      case 1: group_rows<T, 1>(j, g, r0); break;
      default: break;
    }
  }
}

}  // namespace

void interleaved_matmul_avx2(const InterleavedMatmulJob& j, int64_t g0, int64_t g1) {
  switch (j.type) {
    case DType::Q4_0: return matmul<DType::Q4_0>(j, g0, g1);
    case DType::Q4_1: return matmul<DType::Q4_1>(j, g0, g1);
    case DType::Q5_0: return matmul<DType::Q5_0>(j, g0, g1);
    case DType::Q8_0: return matmul<DType::Q8_0>(j, g0, g1);
    default: return interleaved_matmul_portable(j, g0, g1);
  }
}

}  // namespace troupe::cpu
