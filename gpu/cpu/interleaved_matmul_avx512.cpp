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
// Q8_0's signed weights go through abs/sign as in the AVX2 kernel: |w| as the unsigned operand,
// the activation with w's sign as the signed one (|w| = 128 for w = −128 is right as u8); Q6_K's
// stored q (0..63) is unsigned already, its −32 applied to activation sums (below).
#include <vector>

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
    prefetch_ahead<Record<T>::kBytes>(rec);
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
      prefetch_ahead<256>(qs);
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

// Q6_K. A weight is q − 32 with q = 4 low bits (ql) | 2 high bits (qh) in 0..63, so
// Σ (q − 32)·x = Σ q·x − 32·Σx: vpdpbusd takes q unsigned as it is, and 32·Σx over each 16 columns
// (one int8 scale each) comes from sums made once per call (x16_sums). The 32 columns of chunk k
// of a half (interleaved_weights.hpp) take ql segment 2·half + k % 2 (low nibbles for k < 2, high
// for k ≥ 2) and bits 2k, 2k + 1 of qh segment `half`: chunks k and k + 2 share their ql bytes and
// all four their qh bytes, so each vector is loaded once for two chunks. The integer sums equal the
// AVX2 kernel's, and the float steps run in its order (chunk 0, 1, 2, 3 of each half).

// 32·Σx of every 16 activation columns of rows r0 .. r0+m-1, [m][cols / 16], for Q6_K's offset.
TROUPE_AVX512 void x16_sums(const QuantizedActivations& a, int64_t r0, int64_t m, std::vector<int32_t>& out) {
  const int64_t per_row = a.cols() / 16;
  out.resize(static_cast<std::size_t>(m * per_row));
  const __m256i ones8 = _mm256_set1_epi8(1);
  for (int64_t r = 0; r < m; ++r) {
    const int8_t* x = a.q(r0 + r);
    for (int64_t c = 0; c < a.cols() / 32; ++c) {
      const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + 32 * c));
      // lanes: sums of 4 bytes; then 16-byte sums in lane 0 of each 128-bit half
      __m256i s = _mm256_dpbusd_epi32(_mm256_setzero_si256(), ones8, v);
      s = _mm256_hadd_epi32(s, s);
      s = _mm256_hadd_epi32(s, s);
      out[static_cast<std::size_t>(r * per_row + 2 * c)] = 32 * _mm256_extract_epi32(s, 0);
      out[static_cast<std::size_t>(r * per_row + 2 * c + 1)] = 32 * _mm256_extract_epi32(s, 4);
    }
  }
}

// Bits 2k, 2k+1 of each qh byte moved to bits 4, 5 (the high part of a 6-bit q).
template <int K>
TROUPE_AVX512 inline __m256i q6_high(__m256i qh) {
  const __m256i mask = _mm256_set1_epi8(0x30);
  if constexpr (K == 0) return _mm256_and_si256(_mm256_slli_epi16(qh, 4), mask);
  if constexpr (K == 1) return _mm256_and_si256(_mm256_slli_epi16(qh, 2), mask);
  if constexpr (K == 2) return _mm256_and_si256(qh, mask);
  return _mm256_and_si256(_mm256_srli_epi16(qh, 2), mask);
}

// The int32 dot products of chunks KK and KK + 2 of a half (8 rows × RM activation rows), scaled
// by their per-16 int8 scales: exactly the AVX2 kernel's integer result per chunk.
template <int KK, int RM>
TROUPE_AVX512 inline void q6k_chunk_pair(const u8* rec, int half, const int8_t* const* x, const int32_t* const* sums,
                                         __m256i* dot_k, __m256i* dot_k2) {
  using R = Record<DType::Q6_K>;
  const u8* ql = rec + R::kQuants + 256 * (2 * half + KK);
  const u8* qh = rec + R::kHigh + 256 * half;
  const __m256i nibble = _mm256_set1_epi8(0x0F);
  __m256i s[2][2][RM];  // [chunk KK or KK+2][16-column half][activation row]
  for (int i = 0; i < 2; ++i) {
    for (int q = 0; q < 2; ++q) {
      for (int r = 0; r < RM; ++r) s[i][q][r] = _mm256_setzero_si256();
    }
  }
  for (int v = 0; v < 8; ++v) {
    const __m256i l = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ql + 32 * v));
    const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qh + 32 * v));
    const __m256i w0 = _mm256_or_si256(_mm256_and_si256(l, nibble), q6_high<KK>(h));
    const __m256i w2 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l, 4), nibble), q6_high<KK + 2>(h));
    for (int r = 0; r < RM; ++r) {
      s[0][v / 4][r] = dot4(s[0][v / 4][r], w0, broadcast4(x[r] + 32 * KK + 4 * v));
      s[1][v / 4][r] = dot4(s[1][v / 4][r], w2, broadcast4(x[r] + 32 * (KK + 2) + 4 * v));
    }
  }
  for (int i = 0; i < 2; ++i) {
    const int k = KK + 2 * i;
    __m256i scale[2];  // the 8 rows' int8 scales of the chunk's two 16-column halves, as int32
    for (int q = 0; q < 2; ++q) {
      scale[q] = _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(rec + 16 + 8 * (8 * half + 2 * k + q))));
    }
    __m256i* out = i == 0 ? dot_k : dot_k2;
    for (int r = 0; r < RM; ++r) {
      const __m256i s0 = _mm256_sub_epi32(s[i][0][r], _mm256_set1_epi32(sums[r][2 * k]));
      const __m256i s1 = _mm256_sub_epi32(s[i][1][r], _mm256_set1_epi32(sums[r][2 * k + 1]));
      out[r] = _mm256_add_epi32(_mm256_mullo_epi32(s0, scale[0]), _mm256_mullo_epi32(s1, scale[1]));
    }
  }
}

