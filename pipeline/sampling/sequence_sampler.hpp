#pragma once
// The sampling state of one sequence (one choice of a request) across its decode steps: the
// parameters, the random stream seeded from the request's seed, and the token history the
// penalties read. Each step: the request's logit rules (allowed ids, bad words, bias) → penalties →
// temperature → top-k → top-p → min-p → draw, vLLM's order.
#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "pipeline/sampling/logit_rules.hpp"
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
  // Greedy parameters return the argmax of the processed logits and consume no randomness;
  // otherwise exactly one value of the random stream is used per call. Throws std::runtime_error
  // when the logit rules (with a grammar mask already on the row) leave no token to draw.
  int32_t sample(std::span<const float> logits);

  // Drawing on the device (gpu/device_sampling.hpp) instead: true when such a draw is the one
  // sample() would make — no penalties (they need the token history on the host), no top
  // logprobs (only the chosen token's logprob comes back from the device), no grammar (its mask
  // is applied to the logits on the host) and no logit rules (bias, allowed ids and bad words are
  // applied on the host too; bad words need the output history).
  bool can_sample_on_device() const;
  // The uniform value in [0, 1) this step's draw uses, from the same stream sample() draws from,
  // so a seeded sequence draws the same tokens on either side; 0 (consuming nothing) when greedy.
  // Call it once per step, then record() the token the device chose.
  double next_uniform();
  void record(int32_t token) { add_output(token); }

  const SamplingParams& params() const { return params_; }
  const TokenHistory& history() const { return history_; }
  bool wants_logprobs() const { return params_.logprobs.has_value(); }

 private:
  void add_output(int32_t token);
  // The row sample() draws from: `logits` itself, or a processed copy in processed_.
  std::span<const float> processed(std::span<const float> logits);

  SamplingParams params_;
  TokenHistory history_;
  std::mt19937_64 rng_;
  std::vector<float> processed_;  // scratch row, reused between steps
  // The generated tokens in order, kept only when bad words need them (TokenHistory counts).
  std::vector<int32_t> output_;
  TokenBitmask allowed_mask_;  // logit_rules->allowed_token_ids over the row, built at the first step
};

}  // namespace troupe
