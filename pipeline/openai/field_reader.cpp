#include "pipeline/openai/field_reader.hpp"

#include <cmath>
#include <sstream>

#include "pipeline/openai/api_exception.hpp"

namespace troupe {

namespace {

std::string format_number(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

[[noreturn]] void wrong_type(std::string_view name, std::string_view expected, const boost::json::value& got) {
  throw_invalid("'" + std::string(name) + "' must be " + std::string(expected) + ", got " +
                    std::string(json_kind_name(got)) + ".",
                name);
}

}  // namespace

std::string NumberRange::describe() const {
  const bool has_min = std::isfinite(min);
  const bool has_max = std::isfinite(max);
  if (has_min && has_max && !min_exclusive) return "between " + format_number(min) + " and " + format_number(max);
  if (has_min && has_max) return "greater than " + format_number(min) + " and at most " + format_number(max);
  if (has_min) return (min_exclusive ? "greater than " : "at least ") + format_number(min);
  if (has_max) return "at most " + format_number(max);
  return "a finite number";
}

std::string_view json_kind_name(const boost::json::value& value) {
  switch (value.kind()) {
    case boost::json::kind::null: return "null";
    case boost::json::kind::bool_: return "a boolean";
    case boost::json::kind::int64:
    case boost::json::kind::uint64: return "an integer";
    case boost::json::kind::double_: return "a number";
    case boost::json::kind::string: return "a string";
    case boost::json::kind::array: return "an array";
    case boost::json::kind::object: return "an object";
  }
  return "a value";
}

std::optional<int64_t> as_integer(const boost::json::value& value) {
  if (value.is_int64()) return value.as_int64();
  if (value.is_uint64()) {
    if (value.as_uint64() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
    return static_cast<int64_t>(value.as_uint64());
  }
  if (value.is_double()) {
    // Pydantic (and so OpenAI/vLLM) accepts 5.0 for an integer field; 5.5 is an error.
    const double d = value.as_double();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.0e18) return static_cast<int64_t>(d);
  }
  return std::nullopt;
}

const boost::json::value* FieldReader::find(std::string_view name) const {
  const boost::json::value* value = body_.if_contains(name);
  if (value == nullptr || value->is_null()) return nullptr;
  return value;
}

std::optional<bool> FieldReader::boolean(std::string_view name) const {
  const boost::json::value* value = find(name);
  if (value == nullptr) return std::nullopt;
  if (!value->is_bool()) wrong_type(name, "a boolean", *value);
  return value->as_bool();
}

std::optional<int64_t> FieldReader::integer(std::string_view name, int64_t min, int64_t max) const {
  const boost::json::value* value = find(name);
  if (value == nullptr) return std::nullopt;
  const std::optional<int64_t> parsed = as_integer(*value);
  if (!parsed) {
    if (value->is_number()) {
      throw_invalid("'" + std::string(name) + "' must be an integer, got " + boost::json::serialize(*value) + ".",
                    name);
    }
    wrong_type(name, "an integer", *value);
  }
  if (*parsed < min || *parsed > max) {
    std::string range = max == std::numeric_limits<int64_t>::max()
                            ? "at least " + std::to_string(min)
                            : "between " + std::to_string(min) + " and " + std::to_string(max);
    throw_invalid("'" + std::string(name) + "' must be " + range + ", got " + std::to_string(*parsed) + ".", name);
  }
  return parsed;
}

std::optional<double> FieldReader::number(std::string_view name, const NumberRange& range) const {
  const boost::json::value* value = find(name);
  if (value == nullptr) return std::nullopt;
  if (!value->is_number()) wrong_type(name, "a number", *value);
  const double d = value->to_number<double>();
  const bool below = range.min_exclusive ? d <= range.min : d < range.min;
  if (!std::isfinite(d) || below || d > range.max) {
    throw_invalid("'" + std::string(name) + "' must be " + range.describe() + ", got " + format_number(d) + ".",
                  name);
  }
  return d;
}

std::optional<std::string> FieldReader::string(std::string_view name) const {
  const boost::json::value* value = find(name);
  if (value == nullptr) return std::nullopt;
  if (!value->is_string()) wrong_type(name, "a string", *value);
  return std::string(value->as_string());
}

const boost::json::object* FieldReader::object(std::string_view name) const {
  const boost::json::value* value = find(name);
  if (value == nullptr) return nullptr;
  if (!value->is_object()) wrong_type(name, "an object", *value);
  return &value->as_object();
}

const boost::json::array* FieldReader::array(std::string_view name) const {
  const boost::json::value* value = find(name);
  if (value == nullptr) return nullptr;
  if (!value->is_array()) wrong_type(name, "an array", *value);
  return &value->as_array();
}

std::optional<std::vector<std::string>> FieldReader::string_or_strings(std::string_view name) const {
  const boost::json::value* value = find(name);
  if (value == nullptr) return std::nullopt;
  if (value->is_string()) return std::vector<std::string>{std::string(value->as_string())};
  if (!value->is_array()) wrong_type(name, "a string or an array of strings", *value);
  std::vector<std::string> out;
  for (const boost::json::value& item : value->as_array()) {
    if (!item.is_string()) wrong_type(name, "a string or an array of strings", item);
    out.emplace_back(item.as_string());
  }
  return out;
}

std::optional<std::vector<int64_t>> FieldReader::integers(std::string_view name, int64_t min, int64_t max) const {
  const boost::json::value* value = find(name);
  if (value == nullptr) return std::nullopt;
  if (!value->is_array()) wrong_type(name, "an array of integers", *value);
  std::vector<int64_t> out;
  for (const boost::json::value& item : value->as_array()) {
    const std::optional<int64_t> parsed = as_integer(item);
    if (!parsed) wrong_type(name, "an array of integers", item);
    if (*parsed < min || *parsed > max) {
      throw_invalid("'" + std::string(name) + "' entries must be between " + std::to_string(min) + " and " +
                        std::to_string(max) + ", got " + std::to_string(*parsed) + ".",
                    name);
    }
    out.push_back(*parsed);
  }
  return out;
}

}  // namespace troupe
