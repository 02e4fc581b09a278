// The interleaved weight layout (gpu/cpu/interleaved_weights.hpp) and its products
// (interleaved_matmul.hpp), on random blocks of every type with an interleaved form:
//  - regrouping keeps every byte: each row's GGUF blocks come back bit for bit;
//  - the portable reference equals int8_matmul's portable kernel on the row-major blocks exactly
//    (it is that kernel on rebuilt rows), and the AVX2 kernel equals it up to float rounding;
//  - the AVX-512 VNNI kernel equals the AVX2 kernel bit for bit (on CPUs that have it);
//  - an activation row gets bit-identical results whatever the number of rows beside it;
//  - a CpuWeight whose rows are not a multiple of 8 (row-major tail), and whose Q8_0 rows serve as
//    an embedding, gives the row-major kernel's products and dequantize()'s rows.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <vector>

#include "gpu/cpu/cpu_features.hpp"
#include "gpu/cpu/blockwise_matmul.hpp"
#include "gpu/cpu/cpu_weight.hpp"
#include "gpu/cpu/int8_matmul.hpp"
#include "gpu/cpu/interleaved_matmul.hpp"
#include "gpu/cpu/interleaved_weights.hpp"
#include "gpu/cpu/quantized_activations.hpp"
#include "model/dequantize.hpp"
#include "tests/support/random_weights.hpp"

using namespace troupe;
using namespace troupe::cpu;
using troupe::test::random_activations;
using troupe::test::random_blocks;

namespace {

const DType kTypes[] = {DType::Q4_0, DType::Q4_1, DType::Q5_0, DType::Q8_0, DType::Q2_K,
                        DType::Q3_K, DType::Q4_K, DType::Q5_K, DType::Q6_K, DType::IQ4_NL, DType::IQ4_XS,
                        DType::MXFP4_F16, DType::IQ2_XXS, DType::IQ2_XS, DType::IQ2_S, DType::IQ3_XXS,
                        DType::IQ3_S, DType::IQ1_S, DType::IQ1_M};

// A width of whole blocks: SmolLM2's 576 for the 32-blocks, 768 for the K-quants' 256.
int64_t width(DType type) { return dtype_block_elements(type) == 256 ? 768 : 576; }

// C of the row-major reference kernel, [m, n].
std::vector<float> row_major_product(DType type, const std::vector<std::byte>& blocks, int64_t n, int64_t cols,
                                     const QuantizedActivations& qa) {
  std::vector<float> c(static_cast<std::size_t>(qa.rows() * n));
  const Int8MatmulJob job{type, reinterpret_cast<const std::uint8_t*>(blocks.data()),
                          static_cast<int64_t>(dtype_bytes_for(type, cols)), cols, &qa, c.data(), n, false};
  int8_matmul_portable(job, 0, n);
  return c;
}

// Σ_j |w_j·x_j| for every entry of C, [m, n]: the scale of the float sums' rounding error.
std::vector<double> magnitudes(DType type, const std::vector<std::byte>& blocks, int64_t n, int64_t cols,
                               const std::vector<float>& x, int64_t m) {
  std::vector<float> w(static_cast<std::size_t>(n * cols));
  dequantize(type, blocks.data(), w.data(), n * cols);
  std::vector<double> out(static_cast<std::size_t>(m * n));
  for (int64_t r = 0; r < m; ++r) {
    for (int64_t o = 0; o < n; ++o) {
      double sum = 0;
      for (int64_t k = 0; k < cols; ++k) sum += std::abs(static_cast<double>(w[o * cols + k]) * x[r * cols + k]);
      out[r * n + o] = sum;
    }
  }
  return out;
}

}  // namespace

TEST_CASE("interleaving 8 rows keeps every byte: each row's blocks come back bit for bit", "[gpu][cpu][int8]") {
  for (DType type : kTypes) {
    INFO(dtype_name(type));
    const int64_t rows = 24, cols = width(type);
    const auto blocks = random_blocks(type, rows, cols, 41);
    const auto groups = interleave_rows(type, blocks.data(), rows, cols);
    REQUIRE(groups.size() == blocks.size());
    const auto row_bytes = static_cast<int64_t>(dtype_bytes_for(type, cols));
    std::vector<std::byte> row(static_cast<std::size_t>(row_bytes));
    int mismatched_rows = 0;
    for (int64_t r = 0; r < rows; ++r) {
      deinterleave_row(type, groups.data(), cols, r, row.data());
      mismatched_rows += std::memcmp(row.data(), blocks.data() + r * row_bytes, static_cast<std::size_t>(row_bytes)) != 0;
    }
    CHECK(mismatched_rows == 0);
  }
  CHECK_THROWS_AS(interleave_rows(DType::Q5_1, nullptr, 8, 256), std::invalid_argument);
}

