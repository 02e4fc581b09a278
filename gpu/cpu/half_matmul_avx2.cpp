// The AVX2 implementation of half_matmul.hpp. Compiled for the baseline like the rest of the build;
// only these functions carry target("avx2,fma,f16c"), and half_matmul() calls them only after
// checking the CPU. Eight weights at a time are widened (bfloat16: shifted into a float32's top
// half; float16: F16C's conversion, exact) for tiles of four weight rows by two activation rows,
// eight chains of sums in registers.
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

// Weight rows [n, n + N) against activation rows [r0, r0 + R): each 8 weights of a row widened once
// for the R rows, each 8 activations loaded once for the N rows, N · R chains of sums.
template <bool kBf16, int N, int R>
TROUPE_AVX2 void tile(const HalfMatmulJob& j, int64_t n, int64_t r0) {
  const std::uint16_t* w = j.w + n * j.cols;
  const float* a = j.a + r0 * j.cols;
  __m256 acc[N][R];
  for (int i = 0; i < N; ++i) {
    for (int r = 0; r < R; ++r) acc[i][r] = _mm256_setzero_ps();
  }
  int64_t k = 0;
  for (; k + 8 <= j.cols; k += 8) {
    __m256 wv[N];
    for (int i = 0; i < N; ++i) wv[i] = widen8<kBf16>(w + i * j.cols + k);
    for (int r = 0; r < R; ++r) {
      const __m256 av = _mm256_loadu_ps(a + r * j.cols + k);
      for (int i = 0; i < N; ++i) acc[i][r] = _mm256_fmadd_ps(wv[i], av, acc[i][r]);
    }
  }
  for (int i = 0; i < N; ++i) {
    for (int r = 0; r < R; ++r) {
      float sum = hsum(acc[i][r]);
      for (int64_t t = k; t < j.cols; ++t) {
        const std::uint16_t h = w[i * j.cols + t];
        sum += (kBf16 ? bf16_to_float(h) : fp16_to_float(h)) * a[r * j.cols + t];
      }
      float& out = j.c[(r0 + r) * j.out_rows + n + i];
      out = j.accumulate ? out + sum : sum;
    }
  }
}

// Weight rows [n, n + N) against every activation row, two at a time.
template <bool kBf16, int N>
TROUPE_AVX2 void weight_rows(const HalfMatmulJob& j, int64_t n) {
  int64_t r = 0;
  for (; r + 2 <= j.m; r += 2) tile<kBf16, N, 2>(j, n, r);
  if (r < j.m) tile<kBf16, N, 1>(j, n, r);
}

// One activation row (a decode step of one sequence): each weight row read once, in address order,
// into four chains of sums (an FMA's latency is four of its issue slots: fewer chains left a core
// at half the memory's pace), the row 2 KiB ahead prefetched.
template <bool kBf16>
TROUPE_AVX2 void single_row(const HalfMatmulJob& j, int64_t n0, int64_t n1) {
  for (int64_t n = n0; n < n1; ++n) {
    const std::uint16_t* w = j.w + n * j.cols;
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps(), s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
    int64_t k = 0;
    for (; k + 32 <= j.cols; k += 32) {
      _mm_prefetch(reinterpret_cast<const char*>(w + k) + 2048, _MM_HINT_T0);
      s0 = _mm256_fmadd_ps(widen8<kBf16>(w + k), _mm256_loadu_ps(j.a + k), s0);
      s1 = _mm256_fmadd_ps(widen8<kBf16>(w + k + 8), _mm256_loadu_ps(j.a + k + 8), s1);
      s2 = _mm256_fmadd_ps(widen8<kBf16>(w + k + 16), _mm256_loadu_ps(j.a + k + 16), s2);
      s3 = _mm256_fmadd_ps(widen8<kBf16>(w + k + 24), _mm256_loadu_ps(j.a + k + 24), s3);
    }
    for (; k + 8 <= j.cols; k += 8) s0 = _mm256_fmadd_ps(widen8<kBf16>(w + k), _mm256_loadu_ps(j.a + k), s0);
    float sum = hsum(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
    for (; k < j.cols; ++k) sum += (kBf16 ? bf16_to_float(w[k]) : fp16_to_float(w[k])) * j.a[k];
    j.c[n] = j.accumulate ? j.c[n] + sum : sum;
  }
}

template <bool kBf16>
TROUPE_AVX2 void columns(const HalfMatmulJob& j, int64_t n0, int64_t n1) {
  if (j.m == 1) {
    single_row<kBf16>(j, n0, n1);
    return;
  }
  int64_t n = n0;
  for (; n + 4 <= n1; n += 4) weight_rows<kBf16, 4>(j, n);
  switch (n1 - n) {
    case 3: weight_rows<kBf16, 3>(j, n); break;
    case 2: weight_rows<kBf16, 2>(j, n); break;
    case 1: weight_rows<kBf16, 1>(j, n); break;
    default: break;
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
