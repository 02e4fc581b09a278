#pragma once
// POST /v1/completions body → GenerationRequest (Endpoint::Completions).
#include <string_view>

#include "pipeline/openai/api_context.hpp"
#include "pipeline/request/generation_request.hpp"

namespace troupe {

// `prompt` may be a string, an array of token ids, or an array of prompts (strings or arrays of
// token ids): a batch, whose choices are numbered prompt * n + choice. A batch of one is a single
// prompt. Throws ApiException. The id and arrival are left for the caller to set.
GenerationRequest parse_completion_request(std::string_view body, const ApiContext& context);

}  // namespace troupe
