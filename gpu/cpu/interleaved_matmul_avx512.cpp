// The AVX-512 VNNI implementation of interleaved_matmul.hpp: the AVX2 kernel's layout and loops,
// with vpdpbusd (four u8·s8 products added into an int32 lane, one instruction) in place of
// maddubs + add + madd. It runs on 256-bit registers: the weight layout stays the AVX2 one (8 rows
// × 4 columns per vector), Zen 4 splits 512-bit operations in two anyway, and the EVEX encoding
// still brings 32 registers, so that more activation rows share each unpacked weight vector.
// Only these functions carry the AVX-512 target; callers reach them only when cpu_isa() says so.
//
// The integer chunk sums are exact (int32 cannot overflow: 32 products of at most 128·127 per
// chunk), the same sums the AVX2 kernel forms, and the float steps after them are the AVX2 kernel's
// in the same order: both kernels give bit-identical results (tests/gpu/cpu checks it).
//
// Signed weights (Q8_0, Q6_K) go through abs/sign as in the AVX2 kernel: |w| as the unsigned
// operand, the activation with w's sign as the signed one (|w| = 128 for w = −128 is right as u8).
#include "gpu/cpu/interleaved_kernel_parts.hpp"

#define TROUPE_AVX512 __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")))

namespace troupe::cpu {
namespace {

using namespace interleaved;

TROUPE_AVX512 inline __m256i dot4(__m256i acc, __m256i w_unsigned, __m256i x_signed) {
  return _mm256_dpbusd_epi32(acc, w_unsigned, x_signed);
}

// The int32 chunk sums Σ qw·qx of the group's 8 rows (lane i = row i) for RM activation rows. Two
// accumulators per row (columns 0..15 and 16..31) halve the dependency chain a single row has.
template <DType T, int RM>
TROUPE_AVX512 inline void chunk_dots(const u8* rec, const int8_t* const* x, __m256i* dot) {
  __m256i lo[RM], hi[RM];
  for (int r = 0; r < RM; ++r) lo[r] = hi[r] = _mm256_setzero_si256();
  if constexpr (T == DType::Q8_0) {
    for (int q = 0; q < 8; ++q) {  // columns 4q .. 4q+3
      const __m256i w = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(rec + Record<T>::kQuants + 32 * q));
      const __m256i w_abs = _mm256_abs_epi8(w);
      for (int r = 0; r < RM; ++r) {
        __m256i& s = q < 4 ? lo[r] : hi[r];
        s = dot4(s, w_abs, _mm256_sign_epi8(broadcast4(x[r] + 4 * q), w));
      }
    }
  } else {
    const __m256i nibble = _mm256_set1_epi8(0x0F);
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
        lo[r] = dot4(lo[r], wl, broadcast4(x[r] + 4 * l));
        hi[r] = dot4(hi[r], wh, broadcast4(x[r] + 16 + 4 * l));
      }
    }
  }
  for (int r = 0; r < RM; ++r) dot[r] = _mm256_add_epi32(lo[r], hi[r]);
}

// Group g's 8 output columns for activation rows r0 .. r0+RM-1 (the AVX2 kernel's float steps).
template <DType T, int RM>
TROUPE_AVX512 void group_rows(const InterleavedMatmulJob& j, int64_t g, int64_t r0) {
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
  store_rows<RM>(j, g, r0, acc);
}

// Q4_K: the two sub-blocks of a 32-byte column group share its bytes (low nibbles: sub-block 2p,
// high: 2p + 1), so each vector is loaded once for both; the float steps per sub-block are the
// AVX2 kernel's, in its order.
template <int RM>
TROUPE_AVX512 void group_rows_q4k(const InterleavedMatmulJob& j, int64_t g, int64_t r0) {
  using R = Record<DType::Q4_K>;
  const QuantizedActivations& a = *j.a;
  const int64_t blocks = j.cols / 256;
  const u8* rec = j.groups + g * blocks * R::kBytes;
  const __m256i nibble = _mm256_set1_epi8(0x0F);
  __m256 acc[RM];
  for (int r = 0; r < RM; ++r) acc[r] = _mm256_setzero_ps();
  for (int64_t blk = 0; blk < blocks; ++blk, rec += R::kBytes) {
    __m256 scale[8], offset[8];
    q4k_scales(rec, scale, offset);
    for (int p = 0; p < 4; ++p) {
      const u8* qs = rec + R::kQuants + 256 * p;
      const int64_t c0 = 8 * blk + 2 * p;  // the even sub-block's 32-column chunk; c0 + 1 the odd one's
      __m256i even[RM], odd[RM];
      for (int r = 0; r < RM; ++r) even[r] = odd[r] = _mm256_setzero_si256();
      for (int v = 0; v < 8; ++v) {
        const __m256i bytes = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs + 32 * v));
        const __m256i wl = _mm256_and_si256(bytes, nibble);
        const __m256i wh = _mm256_and_si256(_mm256_srli_epi16(bytes, 4), nibble);
        for (int r = 0; r < RM; ++r) {
          const int8_t* x = a.q(r0 + r) + 32 * c0 + 4 * v;
          even[r] = dot4(even[r], wl, broadcast4(x));
          odd[r] = dot4(odd[r], wh, broadcast4(x + 32));
        }
      }
      for (int half = 0; half < 2; ++half) {
        const int sub = 2 * p + half;
        const int64_t c = c0 + half;
        for (int r = 0; r < RM; ++r) {
          const __m256 dot = _mm256_cvtepi32_ps(half == 0 ? even[r] : odd[r]);
          acc[r] = _mm256_fmadd_ps(dot, _mm256_mul_ps(scale[sub], _mm256_set1_ps(a.d(r0 + r)[c])), acc[r]);
          acc[r] = _mm256_fmadd_ps(offset[sub], _mm256_set1_ps(a.s(r0 + r)[c]), acc[r]);
        }
      }
    }
  }
  store_rows<RM>(j, g, r0, acc);
}

