// On-device sampling against pipeline/sampling: greedy equals argmax (lowest id on ties), the
// chosen token's logprob equals compute_logprobs, every draw lies in truncated_distribution's
// kept set, draw frequencies follow its probabilities, and a uniform value u picks the token the
// host's draw() picks with the same u.
#if TROUPE_WITH_CUDA
#include <algorithm>
#include <random>
#include <set>

#include "pipeline/sampling/token_logprobs.hpp"
#include "pipeline/sampling/truncated_distribution.hpp"
#include "tests/gpu/cuda/cuda_test_support.hpp"

using namespace troupe;
using namespace troupe::test;

namespace {

struct Draws {
  std::vector<int32_t> tokens;
  std::vector<float> logprobs;
};

// Samples `rows` rows that all hold `logits`, row r with params[r].
Draws sample(const std::vector<float>& logits, const std::vector<cuda::RowSampling>& params) {
  const auto vocab = static_cast<int64_t>(logits.size());
  const auto rows = static_cast<int64_t>(params.size());
  std::vector<float> all;
  for (int64_t r = 0; r < rows; ++r) all.insert(all.end(), logits.begin(), logits.end());
  const auto logits_dev = to_device(all);
  const auto params_dev = to_device(params);
  auto tokens = poisoned<int32_t>(params.size());
  auto logprobs = poisoned<float>(params.size());
  cuda::sample_rows(logits_dev.as<float>(), rows, vocab, vocab, params_dev.as<cuda::RowSampling>(), tokens.as<int32_t>(),
                    logprobs.as<float>(), nullptr);
  return {from_device<int32_t>(tokens), from_device<float>(logprobs)};
}

// Uniform draws in [0, 1), as SequenceSampler::next_uniform gives them.
std::vector<double> uniforms(std::size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<double> u(n);
  for (double& x : u) x = unit_uniform(rng);
  return u;
}

SamplingParams host_params(const cuda::RowSampling& p) {
  SamplingParams s;
  s.temperature = p.temperature;
  s.top_k = p.top_k;
  s.top_p = p.top_p;
  s.min_p = p.min_p;
  return s;
}

}  // namespace

TEST_CASE("cuda: greedy sampling is the argmax with the lowest id on ties and its logprob", "[gpu][cuda]") {
  TROUPE_REQUIRE_CUDA_DEVICE();
  for (const int64_t vocab : {1000, 50001}) {
    auto logits = random_floats(static_cast<std::size_t>(vocab), 31, -10.0f, 10.0f);
    const float top = *std::max_element(logits.begin(), logits.end()) + 1.0f;
    logits[static_cast<std::size_t>(vocab - 3)] = top;  // a tie: the lower id must win
    logits[static_cast<std::size_t>(vocab / 2)] = top;
    const Draws d = sample(logits, std::vector<cuda::RowSampling>(3, cuda::RowSampling{0.0f, 0, 1.0f, 0.0f, 0.7}));
    const auto want = compute_logprobs(logits, static_cast<int32_t>(vocab / 2), 0);
    for (std::size_t r = 0; r < 3; ++r) {
      CHECK(d.tokens[r] == vocab / 2);
      CHECK(d.logprobs[r] == Approx(want.logprob).margin(1e-4));  // float32 log-sum-exp vs double
    }
  }
}

TEST_CASE("cuda: sampled tokens stay inside the truncated distribution", "[gpu][cuda]") {
  TROUPE_REQUIRE_CUDA_DEVICE();
  const int64_t vocab = 50001;
  const auto logits = random_floats(static_cast<std::size_t>(vocab), 32, -8.0f, 8.0f);
  const std::vector<cuda::RowSampling> cases{
      {0.8f, 1, 1.0f, 0.0f, 0},    {1.0f, 40, 1.0f, 0.0f, 0},  {0.7f, 0, 0.9f, 0.0f, 0},
      {1.3f, 0, 1.0f, 0.05f, 0},   {1.0f, 500, 0.8f, 0.1f, 0}, {0.5f, 0, 0.3f, 0.0f, 0},
  };
  for (const auto& c : cases) {
    INFO("T " << c.temperature << " top_k " << c.top_k << " top_p " << c.top_p << " min_p " << c.min_p);
    const TruncatedDistribution dist = truncated_distribution(logits, host_params(c));
    const std::set<int32_t> kept(dist.ids.begin(), dist.ids.end());
    std::vector<cuda::RowSampling> rows(512, c);
    const auto u = uniforms(rows.size(), 1000);
    for (std::size_t r = 0; r < rows.size(); ++r) rows[r].u = u[r];
    const Draws d = sample(logits, rows);
    std::size_t outside = 0;
    for (int32_t t : d.tokens) outside += kept.count(t) == 0;
    CHECK(outside == 0);
  }
}

