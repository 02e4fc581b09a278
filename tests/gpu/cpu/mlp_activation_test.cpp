// The step between an MLP's projections: relu² (Nemotron-H's ungated MLPs), and the fused
// activation-then-quantization passes, which must give exactly the int8 rows that quantizing the
// separately computed activations gives (the int8 path of mlp_down).
#include <catch2/catch.hpp>

#include <cstring>
#include <random>
#include <vector>

#include "gpu/cpu/cpu_kernels.hpp"
#include "gpu/cpu/quantized_activations.hpp"
#include "gpu/cpu/thread_pool.hpp"

using namespace troupe;

namespace {

std::vector<float> random_values(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 2.0f);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

void require_same(const cpu::QuantizedActivations& a, const cpu::QuantizedActivations& b) {
  REQUIRE(a.rows() == b.rows());
  REQUIRE(a.cols() == b.cols());
  for (int64_t r = 0; r < a.rows(); ++r) {
    INFO("row " << r);
    CHECK(std::memcmp(a.q(r), b.q(r), static_cast<std::size_t>(a.cols())) == 0);
    CHECK(std::memcmp(a.d(r), b.d(r), static_cast<std::size_t>(a.blocks_per_row()) * sizeof(float)) == 0);
    CHECK(std::memcmp(a.s(r), b.s(r), static_cast<std::size_t>(a.blocks_per_row()) * sizeof(float)) == 0);
  }
}

}  // namespace

TEST_CASE("relu² is max(x, 0)², applied without a gate", "[gpu][cpu][kernels]") {
  CHECK(cpu::activate(3.0f, Activation::ReluSquared) == 9.0f);
  CHECK(cpu::activate(-3.0f, Activation::ReluSquared) == 0.0f);
  CHECK(cpu::activate(0.5f, Activation::ReluSquared) == 0.25f);
  const std::vector<float> x{-1.0f, 2.0f, 0.0f, 1.5f};
  std::vector<float> out(4);
  cpu::ungated_activation(x.data(), out.data(), 2, 2, Activation::ReluSquared);
  CHECK(out == std::vector<float>{0.0f, 4.0f, 0.0f, 2.25f});
}

TEST_CASE("the fused activation and quantization passes equal quantizing the activations", "[gpu][cpu][kernels]") {
  cpu::ThreadPool pool(2);
  // Row counts on both sides of the size past which the passes split over the pool.
  for (const int64_t rows : {int64_t{3}, int64_t{160}}) {
    const int64_t inter = 128;
    INFO("rows " << rows);
    const std::vector<float> gate_up = random_values(static_cast<std::size_t>(rows * 2 * inter), 7);
    for (const Activation act : {Activation::Silu, Activation::GeluTanh, Activation::SwigluOai}) {
      std::vector<float> activated(static_cast<std::size_t>(rows * inter));
      cpu::gated_activation(gate_up.data(), activated.data(), rows, inter, act, &pool);
      cpu::QuantizedActivations fused, separate;
      cpu::gated_activation_quantize(gate_up.data(), rows, inter, act, fused, &pool);
      cpu::quantize_activations(activated.data(), rows, inter, inter, separate, &pool);
      require_same(fused, separate);
    }
    const std::vector<float> up(gate_up.begin(), gate_up.begin() + rows * inter);
    std::vector<float> activated(up.size());
    cpu::ungated_activation(up.data(), activated.data(), rows, inter, Activation::ReluSquared, &pool);
    cpu::QuantizedActivations fused, separate;
    cpu::ungated_activation_quantize(up.data(), rows, inter, Activation::ReluSquared, fused, &pool);
    cpu::quantize_activations(activated.data(), rows, inter, inter, separate, &pool);
    require_same(fused, separate);
  }
}
