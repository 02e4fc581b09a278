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
    Grammar,     // text of the context-free grammar `text` (GBNF / EBNF, as llama.cpp and xgrammar write it)
  };
  Kind kind = Kind::JsonObject;
  std::string text;                  // the schema (serialized JSON), the regex or the grammar
  std::vector<std::string> choices;  // Kind::Choice

  // JSON kinds: whitespace between tokens. vLLM's disable_any_whitespace: only the separators
  // ", " and ": ". A non-empty whitespace_pattern (a regex) replaces the default whitespace rule.
  bool disable_any_whitespace = false;
  std::string whitespace_pattern;

  // One string that identifies the constraint, for caches of compiled grammars.
  std::string cache_key() const {
    std::string key(1, static_cast<char>('0' + static_cast<int>(kind)));
    key += disable_any_whitespace ? '1' : '0';
    key += std::to_string(whitespace_pattern.size()) + ':' + whitespace_pattern;
    key += std::to_string(text.size()) + ':' + text;
    for (const std::string& c : choices) key += std::to_string(c.size()) + ':' + c;
    return key;
  }
};

}  // namespace troupe
