// kv_dtype.hpp's fast decoder: 8 values at a time into float32, each exactly as kv_decode_row
// computes it (half and bfloat16 widen exactly, e4m3 by the same bit placement and power-of-two
// scale, q8_0 by the same single product d·q). Only this function carries target("avx2,fma,f16c").
#include <immintrin.h>

#include <cstring>

#include "gpu/cpu/kv_dtype.hpp"

#define TROUPE_AVX2 __attribute__((target("avx2,fma,f16c")))

namespace troupe::cpu {

TROUPE_AVX2 void kv_decode_row_avx2(KvDtype dtype, const std::byte* src, int64_t n, float* dst) {
  switch (dtype) {
    case KvDtype::Float32:
      std::memcpy(dst, src, static_cast<std::size_t>(n) * 4);
      return;
    case KvDtype::Float16:
      for (int64_t i = 0; i < n; i += 8) {
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 2 * i))));
      }
      return;
    case KvDtype::BFloat16:
      for (int64_t i = 0; i < n; i += 8) {
        const __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 2 * i)));
        _mm256_storeu_ps(dst + i, _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16)));
      }
      return;
    case KvDtype::Fp8E4m3: {
      const __m256 scale = _mm256_set1_ps(0x1p120f);
      const __m256i magnitude_bits = _mm256_set1_epi32(0x7f), sign_bit = _mm256_set1_epi32(0x80);
      for (int64_t i = 0; i < n; i += 8) {
        const __m256i v = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(src + i)));
        const __m256 magnitude =
            _mm256_mul_ps(_mm256_castsi256_ps(_mm256_slli_epi32(_mm256_and_si256(v, magnitude_bits), 20)), scale);
        const __m256 sign = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_and_si256(v, sign_bit), 24));
        // 0x7f / 0xff are NaN (what a NaN input encodes to): kept NaN, as the scalar decoder does.
        const __m256 nan = _mm256_castsi256_ps(_mm256_cmpeq_epi32(_mm256_and_si256(v, magnitude_bits), magnitude_bits));
        _mm256_storeu_ps(dst + i, _mm256_or_ps(_mm256_or_ps(magnitude, sign), nan));
      }
      return;
    }
    case KvDtype::Q8_0:
      for (int64_t b = 0; b < n / 32; ++b) {
        const std::byte* in = src + b * 34;
        std::uint16_t dh;
        std::memcpy(&dh, in, 2);
        const __m256 d = _mm256_cvtph_ps(_mm_set1_epi16(static_cast<short>(dh)));
        for (int64_t k = 0; k < 4; ++k) {
          const __m256i q = _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(in + 2 + 8 * k)));
          _mm256_storeu_ps(dst + 32 * b + 8 * k, _mm256_mul_ps(d, _mm256_cvtepi32_ps(q)));
        }
      }
      return;
  }
}

}  // namespace troupe::cpu
