#include "pipeline/sampling/logit_rules.hpp"

#include <algorithm>
#include <cmath>

namespace troupe {

namespace {

// vLLM's _apply_bad_words_single_batch: a word of n tokens bans its last token when the last
// n - 1 generated tokens are its first n - 1; a one-token word is banned always.
void apply_bad_words(std::span<float> logits, const std::vector<std::vector<int32_t>>& words,
                     std::span<const int32_t> output) {
  const auto vocab = static_cast<int64_t>(logits.size());
  for (const std::vector<int32_t>& word : words) {
    if (word.empty() || word.size() > output.size() + 1) continue;
    const std::size_t prefix = word.size() - 1;
    if (!std::equal(word.begin(), word.begin() + static_cast<std::ptrdiff_t>(prefix), output.end() - static_cast<std::ptrdiff_t>(prefix))) {
      continue;
    }
    const int32_t last = word.back();
    if (last >= 0 && last < vocab) logits[static_cast<std::size_t>(last)] = -INFINITY;
  }
}

}  // namespace

TokenBitmask make_allowed_mask(std::span<const int32_t> ids, int32_t vocab) {
  TokenBitmask mask(vocab);
  for (int32_t id : ids) {
    if (id >= 0 && id < vocab) mask.set(id);
  }
  return mask;
}

void apply_logit_rules(std::span<float> logits, const LogitRules& rules, const TokenBitmask& allowed,
                       std::span<const int32_t> output) {
  if (!rules.allowed_token_ids.empty()) apply_token_mask(logits, allowed);
  if (!rules.bad_words.empty()) apply_bad_words(logits, rules.bad_words, output);
  const auto vocab = static_cast<int64_t>(logits.size());
  for (const auto& [id, bias] : rules.logit_bias) {
    if (id >= 0 && id < vocab) logits[static_cast<std::size_t>(id)] += bias;
  }
}

}  // namespace troupe
