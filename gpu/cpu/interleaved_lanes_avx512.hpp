#pragma once
// What the AVX-512 VNNI kernels of interleaved_matmul.hpp share (interleaved_matmul_avx512.cpp and
// interleaved_matmul_low_bit_avx512.cpp): the loops are written once over a vector width,
//  - Lanes16: two neighbouring groups at once, group g's record vector in the low 256 bits of a
//    512-bit register and group g+1's in the high ones; their 16 output columns are contiguous;
//  - Lanes8: one group on 256-bit registers (the last group of an odd range; every group of a
//    one-row product on a CPU that splits 512-bit operations, cpu_features.hpp);
// and the walk over groups and tiles of activation rows (for_each_tile). Included only by
// those kernels' translation units; everything here carries the AVX-512 target.
#include <vector>

#include "gpu/cpu/cpu_features.hpp"
#include "gpu/cpu/interleaved_kernel_parts.hpp"

#define TROUPE_AVX512 __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")))

namespace troupe::cpu {

// Q2_K, Q3_K, IQ4_NL and IQ4_XS (interleaved_matmul_low_bit_avx512.cpp); bit-identical to
// interleaved_matmul_avx2 on them.
void interleaved_matmul_low_bit_avx512(const InterleavedMatmulJob& job, int64_t g0, int64_t g1);
// The lattice types IQ1_S .. IQ3_S (interleaved_matmul_lattice_avx512.cpp); bit-identical to
// interleaved_matmul_lattice_avx2.
void interleaved_matmul_lattice_avx512(const InterleavedMatmulJob& job, int64_t g0, int64_t g1);

namespace interleaved {

// One group (8 output columns) on 256-bit registers. `a` is the record of the group; `stride`
// (the distance to the next group's record) is unused.
struct Lanes8 {
  using vi = __m256i;
  using vf = __m256;
  static constexpr int kGroups = 1;

  TROUPE_AVX512 static vi load(const u8* a, int64_t /*stride*/) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a)); }
  // 8 bytes per group (one per row) widened to int32 lanes, signed.
  TROUPE_AVX512 static vi load_i8x8(const u8* a, int64_t /*stride*/) {
    return _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(a)));
  }
  // The same, unsigned.
  TROUPE_AVX512 static vi load_u8x8(const u8* a, int64_t /*stride*/) {
    return _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(a)));
  }
  // 8 fp16 per group (one per row) as floats.
  TROUPE_AVX512 static vf load_f16x8(const u8* a, int64_t /*stride*/) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a)));
  }
  TROUPE_AVX512 static vi zero() { return _mm256_setzero_si256(); }
  TROUPE_AVX512 static vf zero_f() { return _mm256_setzero_ps(); }
  TROUPE_AVX512 static vi bytes(char b) { return _mm256_set1_epi8(b); }
  TROUPE_AVX512 static vi bcast4(const int8_t* p) { return broadcast4(p); }
  TROUPE_AVX512 static vi bcast32(int32_t v) { return _mm256_set1_epi32(v); }
  TROUPE_AVX512 static vf bcast(float v) { return _mm256_set1_ps(v); }
  TROUPE_AVX512 static vi band(vi a, vi b) { return _mm256_and_si256(a, b); }
  TROUPE_AVX512 static vi bor(vi a, vi b) { return _mm256_or_si256(a, b); }
  // a | (b & mask) in one instruction (vpternlog: 0xF8 is A | (B & C)).
  TROUPE_AVX512 static vi or_masked(vi a, vi b, vi mask) { return _mm256_ternarylogic_epi32(a, b, mask, 0xF8); }
  template <int N> TROUPE_AVX512 static vi srli16(vi a) { return _mm256_srli_epi16(a, N); }
  template <int N> TROUPE_AVX512 static vi slli16(vi a) { return _mm256_slli_epi16(a, N); }
  TROUPE_AVX512 static vi sll16(vi a, __m128i n) { return _mm256_sll_epi16(a, n); }
  TROUPE_AVX512 static vi srl16(vi a, __m128i n) { return _mm256_srl_epi16(a, n); }
  TROUPE_AVX512 static vi srl32(vi a, __m128i n) { return _mm256_srl_epi32(a, n); }
  TROUPE_AVX512 static vi sll32(vi a, __m128i n) { return _mm256_sll_epi32(a, n); }
  // Bytes of `table` (16) picked by the low 4 bits of each byte of idx.
  TROUPE_AVX512 static vi lookup16(const int8_t* table, vi idx) {
    const __m128i t = _mm_loadu_si128(reinterpret_cast<const __m128i*>(table));
    return _mm256_shuffle_epi8(_mm256_set_m128i(t, t), idx);
  }
  TROUPE_AVX512 static vi abs8(vi a) { return _mm256_abs_epi8(a); }
  TROUPE_AVX512 static vi negate_where_negative(vi x, vi w) {
    return _mm256_mask_sub_epi8(x, _mm256_movepi8_mask(w), _mm256_setzero_si256(), x);
  }
  TROUPE_AVX512 static vi dot4(vi acc, vi u, vi s) { return _mm256_dpbusd_epi32(acc, u, s); }
  TROUPE_AVX512 static vi add32(vi a, vi b) { return _mm256_add_epi32(a, b); }
  TROUPE_AVX512 static vi sub32(vi a, vi b) { return _mm256_sub_epi32(a, b); }
  TROUPE_AVX512 static vi mul32(vi a, vi b) { return _mm256_mullo_epi32(a, b); }
  TROUPE_AVX512 static vf to_float(vi a) { return _mm256_cvtepi32_ps(a); }
  TROUPE_AVX512 static vf mul(vf a, vf b) { return _mm256_mul_ps(a, b); }
  TROUPE_AVX512 static vf fmadd(vf a, vf b, vf c) { return _mm256_fmadd_ps(a, b, c); }
  // Q4_K's 8 sub-block scales and offsets (interleaved_kernel_parts.hpp).
  TROUPE_AVX512 static void q4k(const u8* rec, int64_t /*stride*/, vf* scale, vf* offset) { q4k_scales(rec, scale, offset); }
  // IQ4_XS's 8 sub-block scales (interleaved_kernel_parts.hpp).
  TROUPE_AVX512 static void iq4xs(const u8* rec, int64_t /*stride*/, vf* scale) { iq4xs_scales(rec, scale); }
  TROUPE_AVX512 static void store(const InterleavedMatmulJob& j, int64_t g, int64_t row, vf acc) {
    float* out = j.c + row * j.c_stride + g * kInterleavedRows;
    _mm256_storeu_ps(out, j.accumulate ? _mm256_add_ps(_mm256_loadu_ps(out), acc) : acc);
  }
  template <int64_t Bytes> TROUPE_AVX512 static void prefetch(const u8* a, int64_t /*stride*/) { prefetch_ahead<Bytes>(a); }
};

