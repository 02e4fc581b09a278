// The AVX2 implementation of interleaved_matmul.hpp. Compiled for the baseline like the rest of
// the build; only these functions carry target("avx2,fma,f16c"), and callers reach them only
// after avx2_available().
//
// The 32-block types share group_rows/chunk_dots; the K-quants and IQ4_XS (256-column super-blocks
// with sub-block scales) have their own loops below them.
//
// int16 sums without overflow: activations are within ±127 (quantized_activations.hpp), so one
// maddubs lane (two products) is at most 2·15·127 = 3,810 for 4-bit weights (Q4_0, Q4_1, Q4_K)
// and 2·31·127 = 7,874 for Q5_0. A 4-bit chunk adds 8 such lanes per int16 (30,480 < 32,767);
// Q5_0 adds 4 per int16 and keeps the chunk's two halves apart (31,496); Q6_K (|w| ≤ 32) adds 4
// per 16-column half (32,512); Q8_0 (|w| ≤ 128, 32,512 per lane) widens every product at once.
#include "gpu/cpu/interleaved_kernel_parts.hpp"

namespace troupe::cpu {
namespace {

using namespace interleaved;

// IQ4_NL/IQ4_XS (and MXFP4_F16, with MXFP4's table): the int32 sums Σ qw·qx over 32 columns of the group's 8 rows (lane i = row i)
// from the 4 vectors of table indices at `qs` (low nibbles: columns 4l .. 4l+3, high: 16 + 4l ..).
// Values reach ±127, so each maddubs (2·127·127 = 32,258) is widened at once, as Q8_0's.
template <int RM>
TROUPE_AVX2 inline void iq4_dots(const u8* qs, const int8_t* const* x, __m256i* dot, const int8_t* table = kIq4Values) {
  const __m256i nibble = _mm256_set1_epi8(0x0F), ones = _mm256_set1_epi16(1);
  for (int l = 0; l < 4; ++l) {
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs + 32 * l));
    const __m256i wl = iq4_lookup(_mm256_and_si256(v, nibble), table);
    const __m256i wh = iq4_lookup(_mm256_and_si256(_mm256_srli_epi16(v, 4), nibble), table);
    const __m256i al = _mm256_sign_epi8(wl, wl), ah = _mm256_sign_epi8(wh, wh);
    for (int r = 0; r < RM; ++r) {
      const __m256i pl = _mm256_madd_epi16(_mm256_maddubs_epi16(al, _mm256_sign_epi8(broadcast4(x[r] + 4 * l), wl)), ones);
      const __m256i ph = _mm256_madd_epi16(_mm256_maddubs_epi16(ah, _mm256_sign_epi8(broadcast4(x[r] + 16 + 4 * l), wh)), ones);
      const __m256i both = _mm256_add_epi32(pl, ph);
      dot[r] = l == 0 ? both : _mm256_add_epi32(dot[r], both);
    }
  }
}

// The int32 chunk sums Σ qw·qx of the group's 8 rows (lane i = row i) for RM activation rows.
template <DType T, int RM>
TROUPE_AVX2 inline void chunk_dots(const u8* rec, const int8_t* const* x, __m256i* dot) {
  const __m256i ones = _mm256_set1_epi16(1);
  if constexpr (T == DType::IQ4_NL) {
    iq4_dots<RM>(rec + Record<T>::kQuants, x, dot);
  } else if constexpr (T == DType::MXFP4_F16) {
    iq4_dots<RM>(rec + Record<T>::kQuants, x, dot, kMxfp4Values);
  } else if constexpr (T == DType::Q8_0) {
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
      if constexpr (T != DType::Q8_0 && T != DType::IQ4_NL && T != DType::MXFP4_F16) {
        acc[r] = _mm256_fmadd_ps(offset, _mm256_set1_ps(a.s(r0 + r)[c]), acc[r]);
      }
    }
  }
  store_rows<RM>(j, g, r0, acc);
}