TEST_CASE("interleaved products equal the row-major reference, bit-identical per row at any batch size",
          "[gpu][cpu][int8]") {
  const int64_t n = 40;  // 5 groups
  for (DType type : kTypes) {
    const int64_t cols = width(type);
    const auto blocks = random_blocks(type, n, cols, 7);
    const auto groups = interleave_rows(type, blocks.data(), n, cols);
    const int64_t m_max = 37;
    const auto x = random_activations(m_max, cols, 11);
    QuantizedActivations all;
    quantize_activations(x.data(), m_max, cols, cols, all);
    const auto ref_all = row_major_product(type, blocks, n, cols, all);
    const auto size = magnitudes(type, blocks, n, cols, x, m_max);
    std::vector<float> fast_all;  // the AVX2 results of the full batch, for the batch-size check

    for (int64_t m : {37, 1, 2, 3, 4, 5, 8, 13}) {
      INFO(dtype_name(type) << ", " << m << " activation rows");
      QuantizedActivations qa;
      quantize_activations(x.data(), m, cols, cols, qa);
      std::vector<float> ref(static_cast<std::size_t>(m * n));
      InterleavedMatmulJob job{type, reinterpret_cast<const std::uint8_t*>(groups.data()), cols, &qa, ref.data(), n, false};
      interleaved_matmul_portable(job, 0, 2);
      interleaved_matmul_portable(job, 2, n / kInterleavedRows);
      CHECK(std::equal(ref.begin(), ref.end(), ref_all.begin()));  // the first m rows of the full batch

      if (!avx2_available()) {
        WARN("this CPU has no AVX2/FMA/F16C: only the portable kernel is checked");
        continue;
      }
      std::vector<float> fast(static_cast<std::size_t>(m * n), 1.0f);
      job.c = fast.data();
      interleaved_matmul_avx2(job, 0, 3);
      interleaved_matmul_avx2(job, 3, n / kInterleavedRows);
      double worst = 0;
      for (std::size_t i = 0; i < ref.size(); ++i) {
        worst = std::max(worst, std::abs(static_cast<double>(fast[i]) - ref[i]) / size[i]);
      }
      INFO("AVX2 vs reference, relative to Σ|w·x|: " << worst);
      CHECK(worst < 1e-5);
      if (m == m_max) {
        fast_all = fast;
      } else {
        CHECK(std::equal(fast.begin(), fast.end(), fast_all.begin()));  // bit-identical to the batch of 37
      }

      if (cpu_supports(CpuIsa::Avx512Vnni)) {  // the same integer sums and float steps: bit for bit
        std::vector<float> vnni(static_cast<std::size_t>(m * n), 1.0f);
        InterleavedMatmulJob vnni_job = job;
        vnni_job.c = vnni.data();
        interleaved_matmul_avx512(vnni_job, 0, 2);
        interleaved_matmul_avx512(vnni_job, 2, n / kInterleavedRows);
        CHECK(std::equal(vnni.begin(), vnni.end(), fast.begin()));
        vnni_job.accumulate = true;
        interleaved_matmul_avx512(vnni_job, 0, n / kInterleavedRows);
        for (std::size_t i = 0; i < vnni.size(); ++i) vnni[i] -= fast[i];
        CHECK(std::equal(vnni.begin(), vnni.end(), fast.begin()));  // accumulating added the same product
      } else if (m == m_max) {
        WARN("this CPU has no AVX-512 VNNI (F, BW, VL, VNNI): its kernel is not checked");
      }

      job.accumulate = true;
      interleaved_matmul_avx2(job, 0, n / kInterleavedRows);
      double worst_acc = 0;
      for (std::size_t i = 0; i < ref.size(); ++i) {
        worst_acc = std::max(worst_acc, std::abs(static_cast<double>(fast[i]) - 2 * ref[i]) / size[i]);
      }
      CHECK(worst_acc < 2e-5);
    }
  }
}

TEST_CASE("a CpuWeight with interleaved groups and a row-major tail multiplies and looks up rows exactly",
          "[gpu][cpu][int8]") {
  ThreadPool pool(2);
  for (DType type : kTypes) {
    INFO(dtype_name(type));
    const int64_t rows = 8 * 37 + 5, cols = width(type);  // 37 groups and 5 rows over
    const auto blocks = random_blocks(type, rows, cols, 13);
    const CpuWeight w = CpuWeight::from_blocks(type, blocks, rows, cols);
    CHECK(w.bytes() == static_cast<int64_t>(blocks.size()));

    std::vector<float> want(static_cast<std::size_t>(rows * cols)), got(static_cast<std::size_t>(cols));
    dequantize(type, blocks.data(), want.data(), rows * cols);
    int mismatched_rows = 0;
    for (int64_t r = 0; r < rows; ++r) {
      w.row(r, got.data());
      mismatched_rows += !std::equal(got.begin(), got.end(), want.begin() + r * cols);
    }
    CHECK(mismatched_rows == 0);

    for (int64_t m : {1, 6, 33}) {
      INFO(m << " rows");
      const auto x = random_activations(m, cols, 19);
      QuantizedActivations qa;
      quantize_activations(x.data(), m, cols, cols, qa);
      const auto ref = row_major_product(type, blocks, rows, cols, qa);
      const auto size = magnitudes(type, blocks, rows, cols, x, m);
      std::vector<float> c(static_cast<std::size_t>(m * rows), 3.0f);
      w.matmul(x.data(), c.data(), m, /*accumulate=*/true, &pool);
      double worst = 0;
      for (std::size_t i = 0; i < ref.size(); ++i) {
        worst = std::max(worst, std::abs(static_cast<double>(c[i]) - 3.0 - ref[i]) / (size[i] + 3.0));
      }
      CHECK(worst < 2e-5);  // float rounding of the sums and of the added 3
    }
  }
}

