#include "pipeline/sampling/sampler.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "pipeline/sampling/truncated_distribution.hpp"

namespace troupe {

namespace {

[[noreturn]] void out_of_range(const char* field, const std::string& rule, double value) {
  throw std::invalid_argument(std::string(field) + " must be " + rule + ", got " + std::to_string(value));
}

}  // namespace

void validate_sampling_params(const SamplingParams& p) {
  if (!(p.temperature >= 0.0) || !std::isfinite(p.temperature)) out_of_range("temperature", "a finite number >= 0", p.temperature);
  if (!(p.top_p > 0.0 && p.top_p <= 1.0)) out_of_range("top_p", "in (0, 1]", p.top_p);
  if (!(p.min_p >= 0.0 && p.min_p <= 1.0)) out_of_range("min_p", "in [0, 1]", p.min_p);
  if (!(p.repetition_penalty > 0.0) || !std::isfinite(p.repetition_penalty)) {
    out_of_range("repetition_penalty", "a finite number > 0", p.repetition_penalty);
  }
  if (!(p.presence_penalty >= -2.0 && p.presence_penalty <= 2.0)) out_of_range("presence_penalty", "in [-2, 2]", p.presence_penalty);
  if (!(p.frequency_penalty >= -2.0 && p.frequency_penalty <= 2.0)) out_of_range("frequency_penalty", "in [-2, 2]", p.frequency_penalty);
  if (p.logprobs && (*p.logprobs < 0 || *p.logprobs > kMaxTopLogprobs)) {
    out_of_range("logprobs", "in [0, " + std::to_string(kMaxTopLogprobs) + "]", *p.logprobs);
  }
  if (p.prompt_logprobs && (*p.prompt_logprobs < 0 || *p.prompt_logprobs > kMaxTopLogprobs)) {
    out_of_range("prompt_logprobs", "in [0, " + std::to_string(kMaxTopLogprobs) + "]", *p.prompt_logprobs);
  }
}

SamplingParams choice_sampling(const SamplingParams& params, int choice) {
  SamplingParams out = params;
  if (out.seed) *out.seed += static_cast<uint64_t>(choice);
  return out;
}

int32_t argmax(std::span<const float> logits) {
  return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

double unit_uniform(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

uint64_t random_seed() {
  std::random_device device;
  return (static_cast<uint64_t>(device()) << 32) ^ device();
}

Sampler::Sampler(const SamplingParams& params) : params_(params), rng_(params.seed ? *params.seed : random_seed()) {}

int32_t Sampler::sample(std::span<const float> logits) {
  if (params_.greedy() || params_.top_k == 1) return argmax(logits);
  return draw(truncated_distribution(logits, params_), unit_uniform(rng_));
}

}  // namespace troupe
