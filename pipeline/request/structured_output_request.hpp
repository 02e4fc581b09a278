#pragma once
// What a request constrains its output to, as the API asked for it (response_format, vLLM's
// structured-output fields, or a tool_choice that forces a call). Plain data: turning it into a
// token-level matcher is pipeline/structured_output's business.
#include <string>
#include <vector>

namespace troupe {

struct StructuredOutputRequest {
  enum class Kind {
    JsonObject,  // any JSON object (response_format {"type": "json_object"})
    JsonSchema,  // a JSON value valid against `text`, a JSON Schema document
    Regex,       // text matching the regular expression `text`
    Choice,      // exactly one of `choices`
  };
  Kind kind = Kind::JsonObject;
  std::string text;                  // the schema (serialized JSON) or the regex
  std::vector<std::string> choices;  // Kind::Choice
};

}  // namespace troupe
