#pragma once
// POST /v1/chat/completions body → GenerationRequest (Endpoint::ChatCompletions).
#include <string_view>

#include "pipeline/openai/api_context.hpp"
#include "pipeline/request/generation_request.hpp"

namespace troupe {

// max_completion_tokens (or the older max_tokens) when given; otherwise
// stop.max_tokens = kMaxTokensFromContext. logprobs (bool) + top_logprobs (0-20) become
// request.logprobs = top_logprobs. Throws ApiException. The id and arrival are left for the caller.
GenerationRequest parse_chat_request(std::string_view body, const ApiContext& context);

}  // namespace troupe
