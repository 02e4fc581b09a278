// Per-sequence random streams: a seed reproduces, choices of one request differ, a resumed
// sequence continues as if never interrupted, and bad parameters are refused.
#include <catch2/catch.hpp>
#include <cmath>

#include "pipeline/sampling/sequence_sampler.hpp"

using namespace troupe;

namespace {

// A different, fixed row of logits for each step, so a run depends on the step index only.
std::vector<float> logits_at(int step) {
  std::vector<float> row(50);
  for (int i = 0; i < 50; ++i) row[i] = static_cast<float>(std::sin(0.37 * i + 1.3 * step) * 2.0);
  return row;
}

std::vector<int32_t> run(SequenceSampler& sampler, int from, int to) {
  std::vector<int32_t> out;
  for (int step = from; step < to; ++step) out.push_back(sampler.sample(logits_at(step)));
  return out;
}

SamplingParams creative() {
  SamplingParams p;
  p.temperature = 1.0;
  p.top_p = 0.95;
  p.top_k = 40;
  p.presence_penalty = 0.3;
  p.repetition_penalty = 1.1;
  p.seed = 42;
  return p;
}

}  // namespace

TEST_CASE("sampling: the same seed gives the same sequence, other seeds other sequences", "[sampling]") {
  const std::vector<int32_t> prompt{3, 4, 5};
  SequenceSampler a(creative(), prompt), b(creative(), prompt);
  const auto first = run(a, 0, 64);
  CHECK(first == run(b, 0, 64));

  SequenceSampler other_choice(choice_sampling(creative(), 1), prompt);
  CHECK(run(other_choice, 0, 64) != first);
  CHECK(*choice_sampling(creative(), 3).seed == 45);
  CHECK_FALSE(choice_sampling(SamplingParams{}, 3).seed.has_value());
}

TEST_CASE("sampling: a sequence resumed from its output continues the same stream", "[sampling]") {
  const std::vector<int32_t> prompt{1, 2};
  SequenceSampler whole(creative(), prompt);
  const auto full = run(whole, 0, 40);

  const std::vector<int32_t> head(full.begin(), full.begin() + 25);
  SequenceSampler resumed(creative(), prompt, head);
  CHECK(resumed.history().output_length() == 25);
  CHECK(run(resumed, 25, 40) == std::vector<int32_t>(full.begin() + 25, full.end()));
}

TEST_CASE("sampling: unseeded samplers draw from different streams", "[sampling]") {
  SamplingParams p;
  p.temperature = 1.0;
  SequenceSampler a(p, {}), b(p, {});
  CHECK(run(a, 0, 64) != run(b, 0, 64));  // equal only with probability about 50^-64
}

TEST_CASE("sampling: out-of-range parameters are refused with the field's name", "[sampling]") {
  auto refused = [](auto change) {
    SamplingParams p;
    change(p);
    try {
      validate_sampling_params(p);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  CHECK_THAT(refused([](SamplingParams& p) { p.temperature = -0.1; }), Catch::Contains("temperature"));
  CHECK_THAT(refused([](SamplingParams& p) { p.top_p = 0.0; }), Catch::Contains("top_p"));
  CHECK_THAT(refused([](SamplingParams& p) { p.min_p = 1.5; }), Catch::Contains("min_p"));
  CHECK_THAT(refused([](SamplingParams& p) { p.repetition_penalty = 0.0; }), Catch::Contains("repetition_penalty"));
  CHECK_THAT(refused([](SamplingParams& p) { p.presence_penalty = 2.5; }), Catch::Contains("presence_penalty"));
  CHECK_THAT(refused([](SamplingParams& p) { p.frequency_penalty = -3; }), Catch::Contains("frequency_penalty"));
  CHECK_THAT(refused([](SamplingParams& p) { p.logprobs = 21; }), Catch::Contains("logprobs"));
  CHECK(refused([](SamplingParams& p) { p.logprobs = 20; }).empty());
  CHECK_THROWS_AS(SequenceSampler(SamplingParams{.top_p = 2.0}, {}), std::invalid_argument);
}
