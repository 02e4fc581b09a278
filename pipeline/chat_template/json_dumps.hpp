#pragma once
// Python's json.dumps, which is what Hugging Face's `tojson` filter calls:
// json.dumps(x, ensure_ascii=False, indent=indent, separators=separators, sort_keys=sort_keys).
// Byte-exact output matters: tool schemas are rendered into the prompt with it.
#include <optional>
#include <string>

#include "pipeline/chat_template/value.hpp"

namespace troupe::jinja {

struct JsonDumpOptions {
  bool ensure_ascii = false;
  std::optional<std::string> indent;  // json.dumps indent: an int n becomes n spaces
  std::optional<std::string> item_separator;  // default ", " (or "," when indent is given)
  std::optional<std::string> key_separator;   // default ": "
  bool sort_keys = false;
};

std::string json_dumps(const Value& value, const JsonDumpOptions& options);

}  // namespace troupe::jinja