template <int RM>
TROUPE_AVX512 void group_rows_q6k(const InterleavedMatmulJob& j, int64_t g, int64_t r0, const std::vector<int32_t>& sums,
                                  int64_t sums_r0) {
  using R = Record<DType::Q6_K>;
  const QuantizedActivations& a = *j.a;
  const int64_t blocks = j.cols / 256, per_row = j.cols / 16;
  const u8* rec = j.groups + g * blocks * R::kBytes;
  __m256 acc[RM];
  for (int r = 0; r < RM; ++r) acc[r] = _mm256_setzero_ps();
  for (int64_t blk = 0; blk < blocks; ++blk, rec += R::kBytes) {
    const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(rec)));
    for (int half = 0; half < 2; ++half) prefetch_ahead<R::kBytes / 2>(rec + half * (R::kBytes / 2));
    for (int half = 0; half < 2; ++half) {
      const int64_t c0 = 8 * blk + 4 * half;  // the half's first 32-column chunk
      const int8_t* x[RM];
      const int32_t* xs[RM];
      for (int r = 0; r < RM; ++r) {
        x[r] = a.q(r0 + r) + 32 * c0;
        xs[r] = sums.data() + (r0 + r - sums_r0) * per_row + 2 * c0;
      }
      __m256i dot[4][RM];
      q6k_chunk_pair<0, RM>(rec, half, x, xs, dot[0], dot[2]);
      q6k_chunk_pair<1, RM>(rec, half, x, xs, dot[1], dot[3]);
      for (int k = 0; k < 4; ++k) {
        for (int r = 0; r < RM; ++r) {
          acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot[k][r]), _mm256_mul_ps(d, _mm256_set1_ps(a.d(r0 + r)[c0 + k])), acc[r]);
        }
      }
    }
  }
  store_rows<RM>(j, g, r0, acc);
}

template <DType T, int RM>
TROUPE_AVX512 void group_tile(const InterleavedMatmulJob& j, int64_t g, int64_t r0, const std::vector<int32_t>& sums) {
  if constexpr (T == DType::Q4_K) {
    group_rows_q4k<RM>(j, g, r0);
  } else if constexpr (T == DType::Q6_K) {
    group_rows_q6k<RM>(j, g, r0, sums, 0);
  } else {
    group_rows<T, RM>(j, g, r0);
  }
}

// Every activation row against groups [g0, g1), kTile rows at a time.
constexpr int kTile = 4;

template <DType T>
TROUPE_AVX512 void matmul(const InterleavedMatmulJob& j, int64_t g0, int64_t g1) {
  const int64_t m = j.a->rows();
  thread_local std::vector<int32_t> sums;  // Q6_K's 32·Σx per 16 columns
  if constexpr (T == DType::Q6_K) x16_sums(*j.a, 0, m, sums);
  for (int64_t g = g0; g < g1; ++g) {
    int64_t r0 = 0;
    for (; r0 + kTile <= m; r0 += kTile) group_tile<T, kTile>(j, g, r0, sums);
    switch (m - r0) {
      case 3: group_tile<T, 3>(j, g, r0, sums); break;
      case 2: group_tile<T, 2>(j, g, r0, sums); break;
      case 1: group_tile<T, 1>(j, g, r0, sums); break;
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
