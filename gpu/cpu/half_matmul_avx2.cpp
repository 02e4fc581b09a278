// The AVX2 implementation of half_matmul.hpp. Compiled for the baseline like the rest of the build;
// only these functions carry target("avx2,fma,f16c"), and half_matmul() calls them only after
// checking the CPU. Eight weights at a time are widened (bfloat16: shifted into a float32's top
// half; float16: F16C's conversion, exact) and multiplied into two chains of sums per activation
// row, four rows at a time, so that each weight is read once for all of them.
#include <immintrin.h>

#include <algorithm>

#include "common/float16.hpp"
#include "gpu/cpu/half_matmul.hpp"

#define TROUPE_AVX2 __attribute__((target("avx2,fma,f16c")))

namespace troupe::cpu {
namespace {

template <bool kBf16>
TROUPE_AVX2 inline __m256 widen8(const std::uint16_t* p) {
  const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  if constexpr (kBf16) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
  } else {
    return _mm256_cvtph_ps(h);
  }
}

TROUPE_AVX2 inline float hsum(__m256 v) {
  const __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 t = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(t, _mm_movehdup_ps(t)));
}

// Rows [r0, r0 + R) of A against weight row n.
template <bool kBf16, int R>
TROUPE_AVX2 void rows_of(const HalfMatmulJob& j, int64_t n, int64_t r0) {
  const std::uint16_t* w = j.w + n * j.cols;
  const float* a = j.a + r0 * j.cols;
  __m256 even[R], odd[R];
  for (int r = 0; r < R; ++r) even[r] = odd[r] = _mm256_setzero_ps();
  int64_t k = 0;
  for (; k + 16 <= j.cols; k += 16) {
    const __m256 w0 = widen8<kBf16>(w + k), w1 = widen8<kBf16>(w + k + 8);
    for (int r = 0; r < R; ++r) {
      even[r] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(a + r * j.cols + k), even[r]);
      odd[r] = _mm256_fmadd_ps(w1, _mm256_loadu_ps(a + r * j.cols + k + 8), odd[r]);
    }
  }
  for (int r = 0; r < R; ++r) {
    float sum = hsum(_mm256_add_ps(even[r], odd[r]));
    for (int64_t t = k; t < j.cols; ++t) sum += (kBf16 ? bf16_to_float(w[t]) : fp16_to_float(w[t])) * a[r * j.cols + t];
    float& out = j.c[(r0 + r) * j.out_rows + n];
    out = j.accumulate ? out + sum : sum;
  }
}

template <bool kBf16>
TROUPE_AVX2 void columns(const HalfMatmulJob& j, int64_t n0, int64_t n1) {
  for (int64_t n = n0; n < n1; ++n) {
    int64_t r = 0;
    for (; r + 4 <= j.m; r += 4) rows_of<kBf16, 4>(j, n, r);
    switch (j.m - r) {
      case 3: rows_of<kBf16, 3>(j, n, r); break;
      case 2: rows_of<kBf16, 2>(j, n, r); break;
      case 1: rows_of<kBf16, 1>(j, n, r); break;
      default: break;
    }
  }
}

}  // namespace

void half_matmul_avx2(const HalfMatmulJob& j, int64_t n0, int64_t n1) {
  if (j.type == DType::BF16) {
    columns<true>(j, n0, n1);
  } else {
    columns<false>(j, n0, n1);
  }
}

}  // namespace troupe::cpu
