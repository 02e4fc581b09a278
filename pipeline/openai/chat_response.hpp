#pragma once
// /v1/chat/completions responses in vLLM's shapes: the whole "chat.completion" object, and the
// pieces of a stream (the role chunk each choice starts with, then content / tool-call deltas).
#include <boost/json.hpp>
#include <optional>

#include "pipeline/openai/response_accumulator.hpp"
#include "pipeline/openai/response_options.hpp"
#include "pipeline/tool_calls/tool_call.hpp"

namespace troupe {

boost::json::object chat_response(const ResponseOptions& options, const ResponseAccumulator& result);

// The envelope of one chunk: id, object "chat.completion.chunk", created, model, choices.
boost::json::object chat_chunk_envelope(const ResponseIdentity& identity, boost::json::array choices);

// A chunk's `delta` object: role (first chunk only), content and tool_calls as present.
boost::json::object chat_delta_json(const MessageDelta& delta, bool plain_text);

// A tool call of a whole message: {"id", "type": "function", "function": {"name", "arguments"}}.
boost::json::object tool_call_json(const ToolCall& call);

// The finish_reason a chat choice reports: "tool_calls" when the model ended (eos / stop) after
// calling tools in "auto" or "required" mode; otherwise the engine's reason. A named function's
// call keeps "stop", as in OpenAI's API.
boost::json::value chat_finish_reason(const std::optional<FinishReason>& finish, const ToolCallMode& mode, bool called);

}  // namespace troupe
