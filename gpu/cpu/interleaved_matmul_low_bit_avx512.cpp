// The AVX-512 VNNI loops of interleaved_matmul.hpp for Q2_K, Q3_K, IQ4_NL (and MXFP4_F16) and IQ4_XS: the AVX2
// kernel's loops (interleaved_matmul_avx2.cpp) with vpdpbusd, written once over Lanes8 / Lanes16
// (interleaved_lanes_avx512.hpp). They form the AVX2 kernel's integer sums exactly and run its
// float steps in its order, so the two kernels agree bit for bit (tests/gpu/cpu checks).
//
// vpdpbusd multiplies unsigned weight bytes by signed activation bytes, so signed weights are
// shifted to unsigned and the shift is taken back from the activations' sums, which stays exact:
//  - IQ4: the table value + 128 (1..241), minus 128·Σx over the chunk's 32 columns;
//  - Q3_K: q − 4·(hmask bit clear) + 4 = q | hmask bit << 2 (0..7), minus 4·Σx over each 16
//    columns before the 16 columns' scale multiplies the sum, as the AVX2 kernel's madd does;
//  - Q2_K's weights (0..3) are unsigned already; its mins multiply the 16-column sums in float.
// The sums are the activations' per 16 columns (QuantizedActivations::sums16).
#include <array>
#include <vector>

#include "gpu/cpu/interleaved_lanes_avx512.hpp"

