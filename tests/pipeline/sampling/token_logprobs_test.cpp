// Logprobs are the log-softmax of the raw logits, computed directly here for comparison.
#include <catch2/catch.hpp>
#include <cmath>
#include <numeric>

#include "pipeline/sampling/token_logprobs.hpp"

using namespace troupe;

TEST_CASE("sampling: logprobs are the log-softmax of the raw logits", "[sampling]") {
  const std::vector<float> logits{1.5f, -0.25f, 3.0f, 3.0f, 0.0f, -7.0f, 2.25f, 0.5f};
  double sum = 0.0;
  for (float x : logits) sum += std::exp(static_cast<double>(x));
  auto direct = [&](int i) { return std::log(std::exp(static_cast<double>(logits[i])) / sum); };

  const auto lp = compute_logprobs(logits, 6, 8);
  CHECK(lp.token_id == 6);
  CHECK(lp.logprob == Approx(direct(6)).epsilon(1e-6));
  REQUIRE(lp.top.size() == 8);
  // Best first, the lower id first among the tied 3.0s.
  CHECK(lp.top[0].token_id == 2);
  CHECK(lp.top[1].token_id == 3);
  CHECK(lp.top[2].token_id == 6);
  CHECK(lp.top[7].token_id == 5);
  double mass = 0.0;
  for (const auto& t : lp.top) {
    CHECK(t.logprob == Approx(direct(t.token_id)).epsilon(1e-6));
    mass += std::exp(static_cast<double>(t.logprob));
  }
  CHECK(mass == Approx(1.0).epsilon(1e-6));
  // Rank as vLLM counts it: the tokens at least as likely, itself included (ties count).
  CHECK(lp.rank == 3);
  CHECK(compute_logprobs(logits, 2, 0).rank == 2);  // tied with id 3
  CHECK(compute_logprobs(logits, 5, 0).rank == 8);
}

TEST_CASE("sampling: logprobs of large logits do not overflow, top_n clamps to the vocabulary", "[sampling]") {
  const std::vector<float> logits{1000.0f, 999.0f, -1000.0f};
  const auto lp = compute_logprobs(logits, 0, 20);
  CHECK(lp.logprob == Approx(-std::log1p(std::exp(-1.0))));
  CHECK(lp.top.size() == 3);
  CHECK(std::isfinite(lp.top[2].logprob));
  CHECK(compute_logprobs(logits, 1, 0).top.empty());
  CHECK_THROWS_AS(compute_logprobs(logits, 3, 1), std::invalid_argument);
  CHECK_THROWS_AS(compute_logprobs(logits, 0, -1), std::invalid_argument);
}
