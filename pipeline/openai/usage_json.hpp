#pragma once
#include <boost/json.hpp>

#include "pipeline/request/generation_event.hpp"

namespace troupe {

// {"prompt_tokens", "completion_tokens", "total_tokens", "prompt_tokens_details": {"cached_tokens"}}
boost::json::object usage_json(const Usage& usage);

// The finish_reason / stop_reason pair of a choice: null while it is still running.
boost::json::value finish_reason_json(const std::optional<FinishReason>& finish);
boost::json::value stop_reason_json(const std::optional<StopReason>& stop_reason);

}  // namespace troupe