namespace troupe::cpu {
namespace {

using namespace interleaved;

// IQ4_NL/IQ4_XS's table and MXFP4's shifted to unsigned.
constexpr std::array<int8_t, 16> shifted_table(const int8_t* values) {
  std::array<int8_t, 16> t{};
  for (int i = 0; i < 16; ++i) t[i] = static_cast<int8_t>(values[i] + 128);
  return t;
}
constexpr auto kIq4Unsigned = shifted_table(kIq4Values);
constexpr auto kMxfp4Unsigned = shifted_table(kMxfp4Values);

// Σ w·x over 32-column chunk c of the groups' rows, from the 4 vectors of table indices at `qs`,
// for activation rows r0 .. r0+RM-1. One or two rows keep low and high nibbles'
// products in two sums (two dependency chains of 4 vpdpbusd instead of one of 8); more rows have
// chains enough, and one sum each leaves registers for 8 rows a tile.
template <class V, int RM>
TROUPE_AVX512 inline void iq4_dots(const u8* qs, int64_t stride, const QuantizedActivations& a, int64_t r0, int64_t c,
                                   typename V::vi* dot, const int8_t* table = kIq4Unsigned.data()) {
  using vi = typename V::vi;
  const int8_t* x[RM];
  int32_t xsum[RM];  // Σx over the chunk
  for (int r = 0; r < RM; ++r) {
    x[r] = a.q(r0 + r) + 32 * c;
    const int32_t* s = a.sums16(r0 + r) + 2 * c;
    xsum[r] = s[0] + s[1];
  }
  constexpr int kChains = RM <= 2 ? 2 : 1;
  const vi nibble = V::bytes(0x0F);
  vi sum[kChains][RM];
  for (int k = 0; k < kChains; ++k) {
    for (int r = 0; r < RM; ++r) sum[k][r] = V::zero();
  }
#pragma GCC unroll 4
  for (int l = 0; l < 4; ++l) {  // columns 4l .. 4l+3 (low nibbles) and 16+4l .. 16+4l+3 (high)
    const vi v = V::load(qs + 32 * l, stride);
    const vi wl = V::lookup16(table, V::band(v, nibble));
    const vi wh = V::lookup16(table, V::band(V::template srli16<4>(v), nibble));
    for (int r = 0; r < RM; ++r) {
      sum[0][r] = V::dot4(sum[0][r], wl, V::bcast4(x[r] + 4 * l));
      sum[kChains - 1][r] = V::dot4(sum[kChains - 1][r], wh, V::bcast4(x[r] + 16 + 4 * l));
    }
  }
  for (int r = 0; r < RM; ++r) {
    const vi both = kChains == 2 ? V::add32(sum[0][r], sum[kChains - 1][r]) : sum[0][r];
    dot[r] = V::sub32(both, V::bcast32(128 * xsum[r]));
  }
}

// IQ4_NL, and MXFP4_F16 (its layout, MXFP4's table).
template <class V, DType T, int RM>
TROUPE_AVX512 void group_rows_iq4nl(const InterleavedMatmulJob& j, int64_t g, int64_t r0) {
  using R = Record<T>;
  const int8_t* table = T == DType::MXFP4_F16 ? kMxfp4Unsigned.data() : kIq4Unsigned.data();
  using vf = typename V::vf;
  const QuantizedActivations& a = *j.a;
  const int64_t chunks = j.cols / 32, stride = chunks * R::kBytes;
  const u8* rec = j.groups + g * stride;
  vf acc[RM];
  for (int r = 0; r < RM; ++r) acc[r] = V::zero_f();
  for (int64_t c = 0; c < chunks; ++c, rec += R::kBytes) {
    V::template prefetch<R::kBytes>(rec, stride);
    typename V::vi dot[RM];
    iq4_dots<V, RM>(rec + R::kQuants, stride, a, r0, c, dot, table);
    const vf d = V::load_f16x8(rec, stride);
    for (int r = 0; r < RM; ++r) acc[r] = V::fmadd(V::to_float(dot[r]), V::mul(d, V::bcast(a.d(r0 + r)[c])), acc[r]);
  }
  for (int r = 0; r < RM; ++r) V::store(j, g, r0 + r, acc[r]);
}

template <class V, int RM>
TROUPE_AVX512 void group_rows_iq4xs(const InterleavedMatmulJob& j, int64_t g, int64_t r0) {
  using R = Record<DType::IQ4_XS>;
  using vf = typename V::vf;
  const QuantizedActivations& a = *j.a;
  const int64_t blocks = j.cols / 256, stride = blocks * R::kBytes;
  const u8* rec = j.groups + g * stride;
  vf acc[RM];
  for (int r = 0; r < RM; ++r) acc[r] = V::zero_f();
  for (int64_t blk = 0; blk < blocks; ++blk, rec += R::kBytes) {
    V::template prefetch<R::kQuants>(rec, stride);
    vf scale[8];
    V::iq4xs(rec, stride, scale);
    for (int sub = 0; sub < 8; ++sub) {
      const int64_t c = 8 * blk + sub;
      const u8* qs = rec + R::kQuants + 128 * sub;
      V::template prefetch<128>(qs, stride);
      typename V::vi dot[RM];
      iq4_dots<V, RM>(qs, stride, a, r0, c, dot);
      for (int r = 0; r < RM; ++r) {
        acc[r] = V::fmadd(V::to_float(dot[r]), V::mul(scale[sub], V::bcast(a.d(r0 + r)[c])), acc[r]);
      }
    }
  }
  for (int r = 0; r < RM; ++r) V::store(j, g, r0 + r, acc[r]);
}

// Q2_K and Q3_K: chunk `sub` of a super-block takes 2 bits of the 2-bit run sub / 4 at shift
// 2·(sub % 4) (and Q3_K bit `sub` of its hmask bytes); each 16-column half is summed apart and
// multiplied by the rows' scale of that half (int32), as the AVX2 kernel's madd does.
template <class V, DType T, int RM>
TROUPE_AVX512 void group_rows_2bit(const InterleavedMatmulJob& j, int64_t g, int64_t r0) {
  using R = Record<T>;
  using vi = typename V::vi;
  using vf = typename V::vf;
  constexpr bool q3 = T == DType::Q3_K;
  const QuantizedActivations& a = *j.a;
  const int64_t blocks = j.cols / 256, stride = blocks * R::kBytes;
  const u8* rec = j.groups + g * stride;
  const vi three = V::bytes(3), four = V::bytes(4), low4 = V::bcast32(15), low2 = V::bcast32(3), bias = V::bcast32(32);
  vf acc[RM];
  for (int r = 0; r < RM; ++r) acc[r] = V::zero_f();
  for (int64_t blk = 0; blk < blocks; ++blk, rec += R::kBytes) {
    V::template prefetch<R::kBytes>(rec, stride);
    const vf d = V::load_f16x8(rec + R::kD, stride);
    vf minus_dmin = V::zero_f();
    if constexpr (!q3) minus_dmin = V::mul(V::load_f16x8(rec + R::kDmin, stride), V::bcast(-1.0f));
    for (int sub = 0; sub < 8; ++sub) {
      const int64_t c = 8 * blk + sub;
      const u8* qs = rec + R::kQuants + 256 * (sub / 4);
      const __m128i shift = _mm_cvtsi32_si128(2 * (sub % 4));
      // Q3_K: bit `sub` of an hmask byte to bit 2.
      const __m128i up = _mm_cvtsi32_si128(sub < 2 ? 2 - sub : 0), down = _mm_cvtsi32_si128(sub < 2 ? 0 : sub - 2);
      const int32_t* xs[RM];
      for (int r = 0; r < RM; ++r) xs[r] = a.sums16(r0 + r) + 2 * c;
      vi dot[RM];
      vf offset[2];  // Q2_K: −dmin·m of each half, per row
      for (int r = 0; r < RM; ++r) dot[r] = V::zero();
#pragma GCC unroll 2
      for (int q = 0; q < 2; ++q) {
        vi s[RM];
        for (int r = 0; r < RM; ++r) s[r] = V::zero();
#pragma GCC unroll 4
        for (int v = 4 * q; v < 4 * q + 4; ++v) {
          vi w = V::band(V::srl16(V::load(qs + 32 * v, stride), shift), three);
          if constexpr (q3) w = V::bor(w, V::band(V::srl16(V::sll16(V::load(rec + 32 * v, stride), up), down), four));
          for (int r = 0; r < RM; ++r) s[r] = V::dot4(s[r], w, V::bcast4(a.q(r0 + r) + 32 * c + 4 * v));
        }
        const int group = 2 * sub + q;
        vi scale;
        if constexpr (q3) {  // model/dequantize.hpp's q3_k_scale, the rows at once
          const u8* sc = rec + R::kScales;
          const vi low = group < 8 ? V::band(V::load_u8x8(sc + 8 * group, stride), low4)
                                   : V::srl32(V::load_u8x8(sc + 8 * (group - 8), stride), _mm_cvtsi32_si128(4));
          const vi top = V::band(V::srl32(V::load_u8x8(sc + 8 * (8 + group % 4), stride), _mm_cvtsi32_si128(2 * (group / 4))), low2);
          scale = V::sub32(V::bor(low, V::sll32(top, _mm_cvtsi32_si128(4))), bias);
          for (int r = 0; r < RM; ++r) s[r] = V::sub32(s[r], V::bcast32(4 * xs[r][q]));
        } else {
          const vi bytes = V::load_u8x8(rec + 8 * group, stride);
          scale = V::band(bytes, low4);
          offset[q] = V::mul(minus_dmin, V::to_float(V::srl32(bytes, _mm_cvtsi32_si128(4))));
        }
        for (int r = 0; r < RM; ++r) dot[r] = V::add32(dot[r], V::mul32(s[r], scale));
      }
      for (int r = 0; r < RM; ++r) {
        const float dx = a.d(r0 + r)[c];
        acc[r] = V::fmadd(V::to_float(dot[r]), V::mul(d, V::bcast(dx)), acc[r]);
        if constexpr (!q3) {
          acc[r] = V::fmadd(offset[0], V::bcast(dx * static_cast<float>(xs[r][0])), acc[r]);
          acc[r] = V::fmadd(offset[1], V::bcast(dx * static_cast<float>(xs[r][1])), acc[r]);
        }
      }
    }
  }
  for (int r = 0; r < RM; ++r) V::store(j, g, r0 + r, acc[r]);
}

template <class V, DType T, int RM>
TROUPE_AVX512 void group_tile(const InterleavedMatmulJob& j, int64_t g, int64_t r0) {
  if constexpr (T == DType::IQ4_NL || T == DType::MXFP4_F16) {
    group_rows_iq4nl<V, T, RM>(j, g, r0);
  } else if constexpr (T == DType::IQ4_XS) {
    group_rows_iq4xs<V, RM>(j, g, r0);
  } else {
    group_rows_2bit<V, T, RM>(j, g, r0);
  }
}

// 8 activation rows a tile, as Q4_K's: each vector's unpacking (table lookups, 2-bit fields, Q3_K's
// high bits) is then shared by twice the dot products of a 4-row tile. On the 1B gate shape at 32
// rows: Q3_K 114 -> 192 GMAC/s, Q2_K 144 -> 187 (Zen 4, two threads).
template <DType T>
struct Tiles {
  template <class V, int RM>
  TROUPE_AVX512 static void run(const InterleavedMatmulJob& j, int64_t g, int64_t r0) {
    group_tile<V, T, RM>(j, g, r0);
  }
};

template <DType T>
TROUPE_AVX512 void matmul(const InterleavedMatmulJob& j, int64_t g0, int64_t g1) {
  for_each_tile<8, Tiles<T>>(j, g0, g1);
}

}  // namespace

void interleaved_matmul_low_bit_avx512(const InterleavedMatmulJob& j, int64_t g0, int64_t g1) {
  switch (j.type) {
    case DType::Q2_K: return matmul<DType::Q2_K>(j, g0, g1);
    case DType::Q3_K: return matmul<DType::Q3_K>(j, g0, g1);
    case DType::IQ4_NL: return matmul<DType::IQ4_NL>(j, g0, g1);
    case DType::IQ4_XS: return matmul<DType::IQ4_XS>(j, g0, g1);
    case DType::MXFP4_F16: return matmul<DType::MXFP4_F16>(j, g0, g1);
    default: return interleaved_matmul_lattice_avx512(j, g0, g1);  // IQ1_S .. IQ3_S
  }
}

}  // namespace troupe::cpu
