// Jinja filters used by chat templates, with jinja2's semantics (and transformers' own `tojson`).
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>

#include "pipeline/chat_template/builtins.hpp"
#include "pipeline/chat_template/json_dumps.hpp"
#include "pipeline/chat_template/python_text.hpp"

namespace troupe::jinja {
namespace {

constexpr std::string_view kFilters[] = {"abs", "count", "d", "default", "dictsort", "first", "float", "int",
                                         "items", "join", "last", "length", "list", "lower", "map", "reject",
                                         "rejectattr", "replace", "reverse", "safe", "select", "selectattr",
                                         "sort", "string", "tojson", "trim", "unique", "upper"};

CallArgs rest_arguments(const CallArgs& args, std::size_t skip) {
  CallArgs rest;
  for (std::size_t i = skip; i < args.positional.size(); ++i) rest.positional.push_back(args.positional[i]);
  rest.named = args.named;
  return rest;
}

// jinja2's make_attrgetter: "a.b.0" looks up each part with getitem, digits as integers.
Value lookup_path(const Value& item, const std::string& path) {
  Value current = item;
  std::size_t start = 0;
  while (true) {
    auto dot = path.find('.', start);
    std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    bool digits = !part.empty() && std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
    std::int64_t index = 0;
    // Digits beyond 64 bits index nothing (Python's IndexError makes it undefined): look them up as text.
    digits = digits && std::from_chars(part.data(), part.data() + part.size(), index).ec == std::errc();
    current = digits ? get_item(current, Value(index)) : get_item(current, Value(part));
    if (dot == std::string::npos) return current;
    start = dot + 1;
  }
}

Value select_like(const Value& input, const CallArgs& args, bool by_attribute, bool keep_when) {
  std::size_t consumed = 0;
  std::string attribute;
  if (by_attribute) {
    if (args.positional.empty() || !args.positional[0].is_string())
      throw RenderFault("selectattr/rejectattr need an attribute name");
    attribute = args.positional[0].as_string();
    consumed = 1;
  }
  std::optional<std::string> test;
  if (args.positional.size() > consumed) {
    if (!args.positional[consumed].is_string()) throw RenderFault("the test name must be a string");
    test = args.positional[consumed].as_string();
    if (!has_test(*test)) throw UnsupportedFault("unsupported construct 'test " + *test + "'");
    ++consumed;
  }
  CallArgs test_args = rest_arguments(args, consumed);
  List out;
  for (const auto& item : iterate(input)) {
    Value subject = by_attribute ? lookup_path(item, attribute) : item;
    bool passed = test ? apply_test(*test, subject, test_args) : subject.truthy();
    if (passed == keep_when) out.push_back(item);
  }
  return Value::iterator("generator", std::move(out), true);
}

// jinja2's ignore_case: strings compare lower-cased unless case_sensitive.
Value sort_key(Value key, bool case_sensitive) {
  if (!case_sensitive && key.is_string()) return Value(python_lower(key.as_string()));
  return key;
}

// Python's sorted(): stable, by python_less on each item's key, reversed by comparing the other way
// (which keeps equal items in their order, as reverse=True does).
List sorted_by_keys(List items, const std::vector<Value>& keys, bool reverse) {
  std::vector<std::size_t> order(items.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return reverse ? python_less(keys[b], keys[a]) : python_less(keys[a], keys[b]);
  });
  List out;
  out.reserve(items.size());
  for (const std::size_t i : order) out.push_back(std::move(items[i]));
  return out;
}

// sort(value, reverse=False, case_sensitive=False, attribute=None): `attribute` a path ("a.b") or
// several separated by commas, each item's key then the list of their values (make_multi_attrgetter).
Value sort_filter(const Value& input, const CallArgs& args) {
  ArgumentReader reader("sort", args, {"reverse", "case_sensitive", "attribute"});
  const bool reverse = reader.get_or("reverse", Value(false)).truthy();
  const bool case_sensitive = reader.get_or("case_sensitive", Value(false)).truthy();
  const Value attribute = reader.get_or("attribute", Value::none());
  List items = iterate(input);
  std::vector<Value> keys;
  keys.reserve(items.size());
  for (const Value& item : items) {
    if (attribute.is_none()) {
      keys.push_back(sort_key(item, case_sensitive));
    } else if (attribute.is_string() && attribute.as_string().find(',') != std::string::npos) {
      List parts;
      const std::string& paths = attribute.as_string();
      for (std::size_t start = 0;;) {
        const std::size_t comma = paths.find(',', start);
        parts.push_back(sort_key(lookup_path(item, paths.substr(start, comma - start)), case_sensitive));
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
      keys.push_back(Value(std::move(parts)));
    } else if (attribute.kind() == Value::Kind::integer) {
      keys.push_back(sort_key(get_item(item, attribute), case_sensitive));
    } else {
      keys.push_back(sort_key(lookup_path(item, attribute.str()), case_sensitive));
    }
  }
  return Value(sorted_by_keys(std::move(items), keys, reverse));
}

// dictsort(value, case_sensitive=False, by='key', reverse=False): a mapping's (key, value) pairs.
Value dictsort_filter(const Value& input, const CallArgs& args) {
  ArgumentReader reader("dictsort", args, {"case_sensitive", "by", "reverse"});
  const bool case_sensitive = reader.get_or("case_sensitive", Value(false)).truthy();
  const Value by = reader.get_or("by", Value(std::string("key")));
  const bool reverse = reader.get_or("reverse", Value(false)).truthy();
  if (!by.is_string() || (by.as_string() != "key" && by.as_string() != "value")) {
    throw RenderFault("You can only sort by either \"key\" or \"value\"");
  }
  if (!input.is_dict()) throw RenderFault("'" + input.type_name() + "' object has no attribute 'items'");
  List pairs;
  std::vector<Value> keys;
  for (const auto& [key, item] : input.as_dict().entries()) {
    keys.push_back(sort_key(by.as_string() == "key" ? key : item, case_sensitive));
    pairs.push_back(Value::tuple(List{key, item}));
  }
  return Value(sorted_by_keys(std::move(pairs), keys, reverse));
}

Value tojson(const Value& input, const CallArgs& args) {
  // transformers: tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False)
  ArgumentReader reader("tojson", args, {"ensure_ascii", "indent", "separators", "sort_keys"});
  JsonDumpOptions options;
  options.ensure_ascii = reader.get_or("ensure_ascii", Value(false)).truthy();
  options.sort_keys = reader.get_or("sort_keys", Value(false)).truthy();
  Value indent = reader.get_or("indent", Value::none());
  if (indent.kind() == Value::Kind::integer) options.indent = std::string(static_cast<std::size_t>(std::max<std::int64_t>(indent.as_int(), 0)), ' ');
  else if (indent.is_string()) options.indent = indent.as_string();
  else if (!indent.is_none()) throw RenderFault("tojson indent must be an int or a str");
  Value separators = reader.get_or("separators", Value::none());
  if (!separators.is_none()) {
    if (!separators.is_list_or_tuple() || separators.as_list().size() != 2 || !separators.as_list()[0].is_string() ||
        !separators.as_list()[1].is_string())
      throw RenderFault("tojson separators must be a pair of strings");
    options.item_separator = separators.as_list()[0].as_string();
    options.key_separator = separators.as_list()[1].as_string();
  }
  return Value(json_dumps(input, options));
}

Value to_int(const Value& input, const CallArgs& args) {
  ArgumentReader reader("int", args, {"default", "base"});
  Value fallback = reader.get_or("default", Value(0));
  if (reader.get("base")) throw UnsupportedFault("unsupported construct 'int filter with base'");
  switch (input.kind()) {
    case Value::Kind::integer: return input;
    case Value::Kind::boolean: return Value(static_cast<std::int64_t>(input.as_bool()));
    case Value::Kind::real:
      if (!std::isfinite(input.as_real())) return fallback;
      return Value(static_cast<std::int64_t>(std::trunc(input.as_real())));
    case Value::Kind::string: {
      std::string text = python_strip(input.as_string(), std::nullopt, true, true);
      std::int64_t number = 0;
      const char* begin = text.data() + (!text.empty() && text[0] == '+' ? 1 : 0);
      auto result = std::from_chars(begin, text.data() + text.size(), number);
      if (result.ec == std::errc() && result.ptr == text.data() + text.size() && !text.empty()) return Value(number);
      // jinja2 falls back to int(float(value)) for strings such as "3.5".
      char* end = nullptr;
      double real = std::strtod(text.c_str(), &end);
      if (!text.empty() && end == text.c_str() + text.size() && std::isfinite(real))
        return Value(static_cast<std::int64_t>(std::trunc(real)));
      return fallback;
    }
    default: return fallback;
  }
}

Value to_float(const Value& input, const CallArgs& args) {
  ArgumentReader reader("float", args, {"default"});
  Value fallback = reader.get_or("default", Value(0.0));
  if (input.is_number()) return Value(input.to_real());
  if (input.is_string()) {
    std::string text = python_strip(input.as_string(), std::nullopt, true, true);
    char* end = nullptr;
    double real = std::strtod(text.c_str(), &end);
    if (!text.empty() && end == text.c_str() + text.size()) return Value(real);
  }
  return fallback;
}

}  // namespace

bool has_filter(std::string_view name) {
  return std::find(std::begin(kFilters), std::end(kFilters), name) != std::end(kFilters);
}

Value apply_filter(std::string_view name, const Value& input, const CallArgs& args) {
  if (name == "trim") {
    ArgumentReader reader("trim", args, {"chars"});
    const Value* chars = reader.get("chars");
    std::optional<std::string> strip_chars;
    if (chars && !chars->is_none()) strip_chars = chars->str();
    return Value(python_strip(input.str(), strip_chars, true, true));
  }
  if (name == "length" || name == "count") {
    ArgumentReader reader(name, args, {});
    return Value(python_len(input));
  }
  if (name == "tojson") return tojson(input, args);
  if (name == "string") {
    ArgumentReader reader(name, args, {});
    return Value(input.str());
  }
  if (name == "safe") {
    ArgumentReader reader(name, args, {});
    return input;
  }
  if (name == "lower" || name == "upper") {
    ArgumentReader reader(name, args, {});
    return Value(name == "lower" ? python_lower(input.str()) : python_upper(input.str()));
  }
  if (name == "first" || name == "last") {
    ArgumentReader reader(name, args, {});
    if (input.is_iterator() && input.as_iterator().single_pass) {
      Iterator& iterator = input.as_iterator();
      if (name == "last") throw RenderFault("'" + iterator.type_name + "' object is not reversible");
      if (iterator.position == iterator.items.size()) return Value::undefined("No first item, sequence was empty.");
      return iterator.items[iterator.position++];  // next() consumes one item
    }
    List items = iterate(input);
    if (items.empty()) return Value::undefined(std::string("No ") + std::string(name) + " item, sequence was empty.");
    return name == "first" ? items.front() : items.back();
  }
  if (name == "join") {
    ArgumentReader reader("join", args, {"d", "attribute"});
    Value separator = reader.get_or("d", Value(""));
    const Value* attribute = reader.get("attribute");
    std::string out;
    bool first = true;
    for (const auto& item : iterate(input)) {
      if (!first) out += separator.str();
      first = false;
      out += (attribute && !attribute->is_none() ? lookup_path(item, attribute->str()) : item).str();
    }
    return Value(std::move(out));
  }
  if (name == "replace") {
    ArgumentReader reader("replace", args, {"old", "new", "count"});
    Value count = reader.get_or("count", Value::none());
    return Value(python_replace(input.str(), reader.require("old").str(), reader.require("new").str(),
                                count.is_none() ? -1 : count.as_int()));
  }
  if (name == "default" || name == "d") {
    ArgumentReader reader(name, args, {"default_value", "boolean"});
    bool boolean = reader.get_or("boolean", Value(false)).truthy();
    if (input.is_undefined() || (boolean && !input.truthy())) return reader.get_or("default_value", Value(""));
    return input;
  }
  if (name == "items") {
    ArgumentReader reader(name, args, {});
    if (input.is_undefined()) return Value(List{});
    if (!input.is_dict()) throw RenderFault("Can only get item pairs from a mapping.");
    List pairs;
    for (const auto& [key, item] : input.as_dict().entries()) pairs.push_back(Value::tuple(List{Value(key), item}));
    return Value::iterator("generator", std::move(pairs), true);
  }
  if (name == "list") {
    ArgumentReader reader(name, args, {});
    return Value(iterate(input));
  }
  if (name == "reverse") {
    ArgumentReader reader(name, args, {});
    if (input.is_string()) return get_slice(input, std::nullopt, std::nullopt, -1);
    bool generator = input.is_iterator() && input.as_iterator().single_pass;
    List items = iterate(input);
    std::reverse(items.begin(), items.end());
    // reversed() works on sequences and views; a generator is instead copied into a reversed list.
    if (generator) return Value(std::move(items));
    std::string type = input.is_list() ? "list_reverseiterator" : input.is_dict() ? "dict_reversekeyiterator" : "reversed";
    return Value::iterator(type, std::move(items), true);
  }
  if (name == "unique") {
    ArgumentReader reader(name, args, {});
    List out;
    for (const auto& item : iterate(input)) {
      if (item.is_list() || item.is_dict()) throw RenderFault("unhashable type: '" + item.type_name() + "'");
      // jinja2 compares strings case-insensitively by default and keeps the first spelling.
      bool seen = std::any_of(out.begin(), out.end(), [&](const Value& kept) {
        if (kept.is_string() && item.is_string()) return python_lower(kept.as_string()) == python_lower(item.as_string());
        return kept == item;
      });
      if (!seen) out.push_back(item);
    }
    return Value::iterator("generator", std::move(out), true);
  }
  if (name == "map") {
    const Value* attribute = nullptr;
    const Value* fallback = nullptr;
    for (const auto& [key, value] : args.named) {
      if (key == "attribute") attribute = &value;
      else if (key == "default") fallback = &value;
    }
    List out;
    if (attribute) {
      if (!args.positional.empty()) throw RenderFault("map() with attribute= takes no positional arguments");
      for (const auto& item : iterate(input)) {
        Value mapped = lookup_path(item, attribute->str());
        out.push_back(mapped.is_undefined() && fallback ? *fallback : mapped);
      }
      return Value::iterator("generator", std::move(out), true);
    }
    if (args.positional.empty() || !args.positional[0].is_string()) throw RenderFault("map() needs a filter name");
    std::string filter = args.positional[0].as_string();
    if (!has_filter(filter)) throw UnsupportedFault("unsupported construct 'filter " + filter + "'");
    CallArgs filter_args = rest_arguments(args, 1);
    for (const auto& item : iterate(input)) out.push_back(apply_filter(filter, item, filter_args));
    return Value::iterator("generator", std::move(out), true);
  }
  if (name == "select") return select_like(input, args, false, true);
  if (name == "reject") return select_like(input, args, false, false);
  if (name == "selectattr") return select_like(input, args, true, true);
  if (name == "rejectattr") return select_like(input, args, true, false);
  if (name == "sort") return sort_filter(input, args);
  if (name == "dictsort") return dictsort_filter(input, args);
  if (name == "int") return to_int(input, args);
  if (name == "float") return to_float(input, args);
  if (name == "abs") {
    ArgumentReader reader(name, args, {});
    if (input.kind() == Value::Kind::integer) return Value(input.as_int() < 0 ? -input.as_int() : input.as_int());
    if (input.kind() == Value::Kind::boolean) return Value(static_cast<std::int64_t>(input.as_bool()));
    if (input.kind() == Value::Kind::real) return Value(std::fabs(input.as_real()));
    throw RenderFault("bad operand type for abs(): '" + input.type_name() + "'");
  }
  throw UnsupportedFault("unsupported construct 'filter " + std::string(name) + "'");
}

}  // namespace troupe::jinja
