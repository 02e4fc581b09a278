// The 16-bit float products of the CPU backend (gpu/cpu/half_matmul.hpp, and CpuWeight keeping
// BF16/F16 weights) against the widened weights multiplied in double precision, on random data.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "common/float16.hpp"
#include "gpu/cpu/cpu_features.hpp"
#include "gpu/cpu/cpu_weight.hpp"
#include "gpu/cpu/half_matmul.hpp"
#include "tests/support/random_weights.hpp"

using namespace troupe;
using namespace troupe::cpu;

namespace {

std::vector<float> random_floats(int64_t n, uint32_t seed) { return test::random_uniform(n, seed); }

// Random weights in `type`, and the float32 values they stand for.
std::vector<std::uint16_t> random_halves(DType type, int64_t n, uint32_t seed, std::vector<float>& widened) {
  const std::vector<float> values = random_floats(n, seed);
  std::vector<std::uint16_t> out(values.size());
  widened.resize(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    out[i] = type == DType::BF16 ? float_to_bf16(values[i]) : float_to_fp16(values[i]);
    widened[i] = type == DType::BF16 ? bf16_to_float(out[i]) : fp16_to_float(out[i]);
  }
  return out;
}

// C = A · W^T in double, and each entry's sum of |w a| (the size of the rounding to expect).
void reference(const std::vector<float>& w, const std::vector<float>& a, int64_t m, int64_t rows, int64_t cols,
               std::vector<double>& c, std::vector<double>& scale) {
  c.assign(static_cast<std::size_t>(m * rows), 0.0);
  scale.assign(c.size(), 0.0);
  for (int64_t r = 0; r < m; ++r) {
    for (int64_t n = 0; n < rows; ++n) {
      for (int64_t k = 0; k < cols; ++k) {
        const double p = static_cast<double>(w[n * cols + k]) * a[r * cols + k];
        c[r * rows + n] += p;
        scale[r * rows + n] += std::abs(p);
      }
    }
  }
}

double worst(const std::vector<float>& got, const std::vector<double>& want, const std::vector<double>& scale,
             double offset = 0.0) {
  double out = 0.0;
  for (std::size_t i = 0; i < got.size(); ++i) out = std::max(out, std::abs(got[i] - (want[i] + offset)) / (scale[i] + 1e-30));
  return out;
}

}  // namespace

TEST_CASE("half_matmul: BF16 and F16 weights widened as read match the double-precision product", "[gpu][cpu]") {
  const int64_t rows = 37, cols = 200;  // 200: a tail past the 16-wide steps; 37 rows split unevenly
  for (DType type : {DType::BF16, DType::F16}) {
    std::vector<float> widened;
    const auto w = random_halves(type, rows * cols, 3, widened);
    for (int64_t m : {1, 2, 3, 4, 5, 7, 16}) {
      INFO(dtype_name(type) << ", " << m << " rows");
      const auto a = random_floats(m * cols, 9 + static_cast<uint32_t>(m));
      std::vector<double> want, scale;
      reference(widened, a, m, rows, cols, want, scale);
      for (const bool simd : {false, true}) {
        if (simd && !avx2_available()) {
          WARN("this CPU has no AVX2/FMA/F16C: only the portable kernel is checked");
          continue;
        }
        std::vector<float> c(static_cast<std::size_t>(m * rows), 0.25f);
        HalfMatmulJob job{type, w.data(), cols, rows, a.data(), c.data(), m, /*accumulate=*/false};
        const auto run = simd ? &half_matmul_avx2 : &half_matmul_portable;
        run(job, 0, 11);
        run(job, 11, rows);
        CHECK(worst(c, want, scale) < 1e-5);
        job.accumulate = true;  // onto the product already there: twice it
        run(job, 0, rows);
        CHECK(worst(c, want, scale, 0.0) > 0.1);  // (it did add)
        std::vector<double> twice(want.size());
        for (std::size_t i = 0; i < want.size(); ++i) twice[i] = 2.0 * want[i];
        CHECK(worst(c, twice, scale) < 2e-5);
      }
    }
  }
}

TEST_CASE("a BF16 or F16 CpuWeight keeps its 16-bit values and multiplies any number of rows", "[gpu][cpu]") {
  // Up to kHalfMatmulMaxRows rows through half_matmul, more through widened float32 tiles and
  // OpenBLAS (700 rows of 96: more than one tile).
  const int64_t rows = 700, cols = 96;
  ThreadPool pool(2);
  for (DType type : {DType::BF16, DType::F16}) {
    std::vector<float> widened;
    const auto halves = random_halves(type, rows * cols, 5, widened);
    std::vector<std::byte> bytes(halves.size() * 2);
    std::memcpy(bytes.data(), halves.data(), bytes.size());
    for (const bool int8 : {true, false}) {
      const CpuWeight w = CpuWeight::from_blocks(type, bytes, rows, cols, CpuWeight::Mode{.keep_blocks = true, .int8_activations = int8});
      CHECK(w.bytes() == rows * cols * 2);
      CHECK(w.storages() == std::vector<DType>{type});
      CHECK(!w.takes_quantized());  // float activations, whatever the mode
      for (int64_t m : {int64_t{1}, int64_t{3}, kHalfMatmulMaxRows, kHalfMatmulMaxRows + 1, int64_t{40}}) {
        INFO(dtype_name(type) << ", " << m << " rows");
        const auto a = random_floats(m * cols, 21 + static_cast<uint32_t>(m));
        std::vector<double> want, scale;
        reference(widened, a, m, rows, cols, want, scale);
        std::vector<float> c(static_cast<std::size_t>(m * rows));
        w.matmul(a.data(), c.data(), m, /*accumulate=*/false, &pool);
        CHECK(worst(c, want, scale) < 1e-5);
        std::fill(c.begin(), c.end(), 0.5f);
        w.matmul(a.data(), c.data(), m, /*accumulate=*/true, &pool);
        CHECK(worst(c, want, scale, 0.5) < 1e-5);
      }
      std::vector<float> row(static_cast<std::size_t>(cols));
      w.row(123, row.data());
      CHECK(std::equal(row.begin(), row.end(), widened.begin() + 123 * cols));
    }
  }
}