// Q6_K (the AVX2 kernel's unpacking, interleaved_matmul_avx2.cpp): per 16-column half an int32
// sum, times the 8 rows' int8 scales of that half (mullo: exact, as the AVX2 kernel's madd is).
template <int RM>
TROUPE_AVX512 void group_rows_q6k(const InterleavedMatmulJob& j, int64_t g, int64_t r0) {
  using R = Record<DType::Q6_K>;
  const QuantizedActivations& a = *j.a;
  const int64_t blocks = j.cols / 256;
  const u8* rec = j.groups + g * blocks * R::kBytes;
  const __m256i nibble = _mm256_set1_epi8(0x0F), two = _mm256_set1_epi8(3), bias = _mm256_set1_epi8(32);
  __m256 acc[RM];
  for (int r = 0; r < RM; ++r) acc[r] = _mm256_setzero_ps();
  for (int64_t blk = 0; blk < blocks; ++blk, rec += R::kBytes) {
    const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(rec)));
    for (int sub = 0; sub < 8; ++sub) {
      const int64_t c = 8 * blk + sub;
      const int half = sub / 4, k = sub % 4;
      const u8* ql = rec + R::kQuants + 256 * (2 * half + k % 2);
      const u8* qh = rec + R::kHigh + 256 * half;
      const __m128i shift = _mm_cvtsi32_si128(2 * k);
      __m256i sum[2][RM];  // columns 0..15 and 16..31
      for (int q = 0; q < 2; ++q) {
        for (int r = 0; r < RM; ++r) sum[q][r] = _mm256_setzero_si256();
      }
      for (int v = 0; v < 8; ++v) {
        const __m256i l = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ql + 32 * v));
        const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qh + 32 * v));
        const __m256i low = k < 2 ? _mm256_and_si256(l, nibble) : _mm256_and_si256(_mm256_srli_epi16(l, 4), nibble);
        const __m256i high = _mm256_slli_epi16(_mm256_and_si256(_mm256_srl_epi16(h, shift), two), 4);
        const __m256i w = _mm256_sub_epi8(_mm256_or_si256(low, high), bias);
        const __m256i w_abs = _mm256_abs_epi8(w);
        for (int r = 0; r < RM; ++r) {
          __m256i& s = sum[v / 4][r];
          s = dot4(s, w_abs, _mm256_sign_epi8(broadcast4(a.q(r0 + r) + 32 * c + 4 * v), w));
        }
      }
      __m256i scale[2];  // the 8 rows' scales of the chunk's two halves, as int32
      for (int q = 0; q < 2; ++q) {
        scale[q] = _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(rec + 16 + 8 * (8 * half + 2 * k + q))));
      }
      for (int r = 0; r < RM; ++r) {
        const __m256i dot = _mm256_add_epi32(_mm256_mullo_epi32(sum[0][r], scale[0]), _mm256_mullo_epi32(sum[1][r], scale[1]));
        acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_mul_ps(d, _mm256_set1_ps(a.d(r0 + r)[c])), acc[r]);
      }
    }
  }
  store_rows<RM>(j, g, r0, acc);
}

template <DType T, int RM>
TROUPE_AVX512 void group_tile(const InterleavedMatmulJob& j, int64_t g, int64_t r0) {
  if constexpr (T == DType::Q4_K) {
    group_rows_q4k<RM>(j, g, r0);
  } else if constexpr (T == DType::Q6_K) {
    group_rows_q6k<RM>(j, g, r0);
  } else {
    group_rows<T, RM>(j, g, r0);
  }
}

// Every activation row against groups [g0, g1), kTile rows at a time.
constexpr int kTile = 4;

template <DType T>
TROUPE_AVX512 void matmul(const InterleavedMatmulJob& j, int64_t g0, int64_t g1) {
  const int64_t m = j.a->rows();
  for (int64_t g = g0; g < g1; ++g) {
    int64_t r0 = 0;
    for (; r0 + kTile <= m; r0 += kTile) group_tile<T, kTile>(j, g, r0);
    switch (m - r0) {
      case 3: group_tile<T, 3>(j, g, r0); break;
      case 2: group_tile<T, 2>(j, g, r0); break;
      case 1: group_tile<T, 1>(j, g, r0); break;
      default: break;
    }
  }
}

}  // namespace

void interleaved_matmul_avx512(const InterleavedMatmulJob& j, int64_t g0, int64_t g1) {
  switch (j.type) {
    case DType::Q4_0: return matmul<DType::Q4_0>(j, g0, g1);
    case DType::Q4_1: return matmul<DType::Q4_1>(j, g0, g1);
    case DType::Q5_0: return matmul<DType::Q5_0>(j, g0, g1);
    case DType::Q8_0: return matmul<DType::Q8_0>(j, g0, g1);
    case DType::Q4_K: return matmul<DType::Q4_K>(j, g0, g1);
    case DType::Q6_K: return matmul<DType::Q6_K>(j, g0, g1);
    default: return interleaved_matmul_portable(j, g0, g1);
  }
}

}  // namespace troupe::cpu