// Q4_K and Q5_K: per super-block of 256 columns, the 8 rows' sub-block scales and offsets
// (interleaved_kernel_parts.hpp's q4k_scales); then each 32-column sub-block as the 4-bit types
// above (8 maddubs summed in int16, one madd). Q5_K ORs bit `sub` of the qh vector beside each
// nibble vector in as bit 4 (weights 0..31): its int16 sums take 4 maddubs each (4·7,874), two per
// sub-block.
template <DType T, int RM>
TROUPE_AVX2 void group_rows_k4(const InterleavedMatmulJob& j, int64_t g, int64_t r0) {
  using R = Record<T>;
  constexpr bool q5 = T == DType::Q5_K;
  const QuantizedActivations& a = *j.a;
  const int64_t blocks = j.cols / 256;
  const u8* rec = j.groups + g * blocks * R::kBytes;
  const __m256i ones = _mm256_set1_epi16(1), nibble = _mm256_set1_epi8(0x0F), bit4 = _mm256_set1_epi8(0x10);
  __m256 acc[RM];
  for (int r = 0; r < RM; ++r) acc[r] = _mm256_setzero_ps();
  for (int64_t blk = 0; blk < blocks; ++blk, rec += R::kBytes) {
    __m256 scale[8], offset[8];
    q4k_scales(rec, scale, offset);
    if constexpr (q5) prefetch_ahead<256>(rec + R::kHigh);
    for (int sub = 0; sub < 8; ++sub) {
      const int64_t c = 8 * blk + sub;  // the 32-column chunk
      const u8* qs = rec + R::kQuants + 256 * (sub / 2);
      if (sub % 2 == 0) prefetch_ahead<256>(qs);
      const __m128i up = _mm_cvtsi32_si128(sub < 4 ? 4 - sub : 0), down = _mm_cvtsi32_si128(sub < 4 ? 0 : sub - 4);
      __m256i sum[2][RM];
      for (int v = 0; v < 8; ++v) {
        const __m256i bytes = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs + 32 * v));
        __m256i w = sub % 2 == 0 ? _mm256_and_si256(bytes, nibble) : _mm256_and_si256(_mm256_srli_epi16(bytes, 4), nibble);
        if constexpr (q5) {  // bit `sub` of each qh byte to bit 4
          const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(rec + R::kHigh + 32 * v));
          w = _mm256_or_si256(w, _mm256_and_si256(_mm256_srl_epi16(_mm256_sll_epi16(qh, up), down), bit4));
        }
        const int k = q5 ? v / 4 : 0;
        for (int r = 0; r < RM; ++r) {
          const __m256i p = _mm256_maddubs_epi16(w, broadcast4(a.q(r0 + r) + 32 * c + 4 * v));
          sum[k][r] = v % (q5 ? 4 : 8) == 0 ? p : _mm256_add_epi16(sum[k][r], p);
        }
      }
      for (int r = 0; r < RM; ++r) {
        __m256i wide = _mm256_madd_epi16(sum[0][r], ones);
        if constexpr (q5) wide = _mm256_add_epi32(wide, _mm256_madd_epi16(sum[1][r], ones));
        const __m256 dot = _mm256_cvtepi32_ps(wide);
        acc[r] = _mm256_fmadd_ps(dot, _mm256_mul_ps(scale[sub], _mm256_set1_ps(a.d(r0 + r)[c])), acc[r]);
        acc[r] = _mm256_fmadd_ps(offset[sub], _mm256_set1_ps(a.s(r0 + r)[c]), acc[r]);
      }
    }
  }
  store_rows<RM>(j, g, r0, acc);
}

