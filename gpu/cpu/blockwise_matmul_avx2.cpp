// The AVX2 implementation of blockwise_matmul.hpp. Compiled for the baseline like the rest of the
// build; only these functions carry target("avx2,fma"), and blockwise() calls them only after
// checking the CPU. The weights are expanded with a multiply and a separate add (d * q + m, two
// roundings), as model/dequantize.cpp does, so that they are bit-identical to the reference's;
// only the accumulation into the sums uses fused multiply-adds. The f16 scales convert with F16C.
#include <immintrin.h>

#include "gpu/cpu/blockwise_matmul.hpp"

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

}  // namespace

bool avx2_available() {
#if defined(__x86_64__) && defined(__GNUC__)
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
#else
  return false;
#endif
}

namespace {

// Rows and type as template arguments: the M rows' 4 M accumulators stay in registers.
template <DType T, int M>
TROUPE_AVX2 void rows_kernel(const BlockwiseJob& j, int64_t n0, int64_t n1) {
  const int64_t nb = j.cols / kBlock;
  constexpr int64_t block_bytes = T == DType::Q4_0 ? 18 : T == DType::Q4_1 ? 20 : 34;
  for (int64_t n = n0; n < n1; ++n) {
    const u8* row = j.blocks + n * j.row_bytes;
    __m256 acc[M][4];  // four independent partial sums per row
    for (int r = 0; r < M; ++r) {
      for (int k = 0; k < 4; ++k) acc[r][k] = _mm256_setzero_ps();
    }
    for (int64_t b = 0; b < nb; ++b) {
      __m256 w[4];
      expand_block<T>(row + b * block_bytes, w);
      for (int r = 0; r < M; ++r) {
        const float* x = j.a + r * j.cols + b * kBlock;
        for (int k = 0; k < 4; ++k) acc[r][k] = _mm256_fmadd_ps(w[k], _mm256_loadu_ps(x + 8 * k), acc[r][k]);
      }
    }
    for (int r = 0; r < M; ++r) {
      const float s = horizontal_sum(_mm256_add_ps(_mm256_add_ps(acc[r][0], acc[r][1]), _mm256_add_ps(acc[r][2], acc[r][3])));
      float& out = j.c[r * j.out_rows + n];
      out = j.accumulate ? out + s : s;
    }
  }
}

template <DType T>
TROUPE_AVX2 void rows_kernel_for(const BlockwiseJob& j, int64_t n0, int64_t n1) {
  switch (j.m) {
    case 1: return rows_kernel<T, 1>(j, n0, n1);
    case 2: return rows_kernel<T, 2>(j, n0, n1);
    case 3: return rows_kernel<T, 3>(j, n0, n1);
    case 4: return rows_kernel<T, 4>(j, n0, n1);
    case 5: return rows_kernel<T, 5>(j, n0, n1);
    case 6: return rows_kernel<T, 6>(j, n0, n1);
    case 7: return rows_kernel<T, 7>(j, n0, n1);
    default: return rows_kernel<T, 8>(j, n0, n1);
  }
}

}  // namespace

void blockwise_avx2(const BlockwiseJob& j, int64_t n0, int64_t n1) {
  static_assert(kBlockwiseMaxRows == 8, "rows_kernel_for dispatches 1..8 rows");
  switch (j.type) {
    case DType::Q4_0: return rows_kernel_for<DType::Q4_0>(j, n0, n1);
    case DType::Q4_1: return rows_kernel_for<DType::Q4_1>(j, n0, n1);
    default: return rows_kernel_for<DType::Q8_0>(j, n0, n1);
  }
}

}  // namespace troupe::cpu
