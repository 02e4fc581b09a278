// The AVX-512 VNNI implementation of interleaved_matmul.hpp: the AVX2 kernel's layout and loops,
// with vpdpbusd (four u8·s8 products added into an int32 lane, one instruction) in place of
// maddubs + add + madd. The weight layout stays the AVX2 one (a record vector holds 4 columns of
// 8 rows), so the loops are written once over a vector width (Lanes8 / Lanes16 of
// interleaved_lanes_avx512.hpp). Lanes16 does the work of two groups per instruction, which is
// what Intel's server cores, with two 512-bit FMA ports, turn into speed; Zen 4 runs it as two
// halves. Q2_K, Q3_K, IQ4_NL and IQ4_XS have their loops in interleaved_matmul_low_bit_avx512.cpp.
// Only these functions carry the AVX-512 target; callers reach them only when cpu_isa() says so.
//
// The integer chunk sums are exact (int32 cannot overflow: 32 products of at most 128·127 per
// chunk), the same sums the AVX2 kernel forms, and the float steps after them are the AVX2 kernel's
// in the same order, lane by lane: both kernels give bit-identical results (tests/gpu/cpu checks).
//
// Q8_0's signed weights: |w| as the unsigned operand and the activation negated where w < 0 as
// the signed one (|w| = 128 for w = −128 is right as u8). Q6_K's stored q (0..63) is unsigned
// already; its −32 is applied to activation sums (below).
#include <vector>

#include "gpu/cpu/interleaved_lanes_avx512.hpp"