// Q6_K: 32-column chunk j of a super-block is half h = j / 4, quarter k = j % 4 of it: 4 low bits
// from ql (low or high nibbles of its bytes 64h + 32(k % 2) ..), 2 high bits from qh (bits 2k of its
// bytes 32h ..), minus 32; an int8 scale per 16 columns. Signed weights (|w| ≤ 32) go through
// abs/sign; a 16-column half adds 4 maddubs lanes per int16 (4·2·32·127 = 32,512), and madd by the
// 8 rows' scales (in both int16 halves of each lane) widens and scales it in one step.
template <int RM>
TROUPE_AVX2 void group_rows_q6k(const InterleavedMatmulJob& j, int64_t g, int64_t r0) {
  using R = Record<DType::Q6_K>;
  const QuantizedActivations& a = *j.a;
  const int64_t blocks = j.cols / 256;
  const u8* rec = j.groups + g * blocks * R::kBytes;
  const __m256i nibble = _mm256_set1_epi8(0x0F), two = _mm256_set1_epi8(3), bias = _mm256_set1_epi8(32);
  const __m256i low16 = _mm256_set1_epi32(0xFFFF);
  __m256 acc[RM];
  for (int r = 0; r < RM; ++r) acc[r] = _mm256_setzero_ps();
  for (int64_t blk = 0; blk < blocks; ++blk, rec += R::kBytes) {
    const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(rec)));
    prefetch_ahead<R::kBytes>(rec);
    for (int sub = 0; sub < 8; ++sub) {
      const int64_t c = 8 * blk + sub;
      const int half = sub / 4, k = sub % 4;
      const u8* ql = rec + R::ql(2 * half + k % 2, 0);
      const u8* qh = rec + R::qh(half, 0);
      const __m128i shift = _mm_cvtsi32_si128(2 * k);
      __m256i dot[RM];
      for (int r = 0; r < RM; ++r) dot[r] = _mm256_setzero_si256();
      // Columns 0..15 (q = 0, steps 0..3), then 16..31: each half's int16 sums, complete after its
      // four steps, are widened and scaled by the 8 rows' scale of that half (in both int16 halves
      // of each lane). The steps are unrolled so the sums stay in registers.
#pragma GCC unroll 2
      for (int q = 0; q < 2; ++q) {
        __m256i sum[RM];
#pragma GCC unroll 4
        for (int v = 4 * q; v < 4 * q + 4; ++v) {
          const __m256i l = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ql + 96 * v));
          const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qh + 96 * v));
          const __m256i low = k < 2 ? _mm256_and_si256(l, nibble) : _mm256_and_si256(_mm256_srli_epi16(l, 4), nibble);
          const __m256i high = _mm256_slli_epi16(_mm256_and_si256(_mm256_srl_epi16(h, shift), two), 4);
          const __m256i w = _mm256_sub_epi8(_mm256_or_si256(low, high), bias);
          const __m256i w_abs = _mm256_sign_epi8(w, w);
          for (int r = 0; r < RM; ++r) {
            const __m256i p = _mm256_maddubs_epi16(w_abs, _mm256_sign_epi8(broadcast4(a.q(r0 + r) + 32 * c + 4 * v), w));
            sum[r] = v == 4 * q ? p : _mm256_add_epi16(sum[r], p);
          }
        }
        __m256i scale = _mm256_and_si256(
            _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(rec + 16 + 8 * (8 * half + 2 * k + q)))), low16);
        scale = _mm256_or_si256(scale, _mm256_slli_epi32(scale, 16));
        for (int r = 0; r < RM; ++r) {
          dot[r] = _mm256_add_epi32(dot[r], _mm256_madd_epi16(sum[r], scale));
        }
      }
      for (int r = 0; r < RM; ++r) {
        acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot[r]), _mm256_mul_ps(d, _mm256_set1_ps(a.d(r0 + r)[c])), acc[r]);
      }
    }
  }
  store_rows<RM>(j, g, r0, acc);
}

