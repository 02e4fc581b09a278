#pragma once
// `tools`, `tool_choice` and `parallel_tool_calls` of a chat request, read as vLLM reads them:
//   - tools without tool_choice (or tool_choice null) mean "auto";
//   - "auto" parses the model's tool calls in the server's format (--tool-call-parser, else the
//     one its chat template uses, pipeline/tool_calls/tool_call_mode.hpp); a model without one
//     answers in text (GenerationRequest::auto_tools_as_text, counted); --disable-auto-tool-choice
//     makes "auto" a 400, as vLLM is without --enable-auto-tool-choice;
//   - "required" and a named function constrain decoding to a JSON schema (vLLM's: an array of
//     {"name", "parameters"} objects with minItems 1, or the function's parameters), carried in
//     GenerationRequest::structured_output;
//   - "none" renders the tools into the prompt but leaves the output as plain text;
//   - "required" with an empty tools list behaves as "none" (OpenAI's behaviour, which vLLM copies).
#include <boost/json.hpp>
#include <string>

#include "pipeline/openai/api_context.hpp"
#include "pipeline/openai/field_reader.hpp"
#include "pipeline/request/generation_request.hpp"

namespace troupe {

void read_tool_fields(const FieldReader& fields, const ApiContext& context, GenerationRequest& request);

// The JSON schema vLLM constrains tool_choice "required" to (serialized): every tool's
// parameters `$defs` are hoisted to the top level. Throws ApiException when two tools define the
// same $defs name differently.
std::string required_tool_calls_schema(const boost::json::array& tools);

}  // namespace troupe