namespace troupe::cpu {
namespace {

using namespace interleaved;

// The int32 chunk sums Σ qw·qx of the groups' rows (lane = row) for RM activation rows. Two
// accumulators per row (columns 0..15 and 16..31) halve the dependency chain a single row has.
template <class V, DType T, int RM>
TROUPE_AVX512 inline void chunk_dots(const u8* rec, int64_t stride, const int8_t* const* x, typename V::vi* dot) {
  using vi = typename V::vi;
  vi lo[RM], hi[RM];
  for (int r = 0; r < RM; ++r) lo[r] = hi[r] = V::zero();
  if constexpr (T == DType::Q8_0) {
    for (int q = 0; q < 8; ++q) {  // columns 4q .. 4q+3
      const vi w = V::load(rec + Record<T>::kQuants + 32 * q, stride);
      const vi w_abs = V::abs8(w);
      for (int r = 0; r < RM; ++r) {
        vi& s = q < 4 ? lo[r] : hi[r];
        s = V::dot4(s, w_abs, V::negate_where_negative(V::bcast4(x[r] + 4 * q), w));
      }
    }
  } else {
    const vi nibble = V::bytes(0x0F);
    vi h = V::zero();
    if constexpr (T == DType::Q5_0) h = V::load(rec + 16, stride);
    for (int l = 0; l < 4; ++l) {  // columns 4l .. 4l+3 (low nibbles) and 16+4l .. 16+4l+3 (high)
      const vi v = V::load(rec + Record<T>::kQuants + 32 * l, stride);
      vi wl = V::band(v, nibble);
      vi wh = V::band(V::template srli16<4>(v), nibble);
      if constexpr (T == DType::Q5_0) {  // bit l (low columns) or 4+l (high) of each byte to bit 4
        const vi bit4 = V::bytes(0x10);
        wl = V::bor(wl, V::band(V::sll16(h, _mm_cvtsi32_si128(4 - l)), bit4));
        wh = V::bor(wh, V::band(V::srl16(h, _mm_cvtsi32_si128(l)), bit4));
      }
      for (int r = 0; r < RM; ++r) {
        lo[r] = V::dot4(lo[r], wl, V::bcast4(x[r] + 4 * l));
        hi[r] = V::dot4(hi[r], wh, V::bcast4(x[r] + 16 + 4 * l));
      }
    }
  }
  for (int r = 0; r < RM; ++r) dot[r] = V::add32(lo[r], hi[r]);
}

// The 32-block types (the AVX2 kernel's float steps).
template <class V, DType T, int RM>
TROUPE_AVX512 void group_rows(const InterleavedMatmulJob& j, int64_t g, int64_t r0) {
  using vf = typename V::vf;
  const QuantizedActivations& a = *j.a;
  const int64_t chunks = j.cols / 32, stride = chunks * Record<T>::kBytes;
  const u8* rec = j.groups + g * stride;
  vf acc[RM];
  for (int r = 0; r < RM; ++r) acc[r] = V::zero_f();
  for (int64_t c = 0; c < chunks; ++c, rec += Record<T>::kBytes) {
    V::template prefetch<Record<T>::kBytes>(rec, stride);
    const int8_t* x[RM];
    for (int r = 0; r < RM; ++r) x[r] = a.q(r0 + r) + 32 * c;
    typename V::vi dot[RM];
    chunk_dots<V, T, RM>(rec, stride, x, dot);
    const vf d = V::load_f16x8(rec, stride);
    vf offset = V::zero_f();  // w = d·qw + offset
    if constexpr (T == DType::Q4_1) offset = V::load_f16x8(rec + 16, stride);
    if constexpr (T == DType::Q4_0) offset = V::mul(d, V::bcast(-8.0f));
    if constexpr (T == DType::Q5_0) offset = V::mul(d, V::bcast(-16.0f));
    for (int r = 0; r < RM; ++r) {
      acc[r] = V::fmadd(V::to_float(dot[r]), V::mul(d, V::bcast(a.d(r0 + r)[c])), acc[r]);
      if constexpr (T != DType::Q8_0) acc[r] = V::fmadd(offset, V::bcast(a.s(r0 + r)[c]), acc[r]);
    }
  }
  for (int r = 0; r < RM; ++r) V::store(j, g, r0 + r, acc[r]);
}

// Q4_K and Q5_K: the two sub-blocks of a 32-byte column group share its bytes (low nibbles:
// sub-block 2p, high: 2p + 1), so each vector is loaded once for both (and Q5_K's qh vector, bits
// 2p and 2p + 1 of which are their fifth bits); the float steps per sub-block are the AVX2
// kernel's, in its order.
template <class V, DType T, int RM>
TROUPE_AVX512 void group_rows_k4(const InterleavedMatmulJob& j, int64_t g, int64_t r0) {
  using R = Record<T>;
  using vi = typename V::vi;
  using vf = typename V::vf;
  const QuantizedActivations& a = *j.a;
  const int64_t blocks = j.cols / 256, stride = blocks * R::kBytes;
  const u8* rec = j.groups + g * stride;
  const vi nibble = V::bytes(0x0F);
  vf acc[RM];
  for (int r = 0; r < RM; ++r) acc[r] = V::zero_f();
  for (int64_t blk = 0; blk < blocks; ++blk, rec += R::kBytes) {
    vf scale[8], offset[8];
    V::q4k(rec, stride, scale, offset);
    for (int p = 0; p < 4; ++p) {
      const u8* qs = rec + R::kQuants + 256 * p;
      V::template prefetch<256>(qs, stride);
      const int64_t c0 = 8 * blk + 2 * p;  // the even sub-block's 32-column chunk; c0 + 1 the odd one's
      // With one or two activation rows a chain of 8 vpdpbusd per sub-block (each waiting for the
      // last) bounds the loop, so even and odd vectors v go to separate sums, added after: the same
      // integers, two chains of 4.
      constexpr int kChains = RM <= 2 ? 2 : 1;
      vi even[kChains][RM], odd[kChains][RM];
      for (int k = 0; k < kChains; ++k) {
        for (int r = 0; r < RM; ++r) even[k][r] = odd[k][r] = V::zero();
      }
#pragma GCC unroll 8
      for (int v = 0; v < 8; ++v) {
        const vi bytes = V::load(qs + 32 * v, stride);
        vi wl = V::band(bytes, nibble);
        vi wh = V::band(V::template srli16<4>(bytes), nibble);
        if constexpr (T == DType::Q5_K) {  // bits 2p and 2p + 1 of each qh byte to bit 4
          const vi t = V::srl16(V::load(rec + R::kHigh + 32 * v, stride), _mm_cvtsi32_si128(2 * p));
          wl = V::or_masked(wl, V::template slli16<4>(t), V::bytes(0x10));
          wh = V::or_masked(wh, V::template slli16<3>(t), V::bytes(0x10));
        }
        for (int r = 0; r < RM; ++r) {
          const int8_t* x = a.q(r0 + r) + 32 * c0 + 4 * v;
          even[v % kChains][r] = V::dot4(even[v % kChains][r], wl, V::bcast4(x));
          odd[v % kChains][r] = V::dot4(odd[v % kChains][r], wh, V::bcast4(x + 32));
        }
      }
      if constexpr (kChains == 2) {
        for (int r = 0; r < RM; ++r) {
          even[0][r] = V::add32(even[0][r], even[1][r]);
          odd[0][r] = V::add32(odd[0][r], odd[1][r]);
        }
      }
      for (int half = 0; half < 2; ++half) {
        const int sub = 2 * p + half;
        const int64_t c = c0 + half;
        for (int r = 0; r < RM; ++r) {
          const vf dot = V::to_float(half == 0 ? even[0][r] : odd[0][r]);
          acc[r] = V::fmadd(dot, V::mul(scale[sub], V::bcast(a.d(r0 + r)[c])), acc[r]);
          acc[r] = V::fmadd(offset[sub], V::bcast(a.s(r0 + r)[c]), acc[r]);
        }
      }
    }
  }
  for (int r = 0; r < RM; ++r) V::store(j, g, r0 + r, acc[r]);
}

// Q6_K. A weight is q − 32 with q = 4 low bits (ql) | 2 high bits (qh) in 0..63, so
// Σ (q − 32)·x = Σ q·x − 32·Σx: vpdpbusd takes q unsigned as it is, and Σx over each 16 columns
// (one int8 scale each) is the activations' (QuantizedActivations::sums16). The 32 columns of
// chunk k of a half (interleaved_weights.hpp) take ql run 2·half + k % 2 (low nibbles for k < 2,
// high for k ≥ 2) and bits 2k, 2k + 1 of qh run `half`: chunks k and k + 2 share their ql bytes and
// all four their qh bytes, so each vector is loaded once for two chunks. The integer sums equal the
// AVX2 kernel's, and the float steps run in its order (chunk 0, 1, 2, 3 of each half).

// Bits 2k, 2k+1 of each qh byte moved to bits 4, 5 (the high part of a 6-bit q).
template <class V, int K>
TROUPE_AVX512 inline typename V::vi q6_high(typename V::vi qh) {
  const typename V::vi mask = V::bytes(0x30);
  if constexpr (K == 0) return V::band(V::template slli16<4>(qh), mask);
  if constexpr (K == 1) return V::band(V::template slli16<2>(qh), mask);
  if constexpr (K == 2) return V::band(qh, mask);
  return V::band(V::template srli16<2>(qh), mask);
}

// The int32 dot products of chunks KK and KK + 2 of a half (RM activation rows), scaled by their
// per-16 int8 scales: exactly the AVX2 kernel's integer result per chunk.
template <class V, int KK, int RM>
TROUPE_AVX512 inline void q6k_chunk_pair(const u8* rec, int64_t stride, int half, const int8_t* const* x,
                                         const int32_t* const* sums, typename V::vi* dot_k, typename V::vi* dot_k2) {
  using R = Record<DType::Q6_K>;
  using vi = typename V::vi;
  const u8* ql = rec + R::ql(2 * half + KK, 0);
  const u8* qh = rec + R::qh(half, 0);
  const vi nibble = V::bytes(0x0F);
  // Columns 0..15 of the chunks (q = 0, steps 0..3), then 16..31 (q = 1): each 16-column half has
  // its own int8 scale, applied as soon as its sums are complete. The steps are unrolled so the
  // accumulators stay in registers (a loop index into them put them on the stack: half the speed).
#pragma GCC unroll 2
  for (int q = 0; q < 2; ++q) {
    vi s[2][RM];  // [chunk KK or KK+2][activation row]
    for (int r = 0; r < RM; ++r) s[0][r] = s[1][r] = V::zero();
#pragma GCC unroll 4
    for (int v = 4 * q; v < 4 * q + 4; ++v) {
      // Two lines of the stream ahead per step of the first pass over a half (32 for the record's
      // 26.25): spread out, as the record's 27 prefetches at once at its start cost about 40 % of
      // the streaming rate on Zen 4 (one row, 1B-shape gate from memory).
      if (KK == 0) {
        const int64_t line = 2 * (8 * half + v);
        if (64 * line < R::kBytes) V::template prefetch<128>(rec + 64 * line, stride);
      }
      const vi l = V::load(ql + 96 * v, stride);
      const vi h = V::load(qh + 96 * v, stride);
      const vi w0 = V::bor(V::band(l, nibble), q6_high<V, KK>(h));
      const vi w2 = V::bor(V::band(V::template srli16<4>(l), nibble), q6_high<V, KK + 2>(h));
      for (int r = 0; r < RM; ++r) {
        s[0][r] = V::dot4(s[0][r], w0, V::bcast4(x[r] + 32 * KK + 4 * v));
        s[1][r] = V::dot4(s[1][r], w2, V::bcast4(x[r] + 32 * (KK + 2) + 4 * v));
      }
    }
    for (int i = 0; i < 2; ++i) {
      const int k = KK + 2 * i;
      // The rows' int8 scales of this 16-column half of chunk k, as int32.
      const vi scale = V::load_i8x8(rec + 16 + 8 * (8 * half + 2 * k + q), stride);
      vi* out = i == 0 ? dot_k : dot_k2;
      for (int r = 0; r < RM; ++r) {
        const vi t = V::mul32(V::sub32(s[i][r], V::bcast32(32 * sums[r][2 * k + q])), scale);
        out[r] = V::add32(out[r], t);
      }
    }
  }
}

template <class V, int RM>
TROUPE_AVX512 void group_rows_q6k(const InterleavedMatmulJob& j, int64_t g, int64_t r0) {
  using R = Record<DType::Q6_K>;
  using vf = typename V::vf;
  const QuantizedActivations& a = *j.a;
  const int64_t blocks = j.cols / 256, stride = blocks * R::kBytes;
  const u8* rec = j.groups + g * stride;
  vf acc[RM];
  for (int r = 0; r < RM; ++r) acc[r] = V::zero_f();
  for (int64_t blk = 0; blk < blocks; ++blk, rec += R::kBytes) {
    const vf d = V::load_f16x8(rec, stride);
    for (int half = 0; half < 2; ++half) {
      const int64_t c0 = 8 * blk + 4 * half;  // the half's first 32-column chunk
      const int8_t* x[RM];
      const int32_t* xs[RM];
      for (int r = 0; r < RM; ++r) {
        x[r] = a.q(r0 + r) + 32 * c0;
        xs[r] = a.sums16(r0 + r) + 2 * c0;
      }
      typename V::vi dot[4][RM];
      for (auto& k : dot) {
        for (auto& r : k) r = V::zero();
      }
      q6k_chunk_pair<V, 0, RM>(rec, stride, half, x, xs, dot[0], dot[2]);
      q6k_chunk_pair<V, 1, RM>(rec, stride, half, x, xs, dot[1], dot[3]);
      for (int k = 0; k < 4; ++k) {
        for (int r = 0; r < RM; ++r) {
          acc[r] = V::fmadd(V::to_float(dot[k][r]), V::mul(d, V::bcast(a.d(r0 + r)[c0 + k])), acc[r]);
        }
      }
    }
  }
  for (int r = 0; r < RM; ++r) V::store(j, g, r0 + r, acc[r]);
}

template <class V, DType T, int RM>
TROUPE_AVX512 void group_tile(const InterleavedMatmulJob& j, int64_t g, int64_t r0) {
  if constexpr (T == DType::Q4_K || T == DType::Q5_K) {
    group_rows_k4<V, T, RM>(j, g, r0);
  } else if constexpr (T == DType::Q6_K) {
    group_rows_q6k<V, RM>(j, g, r0);
  } else {
    group_rows<V, T, RM>(j, g, r0);
  }
}

// Q4_K and Q5_K take 8 activation rows a tile: their per-block scale unpacking and per-vector
// nibble unpacking are then shared by twice the dot products. The others take 4.
template <DType T>
struct Tiles {
  static constexpr int kRows = T == DType::Q4_K || T == DType::Q5_K ? 8 : 4;
  template <class V, int RM>
  TROUPE_AVX512 static void run(const InterleavedMatmulJob& j, int64_t g, int64_t r0) {
    group_tile<V, T, RM>(j, g, r0);
  }
};

template <DType T>
TROUPE_AVX512 void matmul(const InterleavedMatmulJob& j, int64_t g0, int64_t g1) {
  for_each_tile<Tiles<T>::kRows, Tiles<T>>(j, g0, g1);
}

}  // namespace

void interleaved_matmul_avx512(const InterleavedMatmulJob& j, int64_t g0, int64_t g1) {
  switch (j.type) {
    case DType::Q4_0: return matmul<DType::Q4_0>(j, g0, g1);
    case DType::Q4_1: return matmul<DType::Q4_1>(j, g0, g1);
    case DType::Q5_0: return matmul<DType::Q5_0>(j, g0, g1);
    case DType::Q8_0: return matmul<DType::Q8_0>(j, g0, g1);
    case DType::Q4_K: return matmul<DType::Q4_K>(j, g0, g1);
    case DType::Q5_K: return matmul<DType::Q5_K>(j, g0, g1);
    case DType::Q6_K: return matmul<DType::Q6_K>(j, g0, g1);
    default: return interleaved_matmul_low_bit_avx512(j, g0, g1);  // Q2_K, Q3_K, IQ4_NL, IQ4_XS, MXFP4_F16
  }
}

}  // namespace troupe::cpu
