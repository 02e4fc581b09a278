// Temperature, top-k, top-p and min-p: the exact candidate sets, and the frequencies of many
// seeded draws against the distribution they should follow.
#include <catch2/catch.hpp>
#include <cmath>
#include <map>
#include <numeric>
#include <random>

#include "pipeline/sampling/sequence_sampler.hpp"
#include "pipeline/sampling/truncated_distribution.hpp"

using namespace troupe;

namespace {

// Logits whose softmax at temperature 1 is exactly proportional to `probs`.
std::vector<float> logits_of(std::initializer_list<double> probs) {
  std::vector<float> out;
  for (double p : probs) out.push_back(static_cast<float>(std::log(p)));
  return out;
}

std::map<int32_t, int> counts_of(const SamplingParams& params, const std::vector<float>& logits, int draws) {
  SequenceSampler sampler(params, {});
  std::map<int32_t, int> counts;
  for (int i = 0; i < draws; ++i) ++counts[sampler.sample(logits)];
  return counts;
}

SamplingParams seeded(double temperature) {
  SamplingParams p;
  p.temperature = temperature;
  p.seed = 1234;
  return p;
}

// The distribution as a full sort of the vocabulary would give it: the reference for the
// progressive partial sort.
std::vector<int32_t> top_p_by_full_sort(const std::vector<float>& logits, double temperature, double top_p) {
  std::vector<double> probs(logits.size());
  const double max = *std::max_element(logits.begin(), logits.end());
  for (std::size_t i = 0; i < logits.size(); ++i) probs[i] = std::exp((logits[i] - max) / temperature);
  const double total = std::accumulate(probs.begin(), probs.end(), 0.0);
  std::vector<int32_t> ids(logits.size());
  std::iota(ids.begin(), ids.end(), 0);
  std::sort(ids.begin(), ids.end(), [&](int32_t a, int32_t b) { return probs[a] > probs[b] || (probs[a] == probs[b] && a < b); });
  std::vector<int32_t> kept;
  double above = 0.0;
  for (int32_t id : ids) {
    if (above >= top_p) break;
    kept.push_back(id);
    above += probs[id] / total;
  }
  std::sort(kept.begin(), kept.end());  // truncated_distribution lists candidates by id
  return kept;
}

}  // namespace

TEST_CASE("sampling: top-k keeps only the k best tokens over 2000 draws", "[sampling]") {
  const std::vector<float> logits{1.0f, 3.0f, 0.5f, 2.9f, -1.0f, 2.0f};
  SamplingParams p = seeded(1.5);
  p.top_k = 2;
  const auto counts = counts_of(p, logits, 2000);
  REQUIRE(counts.size() == 2);
  CHECK(counts.count(1) == 1);
  CHECK(counts.count(3) == 1);
  // Both survivors are drawn in proportion: exp(3/1.5) : exp(2.9/1.5), about 0.517 : 0.483.
  CHECK(counts.at(1) / 2000.0 == Approx(1.0 / (1.0 + std::exp(-0.1 / 1.5))).margin(0.05));
}

TEST_CASE("sampling: top-k keeps every token tied with the k-th", "[sampling]") {
  const std::vector<float> logits{1.0f, 2.0f, 2.0f, 0.0f};
  SamplingParams p = seeded(1.0);
  p.top_k = 1;
  const auto dist = truncated_distribution(logits, p);
  CHECK(dist.ids == std::vector<int32_t>{1, 2});
}

TEST_CASE("sampling: top-p keeps the smallest set reaching p, boundary on either side", "[sampling]") {
  const auto logits = logits_of({0.125, 0.5, 0.125, 0.25});  // best first: 1, 3, then 0 and 2 tied
  SamplingParams p = seeded(1.0);

  p.top_p = 0.75 - 1e-6;  // 1 and 3 reach it
  auto dist = truncated_distribution(logits, p);
  CHECK(dist.ids == std::vector<int32_t>{1, 3});
  CHECK(dist.probs[0] == Approx(2.0 / 3.0));

  p.top_p = 0.75 + 1e-6;  // needs one of the tied pair: the lower id (listed by id)
  dist = truncated_distribution(logits, p);
  CHECK(dist.ids == std::vector<int32_t>{0, 1, 3});

  p.top_p = 0.5 - 1e-6;  // the top token alone
  dist = truncated_distribution(logits, p);
  CHECK(dist.ids == std::vector<int32_t>{1});

  p.top_p = 1e-9;  // never empty
  CHECK(truncated_distribution(logits, p).ids == std::vector<int32_t>{1});

  p.top_p = 0.75 - 1e-6;
  const auto counts = counts_of(p, logits, 3000);
  REQUIRE(counts.size() == 2);
  CHECK(counts.at(1) / 3000.0 == Approx(2.0 / 3.0).margin(0.03));
}

