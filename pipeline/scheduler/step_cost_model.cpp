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
  if (prefill_tokens < kMinPrefillTokensToLearn) return;
  const double decode_share = per_decode_token_.value_or(0.0) * static_cast<double>(decode_tokens);
  blend(per_prefill_token_, std::max(0.0, seconds - decode_share) / static_cast<double>(prefill_tokens));
}

}  // namespace troupe
