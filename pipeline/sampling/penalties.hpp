#pragma once
// Repetition, presence and frequency penalties, and the token history they read. Order and
// meaning follow vLLM: the repetition penalty first (over prompt and output tokens), then the
// frequency penalty, then the presence penalty (both over output tokens only), all on the raw
// logits before temperature.
#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

#include "pipeline/sampling/sampler.hpp"

namespace troupe {

// What a sequence has seen: the distinct ids of its prompt and how often each id occurs in its
// output. Sparse, so a step costs O(prompt + output) rather than O(vocabulary).
class TokenHistory {
 public:
  TokenHistory() = default;
  explicit TokenHistory(std::span<const int32_t> prompt);

  void add_output(int32_t token);
  int64_t output_count(int32_t token) const;
  bool in_prompt(int32_t token) const;
  int64_t output_length() const { return output_length_; }
  const std::vector<int32_t>& prompt_tokens() const { return prompt_; }  // sorted, distinct
  const std::unordered_map<int32_t, int64_t>& output_counts() const { return output_counts_; }

 private:
  std::vector<int32_t> prompt_;
  std::unordered_map<int32_t, int64_t> output_counts_;
  int64_t output_length_ = 0;
};

// Whether any penalty of `params` changes logits.
bool has_penalties(const SamplingParams& params);

// Applies the penalties of `params` to `logits` in place, in float32 arithmetic. Ids of the
// history outside the row are ignored.
void apply_penalties(std::span<float> logits, const SamplingParams& params, const TokenHistory& history);

}  // namespace troupe
