#include "pipeline/sampling/sequence_sampler.hpp"

#include "pipeline/sampling/truncated_distribution.hpp"

namespace troupe {

SequenceSampler::SequenceSampler(const SamplingParams& params, std::span<const int32_t> prompt,
                                 std::span<const int32_t> output_so_far)
    : params_(params), history_(prompt), rng_(params.seed ? *params.seed : random_seed()) {
  validate_sampling_params(params_);
  for (int32_t token : output_so_far) history_.add_output(token);
  if (!params_.greedy()) rng_.discard(output_so_far.size());
}

int32_t SequenceSampler::sample(std::span<const float> logits) {
  std::span<const float> row = logits;
  if (has_penalties(params_)) {
    penalized_.assign(logits.begin(), logits.end());
    apply_penalties(penalized_, params_, history_);
    row = penalized_;
  }
  const int32_t token =
      params_.greedy() ? argmax(row) : draw(truncated_distribution(row, params_), unit_uniform(rng_));
  history_.add_output(token);
  return token;
}

bool SequenceSampler::can_sample_on_device() const {
  return !has_penalties(params_) && (!params_.logprobs || *params_.logprobs == 0);
}

double SequenceSampler::next_uniform() { return params_.greedy() ? 0.0 : unit_uniform(rng_); }

}  // namespace troupe