// IQ4_XS: per super-block the 8 rows' sub-block scales (interleaved_kernel_parts.hpp's
// iq4xs_scales); then each 32-column sub-block as IQ4_NL's chunk.
template <int RM>
TROUPE_AVX2 void group_rows_iq4xs(const InterleavedMatmulJob& j, int64_t g, int64_t r0) {
  using R = Record<DType::IQ4_XS>;
  const QuantizedActivations& a = *j.a;
  const int64_t blocks = j.cols / 256;
  const u8* rec = j.groups + g * blocks * R::kBytes;
  __m256 acc[RM];
  for (int r = 0; r < RM; ++r) acc[r] = _mm256_setzero_ps();
  for (int64_t blk = 0; blk < blocks; ++blk, rec += R::kBytes) {
    prefetch_ahead<R::kQuants>(rec);
    __m256 scale[8];
    iq4xs_scales(rec, scale);
    for (int sub = 0; sub < 8; ++sub) {
      const int64_t c = 8 * blk + sub;
      const u8* qs = rec + R::kQuants + 128 * sub;
      prefetch_ahead<128>(qs);
      const int8_t* x[RM];
      for (int r = 0; r < RM; ++r) x[r] = a.q(r0 + r) + 32 * c;
      __m256i dot[RM];
      iq4_dots<RM>(qs, x, dot);
      for (int r = 0; r < RM; ++r) {
        acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot[r]), _mm256_mul_ps(scale[sub], _mm256_set1_ps(a.d(r0 + r)[c])), acc[r]);
      }
    }
  }
  store_rows<RM>(j, g, r0, acc);
}

// Q3_K: chunk `sub` of a super-block takes 2 bits of 2-bit run sub / 4 at shift 2·(sub % 4), and
// bit `sub` of the hmask bytes (clear: minus 4): signed weights −4..3 through abs/sign. Each
// 16-column half's int16 sums (4 maddubs lanes, 4·2·4·127 = 4,064) are widened by madd with the 8
// rows' 6-bit scale − 32 of that half (in both int16 halves of each lane), as Q6_K's.
template <int RM>
TROUPE_AVX2 void group_rows_q3k(const InterleavedMatmulJob& j, int64_t g, int64_t r0) {
  using R = Record<DType::Q3_K>;
  const QuantizedActivations& a = *j.a;
  const int64_t blocks = j.cols / 256;
  const u8* rec = j.groups + g * blocks * R::kBytes;
  const __m256i two = _mm256_set1_epi8(3), four = _mm256_set1_epi8(4), low16 = _mm256_set1_epi32(0xFFFF);
  const __m256i low4 = _mm256_set1_epi32(15), low2 = _mm256_set1_epi32(3), bias = _mm256_set1_epi32(32);
  __m256 acc[RM];
  for (int r = 0; r < RM; ++r) acc[r] = _mm256_setzero_ps();
  for (int64_t blk = 0; blk < blocks; ++blk, rec += R::kBytes) {
    prefetch_ahead<R::kBytes>(rec);
    const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(rec + R::kD)));
    __m256i b[12];  // byte k of the 8 rows' scale fields, widened to int32 lanes
    for (int k = 0; k < 12; ++k) b[k] = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(rec + R::kScales + 8 * k)));
    for (int sub = 0; sub < 8; ++sub) {
      const int64_t c = 8 * blk + sub;
      const u8* qs = rec + R::kQuants + 256 * (sub / 4);
      const __m128i shift = _mm_cvtsi32_si128(2 * (sub % 4));
      const __m256i bit = _mm256_set1_epi8(static_cast<char>(1 << sub));
      __m256i dot[RM];
      for (int r = 0; r < RM; ++r) dot[r] = _mm256_setzero_si256();
#pragma GCC unroll 2
      for (int q = 0; q < 2; ++q) {
        __m256i sum[RM];
#pragma GCC unroll 4
        for (int v = 4 * q; v < 4 * q + 4; ++v) {
          const __m256i low = _mm256_and_si256(_mm256_srl_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs + 32 * v)), shift), two);
          const __m256i hm = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(rec + 32 * v));
          const __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(hm, bit), bit);
          const __m256i w = _mm256_sub_epi8(low, _mm256_andnot_si256(set, four));
          const __m256i w_abs = _mm256_sign_epi8(w, w);
          for (int r = 0; r < RM; ++r) {
            const __m256i p = _mm256_maddubs_epi16(w_abs, _mm256_sign_epi8(broadcast4(a.q(r0 + r) + 32 * c + 4 * v), w));
            sum[r] = v == 4 * q ? p : _mm256_add_epi16(sum[r], p);
          }
        }
        const int group = 2 * sub + q;  // of 16 columns: model/dequantize.hpp's q3_k_scale, 8 rows at once
        const __m256i low = group < 8 ? _mm256_and_si256(b[group], low4) : _mm256_srli_epi32(b[group - 8], 4);
        const __m256i top = _mm256_and_si256(_mm256_srli_epi32(b[8 + group % 4], 2 * (group / 4)), low2);
        __m256i scale = _mm256_sub_epi32(_mm256_or_si256(low, _mm256_slli_epi32(top, 4)), bias);
        scale = _mm256_or_si256(_mm256_and_si256(scale, low16), _mm256_slli_epi32(scale, 16));
        for (int r = 0; r < RM; ++r) dot[r] = _mm256_add_epi32(dot[r], _mm256_madd_epi16(sum[r], scale));
      }
      for (int r = 0; r < RM; ++r) {
        acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot[r]), _mm256_mul_ps(d, _mm256_set1_ps(a.d(r0 + r)[c])), acc[r]);
      }
    }
  }
  store_rows<RM>(j, g, r0, acc);
}

