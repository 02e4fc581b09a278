// The integer dot products of the CPU backend (gpu/cpu/int8_matmul.hpp) and the activation
// quantization they read (quantized_activations.hpp), on random blocks of every supported type:
//  - the integer form of each weight chunk reproduces model/dequantize.cpp bit for bit;
//  - the portable reference is within the bound that int8 activations imply of the exact product
//    of the dequantized weights and the float activations;
//  - the AVX2 kernel equals the reference up to float rounding, for every row count and split.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "common/float16.hpp"
#include "gpu/cpu/cpu_features.hpp"
#include "gpu/cpu/blockwise_matmul.hpp"
#include "gpu/cpu/cpu_weight.hpp"
#include "gpu/cpu/int8_matmul.hpp"
#include "gpu/cpu/quantized_activations.hpp"
#include "model/dequantize.hpp"
#include "tests/support/random_weights.hpp"

using namespace troupe;
using namespace troupe::cpu;
using troupe::test::random_activations;
using troupe::test::random_blocks;

namespace {

const DType kTypes[] = {DType::Q4_0, DType::Q4_1, DType::Q5_0, DType::Q5_1, DType::Q8_0,  DType::Q2_K,
                        DType::Q3_K, DType::Q4_K, DType::Q5_K, DType::Q6_K, DType::IQ4_NL, DType::IQ4_XS,
                        DType::MXFP4_F16, DType::IQ2_XXS, DType::IQ2_XS, DType::IQ2_S, DType::IQ3_XXS,
                        DType::IQ3_S, DType::IQ1_S, DType::IQ1_M};

struct Expected {
  std::vector<double> exact;  // dequantized weights · float activations, in double
  std::vector<double> bound;  // Σ_chunks dx/2 · Σ|w|: the error int8 activations may add
  std::vector<double> size;   // Σ |terms| of the float sums: the scale of their rounding error
};

Expected expected(DType type, const std::vector<std::byte>& blocks, const std::vector<float>& x,
                  const QuantizedActivations& qa, int64_t m, int64_t n, int64_t cols) {
  std::vector<float> w(static_cast<std::size_t>(n * cols));
  dequantize(type, blocks.data(), w.data(), n * cols);
  Expected e{std::vector<double>(m * n), std::vector<double>(m * n), std::vector<double>(m * n)};
  for (int64_t r = 0; r < m; ++r) {
    for (int64_t o = 0; o < n; ++o) {
      double exact = 0, bound = 0, size = 0;
      for (int64_t c = 0; c < cols / 32; ++c) {
        double abs_w = 0;
        for (int64_t l = 0; l < 32; ++l) {
          const double wv = w[o * cols + 32 * c + l];
          exact += wv * x[r * cols + 32 * c + l];
          abs_w += std::abs(wv);
          size += std::abs(wv) * (std::abs(x[r * cols + 32 * c + l]) + qa.d(r)[c]);
        }
        bound += qa.d(r)[c] / 2 * abs_w;
      }
      e.exact[r * n + o] = exact;
      e.bound[r * n + o] = bound;
      e.size[r * n + o] = size;
    }
  }
  return e;
}

Int8MatmulJob job_for(DType type, const std::vector<std::byte>& blocks, int64_t cols, const QuantizedActivations& qa,
                      std::vector<float>& c, int64_t n) {
  return Int8MatmulJob{type, reinterpret_cast<const std::uint8_t*>(blocks.data()),
                       static_cast<int64_t>(dtype_bytes_for(type, cols)), cols, &qa, c.data(), n, false};
}

}  // namespace

TEST_CASE("activation rows quantize to int8 blocks within half a step, the same on AVX2", "[gpu][cpu][int8]") {
  const int64_t cols = 576;
  const auto x = random_activations(3, cols, 5);
  for (int64_t r = 0; r < 3; ++r) {
    std::vector<int8_t> q(cols), q2(cols);
    std::vector<float> d(cols / 32), s(cols / 32), d2(cols / 32), s2(cols / 32);
    quantize_row_portable(x.data() + r * cols, cols, q.data(), d.data(), s.data());
    for (int64_t c = 0; c < cols / 32; ++c) {
      int sum = 0;
      for (int64_t l = 0; l < 32; ++l) {
        const float xv = x[r * cols + 32 * c + l];
        CHECK(std::abs(xv - d[c] * q[32 * c + l]) <= d[c] / 2 * 1.0001f + 1e-30f);
        CHECK(std::abs(q[32 * c + l]) <= 127);
        sum += q[32 * c + l];
      }
      CHECK(s[c] == d[c] * static_cast<float>(sum));
    }
    if (r == 0) CHECK(d[1] == 0.0f);  // the zero block
    QuantizedActivations all;  // the entry point the backend calls: also Σq of every 16 columns
    quantize_activations(x.data() + r * cols, 1, cols, cols, all);
    for (int64_t g = 0; g < cols / 16; ++g) {
      int sum16 = 0;
      for (int64_t l = 0; l < 16; ++l) sum16 += all.q(0)[16 * g + l];
      CHECK(all.sums16(0)[g] == sum16);
    }
    if (!avx2_available()) continue;
    quantize_row_avx2(x.data() + r * cols, cols, q2.data(), d2.data(), s2.data());
    CHECK(q == q2);
    CHECK(d == d2);
    CHECK(s == s2);
  }
}