TEST_CASE("cuda: draw frequencies follow the host's truncated probabilities", "[gpu][cuda]") {
  TROUPE_REQUIRE_CUDA_DEVICE();
  const int64_t vocab = 3001;
  auto logits = random_floats(static_cast<std::size_t>(vocab), 33, -4.0f, 4.0f);
  const cuda::RowSampling params{0.7f, 6, 0.95f, 0.0f, 0};
  const TruncatedDistribution dist = truncated_distribution(logits, host_params(params));
  constexpr int kDraws = 8192;
  std::vector<cuda::RowSampling> rows(kDraws, params);
  const auto u = uniforms(kDraws, 77);
  for (int r = 0; r < kDraws; ++r) rows[r].u = u[static_cast<std::size_t>(r)];
  const Draws d = sample(logits, rows);
  for (std::size_t i = 0; i < dist.ids.size(); ++i) {
    const auto hits = std::count(d.tokens.begin(), d.tokens.end(), dist.ids[i]);
    const double freq = static_cast<double>(hits) / kDraws;
    INFO("token " << dist.ids[i] << " p " << dist.probs[i] << " freq " << freq);
    // Binomial standard deviation is at most 0.5 / sqrt(8192) = 0.0055; 0.03 is over 5 sigma.
    CHECK(std::fabs(freq - dist.probs[i]) < 0.03);
  }
}

TEST_CASE("cuda: a uniform value draws the token the host's draw() draws with it", "[gpu][cuda]") {
  TROUPE_REQUIRE_CUDA_DEVICE();
  // Flat logits (many candidates, small probabilities) and a peaked row, under every cut. The
  // device sums float32 weights, the host double probabilities: a u within rounding of a
  // boundary between two candidates may go either way, so a few disagreements are allowed and
  // each must be such a boundary case (the neighbouring candidate).
  const int64_t vocab = 32000;
  for (const float spread : {1.0f, 12.0f}) {
    const auto logits = random_floats(static_cast<std::size_t>(vocab), 35, -spread, spread);
    for (const cuda::RowSampling c : {cuda::RowSampling{1.0f, 0, 1.0f, 0.0f, 0}, cuda::RowSampling{0.8f, 50, 1.0f, 0.0f, 0},
                                      cuda::RowSampling{1.0f, 0, 0.9f, 0.0f, 0}, cuda::RowSampling{1.2f, 0, 1.0f, 0.02f, 0}}) {
      INFO("spread " << spread << " T " << c.temperature << " top_k " << c.top_k << " top_p " << c.top_p << " min_p "
                     << c.min_p);
      const TruncatedDistribution dist = truncated_distribution(logits, host_params(c));
      std::vector<cuda::RowSampling> rows(1024, c);
      const auto u = uniforms(rows.size(), 4242);
      for (std::size_t r = 0; r < rows.size(); ++r) rows[r].u = u[r];
      const Draws d = sample(logits, rows);
      int disagreements = 0;
      for (std::size_t r = 0; r < rows.size(); ++r) {
        const int32_t want = draw(dist, u[r]);
        if (d.tokens[r] == want) continue;
        ++disagreements;
        const auto at = std::find(dist.ids.begin(), dist.ids.end(), want) - dist.ids.begin();
        const auto got = std::find(dist.ids.begin(), dist.ids.end(), d.tokens[r]) - dist.ids.begin();
        CHECK(std::abs(at - got) == 1);  // a neighbour across a rounding boundary
      }
      CHECK(disagreements <= 4);
    }
  }
}
#endif  // TROUPE_WITH_CUDA