// Q2_K: unsigned 2-bit weights (2 bits of run sub / 4 at shift 2·(sub % 4)); each 16-column half's
// int16 sums (4·2·3·127 = 3,048) widened by madd with the 8 rows' 4-bit scale of that half. The
// mins add −dmin·m_h · dx · Σ_{half} qx: the activation's sums per 16 columns (sums16) times each row's
// float −dmin·m_h.
template <int RM>
TROUPE_AVX2 void group_rows_q2k(const InterleavedMatmulJob& j, int64_t g, int64_t r0) {
  using R = Record<DType::Q2_K>;
  const QuantizedActivations& a = *j.a;
  const int64_t blocks = j.cols / 256;
  const u8* rec = j.groups + g * blocks * R::kBytes;
  const __m256i two = _mm256_set1_epi8(3), low4 = _mm256_set1_epi32(15);
  __m256 acc[RM];
  for (int r = 0; r < RM; ++r) acc[r] = _mm256_setzero_ps();
  for (int64_t blk = 0; blk < blocks; ++blk, rec += R::kBytes) {
    prefetch_ahead<R::kBytes>(rec);
    const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(rec + R::kD)));
    const __m256 minus_dmin = _mm256_xor_ps(_mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(rec + R::kDmin))),
                                            _mm256_set1_ps(-0.0f));
    for (int sub = 0; sub < 8; ++sub) {
      const int64_t c = 8 * blk + sub;
      const u8* qs = rec + R::kQuants + 256 * (sub / 4);
      const __m128i shift = _mm_cvtsi32_si128(2 * (sub % 4));
      __m256i dot[RM];
      __m256 offset[2];  // −dmin·m of each half, per row
      for (int r = 0; r < RM; ++r) dot[r] = _mm256_setzero_si256();
#pragma GCC unroll 2
      for (int q = 0; q < 2; ++q) {
        __m256i sum[RM];
#pragma GCC unroll 4
        for (int v = 4 * q; v < 4 * q + 4; ++v) {
          const __m256i w = _mm256_and_si256(_mm256_srl_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs + 32 * v)), shift), two);
          for (int r = 0; r < RM; ++r) {
            const __m256i p = _mm256_maddubs_epi16(w, broadcast4(a.q(r0 + r) + 32 * c + 4 * v));
            sum[r] = v == 4 * q ? p : _mm256_add_epi16(sum[r], p);
          }
        }
        const __m256i bytes = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(rec + 8 * (2 * sub + q))));
        __m256i scale = _mm256_and_si256(bytes, low4);
        scale = _mm256_or_si256(scale, _mm256_slli_epi32(scale, 16));
        offset[q] = _mm256_mul_ps(minus_dmin, _mm256_cvtepi32_ps(_mm256_srli_epi32(bytes, 4)));
        for (int r = 0; r < RM; ++r) dot[r] = _mm256_add_epi32(dot[r], _mm256_madd_epi16(sum[r], scale));
      }
      for (int r = 0; r < RM; ++r) {
        const float dx = a.d(r0 + r)[c];
        const int32_t* half = a.sums16(r0 + r) + 2 * c;
        acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot[r]), _mm256_mul_ps(d, _mm256_set1_ps(dx)), acc[r]);
        acc[r] = _mm256_fmadd_ps(offset[0], _mm256_set1_ps(dx * static_cast<float>(half[0])), acc[r]);
        acc[r] = _mm256_fmadd_ps(offset[1], _mm256_set1_ps(dx * static_cast<float>(half[1])), acc[r]);
      }
    }
  }
  store_rows<RM>(j, g, r0, acc);
}

