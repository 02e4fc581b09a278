// Attribute, item and slice access on values, including the Python methods of str and dict that chat
// templates call (content.split('</think>'), message.get('content'), ...).
#include <algorithm>

#include "pipeline/chat_template/builtins.hpp"
#include "pipeline/chat_template/python_text.hpp"

namespace troupe::jinja {

ArgumentReader::ArgumentReader(std::string_view function, const CallArgs& args,
                               std::initializer_list<std::string_view> parameters)
    : function_(function), args_(args), parameters_(parameters) {
  if (args.positional.size() > parameters_.size())
    throw RenderFault(function_ + "() takes at most " + std::to_string(parameters_.size()) + " arguments (" +
                      std::to_string(args.positional.size()) + " given)");
  for (const auto& [name, value] : args.named) {
    auto it = std::find(parameters_.begin(), parameters_.end(), name);
    if (it == parameters_.end()) throw RenderFault(function_ + "() got an unexpected keyword argument '" + name + "'");
    if (static_cast<std::size_t>(it - parameters_.begin()) < args.positional.size())
      throw RenderFault(function_ + "() got multiple values for argument '" + name + "'");
  }
}

const Value* ArgumentReader::get(std::string_view parameter) const {
  auto it = std::find(parameters_.begin(), parameters_.end(), parameter);
  auto index = static_cast<std::size_t>(it - parameters_.begin());
  if (index < args_.positional.size()) return &args_.positional[index];
  for (const auto& [name, value] : args_.named)
    if (name == parameter) return &value;
  return nullptr;
}

Value ArgumentReader::get_or(std::string_view parameter, Value fallback) const {
  const Value* value = get(parameter);
  return value ? *value : std::move(fallback);
}

const Value& ArgumentReader::require(std::string_view parameter) const {
  const Value* value = get(parameter);
  if (!value) throw RenderFault(function_ + "() missing required argument '" + std::string(parameter) + "'");
  return *value;
}

namespace {

std::optional<std::string> optional_string(const Value* value, const char* what) {
  if (!value || value->is_none()) return std::nullopt;
  if (!value->is_string()) throw RenderFault(std::string(what) + " must be a str, not " + value->type_name());
  return value->as_string();
}

std::int64_t integer_argument(const Value& value, const char* what) {
  if (value.kind() == Value::Kind::integer) return value.as_int();
  if (value.kind() == Value::Kind::boolean) return value.as_bool();
  throw RenderFault(std::string(what) + " must be an int, not " + value.type_name());
}

bool affix_matches(const std::string& text, const Value& affix, bool prefix, const char* method) {
  auto one = [&](const Value& candidate) {
    if (!candidate.is_string())
      throw RenderFault(std::string(method) + " first arg must be str or a tuple of str, not " + candidate.type_name());
    const std::string& a = candidate.as_string();
    if (a.size() > text.size()) return false;
    return prefix ? text.compare(0, a.size(), a) == 0 : text.compare(text.size() - a.size(), a.size(), a) == 0;
  };
  if (affix.is_list_or_tuple()) {
    for (const auto& candidate : affix.as_list())
      if (one(candidate)) return true;
    return false;
  }
  return one(affix);
}

Value string_method(const std::string& text, const std::string& name) {
  auto method = [&](auto body) {
    return Value(Callable{"str." + name, [text, name, body](const CallArgs& args) { return body(text, args); }});
  };
  if (name == "startswith" || name == "endswith") {
    bool prefix = name == "startswith";
    return method([prefix](const std::string& s, const CallArgs& args) {
      ArgumentReader reader(prefix ? "startswith" : "endswith", args, {"affix"});
      return Value(affix_matches(s, reader.require("affix"), prefix, prefix ? "startswith" : "endswith"));
    });
  }
  if (name == "strip" || name == "lstrip" || name == "rstrip") {
    bool left = name != "rstrip", right = name != "lstrip";
    return method([left, right](const std::string& s, const CallArgs& args) {
      ArgumentReader reader("strip", args, {"chars"});
      return Value(python_strip(s, optional_string(reader.get("chars"), "strip arg"), left, right));
    });
  }
  if (name == "split") {
    return method([](const std::string& s, const CallArgs& args) {
      ArgumentReader reader("split", args, {"sep", "maxsplit"});
      auto sep = optional_string(reader.get("sep"), "split separator");
      if (sep && sep->empty()) throw RenderFault("empty separator");
      std::int64_t maxsplit = integer_argument(reader.get_or("maxsplit", Value(-1)), "maxsplit");
      List pieces;
      for (auto& piece : python_split(s, sep, maxsplit)) pieces.emplace_back(std::move(piece));
      return Value(std::move(pieces));
    });
  }
  if (name == "replace") {
    return method([](const std::string& s, const CallArgs& args) {
      ArgumentReader reader("replace", args, {"old", "new", "count"});
      const Value& old_text = reader.require("old");
      const Value& new_text = reader.require("new");
      if (!old_text.is_string() || !new_text.is_string()) throw RenderFault("replace() arguments must be str");
      return Value(python_replace(s, old_text.as_string(), new_text.as_string(),
                                  integer_argument(reader.get_or("count", Value(-1)), "count")));
    });
  }
  if (name == "upper" || name == "lower") {
    bool upper = name == "upper";
    return method([upper](const std::string& s, const CallArgs& args) {
      ArgumentReader reader(upper ? "upper" : "lower", args, {});
      return Value(upper ? python_upper(s) : python_lower(s));
    });
  }
  if (name == "find") {
    return method([](const std::string& s, const CallArgs& args) {
      ArgumentReader reader("find", args, {"sub"});
      const Value& sub = reader.require("sub");
      if (!sub.is_string()) throw RenderFault("find() argument must be str");
      auto at = s.find(sub.as_string());
      if (at == std::string::npos) return Value(-1);
      return Value(static_cast<std::int64_t>(code_point_count(std::string_view(s).substr(0, at))));
    });
  }
  if (name == "join") {
    return method([](const std::string& s, const CallArgs& args) {
      ArgumentReader reader("join", args, {"iterable"});
      std::string out;
      bool first = true;
      for (const auto& item : iterate(reader.require("iterable"))) {
        if (!item.is_string()) throw RenderFault("sequence item: expected str instance, " + item.type_name() + " found");
        if (!first) out += s;
        first = false;
        out += item.as_string();
      }
      return Value(std::move(out));
    });
  }
  static const char* const other_methods[] = {
      "capitalize", "casefold", "center", "count", "encode", "expandtabs", "format", "format_map", "index",
      "isalnum", "isalpha", "isascii", "isdecimal", "isdigit", "isidentifier", "islower", "isnumeric",
      "isprintable", "isspace", "istitle", "isupper", "ljust", "partition", "removeprefix", "removesuffix",
      "rfind", "rindex", "rjust", "rpartition", "rsplit", "splitlines", "swapcase", "title", "translate", "zfill"};
  for (const char* other : other_methods)
    if (name == other) throw UnsupportedFault("unsupported construct 'str." + name + "()'");
  return Value::undefined("'str object' has no attribute '" + name + "'");
}

Value dict_method(const Value& dict_value, const std::string& name) {
  if (name == "items" || name == "keys" || name == "values") {
    // dict views: re-iterable and sized, printed as dict_items([...]).
    return Value(Callable{"dict." + name, [dict_value, name](const CallArgs& args) {
                            ArgumentReader reader(name, args, {});
                            List out;
                            for (const auto& [key, item] : dict_value.as_dict().entries()) {
                              if (name == "items") out.push_back(Value::tuple(List{key, item}));
                              else if (name == "keys") out.emplace_back(key);
                              else out.push_back(item);
                            }
                            return Value::iterator("dict_" + name, std::move(out), false);
                          }});
  }
  if (name == "get") {
    return Value(Callable{"dict.get", [dict_value](const CallArgs& args) {
                            ArgumentReader reader("get", args, {"key", "default"});
                            const Value& key = reader.require("key");
                            if (const Value* found = dict_value.as_dict().find_key(key)) return *found;
                            return reader.get_or("default", Value::none());
                          }});
  }
  return Value::undefined();
}

bool is_dict_method(const std::string& name) {
  return name == "items" || name == "keys" || name == "values" || name == "get";
}

std::optional<std::int64_t> index_of(const Value& key) {
  if (key.kind() == Value::Kind::integer) return key.as_int();
  if (key.kind() == Value::Kind::boolean) return key.as_bool() ? 1 : 0;
  return std::nullopt;
}

}  // namespace

Value get_attribute(const Value& object, const std::string& name) {
  switch (object.kind()) {
    case Value::Kind::undefined:
      throw RenderFault(object.undefined_hint().empty() ? "'" + name + "' of an undefined value"
                                                        : object.undefined_hint());
    case Value::Kind::dict: {
      if (is_dict_method(name)) return dict_method(object, name);
      // transformers renders in Jinja's immutable sandbox: a method that changes the dict is an error.
      static const char* const mutating[] = {"pop", "popitem", "update", "clear", "setdefault"};
      for (const char* method : mutating)
        if (name == method) throw RenderFault("access to attribute '" + name + "' of 'dict' object is unsafe.");
      static const char* const unsupported[] = {"copy", "fromkeys"};
      for (const char* method : unsupported)
        if (name == method) throw UnsupportedFault("unsupported construct 'dict." + name + "'");
      if (const Value* found = object.as_dict().find(name)) return *found;
      return Value::undefined("'dict object' has no attribute '" + name + "'");
    }
    case Value::Kind::string: return string_method(object.as_string(), name);
    case Value::Kind::ns: {
      if (const Value* found = object.as_namespace().attributes.find(name)) return *found;
      return Value::undefined("'Namespace' has no attribute '" + name + "'");
    }
    case Value::Kind::list: {
      // As for dicts: Jinja's immutable sandbox refuses the methods that change the list (Kimi K2's
      // templates as llama.cpp keeps them append to one: an error in transformers, and so here).
      static const char* const mutating[] = {"append", "extend", "insert", "pop", "remove", "reverse", "sort", "clear"};
      for (const char* method : mutating)
        if (name == method) throw RenderFault("access to attribute '" + name + "' of 'list' object is unsafe.");
      static const char* const unsupported[] = {"copy", "count", "index"};
      for (const char* method : unsupported)
        if (name == method) throw UnsupportedFault("unsupported construct 'list." + name + "'");
      return Value::undefined("'list object' has no attribute '" + name + "'");
    }
    default: return Value::undefined("'" + object.type_name() + " object' has no attribute '" + name + "'");
  }
}

Value get_item(const Value& object, const Value& key) {
  switch (object.kind()) {
    case Value::Kind::undefined:
      throw RenderFault(object.undefined_hint().empty() ? "indexing an undefined value" : object.undefined_hint());
    case Value::Kind::dict:
      if (key.is_string()) {
        if (const Value* found = object.as_dict().find(key.as_string())) return *found;
        if (is_dict_method(key.as_string())) return dict_method(object, key.as_string());
        return Value::undefined("'dict object' has no attribute '" + key.as_string() + "'");
      }
      if (const Value* found = object.as_dict().find_key(key)) return *found;
      return Value::undefined("'dict object' has no attribute " + key.repr());
    case Value::Kind::list:
    case Value::Kind::tuple: {
      auto index = index_of(key);
      if (!index) {
        if (key.is_string()) return get_attribute(object, key.as_string());
        throw RenderFault("list indices must be integers or slices, not " + key.type_name());
      }
      auto size = static_cast<std::int64_t>(object.as_list().size());
      std::int64_t i = *index < 0 ? *index + size : *index;
      if (i < 0 || i >= size) return Value::undefined("list object has no element " + std::to_string(*index));
      return object.as_list()[static_cast<std::size_t>(i)];
    }
    case Value::Kind::string: {
      auto index = index_of(key);
      if (!index) {
        if (key.is_string()) return get_attribute(object, key.as_string());
        throw RenderFault("string indices must be integers, not " + key.type_name());
      }
      auto points = decode_utf8(object.as_string());
      auto size = static_cast<std::int64_t>(points.size());
      std::int64_t i = *index < 0 ? *index + size : *index;
      if (i < 0 || i >= size) return Value::undefined("str object has no element " + std::to_string(*index));
      std::string one;
      append_utf8(one, points[static_cast<std::size_t>(i)]);
      return Value(std::move(one));
    }
    case Value::Kind::ns:
      if (key.is_string()) return get_attribute(object, key.as_string());
      return Value::undefined();
    default:
      if (key.is_string()) return get_attribute(object, key.as_string());
      return Value::undefined("'" + object.type_name() + " object' is not subscriptable");
  }
}

Value get_slice(const Value& object, const std::optional<std::int64_t>& start_arg,
                const std::optional<std::int64_t>& stop_arg, const std::optional<std::int64_t>& step_arg) {
  std::int64_t step = step_arg.value_or(1);
  if (step == 0) throw RenderFault("slice step cannot be zero");
  auto slice_indices = [&](std::int64_t length) {
    // CPython's PySlice_AdjustIndices.
    auto adjust = [&](const std::optional<std::int64_t>& given, std::int64_t fallback) {
      if (!given) return fallback;
      std::int64_t v = *given;
      if (v < 0) {
        v += length;
        if (v < 0) v = step < 0 ? -1 : 0;
      } else if (v >= length) {
        v = step < 0 ? length - 1 : length;
      }
      return v;
    };
    std::int64_t start = adjust(start_arg, step < 0 ? length - 1 : 0);
    std::int64_t stop = adjust(stop_arg, step < 0 ? -1 : length);
    std::vector<std::size_t> indices;
    for (std::int64_t i = start; step > 0 ? i < stop : i > stop; i += step) indices.push_back(static_cast<std::size_t>(i));
    return indices;
  };
  if (object.is_list_or_tuple()) {
    const auto& list = object.as_list();
    List out;
    for (auto i : slice_indices(static_cast<std::int64_t>(list.size()))) out.push_back(list[i]);
    return object.is_tuple() ? Value::tuple(std::move(out)) : Value(std::move(out));
  }
  if (object.is_string()) {
    auto points = decode_utf8(object.as_string());
    std::vector<char32_t> out;
    for (auto i : slice_indices(static_cast<std::int64_t>(points.size()))) out.push_back(points[i]);
    return Value(encode_utf8(out));
  }
  if (object.is_undefined()) throw RenderFault(object.undefined_hint().empty() ? "slicing an undefined value" : object.undefined_hint());
  throw RenderFault("'" + object.type_name() + "' object is not subscriptable");
}

List iterate(const Value& value) {
  switch (value.kind()) {
    case Value::Kind::undefined: return {};
    case Value::Kind::list:
    case Value::Kind::tuple: return value.as_list();
    case Value::Kind::iterator: {
      Iterator& iterator = value.as_iterator();
      if (!iterator.single_pass) return iterator.items;
      List rest(iterator.items.begin() + static_cast<long>(iterator.position), iterator.items.end());
      iterator.position = iterator.items.size();  // a Python generator is exhausted by one pass
      return rest;
    }
    case Value::Kind::dict: {
      List keys;
      for (const auto& entry : value.as_dict().entries()) keys.emplace_back(entry.first);
      return keys;
    }
    case Value::Kind::string: {
      List characters;
      for (char32_t c : decode_utf8(value.as_string())) {
        std::string one;
        append_utf8(one, c);
        characters.emplace_back(std::move(one));
      }
      return characters;
    }
    default: throw RenderFault("'" + value.type_name() + "' object is not iterable");
  }
}

std::int64_t python_len(const Value& value) {
  switch (value.kind()) {
    case Value::Kind::undefined: return 0;
    case Value::Kind::string: return static_cast<std::int64_t>(code_point_count(value.as_string()));
    case Value::Kind::list:
    case Value::Kind::tuple: return static_cast<std::int64_t>(value.as_list().size());
    case Value::Kind::dict: return static_cast<std::int64_t>(value.as_dict().size());
    case Value::Kind::iterator:
      if (!value.as_iterator().single_pass) return static_cast<std::int64_t>(value.as_iterator().items.size());
      throw RenderFault("object of type '" + value.type_name() + "' has no len()");
    default: throw RenderFault("object of type '" + value.type_name() + "' has no len()");
  }
}

bool contains(const Value& container, const Value& item) {
  switch (container.kind()) {
    case Value::Kind::string:
      if (!item.is_string())
        throw RenderFault("'in <string>' requires string as left operand, not " + item.type_name());
      return container.as_string().find(item.as_string()) != std::string::npos;
    case Value::Kind::list:
    case Value::Kind::tuple:
      for (const auto& element : container.as_list())
        if (element == item) return true;
      return false;
    case Value::Kind::iterator: {
      Iterator& iterator = container.as_iterator();
      std::size_t i = iterator.single_pass ? iterator.position : 0;
      for (; i < iterator.items.size(); ++i) {
        if (iterator.items[i] == item) {
          if (iterator.single_pass) iterator.position = i + 1;  // `in` consumes a generator up to the match
          return true;
        }
      }
      if (iterator.single_pass) iterator.position = i;
      return false;
    }
    case Value::Kind::dict:
      if (item.is_list() || item.is_dict()) throw RenderFault("unhashable type: '" + item.type_name() + "'");
      return container.as_dict().find_key(item) != nullptr;
    case Value::Kind::undefined: return false;
    default: throw RenderFault("argument of type '" + container.type_name() + "' is not iterable");
  }
}

}  // namespace troupe::jinja
