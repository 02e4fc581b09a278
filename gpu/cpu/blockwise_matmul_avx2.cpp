// The AVX2 implementation of blockwise_matmul.hpp. Compiled for the baseline like the rest of the
// build; only these functions carry target("avx2,fma"), and blockwise() calls them only after
// checking the CPU. The weights are expanded with a multiply and a separate add (d * q + m, two
// roundings), as model/dequantize.cpp does, so that they are bit-identical to the reference's;
// only the accumulation into the sums uses fused multiply-adds. The f16 scales convert with F16C.
#include <immintrin.h>

#include "gpu/cpu/blockwise_matmul.hpp"

#include <algorithm>
#include <cstring>


#define TROUPE_AVX2 __attribute__((target("avx2,fma,f16c")))

namespace troupe::cpu {
namespace {

using u8 = std::uint8_t;
constexpr int64_t kBlock = 32;

TROUPE_AVX2 inline float block_f16(const u8* p) {
  std::uint16_t h;
  std::memcpy(&h, p, 2);
  return _cvtsh_ss(h);  // exact, like fp16_to_float
}

// Eight unsigned bytes (the low 8 of `bytes`) as eight floats.
TROUPE_AVX2 inline __m256 u8x8_to_ps(__m128i bytes) { return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(bytes)); }

// A block's 32 weights into w[0..3] (weights 0-7, 8-15, 16-23, 24-31).
template <DType T>
TROUPE_AVX2 inline void expand_block(const u8* b, __m256* w) {
  const __m256 d = _mm256_set1_ps(block_f16(b));
  if constexpr (T == DType::Q8_0) {
    const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 2));
    const __m128i q0 = _mm256_castsi256_si128(q), q1 = _mm256_extracti128_si256(q, 1);
    w[0] = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q0)), d);
    w[1] = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(q0, 8))), d);
    w[2] = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q1)), d);
    w[3] = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(q1, 8))), d);
    return;
  }
  constexpr bool with_min = T == DType::Q4_1;
  const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + (with_min ? 4 : 2)));
  const __m128i nibble = _mm_set1_epi8(0x0F);
  const __m128i lo = _mm_and_si128(q, nibble);                     // weights 0..15
  const __m128i hi = _mm_and_si128(_mm_srli_epi16(q, 4), nibble);  // weights 16..31
  __m256 v[4] = {u8x8_to_ps(lo), u8x8_to_ps(_mm_srli_si128(lo, 8)), u8x8_to_ps(hi), u8x8_to_ps(_mm_srli_si128(hi, 8))};
  if constexpr (with_min) {
    const __m256 m = _mm256_set1_ps(block_f16(b + 2));
    for (int k = 0; k < 4; ++k) w[k] = _mm256_add_ps(_mm256_mul_ps(v[k], d), m);
  } else {
    const __m256 eight = _mm256_set1_ps(8.0f);  // (q - 8) is exact in float, as in the reference's int
    for (int k = 0; k < 4; ++k) w[k] = _mm256_mul_ps(_mm256_sub_ps(v[k], eight), d);
  }
}

TROUPE_AVX2 inline float horizontal_sum(__m256 v) {
  const __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 s2 = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(s2, _mm_movehdup_ps(s2)));
}


// Output column n of C for activation rows r0 .. r0+M-1. Rows and type are template arguments so
// that the accumulators stay in registers: 4 w vectors plus M x kAcc accumulators fit the 16 ymm
// registers, and M x kAcc independent FMA chains hide the FMA latency.
template <DType T, int M>
TROUPE_AVX2 inline void one_column(const BlockwiseJob& j, const u8* row, int64_t n, int64_t r0) {
  constexpr int kAcc = M <= 3 ? 4 : M <= 6 ? 2 : 1;
  constexpr int64_t block_bytes = T == DType::Q4_0 ? 18 : T == DType::Q4_1 ? 20 : 34;
  const int64_t nb = j.cols / kBlock;
  __m256 acc[M][kAcc];
  for (int r = 0; r < M; ++r) {
    for (int k = 0; k < kAcc; ++k) acc[r][k] = _mm256_setzero_ps();
  }
  for (int64_t b = 0; b < nb; ++b) {
    __m256 w[4];
    expand_block<T>(row + b * block_bytes, w);
    for (int r = 0; r < M; ++r) {
      const float* x = j.a + (r0 + r) * j.cols + b * kBlock;
      for (int k = 0; k < 4; ++k) acc[r][k % kAcc] = _mm256_fmadd_ps(w[k], _mm256_loadu_ps(x + 8 * k), acc[r][k % kAcc]);
    }
  }
  for (int r = 0; r < M; ++r) {
    __m256 sum = acc[r][0];
    for (int k = 1; k < kAcc; ++k) sum = _mm256_add_ps(sum, acc[r][k]);
    float& out = j.c[(r0 + r) * j.out_rows + n];
    const float s = horizontal_sum(sum);
    out = j.accumulate ? out + s : s;
  }
}

// Every activation row in groups of up to 8, each weight row (a few hundred bytes) staying in L1
// while the groups pass over it.
template <DType T>
TROUPE_AVX2 void columns(const BlockwiseJob& j, int64_t n0, int64_t n1) {
  for (int64_t n = n0; n < n1; ++n) {
    const u8* row = j.blocks + n * j.row_bytes;
    for (int64_t r0 = 0; r0 < j.m; r0 += 8) {
      switch (std::min<int64_t>(8, j.m - r0)) {
        case 1: one_column<T, 1>(j, row, n, r0); break;
        case 2: one_column<T, 2>(j, row, n, r0); break;
        case 3: one_column<T, 3>(j, row, n, r0); break;
        case 4: one_column<T, 4>(j, row, n, r0); break;
        case 5: one_column<T, 5>(j, row, n, r0); break;
        case 6: one_column<T, 6>(j, row, n, r0); break;
        case 7: one_column<T, 7>(j, row, n, r0); break;
        default: one_column<T, 8>(j, row, n, r0); break;
      }
    }
  }
}

}  // namespace

namespace {

template <DType T>
TROUPE_AVX2 void expand_all(const u8* src, float* dst, int64_t blocks) {
  constexpr int64_t block_bytes = T == DType::Q4_0 ? 18 : T == DType::Q4_1 ? 20 : 34;
  for (int64_t b = 0; b < blocks; ++b) {
    __m256 w[4];
    expand_block<T>(src + b * block_bytes, w);
    for (int k = 0; k < 4; ++k) _mm256_storeu_ps(dst + b * kBlock + 8 * k, w[k]);
  }
}

}  // namespace

void expand_blocks_avx2(DType type, const u8* src, float* dst, int64_t blocks) {
  switch (type) {
    case DType::Q4_0: return expand_all<DType::Q4_0>(src, dst, blocks);
    case DType::Q4_1: return expand_all<DType::Q4_1>(src, dst, blocks);
    default: return expand_all<DType::Q8_0>(src, dst, blocks);
  }
}

void blockwise_avx2(const BlockwiseJob& j, int64_t n0, int64_t n1) {
  switch (j.type) {
    case DType::Q4_0: return columns<DType::Q4_0>(j, n0, n1);
    case DType::Q4_1: return columns<DType::Q4_1>(j, n0, n1);
    default: return columns<DType::Q8_0>(j, n0, n1);
  }
}

}  // namespace troupe::cpu
