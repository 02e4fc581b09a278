#pragma once
// The request fields that constrain output to a format: OpenAI's response_format, vLLM's
// structured_outputs object, and vLLM's older guided_* fields (still sent by many clients). They
// become GenerationRequest::structured_output; the constraint is compiled here once, without a
// vocabulary, so that an unsupported schema keyword or a bad regex is a 400 before the request is
// queued.
#include "pipeline/openai/api_context.hpp"
#include "pipeline/openai/field_reader.hpp"
#include "pipeline/request/generation_request.hpp"

namespace troupe {

// Throws ApiException (400) for a malformed field, more than one constraint, or a constraint that
// cannot be compiled. response_format wins over structured_outputs' constraint (as in vLLM), whose
// whitespace options still apply; a constraint already set by a forced tool call (read before
// this) wins over both, and is checked here too (param "tools").
void read_structured_output_fields(const FieldReader& fields, const ApiContext& context, GenerationRequest& request);

}  // namespace troupe
