#pragma once
// Log-probabilities in the two shapes OpenAI uses.
#include <boost/json.hpp>
#include <cstdint>
#include <vector>

#include "pipeline/request/generation_event.hpp"

namespace troupe {

// Completions: {"tokens", "token_logprobs", "top_logprobs": [{token: logprob}], "text_offset"}.
// text_offset counts characters (code points) of the choice's text before each token, starting
// at `first_offset`; the offset after the last token is returned through `next_offset`.
boost::json::object completion_logprobs(const std::vector<TokenLogprob>& tokens, int64_t first_offset,
                                        int64_t* next_offset = nullptr);

// Chat: {"content": [{"token", "logprob", "bytes", "top_logprobs": [{"token", "logprob", "bytes"}]}]}.
boost::json::object chat_logprobs(const std::vector<TokenLogprob>& tokens);

// vLLM's prompt_logprobs: [null, {"<id>": {"logprob", "rank", "decoded_token"}, ...}, ...], the
// first prompt token's null (it has no context).
boost::json::array prompt_logprobs_json(const PromptLogprobs& positions);

// JSON has no -inf: a logprob that underflowed is reported as -9999.0, as vLLM does.
double json_logprob(float logprob);

}  // namespace troupe
