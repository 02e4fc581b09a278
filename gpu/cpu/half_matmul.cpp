#include "gpu/cpu/half_matmul.hpp"

#include "common/float16.hpp"
#include "gpu/cpu/cpu_features.hpp"

namespace troupe::cpu {

void half_matmul_portable(const HalfMatmulJob& j, int64_t n0, int64_t n1) {
  const bool bf16 = j.type == DType::BF16;
  for (int64_t n = n0; n < n1; ++n) {
    const std::uint16_t* w = j.w + n * j.cols;
    for (int64_t r = 0; r < j.m; ++r) {
      const float* a = j.a + r * j.cols;
      float sum = 0.0f;
      for (int64_t k = 0; k < j.cols; ++k) sum += (bf16 ? bf16_to_float(w[k]) : fp16_to_float(w[k])) * a[k];
      float& out = j.c[r * j.out_rows + n];
      out = j.accumulate ? out + sum : sum;
    }
  }
}

void half_matmul(const HalfMatmulJob& job, int64_t n0, int64_t n1) {
  static const bool simd = cpu_isa() >= CpuIsa::Avx2;
  if (simd) {
    half_matmul_avx2(job, n0, n1);
  } else {
    half_matmul_portable(job, n0, n1);
  }
}

}  // namespace troupe::cpu
