#pragma once
// JSON Schema (the subset that tool definitions and structured-output clients use) compiled to a
// grammar whose every string is a JSON document valid against the schema.
//
// Supported: type (one or a list), enum, const, properties, required, additionalProperties
// (false, true or a schema), items, prefixItems (and draft-4 tuple items/additionalItems),
// minItems, maxItems, minLength, maxLength, pattern, format (date, time, date-time, uuid, email,
// ipv4, hostname, uri; other formats are annotations and ignored), minimum, maximum,
// exclusiveMinimum, exclusiveMaximum (integer-valued bounds for numbers), anyOf, oneOf (as anyOf),
// allOf (merged), $ref into the document ($defs, definitions, any JSON pointer; recursion
// allowed), nullable (OpenAPI), and annotations (title, description, default, examples, ...).
// Assertions it cannot enforce are rejected with GrammarError naming the keyword and its place,
// rather than ignored (see docs/API.md).
//
// Generation choices (each output still validates): properties in schema order; properties not
// in `properties` only when additionalProperties allows them explicitly, or when the object
// schema has no 'properties' keyword at all ({"type": "object"} is a free-form object);
// prefixItems arrays with all prefix items; digit counts capped (number_grammar.hpp); strings
// written in canonical escaped form.
#include <string>
#include <string_view>

#include <boost/json/value.hpp>

#include "pipeline/structured_output/grammar.hpp"

namespace troupe::structured_output {

struct JsonGrammarOptions {
  // Whitespace between JSON tokens. Flexible (the default): at each place JSON allows whitespace,
  // llama.cpp's bound — nothing, one space, or one or two newlines and up to kMaxIndentation
  // spaces and tabs of indentation (a small model given 20 characters of any whitespace spent
  // most of its tokens on blanks). Compact: none except the separators ", " and ": " (vLLM's
  // disable_any_whitespace). A non-empty `whitespace_pattern` (a regex) replaces the flexible rule.
  bool any_whitespace = true;
  std::string whitespace_pattern;
};

inline constexpr int32_t kMaxIndentation = 20;

// Throws GrammarError for invalid JSON, a schema that is not an object or boolean, an unsupported
// keyword, an unresolvable $ref, or a schema no value satisfies.
Grammar json_schema_grammar(std::string_view schema_json, const JsonGrammarOptions& options = {});
Grammar json_schema_grammar(const boost::json::value& schema, const JsonGrammarOptions& options = {});

// Any JSON object (response_format {"type": "json_object"}).
Grammar json_object_grammar(const JsonGrammarOptions& options = {});

}  // namespace troupe::structured_output
