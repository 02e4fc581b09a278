#pragma once
// Fields that /v1/completions and /v1/chat/completions share: model, sampling, penalties, stop
// conditions, n, streaming and seed. Each endpoint's parser calls these, then reads its own fields.
#include "pipeline/openai/api_context.hpp"
#include "pipeline/openai/field_reader.hpp"
#include "pipeline/request/generation_request.hpp"

namespace troupe {

// `model`: optional (vLLM serves its one model when it is absent); a name other than the served
// one is a 404.
std::string read_model(const FieldReader& fields, const ApiContext& context);

// temperature, top_p, top_k, min_p, seed, presence/frequency/repetition penalties.
void read_sampling_fields(const FieldReader& fields, SamplingParams& sampling);

// stop, stop_token_ids, ignore_eos, min_tokens, include_stop_str_in_output; and the explicit
// max_tokens if one was given under any of `max_token_names` (the first present wins). The lists
// are bounded (request_limits.hpp); stop ids must be in the vocabulary when its size is known.
void read_stop_fields(const FieldReader& fields, const ApiContext& context, StopCriteria& stop,
                      std::initializer_list<std::string_view> max_token_names, int64_t default_max_tokens);

// n, stream, stream_options.include_usage, user.
void read_delivery_fields(const FieldReader& fields, GenerationRequest& request);


// Known OpenAI/vLLM fields that would change the output if honoured, which troupe does not
// implement: best_of (other than n). Ignoring it silently would answer a different question than
// the one asked, so it is a 400.
void reject_unsupported_fields(const FieldReader& fields, const GenerationRequest& request);

// vLLM's truncate_prompt_tokens: -1 (the context length) or N <= max_model_len.
void read_prompt_truncation(const FieldReader& fields, const ApiContext& context, GenerationRequest& request);

// vLLM's prompt_logprobs (0-20 alternatives per prompt token; not with stream). Read after the
// request's logprobs and echo, whose prompt logprobs it shares (the larger top-N is computed).
void read_prompt_logprobs(const FieldReader& fields, GenerationRequest& request);

}  // namespace troupe
