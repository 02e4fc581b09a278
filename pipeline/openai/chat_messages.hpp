#pragma once
// Validation of OpenAI chat `messages` (and `tools`) before they reach the chat template.
#include <boost/json.hpp>

namespace troupe {

// Checks every message (role system / developer / user / assistant / tool; content a string, an
// array of {"type":"text","text"} parts, or null on an assistant message; tool_calls only on
// assistant messages) and returns them with text-part arrays joined into one string by "\n",
// since chat templates expect string content. Other keys (name, tool_call_id, ...) pass through.
// Throws ApiException with param "messages[i]...".
boost::json::array normalize_messages(const boost::json::array& messages);

// Checks OpenAI `tools`: each {"type":"function","function":{"name": string, ...}}.
void validate_tools(const boost::json::array& tools);

}  // namespace troupe
