#include "pipeline/sampling/sequence_sampler.hpp"

#include <cmath>
#include <stdexcept>

#include "pipeline/sampling/truncated_distribution.hpp"

namespace troupe {

SequenceSampler::SequenceSampler(const SamplingParams& params, std::span<const int32_t> prompt,
                                 std::span<const int32_t> output_so_far)
    : params_(params), history_(prompt), rng_(params.seed ? *params.seed : random_seed()) {
  validate_sampling_params(params_);
  if (params_.logit_rules && params_.logit_rules->empty()) params_.logit_rules.reset();
  for (int32_t token : output_so_far) add_output(token);
  if (!params_.greedy()) rng_.discard(output_so_far.size());
}

void SequenceSampler::add_output(int32_t token) {
  history_.add_output(token);
  if (params_.logit_rules && !params_.logit_rules->bad_words.empty()) output_.push_back(token);
}

std::span<const float> SequenceSampler::processed(std::span<const float> logits) {
  const LogitRules* rules = params_.logit_rules.get();
  const bool penalties = has_penalties(params_);
  if (rules == nullptr && !penalties) return logits;
  processed_.assign(logits.begin(), logits.end());
  if (rules != nullptr) {
    const auto vocab = static_cast<int32_t>(logits.size());
    if (!rules->allowed_token_ids.empty() && allowed_mask_.size() != vocab) {
      allowed_mask_ = make_allowed_mask(rules->allowed_token_ids, vocab);
    }
    apply_logit_rules(processed_, *rules, allowed_mask_, output_);
  }
  if (penalties) apply_penalties(processed_, params_, history_);
  return processed_;
}

int32_t SequenceSampler::sample(std::span<const float> logits) {
  const std::span<const float> row = processed(logits);
  // Only the rules ban tokens outright (-inf); with every token banned there is nothing to draw,
  // and a softmax over nothing is no distribution.
  if (params_.logit_rules && !row.empty() && row[static_cast<std::size_t>(argmax(row))] == -INFINITY) {
    throw std::runtime_error(
        "no token can be generated: allowed_token_ids and bad_words (with the structured-output constraint, if any) "
        "exclude every token");
  }
  const int32_t token =
      params_.greedy() ? argmax(row) : draw(truncated_distribution(row, params_), unit_uniform(rng_));
  add_output(token);
  return token;
}

bool SequenceSampler::can_sample_on_device() const {
  // A grammar masks the logits on the host before every draw (the device sampler takes no mask),
  // and the logit rules are applied on the host as well.
  return !has_penalties(params_) && (!params_.logprobs || *params_.logprobs == 0) && !params_.grammar &&
         !params_.logit_rules;
}

double SequenceSampler::next_uniform() { return params_.greedy() ? 0.0 : unit_uniform(rng_); }

}  // namespace troupe
