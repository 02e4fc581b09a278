#pragma once
// /v1/chat/completions responses: the whole "chat.completion" object and its streaming chunks.
#include <boost/json.hpp>

#include "pipeline/openai/response_accumulator.hpp"
#include "pipeline/openai/response_identity.hpp"

namespace troupe {

boost::json::object chat_response(const ResponseIdentity& identity, const ResponseAccumulator& result,
                                  bool with_logprobs);

// One "chat.completion.chunk" for one choice's delta. `first` (the choice's first chunk) adds
// role "assistant" to the delta, as OpenAI does.
boost::json::object chat_chunk(const ResponseIdentity& identity, const ChoiceDelta& delta, bool with_logprobs,
                               bool first);

}  // namespace troupe
