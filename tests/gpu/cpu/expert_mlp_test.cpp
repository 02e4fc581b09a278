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

namespace {

MoeSpec routing(int64_t experts, int64_t top_k, bool normalize) {
  MoeSpec moe;
  moe.num_experts = experts;
  moe.experts_per_token = top_k;
  moe.normalize_top_k = normalize;
  return moe;
}

}  // namespace

TEST_CASE("route_tokens picks each token's most probable experts and weighs them", "[gpu][cpu][moe]") {
  // Token 0: logits ln 1, ln 2, ln 3, ln 4 → probabilities 0.1, 0.2, 0.3, 0.4. Token 1 prefers expert 0.
  const std::vector<float> logits{0.0f, std::log(2.0f), std::log(3.0f), std::log(4.0f),  //
                                  5.0f, 1.0f, 0.0f, 1.0f};
  std::vector<cpu::ExpertRoute> routes;
  cpu::route_tokens(logits.data(), 2, 4, routing(4, 2, /*normalize=*/false), nullptr, routes);
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
  cpu::route_tokens(logits.data(), 2, 4, routing(4, 2, /*normalize=*/true), nullptr, routes);
  CHECK(routes[3].weights[0] == Approx(0.4 / 0.7));
  CHECK(routes[2].weights[0] == Approx(0.3 / 0.7));
  CHECK(routes[0].weights[0] + routes[1].weights[0] == Approx(1.0));

  // Every expert chosen by every token: the weights are the softmax itself; routes are reused.
  cpu::route_tokens(logits.data(), 2, 4, routing(4, 4, /*normalize=*/false), nullptr, routes);
  for (const auto& r : routes) CHECK_THAT(r.tokens, Equals(std::vector<int32_t>{0, 1}));
  CHECK(routes[1].weights[0] == Approx(0.2));
}

TEST_CASE("route_tokens ranks groups by their two best experts (DeepSeek-V3) or their best one (DeepSeek-V2)",
          "[gpu][cpu][moe]") {
  // Probabilities 0.4, 0.05 | 0.275, 0.275: the first group has the best expert, the second the
  // best pair.
  const std::vector<float> logits{std::log(0.4f), std::log(0.05f), std::log(0.275f), std::log(0.275f)};
  MoeSpec moe = routing(4, 1, /*normalize=*/false);
  moe.groups = 2;
  moe.groups_chosen = 1;
  std::vector<cpu::ExpertRoute> routes;
  cpu::route_tokens(logits.data(), 1, 4, moe, nullptr, routes);
  CHECK_THAT(routes[2].tokens, Equals(std::vector<int32_t>{0}));  // the pair's group; the lower index of the tie
  CHECK(routes[0].tokens.empty());
  moe.group_top = 1;
  cpu::route_tokens(logits.data(), 1, 4, moe, nullptr, routes);
  CHECK_THAT(routes[0].tokens, Equals(std::vector<int32_t>{0}));
  CHECK(routes[0].weights[0] == Approx(0.4));
  CHECK(routes[2].tokens.empty());
}

TEST_CASE("route_tokens keeps large logits finite", "[gpu][cpu][moe]") {
  const std::vector<float> logits{1000.0f, 999.0f, -1000.0f};
  std::vector<cpu::ExpertRoute> routes;
  cpu::route_tokens(logits.data(), 1, 3, routing(3, 1, /*normalize=*/true), nullptr, routes);
  CHECK(routes[0].weights[0] == 1.0f);
  CHECK(routes[1].tokens.empty());
}

TEST_CASE("route_tokens routes as DeepSeek-V3 and GLM-4.5: sigmoid scores, a selection bias, groups, a scale",
          "[gpu][cpu][moe]") {
  // Six experts in three groups of two. Scores σ(logit): 0.5, σ(1), σ(2), σ(-1), σ(3), σ(0.5).
  const std::vector<float> logits{0.0f, 1.0f, 2.0f, -1.0f, 3.0f, 0.5f};
  const auto s = [](double x) { return 1.0 / (1.0 + std::exp(-x)); };
  MoeSpec moe = routing(6, 2, /*normalize=*/true);
  moe.sigmoid_scores = true;
  moe.weights_scale = 2.5;
  std::vector<cpu::ExpertRoute> routes;
  // No groups, no bias: experts 4 and 2, weights renormalized, times 2.5.
  cpu::route_tokens(logits.data(), 1, 6, moe, nullptr, routes);
  CHECK_THAT(routes[4].tokens, Equals(std::vector<int32_t>{0}));
  CHECK_THAT(routes[2].tokens, Equals(std::vector<int32_t>{0}));
  CHECK(routes[4].weights[0] == Approx(2.5 * s(3) / (s(3) + s(2))));
  // The selection bias picks expert 3 over 2 (σ(-1) + 1 > σ(2)) but its weight is its own score.
  const std::vector<float> bias{0.0f, 0.0f, 0.0f, 1.0f, 0.0f, 0.0f};
  cpu::route_tokens(logits.data(), 1, 6, moe, bias.data(), routes);
  CHECK(routes[2].tokens.empty());
  REQUIRE(routes[3].tokens.size() == 1);
  CHECK(routes[3].weights[0] == Approx(2.5 * s(-1) / (s(-1) + s(3))));
  // Groups {0,1} {2,3} {4,5}, one chosen: group scores s(0)+s(1), s(2)+s(-1), s(3)+s(0.5): the last,
  // so experts 4 and 5 though expert 2 outscores 5. Unnormalized: the scores times the scale.
  moe.groups = 3;
  moe.groups_chosen = 1;
  moe.normalize_top_k = false;
  cpu::route_tokens(logits.data(), 1, 6, moe, nullptr, routes);
  CHECK(routes[2].tokens.empty());
  CHECK_THAT(routes[5].tokens, Equals(std::vector<int32_t>{0}));
  CHECK(routes[5].weights[0] == Approx(2.5 * s(0.5)));
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
