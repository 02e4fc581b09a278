#include "pipeline/sampling/penalties.hpp"

#include <algorithm>

namespace troupe {

TokenHistory::TokenHistory(std::span<const int32_t> prompt) : prompt_(prompt.begin(), prompt.end()) {
  std::sort(prompt_.begin(), prompt_.end());
  prompt_.erase(std::unique(prompt_.begin(), prompt_.end()), prompt_.end());
}

void TokenHistory::add_output(int32_t token) {
  ++output_counts_[token];
  ++output_length_;
}

int64_t TokenHistory::output_count(int32_t token) const {
  const auto it = output_counts_.find(token);
  return it == output_counts_.end() ? 0 : it->second;
}

bool TokenHistory::in_prompt(int32_t token) const { return std::binary_search(prompt_.begin(), prompt_.end(), token); }

bool has_penalties(const SamplingParams& params) {
  return params.repetition_penalty != 1.0 || params.presence_penalty != 0.0 || params.frequency_penalty != 0.0;
}

void apply_penalties(std::span<float> logits, const SamplingParams& params, const TokenHistory& history) {
  const auto vocab = static_cast<int64_t>(logits.size());
  auto in_row = [vocab](int32_t id) { return id >= 0 && id < vocab; };

  if (params.repetition_penalty != 1.0) {
    const auto penalty = static_cast<float>(params.repetition_penalty);
    // Each id once, whether it occurs in the prompt, the output, or both.
    auto penalize = [&](int32_t id) {
      float& x = logits[static_cast<std::size_t>(id)];
      x = x > 0.0f ? x / penalty : x * penalty;
    };
    for (int32_t id : history.prompt_tokens()) {
      if (in_row(id)) penalize(id);
    }
    for (const auto& [id, count] : history.output_counts()) {
      if (in_row(id) && !history.in_prompt(id)) penalize(id);
    }
  }
  if (params.frequency_penalty != 0.0 || params.presence_penalty != 0.0) {
    const auto frequency = static_cast<float>(params.frequency_penalty);
    const auto presence = static_cast<float>(params.presence_penalty);
    for (const auto& [id, count] : history.output_counts()) {
      if (!in_row(id)) continue;
      float& x = logits[static_cast<std::size_t>(id)];
      x -= frequency * static_cast<float>(count);
      x -= presence;
    }
  }
}

}  // namespace troupe