// Groups g and g + 1 (16 output columns) on 512-bit registers: the low half of every vector is
// group g's, the high half group g + 1's, whose record is `stride` bytes after group g's.
struct Lanes16 {
  using vi = __m512i;
  using vf = __m512;
  static constexpr int kGroups = 2;

  TROUPE_AVX512 static vi load(const u8* a, int64_t stride) {
    const __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a));
    const __m256i hi = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + stride));
    return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
  }
  TROUPE_AVX512 static vi load_i8x8(const u8* a, int64_t stride) {
    const __m128i both = _mm_unpacklo_epi64(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(a)),
                                            _mm_loadl_epi64(reinterpret_cast<const __m128i*>(a + stride)));
    return _mm512_cvtepi8_epi32(both);
  }
  TROUPE_AVX512 static vi load_u8x8(const u8* a, int64_t stride) {
    const __m128i both = _mm_unpacklo_epi64(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(a)),
                                            _mm_loadl_epi64(reinterpret_cast<const __m128i*>(a + stride)));
    return _mm512_cvtepu8_epi32(both);
  }
  TROUPE_AVX512 static vf load_f16x8(const u8* a, int64_t stride) {
    const __m128i lo = _mm_loadu_si128(reinterpret_cast<const __m128i*>(a));
    const __m128i hi = _mm_loadu_si128(reinterpret_cast<const __m128i*>(a + stride));
    return _mm512_cvtph_ps(_mm256_inserti128_si256(_mm256_castsi128_si256(lo), hi, 1));
  }
  TROUPE_AVX512 static vi zero() { return _mm512_setzero_si512(); }
  TROUPE_AVX512 static vf zero_f() { return _mm512_setzero_ps(); }
  TROUPE_AVX512 static vi bytes(char b) { return _mm512_set1_epi8(b); }
  TROUPE_AVX512 static vi bcast4(const int8_t* p) {
    int32_t v;
    std::memcpy(&v, p, 4);
    return _mm512_set1_epi32(v);
  }
  TROUPE_AVX512 static vi bcast32(int32_t v) { return _mm512_set1_epi32(v); }
  TROUPE_AVX512 static vf bcast(float v) { return _mm512_set1_ps(v); }
  TROUPE_AVX512 static vi band(vi a, vi b) { return _mm512_and_si512(a, b); }
  TROUPE_AVX512 static vi bor(vi a, vi b) { return _mm512_or_si512(a, b); }
  TROUPE_AVX512 static vi or_masked(vi a, vi b, vi mask) { return _mm512_ternarylogic_epi32(a, b, mask, 0xF8); }
  template <int N> TROUPE_AVX512 static vi srli16(vi a) { return _mm512_srli_epi16(a, N); }
  template <int N> TROUPE_AVX512 static vi slli16(vi a) { return _mm512_slli_epi16(a, N); }
  TROUPE_AVX512 static vi sll16(vi a, __m128i n) { return _mm512_sll_epi16(a, n); }
  TROUPE_AVX512 static vi srl16(vi a, __m128i n) { return _mm512_srl_epi16(a, n); }
  TROUPE_AVX512 static vi srl32(vi a, __m128i n) { return _mm512_srl_epi32(a, n); }
  TROUPE_AVX512 static vi sll32(vi a, __m128i n) { return _mm512_sll_epi32(a, n); }
  TROUPE_AVX512 static vi lookup16(const int8_t* table, vi idx) {
    return _mm512_shuffle_epi8(_mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(table))), idx);
  }
  TROUPE_AVX512 static vi abs8(vi a) { return _mm512_abs_epi8(a); }
  TROUPE_AVX512 static vi negate_where_negative(vi x, vi w) {
    return _mm512_mask_sub_epi8(x, _mm512_movepi8_mask(w), _mm512_setzero_si512(), x);
  }
  TROUPE_AVX512 static vi dot4(vi acc, vi u, vi s) { return _mm512_dpbusd_epi32(acc, u, s); }
  TROUPE_AVX512 static vi add32(vi a, vi b) { return _mm512_add_epi32(a, b); }
  TROUPE_AVX512 static vi sub32(vi a, vi b) { return _mm512_sub_epi32(a, b); }
  TROUPE_AVX512 static vi mul32(vi a, vi b) { return _mm512_mullo_epi32(a, b); }
  TROUPE_AVX512 static vf to_float(vi a) { return _mm512_cvtepi32_ps(a); }
  TROUPE_AVX512 static vf mul(vf a, vf b) { return _mm512_mul_ps(a, b); }
  TROUPE_AVX512 static vf fmadd(vf a, vf b, vf c) { return _mm512_fmadd_ps(a, b, c); }
  TROUPE_AVX512 static vf join(__m256 lo, __m256 hi) {
    return _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castpd256_pd512(_mm256_castps_pd(lo)), _mm256_castps_pd(hi), 1));
  }
  TROUPE_AVX512 static void q4k(const u8* rec, int64_t stride, vf* scale, vf* offset) {
    __m256 s0[8], o0[8], s1[8], o1[8];
    q4k_scales(rec, s0, o0);
    q4k_scales(rec + stride, s1, o1);
    for (int k = 0; k < 8; ++k) {
      scale[k] = join(s0[k], s1[k]);
      offset[k] = join(o0[k], o1[k]);
    }
  }
  TROUPE_AVX512 static void iq4xs(const u8* rec, int64_t stride, vf* scale) {
    __m256 s0[8], s1[8];
    iq4xs_scales(rec, s0);
    iq4xs_scales(rec + stride, s1);
    for (int k = 0; k < 8; ++k) scale[k] = join(s0[k], s1[k]);
  }
  TROUPE_AVX512 static void store(const InterleavedMatmulJob& j, int64_t g, int64_t row, vf acc) {
    float* out = j.c + row * j.c_stride + g * kInterleavedRows;  // groups g and g + 1: 16 columns
    _mm512_storeu_ps(out, j.accumulate ? _mm512_add_ps(_mm512_loadu_ps(out), acc) : acc);
  }
  template <int64_t Bytes> TROUPE_AVX512 static void prefetch(const u8* a, int64_t stride) {
    prefetch_ahead<Bytes>(a);
    prefetch_ahead<Bytes>(a + stride);
  }
};

