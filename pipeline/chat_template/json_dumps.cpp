#include "pipeline/chat_template/json_dumps.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "pipeline/chat_template/python_text.hpp"

namespace troupe::jinja {
namespace {

// A dict key as json.dumps writes it: strings as they are, numbers as str() gives them, booleans
// and None as JSON's words.
std::string json_key(const Value& key) {
  switch (key.kind()) {
    case Value::Kind::string: return key.as_string();
    case Value::Kind::boolean: return key.as_bool() ? "true" : "false";
    case Value::Kind::none: return "null";
    case Value::Kind::integer: case Value::Kind::real: return key.str();
    default: throw RenderFault("keys must be str, int, float, bool or None, not " + key.type_name());
  }
}

void append_json_string(std::string& out, const std::string& text, bool ensure_ascii) {
  out += '"';
  auto escape_unit = [&](unsigned unit) {
    char buffer[16];
    std::snprintf(buffer, sizeof buffer, "\\u%04x", unit);
    out += buffer;
  };
  for (char32_t c : decode_utf8(text)) {
    switch (c) {
      case '"': out += "\\\""; continue;
      case '\\': out += "\\\\"; continue;
      case '\n': out += "\\n"; continue;
      case '\r': out += "\\r"; continue;
      case '\t': out += "\\t"; continue;
      case '\b': out += "\\b"; continue;
      case '\f': out += "\\f"; continue;
      default: break;
    }
    if (c < 0x20) {
      escape_unit(static_cast<unsigned>(c));
    } else if (ensure_ascii && c > 0x7E) {
      if (c >= 0x10000) {
        char32_t v = c - 0x10000;
        escape_unit(0xD800 | static_cast<unsigned>(v >> 10));
        escape_unit(0xDC00 | static_cast<unsigned>(v & 0x3FF));
      } else {
        escape_unit(static_cast<unsigned>(c));
      }
    } else {
      append_utf8(out, c);
    }
  }
  out += '"';
}

class JsonWriter {
 public:
  explicit JsonWriter(const JsonDumpOptions& options) : options_(options) {
    item_separator_ = options.item_separator.value_or(options.indent ? "," : ", ");
    key_separator_ = options.key_separator.value_or(": ");
  }

  void write(const Value& value, int depth) {
    using Kind = Value::Kind;
    switch (value.kind()) {
      case Kind::none: out_ += "null"; return;
      case Kind::boolean: out_ += value.as_bool() ? "true" : "false"; return;
      case Kind::integer: out_ += std::to_string(value.as_int()); return;
      case Kind::real: {
        double d = value.as_real();
        if (std::isnan(d)) out_ += "NaN";
        else if (std::isinf(d)) out_ += d < 0 ? "-Infinity" : "Infinity";
        else out_ += python_float_repr(d);
        return;
      }
      case Kind::string: append_json_string(out_, value.as_string(), options_.ensure_ascii); return;
      case Kind::list: case Kind::tuple: {
        const auto& list = value.as_list();
        if (list.empty()) {
          out_ += "[]";
          return;
        }
        out_ += '[';
        for (std::size_t i = 0; i < list.size(); ++i) {
          if (i) out_ += item_separator_;
          newline(depth + 1);
          write(list[i], depth + 1);
        }
        newline(depth);
        out_ += ']';
        return;
      }
      case Kind::dict: {
        const auto& dict = value.as_dict();
        if (dict.size() == 0) {
          out_ += "{}";
          return;
        }
        std::vector<const std::pair<Value, Value>*> entries;
        for (const auto& entry : dict.entries()) entries.push_back(&entry);
        // Python sorts the keys themselves (str with int is a TypeError, as python_less has it).
        if (options_.sort_keys)
          std::stable_sort(entries.begin(), entries.end(), [](auto* a, auto* b) { return python_less(a->first, b->first); });
        out_ += '{';
        bool first = true;
        for (const auto* entry : entries) {
          if (!first) out_ += item_separator_;
          first = false;
          newline(depth + 1);
          append_json_string(out_, json_key(entry->first), options_.ensure_ascii);
          out_ += key_separator_;
          write(entry->second, depth + 1);
        }
        newline(depth);
        out_ += '}';
        return;
      }
      default:
        throw RenderFault("Object of type " + value.type_name() + " is not JSON serializable");
    }
  }

  std::string take() { return std::move(out_); }

 private:
  void newline(int depth) {
    if (!options_.indent) return;
    out_ += '\n';
    for (int i = 0; i < depth; ++i) out_ += *options_.indent;
  }

  const JsonDumpOptions& options_;
  std::string item_separator_;
  std::string key_separator_;
  std::string out_;
};

}  // namespace

std::string json_dumps(const Value& value, const JsonDumpOptions& options) {
  JsonWriter writer(options);
  writer.write(value, 0);
  return writer.take();
}

}  // namespace troupe::jinja
