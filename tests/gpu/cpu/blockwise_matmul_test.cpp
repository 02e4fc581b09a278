// The quantized-weight products of the CPU backend (gpu/cpu/blockwise_matmul.hpp, cpu_weight.hpp)
// against model/dequantize.cpp's weights multiplied in double precision, on random blocks.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "common/float16.hpp"
#include "gpu/cpu/cpu_features.hpp"
#include "gpu/cpu/blockwise_matmul.hpp"
#include "gpu/cpu/cpu_weight.hpp"
#include "model/dequantize.hpp"
#include "tests/support/random_weights.hpp"

using namespace troupe;
using namespace troupe::cpu;

namespace {

// Random blocks: scales of either sign and varied size, every quant byte random.
std::vector<std::byte> random_blocks(DType type, int64_t rows, int64_t cols, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> scale(0.001f, 0.05f);
  std::uniform_int_distribution<int> byte(0, 255);
  const int64_t blocks = rows * cols / 32, block_bytes = dtype_block_bytes(type);
  std::vector<std::byte> out(static_cast<std::size_t>(blocks * block_bytes));
  for (int64_t b = 0; b < blocks; ++b) {
    std::byte* p = out.data() + b * block_bytes;
    for (int64_t i = 0; i < block_bytes; ++i) p[i] = std::byte(byte(rng));
    const std::uint16_t d = float_to_fp16(scale(rng) * (byte(rng) % 2 ? 1.0f : -1.0f));
    std::memcpy(p, &d, 2);
    if (type == DType::Q4_1) {
      const std::uint16_t m = float_to_fp16(-8.0f * scale(rng));
      std::memcpy(p + 2, &m, 2);
    }
  }
  return out;
}

std::vector<float> random_floats(int64_t n, uint32_t seed) { return test::random_uniform(n, seed); }

struct Reference {
  std::vector<double> c;      // [m, rows]
  std::vector<double> scale;  // sum |w||x| per entry: the size of the rounding error to expect
};

Reference reference(DType type, const std::vector<std::byte>& blocks, const std::vector<float>& a, int64_t m,
                    int64_t rows, int64_t cols) {
  std::vector<float> w(static_cast<std::size_t>(rows * cols));
  dequantize(type, blocks.data(), w.data(), rows * cols);
  Reference ref{std::vector<double>(static_cast<std::size_t>(m * rows)), std::vector<double>(static_cast<std::size_t>(m * rows))};
  for (int64_t r = 0; r < m; ++r) {
    for (int64_t n = 0; n < rows; ++n) {
      double s = 0, sa = 0;
      for (int64_t k = 0; k < cols; ++k) {
        s += static_cast<double>(w[n * cols + k]) * a[r * cols + k];
        sa += std::abs(static_cast<double>(w[n * cols + k]) * a[r * cols + k]);
      }
      ref.c[r * rows + n] = s;
      ref.scale[r * rows + n] = sa;
    }
  }
  return ref;
}

void check_close(const std::vector<float>& c, const Reference& ref, double offset = 0.0) {
  double worst = 0;
  for (std::size_t i = 0; i < c.size(); ++i) {
    worst = std::max(worst, std::abs(c[i] - (ref.c[i] + offset)) / (ref.scale[i] + 1e-30));
  }
  INFO("worst error relative to sum |w x|: " << worst);
  CHECK(worst < 1e-5);  // float32 sums of a few hundred products: ~1e-7 per add
}

const DType kTypes[] = {DType::Q4_0, DType::Q4_1, DType::Q8_0};

}  // namespace

TEST_CASE("blockwise products of Q4_0, Q4_1 and Q8_0 weights match the dequantized weights", "[gpu][cpu]") {
  const int64_t rows = 37, cols = 160;  // 5 blocks a row; rows odd so the pool's split is uneven
  for (DType type : kTypes) {
    for (int64_t m : {1, 2, 5, 8, 13, 20}) {  // 13 and 20: groups of 8 rows and a remainder
      INFO(dtype_name(type) << ", " << m << " rows");
      const auto blocks = random_blocks(type, rows, cols, 7 + static_cast<uint32_t>(m));
      const auto a = random_floats(m * cols, 11 + static_cast<uint32_t>(m));
      const Reference ref = reference(type, blocks, a, m, rows, cols);
      const BlockwiseJob base{type, reinterpret_cast<const std::uint8_t*>(blocks.data()),
                              static_cast<int64_t>(dtype_bytes_for(type, cols)), cols, rows, a.data(), nullptr, m, false};
      SECTION("portable") {
        std::vector<float> c(static_cast<std::size_t>(m * rows));
        BlockwiseJob job = base;
        job.c = c.data();
        blockwise_portable(job, 0, 20);
        blockwise_portable(job, 20, rows);
        check_close(c, ref);
      }
      SECTION("avx2") {
        if (!avx2_available()) {
          WARN("this CPU has no AVX2/FMA/F16C: only the portable kernel is checked");
          return;
        }
        std::vector<float> c(static_cast<std::size_t>(m * rows));
        BlockwiseJob job = base;
        job.c = c.data();
        blockwise_avx2(job, 0, 13);
        blockwise_avx2(job, 13, rows);
        check_close(c, ref);
      }
    }
  }
}

