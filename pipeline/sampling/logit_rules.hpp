#pragma once
// A request's own edits to the logits before a token is drawn: OpenAI's `logit_bias` and vLLM's
// `allowed_token_ids` and `bad_words`. vLLM applies them, in this order, in its sampler after
// computing the logprobs it reports (its default logprobs mode is "raw_logprobs") and before the
// penalties; SequenceSampler does the same, so logprobs stay those of the model (after a grammar
// mask, which vLLM applies before its sampler) and only the draw sees these edits.
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "pipeline/sampling/token_mask.hpp"

namespace troupe {

struct LogitRules {
  // Only these ids may be drawn (vLLM's allowed_token_ids; the others get -inf). Empty: all may.
  std::vector<int32_t> allowed_token_ids;
  // The token sequences of the request's bad words, as vLLM tokenizes them (with and without a
  // leading space): the last token of each is banned (-inf) whenever the sequence's output so far
  // ends with the others.
  std::vector<std::vector<int32_t>> bad_words;
  // (token id, bias) pairs added to the logits (OpenAI's logit_bias), ids distinct.
  std::vector<std::pair<int32_t, float>> logit_bias;

  bool empty() const { return allowed_token_ids.empty() && bad_words.empty() && logit_bias.empty(); }
};

// Applies `rules` to one row of logits in vLLM's order: allowed ids, bad words, bias. `allowed` is
// the bitmask of rules.allowed_token_ids for this row's size (make_allowed_mask), unused when the
// list is empty; `output` is the sequence's generated tokens so far (bad words match against them,
// not the prompt, as vLLM's do). Ids outside the row are ignored.
void apply_logit_rules(std::span<float> logits, const LogitRules& rules, const TokenBitmask& allowed,
                       std::span<const int32_t> output);

// The bitmask of `ids` over a row of `vocab` logits (ids outside it are left out).
TokenBitmask make_allowed_mask(std::span<const int32_t> ids, int32_t vocab);

}  // namespace troupe
