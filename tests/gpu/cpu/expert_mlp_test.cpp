// The router's choice of experts (route_tokens), against probabilities worked out by hand. The
// experts' arithmetic is checked end to end against transformers (reference_models_test.cpp).
#include <catch2/catch.hpp>
#include <cmath>

#include <algorithm>
#include <utility>
#include <vector>

#include "gpu/cpu/cpu_kernels.hpp"
#include "gpu/cpu/expert_mlp.hpp"

using namespace troupe;
using Catch::Matchers::Equals;

TEST_CASE("route_tokens picks each token's most probable experts and weighs them", "[gpu][cpu][moe]") {
  // Token 0: logits ln 1, ln 2, ln 3, ln 4 → probabilities 0.1, 0.2, 0.3, 0.4. Token 1 prefers expert 0.
  const std::vector<float> logits{0.0f, std::log(2.0f), std::log(3.0f), std::log(4.0f),  //
                                  5.0f, 1.0f, 0.0f, 1.0f};
  std::vector<cpu::ExpertRoute> routes;
  cpu::route_tokens(logits.data(), 2, 4, 2, /*normalize=*/false, routes);
  REQUIRE(routes.size() == 4);
  CHECK_THAT(routes[3].tokens, Equals(std::vector<int32_t>{0}));
  CHECK(routes[3].weights[0] == Approx(0.4));
  CHECK_THAT(routes[2].tokens, Equals(std::vector<int32_t>{0}));
  CHECK(routes[2].weights[0] == Approx(0.3));
  // Token 1: expert 0, then a tie between 1 and 3 that the lower index wins.
  CHECK_THAT(routes[0].tokens, Equals(std::vector<int32_t>{1}));
  CHECK_THAT(routes[1].tokens, Equals(std::vector<int32_t>{1}));
  CHECK(routes[3].tokens.size() == 1);
  const double z = std::exp(5.0) + 2 * std::exp(1.0) + 1.0;
  CHECK(routes[0].weights[0] == Approx(std::exp(5.0) / z));

  // Renormalized: the chosen probabilities sum to 1 (0.4 / 0.7 and 0.3 / 0.7).
  cpu::route_tokens(logits.data(), 2, 4, 2, /*normalize=*/true, routes);
  CHECK(routes[3].weights[0] == Approx(0.4 / 0.7));
  CHECK(routes[2].weights[0] == Approx(0.3 / 0.7));
  CHECK(routes[0].weights[0] + routes[1].weights[0] == Approx(1.0));

  // Every expert chosen by every token: the weights are the softmax itself; routes are reused.
  cpu::route_tokens(logits.data(), 2, 4, 4, /*normalize=*/false, routes);
  for (const auto& r : routes) CHECK_THAT(r.tokens, Equals(std::vector<int32_t>{0, 1}));
  CHECK(routes[1].weights[0] == Approx(0.2));
}

TEST_CASE("route_tokens keeps large logits finite", "[gpu][cpu][moe]") {
  const std::vector<float> logits{1000.0f, 999.0f, -1000.0f};
  std::vector<cpu::ExpertRoute> routes;
  cpu::route_tokens(logits.data(), 1, 3, 1, /*normalize=*/true, routes);
  CHECK(routes[0].weights[0] == 1.0f);
  CHECK(routes[1].tokens.empty());
}

TEST_CASE("gpt-oss's clamped SwiGLU clamps the gate above and the up value both ways", "[gpu][cpu][moe]") {
  const auto want = [](double g, double u) {
    g = std::min(g, 7.0);
    u = std::clamp(u, -7.0, 7.0);
    return g / (1.0 + std::exp(-1.702 * g)) * (u + 1.0);
  };
  for (const auto& [g, u] : std::vector<std::pair<float, float>>{
           {2.0f, 1.0f}, {-3.0f, 0.5f}, {10.0f, 2.0f}, {6.5f, -9.0f}, {-20.0f, 8.0f}, {0.0f, 3.0f}, {1.5f, -1.0f}}) {
    INFO("g " << g << ", u " << u);
    CHECK(cpu::gated(g, u, troupe::Activation::SwigluOai) == Approx(want(g, u)).epsilon(1e-6).margin(1e-12));
  }
  // The other activations: act(g) · u.
  CHECK(cpu::gated(2.0f, 3.0f, troupe::Activation::Silu) == Approx(3.0 * 2.0 / (1.0 + std::exp(-2.0))));
}
