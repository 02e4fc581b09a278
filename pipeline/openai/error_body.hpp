#pragma once
// OpenAI's error body: {"error": {"message", "type", "param", "code"}}, with code = the HTTP status
// (as vLLM reports it) and param = null when no single field is at fault.
#include <boost/json.hpp>
#include <string>

#include "pipeline/request/generation_event.hpp"

namespace troupe {

boost::json::object error_body(const ApiError& error);
std::string error_json(const ApiError& error);

}  // namespace troupe
