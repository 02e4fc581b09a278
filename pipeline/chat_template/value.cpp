#include "pipeline/chat_template/value.hpp"

#include "pipeline/chat_template/python_text.hpp"

namespace troupe::jinja {

const Value* Dict::find(std::string_view key) const {
  for (const auto& entry : entries_)
    if (entry.first.is_string() && entry.first.as_string() == key) return &entry.second;
  return nullptr;
}

Value* Dict::find(std::string_view key) {
  for (auto& entry : entries_)
    if (entry.first.is_string() && entry.first.as_string() == key) return &entry.second;
  return nullptr;
}

const Value* Dict::find_key(const Value& key) const {
  if (key.is_string()) return find(key.as_string());
  for (const auto& entry : entries_)
    if (entry.first == key) return &entry.second;
  return nullptr;
}

void Dict::set(Value key, Value value) {
  for (auto& entry : entries_) {
    if (entry.first == key) {
      entry.second = std::move(value);
      return;
    }
  }
  entries_.emplace_back(std::move(key), std::move(value));
}

void Dict::erase(std::string_view key) {
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    if (it->first.is_string() && it->first.as_string() == key) {
      entries_.erase(it);
      return;
    }
  }
}

double Value::to_real() const {
  switch (kind()) {
    case Kind::boolean: return as_bool() ? 1.0 : 0.0;
    case Kind::integer: return static_cast<double>(as_int());
    case Kind::real: return as_real();
    default: throw RenderFault("expected a number, got " + type_name());
  }
}

bool Value::truthy() const {
  switch (kind()) {
    case Kind::undefined: case Kind::none: return false;
    case Kind::boolean: return as_bool();
    case Kind::integer: return as_int() != 0;
    case Kind::real: return as_real() != 0.0;
    case Kind::string: return !as_string().empty();
    case Kind::list: return !as_list().empty();
    case Kind::dict: return as_dict().size() != 0;
    case Kind::callable: case Kind::ns: return true;
    case Kind::tuple: return !as_list().empty();
    case Kind::iterator: return as_iterator().single_pass || !as_iterator().items.empty();
  }
  return false;
}

std::string Value::str() const {
  switch (kind()) {
    case Kind::undefined: return "";
    case Kind::string: return as_string();
    case Kind::callable:
      // Python would print an object address; no template means to print a function.
      throw RenderFault("cannot render the callable '" + as_callable().name + "' as text");
    case Kind::ns: throw RenderFault("cannot render a namespace object as text");
    case Kind::iterator:
      if (as_iterator().single_pass)
        throw UnsupportedFault("unsupported construct 'printing a " + as_iterator().type_name +
                               " object' (Python prints its memory address)");
      return repr();
    default: return repr();
  }
}

