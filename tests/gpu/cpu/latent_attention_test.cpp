// Latent attention's own kernels: RoPE on a head's last dimensions in DeepSeek's pair order, and
// the per-head products through each head's weight, in stored blocks with int8 activations (the
// heads shared out to the threads) or in float32. The whole layer is checked against transformers
// in reference_models_test.cpp ([mla]).
#include <catch2/catch.hpp>
#include <cmath>

#include <random>
#include <vector>

#include "gpu/cpu/latent_attention.hpp"
#include "model/dequantize.hpp"
#include "tests/support/random_weights.hpp"

using namespace troupe;

namespace {

std::vector<float> random_floats(std::size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = normal(rng);
  return v;
}

}  // namespace

TEST_CASE("rope_rotate turns pairs (2i, 2i+1), or halves (i, i + d/2), by position × frequency, scaled",
          "[gpu][cpu][mla]") {
  const std::vector<double> inv_freq{0.5, 0.1};
  const std::vector<int32_t> positions{3};
  std::vector<float> pairs{1.0f, 2.0f, 3.0f, 4.0f};
  cpu::rope_rotate(pairs.data(), 1, 4, 1, 4, 4, positions.data(), inv_freq, /*pairs=*/true, 1.5f);
  const double a = 1.5, b = 0.3;  // 3 · 0.5 and 3 · 0.1
  CHECK(pairs[0] == Approx(1.5 * (1 * std::cos(a) - 2 * std::sin(a))));
  CHECK(pairs[1] == Approx(1.5 * (2 * std::cos(a) + 1 * std::sin(a))));
  CHECK(pairs[2] == Approx(1.5 * (3 * std::cos(b) - 4 * std::sin(b))));
  CHECK(pairs[3] == Approx(1.5 * (4 * std::cos(b) + 3 * std::sin(b))));

  // Halves are pairs with the dimensions reordered: (0, 1, 2, 3) ↔ (0, 2, 1, 3), in several heads
  // and rows at their strides, the other values untouched.
  const int64_t rows = 3, heads = 2, head_stride = 6, dims = 4, row_stride = heads * head_stride + 1;
  const std::vector<int32_t> three{0, 7, 100};
  std::vector<float> x = random_floats(static_cast<std::size_t>(rows * row_stride), 1), y = x;
  const int order[4] = {0, 2, 1, 3};
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t h = 0; h < heads; ++h) {
      for (int i = 0; i < 4; ++i) y[r * row_stride + h * head_stride + 2 + order[i]] = x[r * row_stride + h * head_stride + 2 + i];
    }
  }
  const std::vector<float> before = x;
  cpu::rope_rotate(x.data() + 2, rows, row_stride, heads, head_stride, dims, three.data(), inv_freq, true, 1.0f);
  cpu::rope_rotate(y.data() + 2, rows, row_stride, heads, head_stride, dims, three.data(), inv_freq, false, 1.0f);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t h = 0; h < heads; ++h) {
      const int64_t at = r * row_stride + h * head_stride;
      for (int i = 0; i < 4; ++i) CHECK(y[at + 2 + order[i]] == Approx(x[at + 2 + i]));
      CHECK(x[at] == before[at]);  // a head's first two dimensions are not rotated
      CHECK(x[at + 1] == before[at + 1]);
    }
    CHECK(x[r * row_stride + row_stride - 1] == before[r * row_stride + row_stride - 1]);  // past the heads
  }
}

TEST_CASE("per_head_products gives each head its rows through its own weight, blocks and float alike",
          "[gpu][cpu][mla]") {
  // 5 heads of [24 rows, 64 cols] weights; inputs strided as latent attention lays them out.
  const int64_t heads = 5, rows = 24, cols = 64, in_head = 70, out_head = 30;
  for (const int64_t tokens : {int64_t{1}, int64_t{3}, int64_t{37}}) {
    INFO(tokens << " tokens");
    const int64_t in_stride = heads * in_head + 3, out_stride = heads * out_head;
    const std::vector<float> in = random_floats(static_cast<std::size_t>(tokens * in_stride), 2);
    std::vector<cpu::CpuWeight> blocks, floats;
    std::vector<std::vector<float>> dense;
    for (int64_t h = 0; h < heads; ++h) {
      std::vector<std::byte> q8 = test::random_blocks(DType::Q8_0, rows, cols, 10 + static_cast<uint32_t>(h));
      dense.emplace_back(static_cast<std::size_t>(rows * cols));
      dequantize(DType::Q8_0, q8.data(), dense.back().data(), rows * cols);
      blocks.push_back(cpu::CpuWeight::from_blocks(DType::Q8_0, std::move(q8), rows, cols));
      floats.push_back(cpu::CpuWeight::from_f32(dense.back(), rows, cols));
    }
    REQUIRE(blocks.front().takes_quantized());
    cpu::ThreadPool pool(2);
    std::vector<float> got_blocks(static_cast<std::size_t>(tokens * out_stride), -7.0f), got_floats = got_blocks;
    cpu::per_head_products(blocks, in.data(), in_stride, in_head, got_blocks.data(), out_stride, out_head, tokens, &pool);
    cpu::per_head_products(floats, in.data(), in_stride, in_head, got_floats.data(), out_stride, out_head, tokens, &pool);
    double worst_float = 0.0, worst_int8 = 0.0, scale = 0.0;
    for (int64_t t = 0; t < tokens; ++t) {
      for (int64_t h = 0; h < heads; ++h) {
        for (int64_t r = 0; r < out_head; ++r) {
          const std::size_t at = static_cast<std::size_t>(t * out_stride + h * out_head + r);
          if (r >= rows) {  // between heads' outputs: not written
            CHECK(got_blocks[at] == -7.0f);
            CHECK(got_floats[at] == -7.0f);
            continue;
          }
          double want = 0.0;
          for (int64_t c = 0; c < cols; ++c) {
            want += static_cast<double>(dense[static_cast<std::size_t>(h)][static_cast<std::size_t>(r * cols + c)]) *
                    in[static_cast<std::size_t>(t * in_stride + h * in_head + c)];
          }
          scale = std::max(scale, std::fabs(want));
          worst_float = std::max(worst_float, std::fabs(got_floats[at] - want));
          worst_int8 = std::max(worst_int8, std::fabs(got_blocks[at] - want));
        }
      }
    }
    INFO("scale " << scale << ", float error " << worst_float << ", int8 error " << worst_int8);
    CHECK(worst_float < 1e-5 * scale);
    CHECK(worst_int8 < 2e-2 * scale);  // the activations' int8 rounding
  }
}
