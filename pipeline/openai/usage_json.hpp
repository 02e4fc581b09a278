#pragma once
#include <boost/json.hpp>

#include "pipeline/request/generation_event.hpp"

namespace troupe {

// {"prompt_tokens", "completion_tokens", "total_tokens", "prompt_tokens_details": {"cached_tokens"}}
boost::json::object usage_json(const Usage& usage);

// The finish_reason / stop_reason pair of a choice: null while it is still running.
boost::json::value finish_reason_json(const std::optional<FinishReason>& finish);
boost::json::value stop_reason_json(const std::optional<StopReason>& stop_reason);

// A list of token ids (vLLM's token_ids / prompt_token_ids with return_token_ids).
boost::json::array token_ids_json(const std::vector<int32_t>& ids);

}  // namespace troupe
