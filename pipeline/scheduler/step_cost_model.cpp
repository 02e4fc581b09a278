#include "pipeline/scheduler/step_cost_model.hpp"

#include <algorithm>

namespace troupe {

namespace {

void blend(std::optional<double>& average, double sample) {
  average = average ? (1.0 - StepCostModel::kSmoothing) * *average + StepCostModel::kSmoothing * sample : sample;
}

}  // namespace

void StepCostModel::observe(int64_t prefill_tokens, int64_t decode_tokens, double seconds) {
  if (seconds < 0 || prefill_tokens < 0 || decode_tokens < 0) return;
  blend(per_step_, seconds);
  if (prefill_tokens == 0) {
    if (decode_tokens > 0) blend(per_decode_token_, seconds / static_cast<double>(decode_tokens));
    return;
  }
  // The decodes' share cannot be taken out before a decode-only step was seen.
  if (decode_tokens > 0 && !per_decode_token_) return;
  const double decode_share = per_decode_token_.value_or(0.0) * static_cast<double>(decode_tokens);
  prompt_samples_.emplace_back(static_cast<double>(prefill_tokens), std::max(0.0, seconds - decode_share));
  if (prompt_samples_.size() > kWindow) prompt_samples_.pop_front();
}

std::optional<StepCostModel::PromptCost> StepCostModel::prompt_cost() const {
  if (prompt_samples_.empty()) return std::nullopt;
  double sum_p = 0, sum_t = 0;
  double min_p = prompt_samples_.front().first, max_p = min_p;
  for (const auto& [p, t] : prompt_samples_) {
    sum_p += p;
    sum_t += t;
    min_p = std::min(min_p, p);
    max_p = std::max(max_p, p);
  }
  const auto n = static_cast<double>(prompt_samples_.size());
  const PromptCost average{0.0, sum_t / sum_p, false, min_p, max_p};
  // Too little spread in p to separate the fixed cost from the per-token one: all per token.
  if (max_p < 1.5 * min_p) return average;
  const double mean_p = sum_p / n, mean_t = sum_t / n;
  double cov = 0, var = 0;
  for (const auto& [p, t] : prompt_samples_) {
    cov += (p - mean_p) * (t - mean_t);
    var += (p - mean_p) * (p - mean_p);
  }
  double per_token = cov / var;
  double fixed = mean_t - per_token * mean_p;
  if (per_token <= 0) return average;  // noise: the plain average is still an honest cost
  if (fixed < 0) {  // no fixed cost to speak of: the line through the origin
    double pt = 0, pp = 0;
    for (const auto& [p, t] : prompt_samples_) {
      pt += p * t;
      pp += p * p;
    }
    return PromptCost{0.0, pt / pp, true, min_p, max_p};
  }
  return PromptCost{fixed, per_token, true, min_p, max_p};
}

}  // namespace troupe