TEST_CASE("the integer form of every weight chunk is model/dequantize.cpp's weights, bit for bit", "[gpu][cpu][int8]") {
  for (DType type : kTypes) {
    INFO(dtype_name(type));
    const int64_t rows = 3, cols = 512;
    const auto blocks = random_blocks(type, rows, cols, 3);
    std::vector<float> w(rows * cols);
    dequantize(type, blocks.data(), w.data(), rows * cols);
    const int64_t row_bytes = static_cast<int64_t>(dtype_bytes_for(type, cols));
    int mismatches = 0;
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t c = 0; c < cols / 32; ++c) {
        WeightChunk chunk;
        weight_chunk(type, reinterpret_cast<const std::uint8_t*>(blocks.data()) + r * row_bytes, c, chunk);
        for (int l = 0; l < 32; ++l) {
          const float value = chunk.scale[l / 16] * static_cast<float>(chunk.qw[l]) + chunk.offset[l / 16];
          mismatches += value != w[r * cols + 32 * c + l];
        }
      }
    }
    CHECK(mismatches == 0);
  }
}

TEST_CASE("int8 products are within the activation rounding bound, and AVX2 equals the reference", "[gpu][cpu][int8]") {
  const int64_t n = 37;  // odd: the AVX2 kernel's pairs of weight rows leave one over
  for (DType type : kTypes) {
    const int64_t cols = dtype_block_elements(type) == 256 ? 768 : 576;
    for (int64_t m : {1, 2, 3, 4, 5, 8, 13, 33, 64}) {
      INFO(dtype_name(type) << ", " << m << " activation rows");
      const auto blocks = random_blocks(type, n, cols, 17 + static_cast<uint32_t>(m));
      const auto x = random_activations(m, cols, 23 + static_cast<uint32_t>(m));
      QuantizedActivations qa;
      quantize_activations(x.data(), m, cols, cols, qa);
      const Expected e = expected(type, blocks, x, qa, m, n, cols);

      std::vector<float> ref(m * n);
      Int8MatmulJob job = job_for(type, blocks, cols, qa, ref, n);
      int8_matmul_portable(job, 0, 20);
      int8_matmul_portable(job, 20, n);
      double worst = 0, used = 0;  // error / (bound + rounding); fraction of the bound used
      for (int64_t i = 0; i < m * n; ++i) {
        const double err = std::abs(ref[i] - e.exact[i]);
        worst = std::max(worst, err / (e.bound[i] + 1e-6 * e.size[i]));
        used = std::max(used, err / e.bound[i]);
      }
      INFO("reference error / bound: " << worst);
      CHECK(worst <= 1.0);
      CHECK(used > 0.01);  // the bound is not vacuous: activation rounding does show

      if (!avx2_available()) {
        WARN("this CPU has no AVX2/FMA/F16C: only the portable kernel is checked");
        continue;
      }
      std::vector<float> fast(m * n, 1.0f);
      job.c = fast.data();
      int8_matmul_avx2(job, 0, 13);
      int8_matmul_avx2(job, 13, n);
      double worst_fast = 0;
      for (int64_t i = 0; i < m * n; ++i) worst_fast = std::max(worst_fast, std::abs(fast[i] - ref[i]) / e.size[i]);
      INFO("AVX2 vs reference, relative to Σ|w·x|: " << worst_fast);
      CHECK(worst_fast < 1e-5);

      job.accumulate = true;  // accumulate adds to what C holds
      int8_matmul_avx2(job, 0, n);
      double worst_acc = 0;
      for (int64_t i = 0; i < m * n; ++i) worst_acc = std::max(worst_acc, std::abs(fast[i] - 2 * ref[i]) / e.size[i]);
      CHECK(worst_acc < 2e-5);
    }
  }
}

TEST_CASE("an int8 CpuWeight splits its rows over threads and equals the reference kernel", "[gpu][cpu][int8]") {
  ThreadPool pool(2);
  for (DType type : {DType::Q4_1, DType::Q4_K, DType::Q6_K}) {
    const int64_t rows = 301, cols = 512;
    const auto blocks = random_blocks(type, rows, cols, 9);
    const CpuWeight w = CpuWeight::from_blocks(type, blocks, rows, cols);
    REQUIRE(w.takes_quantized());
    CHECK(w.bytes() == static_cast<int64_t>(blocks.size()));
    for (int64_t m : {1, 7, 64, 130}) {
      INFO(dtype_name(type) << ", " << m << " rows");
      const auto x = random_activations(m, cols, 31);
      QuantizedActivations qa;
      quantize_activations(x.data(), m, cols, cols, qa);
      std::vector<float> ref(m * rows), c(m * rows, 3.0f);
      const Int8MatmulJob job = job_for(type, blocks, cols, qa, ref, rows);
      int8_matmul_portable(job, 0, rows);
      w.matmul(x.data(), c.data(), m, /*accumulate=*/true, &pool);
      double worst = 0, size = 0;
      for (int64_t i = 0; i < m * rows; ++i) {
        worst = std::max(worst, static_cast<double>(std::abs(c[i] - 3.0f - ref[i])));
        size = std::max(size, static_cast<double>(std::abs(ref[i])));
      }
      CHECK(worst <= 1e-5 * size + 1e-5);  // float rounding of sums and of the added 3
    }
  }
}
