#pragma once
// Log-probabilities reported to the client for a generated token. They come from the model's raw
// logits (log-softmax before penalties and temperature), as vLLM reports by default, so they
// describe the model rather than the sampling settings.
#include <cstdint>
#include <span>
#include <vector>

namespace troupe {

struct TokenIdLogprob {
  int32_t token_id = 0;
  float logprob = 0.0f;
};

struct TokenLogprobs {
  int32_t token_id = 0;             // the token that was chosen
  float logprob = 0.0f;             // its log-probability (natural log)
  std::vector<TokenIdLogprob> top;  // the top_n most likely tokens, best first, lower id first on ties
  int64_t rank = 1;                 // tokens at least as likely as it, itself included (vLLM's rank)
};

// Log-softmax of `raw_logits` at `token` and its rank, plus the `top_n` most likely tokens (clamped
// to the vocabulary). Computed in double precision. Throws std::invalid_argument for a token outside the
// row or top_n < 0.
TokenLogprobs compute_logprobs(std::span<const float> raw_logits, int32_t token, int top_n);

}  // namespace troupe
