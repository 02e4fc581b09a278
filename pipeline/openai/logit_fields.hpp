#pragma once
// The fields that change which tokens may be drawn, shared by both generation endpoints:
// OpenAI's `logit_bias` and vLLM's `allowed_token_ids` and `bad_words`. Validation follows OpenAI
// for the bias range (a 400 outside [-100, 100], where vLLM clamps) and vLLM for the rest, with
// vLLM's messages: keys that are not token ids, ids outside the model's vocabulary, an empty
// allowed list, empty bad words.
#include <string>
#include <vector>

#include "pipeline/openai/api_context.hpp"
#include "pipeline/openai/field_reader.hpp"
#include "pipeline/request/generation_request.hpp"

namespace troupe {

// logit_bias and allowed_token_ids become request.sampling.logit_rules; bad_words are kept as text
// in request.bad_words, since only the model's tokenizer can turn them into token sequences.
void read_logit_fields(const FieldReader& fields, const ApiContext& context, GenerationRequest& request);

// vLLM's message for token ids outside the vocabulary of `vocab` ids (0: unknown), which lists
// them as Python does: "token_id(s) [49152] in logit_bias contain out-of-vocab token ids.
// Vocabulary size: 49152".
std::string out_of_vocabulary_message(std::string_view field, const std::vector<int64_t>& ids, int64_t vocab);

}  // namespace troupe