std::string Value::repr() const {
  switch (kind()) {
    case Kind::undefined: throw RenderFault("cannot take repr() of an undefined value");
    case Kind::none: return "None";
    case Kind::boolean: return as_bool() ? "True" : "False";
    case Kind::integer: return std::to_string(as_int());
    case Kind::real: return python_float_repr(as_real());
    case Kind::string: return python_string_repr(as_string());
    case Kind::list: {
      std::string out = "[";
      bool first = true;
      for (const auto& item : as_list()) {
        if (!first) out += ", ";
        first = false;
        out += item.repr();
      }
      return out + "]";
    }
    case Kind::dict: {
      std::string out = "{";
      bool first = true;
      for (const auto& [key, item] : as_dict().entries()) {
        if (!first) out += ", ";
        first = false;
        out += key.repr() + ": " + item.repr();
      }
      return out + "}";
    }
    case Kind::tuple: {
      const auto& items = as_list();
      std::string out = "(";
      for (std::size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + items[i].repr();
      return out + (items.size() == 1 ? ",)" : ")");
    }
    case Kind::iterator: {
      if (as_iterator().single_pass) return str();
      std::string out = as_iterator().type_name + "([";
      for (std::size_t i = 0; i < as_iterator().items.size(); ++i) out += (i ? ", " : "") + as_iterator().items[i].repr();
      return out + "])";
    }
    case Kind::callable: case Kind::ns: return str();
  }
  return {};
}

std::string Value::type_name() const {
  switch (kind()) {
    case Kind::undefined: return "Undefined";
    case Kind::none: return "NoneType";
    case Kind::boolean: return "bool";
    case Kind::integer: return "int";
    case Kind::real: return "float";
    case Kind::string: return "str";
    case Kind::list: return "list";
    case Kind::dict: return "dict";
    case Kind::callable: return "function";
    case Kind::ns: return "Namespace";
    case Kind::tuple: return "tuple";
    case Kind::iterator: return as_iterator().type_name;
  }
  return "object";
}

bool Value::same_object(const Value& other) const {
  if (kind() != other.kind()) return false;
  switch (kind()) {
    case Kind::none: case Kind::undefined: return true;
    case Kind::boolean: return as_bool() == other.as_bool();
    case Kind::list: case Kind::tuple: return &as_list() == &other.as_list();
    case Kind::iterator: return &as_iterator() == &other.as_iterator();
    case Kind::dict: return &as_dict() == &other.as_dict();
    case Kind::ns: return &as_namespace() == &other.as_namespace();
    case Kind::callable: return &as_callable() == &other.as_callable();
    default: return *this == other;  // small ints and interned strings: what CPython gives in practice
  }
}

bool operator==(const Value& a, const Value& b) {
  using Kind = Value::Kind;
  if (a.is_number() && b.is_number()) {
    if (a.kind() != Kind::real && b.kind() != Kind::real) {
      auto as_integer = [](const Value& v) { return v.kind() == Kind::boolean ? std::int64_t{v.as_bool()} : v.as_int(); };
      return as_integer(a) == as_integer(b);
    }
    return a.to_real() == b.to_real();
  }
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case Kind::undefined: case Kind::none: return true;
    case Kind::string: return a.as_string() == b.as_string();
    case Kind::list: case Kind::tuple: {
      const auto& x = a.as_list();
      const auto& y = b.as_list();
      if (x.size() != y.size()) return false;
      for (std::size_t i = 0; i < x.size(); ++i)
        if (!(x[i] == y[i])) return false;
      return true;
    }
    case Kind::dict: {
      const auto& x = a.as_dict();
      const auto& y = b.as_dict();
      if (x.size() != y.size()) return false;
      for (const auto& [key, item] : x.entries()) {
        const Value* other = y.find_key(key);
        if (!other || !(item == *other)) return false;
      }
      return true;
    }
    default: return a.same_object(b);
  }
}

bool python_less(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.kind() == Value::Kind::integer && b.kind() == Value::Kind::integer) return a.as_int() < b.as_int();
    return a.to_real() < b.to_real();
  }
  if (a.is_string() && b.is_string()) {
    // Code point order equals UTF-8 byte order.
    return a.as_string() < b.as_string();
  }
  if (a.kind() == b.kind() && a.is_list_or_tuple()) {
    const auto& x = a.as_list();
    const auto& y = b.as_list();
    for (std::size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (!(x[i] == y[i])) return python_less(x[i], y[i]);
    }
    return x.size() < y.size();
  }
  throw RenderFault("'<' not supported between instances of '" + a.type_name() + "' and '" + b.type_name() + "'");
}

Value Value::from_json(const boost::json::value& json) {
  switch (json.kind()) {
    case boost::json::kind::null: return Value::none();
    case boost::json::kind::bool_: return Value(json.get_bool());
    case boost::json::kind::int64: return Value(json.get_int64());
    case boost::json::kind::uint64: {
      auto u = json.get_uint64();
      if (u > static_cast<std::uint64_t>(INT64_MAX)) throw RenderFault("integer too large: " + std::to_string(u));
      return Value(static_cast<std::int64_t>(u));
    }
    case boost::json::kind::double_: return Value(json.get_double());
    case boost::json::kind::string: return Value(std::string(json.get_string()));
    case boost::json::kind::array: {
      List list;
      list.reserve(json.get_array().size());
      for (const auto& item : json.get_array()) list.push_back(from_json(item));
      return Value(std::move(list));
    }
    case boost::json::kind::object: {
      Dict dict;
      for (const auto& member : json.get_object()) dict.set(std::string(member.key()), from_json(member.value()));
      return Value(std::move(dict));
    }
  }
  return Value::none();
}

}  // namespace troupe::jinja