TEST_CASE("blockwise expansion reproduces the dequantized weights bit for bit", "[gpu][cpu]") {
  // With a one-hot activation row the product is one weight, times 1, plus zeros: exact.
  const int64_t rows = 9, cols = 64;
  for (DType type : kTypes) {
    const auto blocks = random_blocks(type, rows, cols, 3);
    std::vector<float> w(static_cast<std::size_t>(rows * cols));
    dequantize(type, blocks.data(), w.data(), rows * cols);
    std::vector<float> expanded(w.size());
    expand_blocks(type, reinterpret_cast<const std::uint8_t*>(blocks.data()), expanded.data(), rows * cols / 32);
    CHECK(expanded == w);
    for (int64_t k : {0, 15, 16, 31, 40, 63}) {
      std::vector<float> a(static_cast<std::size_t>(cols), 0.0f);
      a[static_cast<std::size_t>(k)] = 1.0f;
      for (auto* kernel : {&blockwise_portable, &blockwise_avx2}) {
        if (kernel == &blockwise_avx2 && !avx2_available()) continue;
        std::vector<float> c(static_cast<std::size_t>(rows), -1.0f);
        (*kernel)({type, reinterpret_cast<const std::uint8_t*>(blocks.data()),
                   static_cast<int64_t>(dtype_bytes_for(type, cols)), cols, rows, a.data(), c.data(), 1, false},
                  0, rows);
        for (int64_t n = 0; n < rows; ++n) {
          INFO(dtype_name(type) << " weight (" << n << ", " << k << ")");
          CHECK(c[n] == w[n * cols + k]);
        }
      }
    }
  }
}

TEST_CASE("a quantized CpuWeight with float activations multiplies any number of rows, with and without accumulation", "[gpu][cpu]") {
  // Up to kBlockwiseMaxRows rows go block by block, more through float32 tiles and OpenBLAS; both
  // paths are also called directly. 700 rows of 96 are more than one tile of the tiled path.
  const int64_t rows = 700, cols = 96;
  ThreadPool pool(2);
  for (DType type : kTypes) {
    const auto blocks = random_blocks(type, rows, cols, 5);
    const CpuWeight w = CpuWeight::from_blocks(type, blocks, rows, cols, CpuWeight::Mode{.keep_blocks = true, .int8_activations = false});
    CHECK(w.bytes() == static_cast<int64_t>(blocks.size()));
    for (int64_t m : {int64_t{1}, int64_t{3}, kBlockwiseMaxRows, kBlockwiseMaxRows + 1, int64_t{40}}) {
      INFO(dtype_name(type) << ", " << m << " rows");
      const auto a = random_floats(m * cols, 21 + static_cast<uint32_t>(m));
      const Reference ref = reference(type, blocks, a, m, rows, cols);
      std::vector<float> c(static_cast<std::size_t>(m * rows));
      w.matmul(a.data(), c.data(), m, /*accumulate=*/false, &pool);
      check_close(c, ref);
      for (auto& v : c) v = 0.5f;
      w.matmul(a.data(), c.data(), m, /*accumulate=*/true, &pool);
      check_close(c, ref, 0.5);
      std::fill(c.begin(), c.end(), 0.0f);
      w.matmul_blockwise(a.data(), c.data(), m, false, &pool);
      check_close(c, ref);
      std::fill(c.begin(), c.end(), 0.0f);
      w.matmul_tiled(a.data(), c.data(), m, false, &pool);
      check_close(c, ref);
    }
    std::vector<float> row(static_cast<std::size_t>(cols)), expect(static_cast<std::size_t>(cols));
    w.row(123, row.data());
    dequantize(type, blocks.data() + 123 * dtype_bytes_for(type, cols), expect.data(), cols);
    CHECK(row == expect);
  }
  CHECK_THROWS_AS(CpuWeight::from_blocks(DType::Q4_K, std::vector<std::byte>(144), 1, 256, CpuWeight::Mode{true, false}), std::invalid_argument);
  CHECK_THROWS_AS(CpuWeight::from_blocks(DType::Q8_0, std::vector<std::byte>(33), 1, 32), std::invalid_argument);
}
