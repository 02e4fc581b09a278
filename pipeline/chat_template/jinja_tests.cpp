// Jinja tests (`x is defined`, `x is string`, ...) with jinja2's semantics.
#include <algorithm>

#include "pipeline/chat_template/builtins.hpp"
#include "pipeline/chat_template/python_text.hpp"

namespace troupe::jinja {
namespace {

constexpr std::string_view kTests[] = {
    "defined", "undefined", "none", "boolean", "true", "false", "integer", "float", "number", "string",
    "mapping", "iterable", "sequence", "callable", "sameas", "eq", "equalto", "==", "ne", "!=", "lt",
    "lessthan", "<", "le", "<=", "gt", "greaterthan", ">", "ge", ">=", "in", "odd", "even", "divisibleby",
    "lower", "upper"};

const Value& only_argument(std::string_view test, const CallArgs& args) {
  ArgumentReader reader(test, args, {"other"});
  return reader.require("other");
}

std::int64_t integer_of(const Value& value, std::string_view test) {
  if (value.kind() == Value::Kind::integer) return value.as_int();
  if (value.kind() == Value::Kind::boolean) return value.as_bool();
  throw RenderFault("the '" + std::string(test) + "' test needs an integer, got " + value.type_name());
}

}  // namespace

bool has_test(std::string_view name) {
  return std::find(std::begin(kTests), std::end(kTests), name) != std::end(kTests);
}

bool apply_test(std::string_view name, const Value& input, const CallArgs& args) {
  using Kind = Value::Kind;
  auto no_arguments = [&] { ArgumentReader reader(name, args, {}); };
  if (name == "defined") return no_arguments(), !input.is_undefined();
  if (name == "undefined") return no_arguments(), input.is_undefined();
  if (name == "none") return no_arguments(), input.is_none();
  if (name == "boolean") return no_arguments(), input.kind() == Kind::boolean;
  if (name == "true") return no_arguments(), input.kind() == Kind::boolean && input.as_bool();
  if (name == "false") return no_arguments(), input.kind() == Kind::boolean && !input.as_bool();
  if (name == "integer") return no_arguments(), input.kind() == Kind::integer;
  if (name == "float") return no_arguments(), input.kind() == Kind::real;
  if (name == "number") return no_arguments(), input.is_number();
  if (name == "string") return no_arguments(), input.is_string();
  if (name == "mapping") return no_arguments(), input.is_dict();
  if (name == "iterable")
    return no_arguments(), input.is_list_or_tuple() || input.is_dict() || input.is_string() || input.is_undefined() ||
                               input.is_iterator();
  if (name == "sequence") return no_arguments(), input.is_list_or_tuple() || input.is_dict() || input.is_string();
  if (name == "callable") return no_arguments(), input.kind() == Kind::callable;
  if (name == "sameas") return input.same_object(only_argument(name, args));
  if (name == "eq" || name == "equalto" || name == "==") return input == only_argument(name, args);
  if (name == "ne" || name == "!=") return !(input == only_argument(name, args));
  if (name == "lt" || name == "lessthan" || name == "<") return python_less(input, only_argument(name, args));
  if (name == "le" || name == "<=") return !python_less(only_argument(name, args), input);
  if (name == "gt" || name == "greaterthan" || name == ">") return python_less(only_argument(name, args), input);
  if (name == "ge" || name == ">=") return !python_less(input, only_argument(name, args));
  if (name == "in") return contains(only_argument(name, args), input);
  if (name == "odd") return no_arguments(), integer_of(input, name) % 2 != 0;
  if (name == "even") return no_arguments(), integer_of(input, name) % 2 == 0;
  if (name == "divisibleby") {
    std::int64_t divisor = integer_of(only_argument(name, args), name);
    if (divisor == 0) throw RenderFault("integer division or modulo by zero");
    return integer_of(input, name) % divisor == 0;
  }
  if (name == "lower" || name == "upper") {
    no_arguments();
    std::string text = input.str();
    // str.islower()/isupper(): at least one cased character and none of the other case.
    std::string lowered = python_lower(text), uppered = python_upper(text);
    bool has_cased = lowered != uppered;
    return has_cased && (name == "lower" ? text == lowered : text == uppered);
  }
  throw UnsupportedFault("unsupported construct 'test " + std::string(name) + "'");
}

}  // namespace troupe::jinja