TEST_CASE("sampling: top-p over a flat large vocabulary equals a full sort", "[sampling]") {
  // Flat enough that the cut lies far beyond the first sorted head of 64 candidates.
  std::mt19937 gen(7);
  std::normal_distribution<float> normal(0.0f, 0.3f);
  std::vector<float> logits(5000);
  for (float& x : logits) x = normal(gen);
  for (double top_p : {0.05, 0.5, 0.9, 0.999}) {
    INFO("top_p " << top_p);
    SamplingParams p = seeded(0.8);
    p.top_p = top_p;
    const auto dist = truncated_distribution(logits, p);
    CHECK(dist.ids == top_p_by_full_sort(logits, 0.8, top_p));
    CHECK(std::accumulate(dist.probs.begin(), dist.probs.end(), 0.0) == Approx(1.0));
  }
}

TEST_CASE("sampling: min-p drops tokens below min_p times the top probability", "[sampling]") {
  const auto logits = logits_of({0.125, 0.5, 0.125, 0.25});
  SamplingParams p = seeded(1.0);
  p.min_p = 0.3;  // floor 0.15: 0.125s go
  auto dist = truncated_distribution(logits, p);
  CHECK(dist.ids == std::vector<int32_t>{1, 3});
  CHECK(dist.probs[1] == Approx(1.0 / 3.0));

  p.min_p = 0.2;  // floor 0.1: all stay
  CHECK(truncated_distribution(logits, p).ids.size() == 4);

  p.min_p = 1.0;  // only the top token
  CHECK(truncated_distribution(logits, p).ids == std::vector<int32_t>{1});

  p.min_p = 0.3;
  const auto counts = counts_of(p, logits, 3000);
  REQUIRE(counts.size() == 2);
  CHECK(counts.at(3) / 3000.0 == Approx(1.0 / 3.0).margin(0.03));
}

TEST_CASE("sampling: min-p applies after top-p, relative to the top survivor", "[sampling]") {
  // 0.5, 0.3, 0.2: top-p 0.6 keeps {0, 1}; min-p 0.5 (floor 0.25 of the original scale, 0.3125
  // after renormalizing to 0.625) keeps 1 too. Applied first, min-p would drop 2 and leave top-p
  // with {0} alone (0.625 >= 0.6).
  const auto logits = logits_of({0.5, 0.3, 0.2});
  SamplingParams p = seeded(1.0);
  p.top_p = 0.6;
  p.min_p = 0.5;
  CHECK(truncated_distribution(logits, p).ids == std::vector<int32_t>{0, 1});
}

TEST_CASE("sampling: 20k draws at a temperature follow softmax(logits / T)", "[sampling]") {
  const std::vector<float> logits{0.3f, -0.5f, 1.2f, 0.9f, -2.0f, 0.0f};
  for (double temperature : {0.7, 1.0, 2.5}) {
    INFO("temperature " << temperature);
    std::vector<double> expected(logits.size());
    double total = 0.0;
    for (std::size_t i = 0; i < logits.size(); ++i) total += expected[i] = std::exp(logits[i] / temperature);
    const int draws = 20000;
    const auto counts = counts_of(seeded(temperature), logits, draws);
    for (std::size_t i = 0; i < logits.size(); ++i) {
      const double p = expected[i] / total;
      const double seen = counts.count(static_cast<int32_t>(i)) ? counts.at(static_cast<int32_t>(i)) / double(draws) : 0.0;
      // Four standard deviations of a binomial proportion.
      CHECK(std::abs(seen - p) < 4.0 * std::sqrt(p * (1 - p) / draws) + 1e-3);
    }
  }
}

TEST_CASE("sampling: after top-p, candidates are listed by id, so a uniform value maps to a token as on the device", "[sampling]") {
  // Best first would be 1 (0.5), 3 (0.25), 0 (0.125); by id the cumulative walk is 0, 1, 3.
  const auto logits = logits_of({0.125, 0.5, 0.125, 0.25});
  SamplingParams p = seeded(1.0);
  p.top_p = 0.8;
  const auto dist = truncated_distribution(logits, p);
  REQUIRE(dist.ids == std::vector<int32_t>{0, 1, 3});
  CHECK(draw(dist, 0.0) == 0);           // [0, 1/7)
  CHECK(draw(dist, 0.15) == 1);          // [1/7, 5/7)
  CHECK(draw(dist, 5.0 / 7.0 + 1e-9) == 3);
}

TEST_CASE("sampling: draw walks the cumulative probabilities", "[sampling]") {
  TruncatedDistribution dist{{7, 3, 9}, {0.5, 0.25, 0.25}};
  CHECK(draw(dist, 0.0) == 7);
  CHECK(draw(dist, 0.4999) == 7);
  CHECK(draw(dist, 0.5) == 3);
  CHECK(draw(dist, 0.7499) == 3);
  CHECK(draw(dist, 0.75) == 9);
  CHECK(draw(dist, 0.9999999) == 9);
}

TEST_CASE("sampling: the generate CLI's Sampler stays greedy at temperature 0 and reproducible with a seed", "[sampling]") {
  const std::vector<float> logits{0.1f, 0.4f, 0.4f, -1.0f};
  Sampler greedy(SamplingParams{});
  CHECK(greedy.sample(logits) == 1);
  CHECK(argmax(logits) == 1);

  Sampler a(seeded(1.0)), b(seeded(1.0));
  for (int i = 0; i < 50; ++i) CHECK(a.sample(logits) == b.sample(logits));
}
