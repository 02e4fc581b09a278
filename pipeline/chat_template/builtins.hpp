#pragma once
// Jinja's built-in behaviour that does not depend on the template being rendered: attribute and item
// lookup (with Python's methods on str and dict), slicing, filters and tests. Names not listed here are
// rejected by the parser, so a template using them fails at construction instead of rendering wrongly.
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "pipeline/chat_template/value.hpp"

namespace troupe::jinja {

// Reads call arguments by position or keyword, like a Python signature; rejects unknown ones.
class ArgumentReader {
 public:
  // `parameters` lists the parameter names in positional order.
  ArgumentReader(std::string_view function, const CallArgs& args, std::initializer_list<std::string_view> parameters);
  const Value* get(std::string_view parameter) const;  // null when not passed
  Value get_or(std::string_view parameter, Value fallback) const;
  const Value& require(std::string_view parameter) const;

 private:
  std::string function_;
  const CallArgs& args_;
  std::vector<std::string_view> parameters_;
};

Value get_attribute(const Value& object, const std::string& name);  // jinja2 getattr: attribute, then item
Value get_item(const Value& object, const Value& key);              // jinja2 getitem: item, then attribute
Value get_slice(const Value& object, const std::optional<std::int64_t>& start,
                const std::optional<std::int64_t>& stop, const std::optional<std::int64_t>& step);
// Python iteration: list items, dict keys, string characters; Undefined iterates as empty.
List iterate(const Value& value);
// Python len(): strings in code points.
std::int64_t python_len(const Value& value);
// Python `in`.
bool contains(const Value& container, const Value& item);

bool has_filter(std::string_view name);
Value apply_filter(std::string_view name, const Value& input, const CallArgs& args);

bool has_test(std::string_view name);
bool apply_test(std::string_view name, const Value& input, const CallArgs& args);

}  // namespace troupe::jinja
