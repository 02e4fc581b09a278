#pragma once
// The values a chat template computes with: a small dynamic type modelled on the Python objects Jinja
// sees (None, bool, int, float, str, list, dict with insertion order, callables, namespace objects) plus
// Jinja's Undefined. Lists and dicts are immutable once built (the sandbox Hugging Face renders in forbids
// mutating them), so they are shared between copies; namespaces are the one mutable, shared object.
#include <boost/json.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace troupe::jinja {

class Value;
using List = std::vector<Value>;

// A Python dict, iterated in insertion order. Keys are strings (JSON objects', templates' names)
// or other hashable scalars a dict literal gives (Seed-OSS's template keys one by integers): two
// keys are one when Python's == says so (1, 1.0 and True are the same key; the first spelling stays).
class Dict {
 public:
  const Value* find(std::string_view key) const;  // a string key
  Value* find(std::string_view key);
  const Value* find_key(const Value& key) const;  // any key
  void set(Value key, Value value);                // replaces in place, or appends a new key
  void erase(std::string_view key);
  const std::vector<std::pair<Value, Value>>& entries() const { return entries_; }
  std::size_t size() const;  // defined below Value: clang instantiates it eagerly

 private:
  std::vector<std::pair<Value, Value>> entries_;
};

struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> named;
};

struct Callable {
  std::string name;
  std::function<Value(const CallArgs&)> invoke;
};

// jinja2's namespace(): attributes assignable with {% set ns.attr = ... %} from any scope.
struct Namespace {
  Dict attributes;
};

// A Python tuple: list-like, but printed with parentheses and never equal to a list.
struct Tuple {
  List items;
};

// What jinja2 filters and dict methods return instead of lists: generators (map, select, items, ...),
// reverse iterators and dict views. Generators and reverse iterators are single-pass, always truthy and
// have no len(); views are re-iterable and sized. Only views have a printable repr.
struct Iterator {
  std::string type_name;  // "generator", "list_reverseiterator", "dict_items", "dict_keys", "dict_values"
  List items;
  bool single_pass = true;
  std::size_t position = 0;  // items already consumed by a single-pass iterator
};

struct Undefined {
  std::string hint;  // what was looked up, for error messages ("'dict object' has no attribute 'x'")
};

// Thrown by value operations that Python would reject (TypeError and the like). The evaluator adds the
// template line and turns it into a ChatTemplateError.
class RenderFault : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A RenderFault for valid Jinja this interpreter does not implement (reported as such, not as a bug).
class UnsupportedFault : public RenderFault {
 public:
  using RenderFault::RenderFault;
};

class Value {
 public:
  enum class Kind { undefined, none, boolean, integer, real, string, list, dict, callable, ns, tuple, iterator };

  Value() : data_(Undefined{}) {}
  static Value undefined(std::string hint = {}) { return Value(Data(Undefined{std::move(hint)})); }
  static Value none() { return Value(Data(nullptr)); }
  Value(bool b) : data_(b) {}
  Value(std::int64_t i) : data_(i) {}
  Value(int i) : data_(static_cast<std::int64_t>(i)) {}
  Value(double d) : data_(d) {}
  Value(std::string s) : data_(std::move(s)) {}
  Value(const char* s) : data_(std::string(s)) {}
  Value(List list) : data_(std::make_shared<const List>(std::move(list))) {}
  Value(Dict dict) : data_(std::make_shared<const Dict>(std::move(dict))) {}
  Value(Callable callable) : data_(std::make_shared<const Callable>(std::move(callable))) {}
  Value(std::shared_ptr<Namespace> ns) : data_(std::move(ns)) {}
  static Value tuple(List items) { return Value(Data(std::make_shared<const Tuple>(Tuple{std::move(items)}))); }
  static Value iterator(std::string type_name, List items, bool single_pass) {
    return Value(Data(std::make_shared<Iterator>(Iterator{std::move(type_name), std::move(items), single_pass, 0})));
  }

  Kind kind() const { return static_cast<Kind>(data_.index()); }
  bool is_undefined() const { return kind() == Kind::undefined; }
  bool is_none() const { return kind() == Kind::none; }
  bool is_string() const { return kind() == Kind::string; }
  bool is_list() const { return kind() == Kind::list; }
  bool is_dict() const { return kind() == Kind::dict; }
  bool is_tuple() const { return kind() == Kind::tuple; }
  bool is_list_or_tuple() const { return is_list() || is_tuple(); }
  bool is_iterator() const { return kind() == Kind::iterator; }
  bool is_number() const { return kind() == Kind::integer || kind() == Kind::real || kind() == Kind::boolean; }

  bool as_bool() const { return std::get<bool>(data_); }
  std::int64_t as_int() const { return std::get<std::int64_t>(data_); }
  double as_real() const { return std::get<double>(data_); }
  const std::string& as_string() const { return std::get<std::string>(data_); }
  // The items of a list or a tuple.
  const List& as_list() const {
    if (is_tuple()) return std::get<std::shared_ptr<const Tuple>>(data_)->items;
    return *std::get<std::shared_ptr<const List>>(data_);
  }
  Iterator& as_iterator() const { return *std::get<std::shared_ptr<Iterator>>(data_); }
  const Dict& as_dict() const { return *std::get<std::shared_ptr<const Dict>>(data_); }
  const Callable& as_callable() const { return *std::get<std::shared_ptr<const Callable>>(data_); }
  Namespace& as_namespace() const { return *std::get<std::shared_ptr<Namespace>>(data_); }
  const std::string& undefined_hint() const { return std::get<Undefined>(data_).hint; }
  // Numeric value of an int, float or bool (Python treats bool as an int).
  double to_real() const;

  bool truthy() const;                 // Python bool()
  std::string str() const;             // Python str() as Jinja prints it; Undefined prints ""
  std::string repr() const;            // Python repr()
  std::string type_name() const;       // Python type name for messages: 'str', 'dict', ...
  bool same_object(const Value& other) const;  // Python `is`

  friend bool operator==(const Value& a, const Value& b);  // Python ==

  static Value from_json(const boost::json::value& json);

 private:
  using Data = std::variant<Undefined, std::nullptr_t, bool, std::int64_t, double, std::string,
                            std::shared_ptr<const List>, std::shared_ptr<const Dict>,
                            std::shared_ptr<const Callable>, std::shared_ptr<Namespace>,
                            std::shared_ptr<const Tuple>, std::shared_ptr<Iterator>>;
  explicit Value(Data data) : data_(std::move(data)) {}
  Data data_;
};

// Python's <, for sorting and comparison operators; throws RenderFault on unorderable types.
bool python_less(const Value& a, const Value& b);

inline std::size_t Dict::size() const { return entries_.size(); }

}  // namespace troupe::jinja
