#pragma once
// The sampling state of one sequence (one choice of a request) across its decode steps: the
// parameters, the random stream seeded from the request's seed, and the token history the
// penalties read. Each step: penalties → temperature → top-k → top-p → min-p → draw.
#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "pipeline/sampling/penalties.hpp"
#include "pipeline/sampling/sampler.hpp"

namespace troupe {

class SequenceSampler {
 public:
  // `params` should already be the choice's own (choice_sampling) so that choices of a seeded
  // request differ. `output_so_far` resumes a sequence (after preemption): its tokens enter the
  // history, and as many draws are skipped on the random stream as non-greedy steps would have
  // made, so a seeded sequence continues exactly as if it had never been interrupted.
  // Throws std::invalid_argument for parameters validate_sampling_params rejects.
  SequenceSampler(const SamplingParams& params, std::span<const int32_t> prompt,
                  std::span<const int32_t> output_so_far = {});

  // Picks the next token from one row of raw logits and records it in the output history.
  // Greedy parameters return the argmax of the penalized logits and consume no randomness;
  // otherwise exactly one value of the random stream is used per call.
  int32_t sample(std::span<const float> logits);

  const SamplingParams& params() const { return params_; }
  const TokenHistory& history() const { return history_; }
  bool wants_logprobs() const { return params_.logprobs.has_value(); }

 private:
  SamplingParams params_;
  TokenHistory history_;
  std::mt19937_64 rng_;
  std::vector<float> penalized_;  // scratch row, reused between steps
};

}  // namespace troupe
