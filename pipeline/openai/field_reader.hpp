#pragma once
// Typed, range-checked access to the fields of one JSON request object. Every accessor returns
// nullopt / nullptr when the field is absent or JSON null (clients send null for "unset"), and
// throws ApiException (400, param = the field) when it is present with the wrong type or out of
// range. Unknown fields are never looked at, so they are ignored as the OpenAI API ignores them.
#include <boost/json.hpp>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace troupe {

// Inclusive or exclusive bounds for a number, and how to say them in an error message.
struct NumberRange {
  double min = -std::numeric_limits<double>::infinity();
  double max = std::numeric_limits<double>::infinity();
  bool min_exclusive = false;
  std::string describe() const;  // "between 0 and 2", "greater than 0", ...
};

class FieldReader {
 public:
  explicit FieldReader(const boost::json::object& body) : body_(body) {}

  // The field's value, or nullptr when absent or null.
  const boost::json::value* find(std::string_view name) const;

  std::optional<bool> boolean(std::string_view name) const;
  std::optional<int64_t> integer(std::string_view name, int64_t min, int64_t max) const;
  std::optional<double> number(std::string_view name, const NumberRange& range) const;
  std::optional<std::string> string(std::string_view name) const;
  const boost::json::object* object(std::string_view name) const;
  const boost::json::array* array(std::string_view name) const;
  // A string or an array of strings, as OpenAI's `stop` field.
  std::optional<std::vector<std::string>> string_or_strings(std::string_view name) const;
  // An array of integers in [min, max].
  std::optional<std::vector<int64_t>> integers(std::string_view name, int64_t min, int64_t max) const;

 private:
  const boost::json::object& body_;
};

// JSON type names as the error messages use them ("a string", "an integer", ...).
std::string_view json_kind_name(const boost::json::value& value);
// An integral JSON number (an int, or a double with no fractional part) as int64.
std::optional<int64_t> as_integer(const boost::json::value& value);

}  // namespace troupe