// Every activation row against groups [g0, g1): two groups at a time on Lanes16 (one on Lanes8
// for the last group of an odd range, and for every group when one activation row streams the
// weights on a CPU that splits 512-bit operations, cpu_features.hpp), Tile activation rows at a
// time and the rest in one smaller tile. Tiles::run<V, RM>(j, g, r0) multiplies one tile.
template <int Tile, class Tiles, class V, int RM>
TROUPE_AVX512 void rest_tile(const InterleavedMatmulJob& j, int64_t g, int64_t r0, int64_t rows) {
  if constexpr (RM > 0) {
    if (rows == RM) return Tiles::template run<V, RM>(j, g, r0);
    rest_tile<Tile, Tiles, V, RM - 1>(j, g, r0, rows);
  }
}

template <int Tile, class Tiles, class V>
TROUPE_AVX512 void rows_of(const InterleavedMatmulJob& j, int64_t g) {
  const int64_t m = j.a->rows();
  int64_t r0 = 0;
  for (; r0 + Tile <= m; r0 += Tile) Tiles::template run<V, Tile>(j, g, r0);
  if (m > r0) rest_tile<Tile, Tiles, V, Tile - 1>(j, g, r0, m - r0);
}

template <int Tile, class Tiles>
TROUPE_AVX512 void for_each_tile(const InterleavedMatmulJob& j, int64_t g0, int64_t g1) {
  int64_t g = g0;
  if (j.a->rows() > 1 || !cpu_splits_512bit_ops()) {
    for (; g + 2 <= g1; g += 2) rows_of<Tile, Tiles, Lanes16>(j, g);
  }
  for (; g < g1; ++g) rows_of<Tile, Tiles, Lanes8>(j, g);
}

}  // namespace interleaved
}  // namespace troupe::cpu
