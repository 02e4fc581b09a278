#pragma once
// /v1/completions responses: the whole "text_completion" object and its streaming chunks.
#include <boost/json.hpp>

#include "pipeline/openai/response_accumulator.hpp"
#include "pipeline/openai/response_options.hpp"

namespace troupe {

boost::json::object completion_response(const ResponseOptions& options, const ResponseAccumulator& result);

// One chunk carrying one choice's delta. `text_offset` is that choice's running character offset
// for logprobs' text_offset; it is advanced past the delta's tokens.
boost::json::object completion_chunk(const ResponseIdentity& identity, const ChoiceDelta& delta, bool with_logprobs,
                                     int64_t& text_offset);

}  // namespace troupe