// Group g's 8 output columns for activation rows r0 .. r0+RM-1, by the type's loop.
template <DType T, int RM>
TROUPE_AVX2 void group_tile(const InterleavedMatmulJob& j, int64_t g, int64_t r0) {
  if constexpr (T == DType::Q4_K || T == DType::Q5_K) {
    group_rows_k4<T, RM>(j, g, r0);
  } else if constexpr (T == DType::Q6_K) {
    group_rows_q6k<RM>(j, g, r0);
  } else if constexpr (T == DType::IQ4_XS) {
    group_rows_iq4xs<RM>(j, g, r0);
  } else if constexpr (T == DType::Q3_K) {
    group_rows_q3k<RM>(j, g, r0);
  } else if constexpr (T == DType::Q2_K) {
    group_rows_q2k<RM>(j, g, r0);
  } else {
    group_rows<T, RM>(j, g, r0);
  }
}

// Every activation row against groups [g0, g1), 4 rows at a time.
template <DType T>
TROUPE_AVX2 void matmul(const InterleavedMatmulJob& j, int64_t g0, int64_t g1) {
  const int64_t m = j.a->rows();
  for (int64_t g = g0; g < g1; ++g) {
    int64_t r0 = 0;
    for (; r0 + 4 <= m; r0 += 4) group_tile<T, 4>(j, g, r0);
    switch (m - r0) {
      case 3: group_tile<T, 3>(j, g, r0); break;
      case 2: group_tile<T, 2>(j, g, r0); break;
      case 1: group_tile<T, 1>(j, g, r0); break;
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
    case DType::Q4_K: return matmul<DType::Q4_K>(j, g0, g1);
    case DType::Q5_K: return matmul<DType::Q5_K>(j, g0, g1);
    case DType::Q6_K: return matmul<DType::Q6_K>(j, g0, g1);
    case DType::Q2_K: return matmul<DType::Q2_K>(j, g0, g1);
    case DType::Q3_K: return matmul<DType::Q3_K>(j, g0, g1);
    case DType::IQ4_NL: return matmul<DType::IQ4_NL>(j, g0, g1);
    case DType::IQ4_XS: return matmul<DType::IQ4_XS>(j, g0, g1);
    case DType::MXFP4_F16: return matmul<DType::MXFP4_F16>(j, g0, g1);
    default: return interleaved_matmul_lattice_avx2(j, g0, g1);  // IQ1_S .. IQ3_S
  }
}

}  // namespace troupe::cpu
