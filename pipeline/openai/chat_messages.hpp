#pragma once
// Validation of OpenAI chat `messages` (and `tools`) before they reach the chat template.
#include <boost/json.hpp>

namespace troupe {

// Checks every message (role system / developer / user / assistant / tool; content a string, an
// array of {"type":"text","text"} parts, or null on an assistant message; tool_calls only on
// assistant messages) and returns the conversation as vLLM hands it to the chat template, which
// is what apply_chat_template is then given: text parts joined by "\n", an assistant's null
// content as "", tool-call arguments (JSON strings in the API) parsed into objects, empty
// tool_calls dropped, and only role, content, tool_calls, reasoning / reasoning_content,
// tool_call_id and name kept. Throws ApiException with param "messages[i]...".
boost::json::array normalize_messages(const boost::json::array& messages);

// Checks OpenAI `tools`: each {"type":"function","function":{"name": string, ...}}.
void validate_tools(const boost::json::array& tools);

}  // namespace troupe
