#include "pipeline/structured_output/json_schema_grammar.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <optional>
#include <set>

#include <boost/json.hpp>

#include "pipeline/structured_output/grammar_builder.hpp"
#include "pipeline/structured_output/json_text.hpp"
#include "pipeline/structured_output/decimal.hpp"
#include "pipeline/structured_output/number_automaton.hpp"
#include "pipeline/structured_output/number_grammar.hpp"
#include "pipeline/structured_output/regex_compiler.hpp"

namespace troupe::structured_output {

namespace json = boost::json;

namespace {

using Expr = GrammarBuilder::Expr;
using Rule = GrammarBuilder::Rule;

// Keywords that constrain a value in ways the grammar does not implement.
constexpr std::string_view kUnsupported[] = {
    "not", "if", "then", "else", "dependentSchemas", "dependentRequired", "dependencies", "patternProperties",
    "propertyNames", "unevaluatedItems", "contains", "minContains", "maxContains", "$dynamicRef", "$recursiveRef",
};

// Keywords that say nothing about validity.
bool is_annotation(std::string_view key) {
  static const std::set<std::string_view> keys = {
      "title", "description", "default", "examples", "example", "$schema", "$id", "id", "$comment", "$anchor",
      "deprecated", "readOnly", "writeOnly", "contentMediaType", "contentEncoding", "$defs", "definitions",
      "strict", "discriminator", "xml", "externalDocs"};
  return keys.contains(key) || key.starts_with("x-");
}

// Formats whose strings the grammar generates (the others are annotations: JSON Schema validators
// do not assert formats unless asked, so a plain string stays valid).
const std::map<std::string_view, std::string_view>& format_patterns() {
  static const std::map<std::string_view, std::string_view> formats = {
      {"date", R"(\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01]))"},
      {"time", R"(([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,6})?(Z|[+-]([01]\d|2[0-3]):[0-5]\d))"},
      {"date-time",
       R"(\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,6})?(Z|[+-]([01]\d|2[0-3]):[0-5]\d))"},
      {"uuid", R"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"},
      {"email", R"([a-zA-Z0-9_%+-]+(\.[a-zA-Z0-9_%+-]+)*@[a-zA-Z0-9-]+(\.[a-zA-Z0-9-]+)*\.[a-zA-Z]{2,})"},
      {"ipv4", R"(((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d))"},
      {"hostname", R"([a-z0-9]+(-[a-z0-9]+)*(\.[a-z0-9]+(-[a-z0-9]+)*)*)"},
      {"uri", R"([a-z][a-z0-9+.-]*://[^\s"<>\\^`{|}]+)"},
  };
  return formats;
}

// Canonical JSON text of a value: compact, strings as json_quote writes them, numbers as their
// shortest round-trip form.
void write_json(const json::value& v, std::string& out) {
  switch (v.kind()) {
    case json::kind::null: out += "null"; break;
    case json::kind::bool_: out += v.get_bool() ? "true" : "false"; break;
    case json::kind::int64: out += std::to_string(v.get_int64()); break;
    case json::kind::uint64: out += std::to_string(v.get_uint64()); break;
    case json::kind::double_: {
      const double d = v.get_double();
      if (!std::isfinite(d)) throw GrammarError("schema: a number is not finite");
      char buf[32];
      const auto res = std::to_chars(buf, buf + sizeof buf, d);
      out.append(buf, res.ptr);
      break;
    }
    case json::kind::string: out += json_quote(v.get_string()); break;
    case json::kind::array: {
      out.push_back('[');
      bool first = true;
      for (const auto& item : v.get_array()) {
        if (!first) out.push_back(',');
        first = false;
        write_json(item, out);
      }
      out.push_back(']');
      break;
    }
    case json::kind::object: {
      out.push_back('{');
      bool first = true;
      for (const auto& kv : v.get_object()) {
        if (!first) out.push_back(',');
        first = false;
        out += json_quote(kv.key());
        out.push_back(':');
        write_json(kv.value(), out);
      }
      out.push_back('}');
      break;
    }
  }
}

std::string canonical(const json::value& v) {
  std::string s;
  write_json(v, s);
  return s;
}

std::string json_type_of(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null: return "null";
    case json::kind::bool_: return "boolean";
    case json::kind::int64:
    case json::kind::uint64: return "integer";
    case json::kind::double_: {
      const double d = v.get_double();
      return std::floor(d) == d ? "integer" : "number";
    }
    case json::kind::string: return "string";
    case json::kind::array: return "array";
    case json::kind::object: return "object";
  }
  return "null";
}

bool type_allows(const std::set<std::string>& types, const json::value& v) {
  const std::string t = json_type_of(v);
  return types.contains(t) || (t == "integer" && types.contains("number"));
}

std::optional<double> number_of(const json::value* v) {
  if (v == nullptr) return std::nullopt;
  if (v->is_int64()) return static_cast<double>(v->get_int64());
  if (v->is_uint64()) return static_cast<double>(v->get_uint64());
  if (v->is_double()) return v->get_double();
  return std::nullopt;
}

class SchemaCompiler {
 public:
  SchemaCompiler(const json::value& root, const JsonGrammarOptions& options) : root_(root), options_(options) {}

  Grammar compile_schema() {
    const Rule top = b_.add_rule("root");
    b_.define(top, value(root_, "#"));
    return b_.build(top);
  }

  Grammar compile_any_object() {
    const Rule top = b_.add_rule("root");
    b_.define(top, b_.call(any_object_rule()));
    return b_.build(top);
  }

 private:
  [[noreturn]] static void fail(const std::string& path, const std::string& message) {
    throw GrammarError("JSON schema at " + path + ": " + message);
  }

  // ---- whitespace and the JSON building blocks ----

  // Whitespace is written inline (not as a rule of its own) so that the bytes after it belong to
  // the same rule: a token such as " true" or "\n  \"name" is then decided by the node alone
  // instead of being tested against the stack at every step.
  Expr ws() {
    if (!options_.whitespace_pattern.empty()) {
      return compile_regex(b_, options_.whitespace_pattern, RegexTarget::Text, "whitespace_pattern");
    }
    if (!options_.any_whitespace) return b_.empty();
    // llama.cpp's rule (json-schema-to-grammar's `space`): nothing, one space, or one or two
    // newlines and an indentation of up to kMaxIndentation spaces and tabs — what compact and
    // pretty-printed JSON use, and no more, so that a small model cannot spend its tokens on blanks.
    ByteSet indentation;
    indentation.set(static_cast<unsigned char>(' '));
    indentation.set(static_cast<unsigned char>('\t'));
    return b_.alt({b_.empty(), b_.literal(" "),
                   b_.seq({b_.repeat(b_.literal("\n"), 1, 2), b_.repeat(b_.bytes(indentation), 0, kMaxIndentation)})});
  }
  Expr item_separator() {
    if (!options_.any_whitespace && options_.whitespace_pattern.empty()) return b_.literal(", ");
    return b_.seq({ws(), b_.literal(","), ws()});
  }
  Expr key_separator() {
    if (!options_.any_whitespace && options_.whitespace_pattern.empty()) return b_.literal(": ");
    return b_.seq({ws(), b_.literal(":"), ws()});
  }

  Rule string_rule() {
    if (string_rule_ < 0) {
      string_rule_ = b_.rule("string", b_.seq({b_.literal("\""), b_.star(json_any_string_char(b_)), b_.literal("\"")}));
    }
    return string_rule_;
  }
  Rule number_rule() {
    if (number_rule_ < 0) number_rule_ = b_.rule("number", number_expr(b_));
    return number_rule_;
  }
  Rule integer_rule() {
    if (integer_rule_ < 0) integer_rule_ = b_.rule("integer", integer_expr(b_, std::nullopt, std::nullopt));
    return integer_rule_;
  }
  Rule any_value_rule() {
    if (any_value_rule_ < 0) {
      any_value_rule_ = b_.add_rule("value");
      const Rule object = any_object_rule();
      const Rule array = b_.add_rule("array");
      b_.define(any_value_rule_, b_.alt({b_.call(object), b_.call(array), b_.call(string_rule()), b_.call(number_rule()),
                                         b_.literal("true"), b_.literal("false"), b_.literal("null")}));
      const Expr items = b_.seq({b_.call(any_value_rule_), b_.star(b_.seq({item_separator(), b_.call(any_value_rule_)})), ws()});
      b_.define(array, b_.seq({b_.literal("["), ws(), b_.optional(items), b_.literal("]")}));
    }
    return any_value_rule_;
  }
  Rule any_object_rule() {
    if (any_object_rule_ < 0) {
      any_object_rule_ = b_.add_rule("object");
      const Rule value = any_value_rule();
      const Expr member = b_.seq({b_.call(string_rule()), key_separator(), b_.call(value)});
      const Expr members = b_.seq({member, b_.star(b_.seq({item_separator(), member})), ws()});
      b_.define(any_object_rule_, b_.seq({b_.literal("{"), ws(), b_.optional(members), b_.literal("}")}));
    }
    return any_object_rule_;
  }

  // ---- $ref ----

  const json::value& resolve(const std::string& ref, const std::string& path) {
    if (ref.empty() || ref[0] != '#') fail(path, "only $ref into this schema document (\"#...\") is supported, got \"" + ref + "\"");
    const json::value* cur = &root_;
    std::size_t pos = 1;
    if (pos < ref.size() && ref[pos] != '/') fail(path, "unsupported $ref \"" + ref + "\" (anchors are not supported)");
    while (pos < ref.size()) {
      const std::size_t next = ref.find('/', pos + 1);
      std::string token = ref.substr(pos + 1, next == std::string::npos ? std::string::npos : next - pos - 1);
      for (std::size_t i = 0; (i = token.find('~', i)) != std::string::npos; ++i) {
        if (i + 1 < token.size() && token[i + 1] == '1') token.replace(i, 2, "/");
        else if (i + 1 < token.size() && token[i + 1] == '0') token.replace(i, 2, "~");
      }
      if (cur->is_object() && cur->as_object().contains(token)) {
        cur = &cur->as_object().at(token);
      } else if (cur->is_array() && !token.empty() && token.find_first_not_of("0123456789") == std::string::npos &&
                 std::stoull(token) < cur->as_array().size()) {
        cur = &cur->as_array()[std::stoull(token)];
      } else {
        fail(path, "$ref \"" + ref + "\" does not resolve");
      }
      pos = next == std::string::npos ? ref.size() : next;
    }
    return *cur;
  }

  Rule ref_rule(const std::string& ref, const std::string& path) {
    if (const auto it = ref_rules_.find(ref); it != ref_rules_.end()) return it->second;
    const json::value& target = resolve(ref, path);
    const Rule r = b_.add_rule("ref " + ref);
    ref_rules_.emplace(ref, r);  // before compiling the target, so that recursion finds it
    b_.define(r, value(target, ref));
    return r;
  }

  // ---- merging (allOf, and keywords beside anyOf / $ref) ----

  json::object merge(json::object a, const json::object& b, const std::string& path) {
    for (const auto& kv : b) {
      const std::string key(kv.key());
      const json::value& v = kv.value();
      auto* existing = a.if_contains(key);
      if (existing == nullptr) {
        a[key] = v;
        continue;
      }
      if (*existing == v || is_annotation(key)) continue;
      if (key == "type") {
        std::set<std::string> x = types_of(*existing, path), y = types_of(v, path), both;
        for (const auto& t : x) {
          if (y.contains(t) || (t == "integer" && y.contains("number"))) both.insert(t);
          else if (t == "number" && y.contains("integer")) both.insert("integer");
        }
        if (both.empty()) fail(path, "allOf/anyOf branches require incompatible types");
        json::array arr;
        for (const auto& t : both) arr.emplace_back(t);
        a[key] = std::move(arr);
      } else if (key == "properties" && existing->is_object() && v.is_object()) {
        json::object props = existing->as_object();
        for (const auto& p : v.as_object()) {
          auto* mine = props.if_contains(p.key());
          if (mine == nullptr) props[p.key()] = p.value();
          else if (*mine != p.value()) props[p.key()] = json::object{{"allOf", json::array{*mine, p.value()}}};
        }
        a[key] = std::move(props);
      } else if (key == "required" && existing->is_array() && v.is_array()) {
        json::array req = existing->as_array();
        for (const auto& r : v.as_array()) {
          if (std::find(req.begin(), req.end(), r) == req.end()) req.push_back(r);
        }
        a[key] = std::move(req);
      } else if (key == "minimum" || key == "minLength" || key == "minItems") {
        a[key] = *number_of(existing) >= *number_of(&v) ? *existing : v;
      } else if (key == "maximum" || key == "maxLength" || key == "maxItems") {
        a[key] = *number_of(existing) <= *number_of(&v) ? *existing : v;
      } else if (key == "enum" && existing->is_array() && v.is_array()) {
        json::array both;
        for (const auto& e : existing->as_array()) {
          if (std::find(v.as_array().begin(), v.as_array().end(), e) != v.as_array().end()) both.push_back(e);
        }
        a[key] = std::move(both);
      } else {
        fail(path, "cannot combine two different '" + key + "' constraints (allOf, or keywords beside anyOf/$ref)");
      }
    }
    return a;
  }

  // The schema object with $ref and allOf folded in (one level), or nullopt if nothing to fold.
  std::optional<json::object> fold(const json::object& s, const std::string& path, int depth = 0) {
    if (depth > 32) fail(path, "$ref/allOf nest too deeply (a reference cycle with no value in between?)");
    const bool has_ref = s.contains("$ref");
    const bool has_all = s.contains("allOf");
    if (!has_ref && !has_all) return std::nullopt;
    json::object rest = s;
    rest.erase("$ref");
    rest.erase("allOf");
    json::object out = rest;
    if (has_ref) {
      const json::value& ref = s.at("$ref");
      if (!ref.is_string()) fail(path, "$ref must be a string");
      const json::value& target = resolve(std::string(ref.as_string()), path);
      if (target.is_bool()) {
        if (!target.as_bool()) fail(path, "$ref to the schema false: no value is valid");
      } else if (target.is_object()) {
        json::object t = target.as_object();
        if (auto folded = fold(t, path, depth + 1)) t = std::move(*folded);
        out = merge(std::move(t), out, path);
      } else {
        fail(path, "$ref target is not a schema");
      }
    }
    if (has_all) {
      const json::value& all = s.at("allOf");
      if (!all.is_array()) fail(path, "allOf must be an array");
      for (const auto& part : all.as_array()) {
        if (part.is_bool()) {
          if (!part.as_bool()) fail(path, "allOf contains false: no value is valid");
          continue;
        }
        if (!part.is_object()) fail(path, "allOf items must be schemas");
        json::object p = part.as_object();
        if (auto folded = fold(p, path, depth + 1)) p = std::move(*folded);
        out = merge(std::move(out), p, path);
      }
    }
    return out;
  }

  // ---- values ----

  std::set<std::string> types_of(const json::value& type, const std::string& path) {
    static const std::set<std::string> known = {"string", "number", "integer", "boolean", "null", "object", "array"};
    std::set<std::string> out;
    auto add = [&](const json::value& t) {
      if (!t.is_string() || !known.contains(std::string(t.as_string()))) fail(path, "unknown type " + canonical(t));
      out.insert(std::string(t.as_string()));
    };
    if (type.is_array()) {
      for (const auto& t : type.as_array()) add(t);
    } else {
      add(type);
    }
    return out;
  }

  // A reference to the value grammar of `schema`: a call of a rule shared by identical schemas.
  Expr value_ref(const json::value& schema, const std::string& path) {
    if (schema.is_object() && schema.as_object().size() == 1 && schema.as_object().contains("$ref") &&
        schema.as_object().at("$ref").is_string()) {
      return b_.call(ref_rule(std::string(schema.as_object().at("$ref").as_string()), path));
    }
    const std::string key = canonical(schema);
    if (const auto it = shared_rules_.find(key); it != shared_rules_.end()) return b_.call(it->second);
    const Rule r = b_.add_rule(path);
    shared_rules_.emplace(key, r);
    b_.define(r, value(schema, path));
    return b_.call(r);
  }

  Expr value(const json::value& schema, const std::string& path) {
    // Each level of schema (and each $ref followed) recurses here: bounded so that no schema can
    // exhaust the stack.
    if (++depth_ > kMaxDepth) fail(path, "the schema nests more than " + std::to_string(kMaxDepth) + " levels deep");
    struct Leave {
      int& d;
      ~Leave() { --d; }
    } leave{depth_};
    if (schema.is_bool()) return schema.as_bool() ? b_.call(any_value_rule()) : b_.nothing();
    if (!schema.is_object()) fail(path, "a schema must be an object or a boolean");
    if (auto folded = fold(schema.as_object(), path)) return value_of_object(*folded, path);
    return value_of_object(schema.as_object(), path);
  }

  Expr value_of_object(const json::object& s, const std::string& path) {
    for (std::string_view k : kUnsupported) {
      if (s.contains(k)) fail(path, "keyword '" + std::string(k) + "' is not supported");
    }
    if (s.contains("anyOf") || s.contains("oneOf")) return any_of(s, path);

    std::optional<std::set<std::string>> types;
    if (const auto* t = s.if_contains("type")) types = types_of(*t, path);
    if (const auto* nullable = s.if_contains("nullable"); nullable && nullable->is_bool() && nullable->as_bool() && types) {
      types->insert("null");
    }

    if (const auto* c = s.if_contains("const")) {
      if (types && !type_allows(*types, *c)) fail(path, "'const' does not match 'type'");
      return b_.literal(canonical(*c));
    }
    if (const auto* e = s.if_contains("enum")) {
      if (!e->is_array()) fail(path, "'enum' must be an array");
      std::vector<Expr> options;
      for (const auto& item : e->as_array()) {
        if (!types || type_allows(*types, item)) options.push_back(b_.literal(canonical(item)));
      }
      if (options.empty()) fail(path, "no 'enum' value matches 'type'");
      return b_.alt(std::move(options));
    }

    if (!types) types = inferred_types(s);
    if (!types) return b_.call(any_value_rule());
    std::vector<Expr> options;
    for (const std::string& t : *types) {
      if (t == "string") options.push_back(string_value(s, path));
      else if (t == "integer") options.push_back(integer_value(s, path));
      else if (t == "number") options.push_back(number_value(s, path));
      else if (t == "boolean") options.push_back(b_.alt({b_.literal("true"), b_.literal("false")}));
      else if (t == "null") options.push_back(b_.literal("null"));
      else if (t == "object") options.push_back(object_value(s, path));
      else if (t == "array") options.push_back(array_value(s, path));
    }
    return b_.alt(std::move(options));
  }

  // Without 'type', the kind of keywords present says what was meant; none: any value.
  static std::optional<std::set<std::string>> inferred_types(const json::object& s) {
    auto has = [&](std::initializer_list<std::string_view> keys) {
      return std::any_of(keys.begin(), keys.end(), [&](std::string_view k) { return s.contains(k); });
    };
    const bool object = has({"properties", "required", "additionalProperties", "minProperties", "maxProperties",
                             "unevaluatedProperties"});
    const bool array = has({"items", "prefixItems", "minItems", "maxItems", "uniqueItems", "additionalItems"});
    const bool string = has({"pattern", "minLength", "maxLength", "format"});
    const bool number = has({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"});
    if (object + array + string + number != 1) return std::nullopt;
    if (object) return std::set<std::string>{"object"};
    if (array) return std::set<std::string>{"array"};
    if (string) return std::set<std::string>{"string"};
    return std::set<std::string>{"number"};
  }

  Expr any_of(const json::object& s, const std::string& path) {
    if (s.contains("anyOf") && s.contains("oneOf")) fail(path, "'anyOf' together with 'oneOf' is not supported");
    const char* key = s.contains("anyOf") ? "anyOf" : "oneOf";
    const json::value& branches = s.at(key);
    if (!branches.is_array() || branches.as_array().empty()) fail(path, std::string("'") + key + "' must be a non-empty array");
    json::object base = s;
    base.erase(key);
    bool constrained = false;
    for (const auto& kv : base) constrained = constrained || !is_annotation(kv.key());
    std::vector<Expr> options;
    std::size_t i = 0;
    for (const auto& branch : branches.as_array()) {
      const std::string branch_path = path + "/" + key + "/" + std::to_string(i++);
      if (!constrained) {
        options.push_back(value_ref(branch, branch_path));
        continue;
      }
      if (branch.is_bool()) {
        if (branch.as_bool()) options.push_back(value_of_object(base, branch_path));
        continue;
      }
      if (!branch.is_object()) fail(branch_path, "a schema must be an object or a boolean");
      json::object b = branch.as_object();
      if (auto folded = fold(b, branch_path)) b = std::move(*folded);
      options.push_back(value_of_object(merge(base, b, branch_path), branch_path));
    }
    return b_.alt(std::move(options));
  }

  std::optional<int64_t> count(const json::object& s, std::string_view key, const std::string& path) {
    const auto* v = s.if_contains(key);
    if (v == nullptr) return std::nullopt;
    const auto n = number_of(v);
    if (!n || *n < 0 || std::floor(*n) != *n) fail(path, "'" + std::string(key) + "' must be a non-negative integer");
    if (*n > 1e6) fail(path, "'" + std::string(key) + "' over 1000000 is not supported");
    return static_cast<int64_t>(*n);
  }

  Expr quoted(Expr content) { return b_.seq({b_.literal("\""), content, b_.literal("\"")}); }

  Expr string_value(const json::object& s, const std::string& path) {
    const auto min = count(s, "minLength", path);
    const auto max = count(s, "maxLength", path);
    const bool lengths = min.value_or(0) > 0 || max.has_value();
    if (min && max && *min > *max) fail(path, "minLength is greater than maxLength");
    if (const auto* pattern = s.if_contains("pattern")) {
      if (!pattern->is_string()) fail(path, "'pattern' must be a string");
      if (lengths) fail(path, "'pattern' together with 'minLength'/'maxLength' is not supported");
      return quoted(compile_regex(b_, std::string(pattern->as_string()), RegexTarget::JsonString, "pattern at " + path));
    }
    if (const auto* format = s.if_contains("format"); format && format->is_string()) {
      const auto& formats = format_patterns();
      if (const auto it = formats.find(std::string_view(format->as_string())); it != formats.end()) {
        if (lengths) fail(path, "'format' together with 'minLength'/'maxLength' is not supported");
        return quoted(compile_regex(b_, it->second, RegexTarget::JsonString, "format"));
      }
    }
    if (!lengths) return b_.call(string_rule());
    return quoted(b_.repeat(json_any_string_char(b_), static_cast<int32_t>(min.value_or(0)),
                            max ? static_cast<int32_t>(*max) : GrammarBuilder::kUnbounded));
  }

  // Lower and upper bounds (value, exclusive), draft-4 boolean exclusives included.
  struct Bounds {
    std::optional<double> lo, hi;
    bool lo_exclusive = false, hi_exclusive = false;
  };
  Bounds bounds_of(const json::object& s, const std::string& path) {
    Bounds b;
    auto bad = [&](const char* k) { fail(path, std::string("'") + k + "' must be a number"); };
    if (const auto* v = s.if_contains("minimum")) {
      if (!(b.lo = number_of(v))) bad("minimum");
    }
    if (const auto* v = s.if_contains("maximum")) {
      if (!(b.hi = number_of(v))) bad("maximum");
    }
    if (const auto* v = s.if_contains("exclusiveMinimum")) {
      if (v->is_bool()) {
        b.lo_exclusive = v->as_bool() && b.lo.has_value();
      } else if (const auto x = number_of(v)) {
        if (!b.lo || *x >= *b.lo) b.lo = *x, b.lo_exclusive = true;
      } else {
        bad("exclusiveMinimum");
      }
    }
    if (const auto* v = s.if_contains("exclusiveMaximum")) {
      if (v->is_bool()) {
        b.hi_exclusive = v->as_bool() && b.hi.has_value();
      } else if (const auto x = number_of(v)) {
        if (!b.hi || *x <= *b.hi) b.hi = *x, b.hi_exclusive = true;
      } else {
        bad("exclusiveMaximum");
      }
    }
    for (const auto* x : {&b.lo, &b.hi}) {
      if (*x && std::fabs(**x) > 9.0e15) fail(path, "bounds beyond +-9e15 are not supported");
    }
    return b;
  }

  // multipleOf as an exact decimal (nullopt when absent).
  std::optional<Decimal> multiple_of(const json::object& s, const std::string& path) {
    const auto* m = s.if_contains("multipleOf");
    if (m == nullptr) return std::nullopt;
    const auto v = number_of(m);
    if (!v || !std::isfinite(*v) || *v <= 0) fail(path, "'multipleOf' must be a number greater than 0");
    return decimal_of(*v);
  }

  // A number or integer with bounds or multipleOf, as the exact automaton of number_automaton.hpp.
  Expr constrained_number(const Bounds& b, const std::optional<Decimal>& multiple, bool integer,
                          const std::string& path) {
    NumberConstraints c;
    c.integer = integer;
    c.multiple_of = multiple;
    if (b.lo) c.lower = NumberLimit{decimal_of(*b.lo), b.lo_exclusive};
    if (b.hi) c.upper = NumberLimit{decimal_of(*b.hi), b.hi_exclusive};
    try {
      return b_.automaton(number_automaton(c));
    } catch (const GrammarError& e) {
      fail(path, e.what());
    }
  }

  Expr integer_value(const json::object& s, const std::string& path) {
    const Bounds b = bounds_of(s, path);
    std::optional<Decimal> multiple = multiple_of(s, path);
    if (multiple && multiple->integer == "1" && multiple->fraction.empty()) multiple.reset();  // every integer is one
    std::optional<int64_t> lo, hi;
    if (b.lo) lo = static_cast<int64_t>(b.lo_exclusive ? std::floor(*b.lo) + 1 : std::ceil(*b.lo));
    if (b.hi) hi = static_cast<int64_t>(b.hi_exclusive ? std::ceil(*b.hi) - 1 : std::floor(*b.hi));
    if (lo && hi && *lo > *hi) fail(path, "no integer lies within the bounds");
    if (multiple) return constrained_number(b, multiple, /*integer=*/true, path);
    if (!b.lo && !b.hi) return b_.call(integer_rule());
    return integer_expr(b_, lo, hi);
  }

  Expr number_value(const json::object& s, const std::string& path) {
    const Bounds b = bounds_of(s, path);
    const std::optional<Decimal> multiple = multiple_of(s, path);
    if (!b.lo && !b.hi && !multiple) return b_.call(number_rule());
    if (b.lo && b.hi && (*b.lo > *b.hi || (*b.lo == *b.hi && (b.lo_exclusive || b.hi_exclusive)))) {
      fail(path, "no number lies within the bounds");
    }
    return constrained_number(b, multiple, /*integer=*/false, path);
  }

  Expr object_value(const json::object& s, const std::string& path) {
    static const json::object kEmpty;
    const json::object* props = &kEmpty;
    if (const auto* p = s.if_contains("properties")) {
      if (!p->is_object()) fail(path, "'properties' must be an object");
      props = &p->as_object();
    }
    std::vector<std::string> required;
    if (const auto* r = s.if_contains("required")) {
      if (!r->is_array()) fail(path, "'required' must be an array");
      for (const auto& name : r->as_array()) {
        if (!name.is_string()) fail(path, "'required' must list strings");
        required.emplace_back(name.as_string());
      }
    }
    // What may appear beyond `properties`.
    std::optional<json::value> extra;
    const auto* additional = s.if_contains("additionalProperties");
    if (const auto* u = s.if_contains("unevaluatedProperties"); u && !(u->is_bool() && !u->as_bool())) {
      fail(path, "keyword 'unevaluatedProperties' is supported only as false");
    }
    if (additional != nullptr) {
      if (!(additional->is_bool() && !additional->as_bool())) extra = *additional;
    } else if (!s.contains("properties") && !s.contains("unevaluatedProperties")) {
      extra = json::value(true);  // a free-form object ({"type": "object"} alone)
    }

    // Properties in order: declared ones, then required names that are not declared.
    struct Member {
      std::string name;
      json::value schema;
      bool required;
    };
    std::vector<Member> members;
    for (const auto& kv : *props) {
      const bool req = std::find(required.begin(), required.end(), std::string(kv.key())) != required.end();
      members.push_back({std::string(kv.key()), kv.value(), req});
    }
    for (const auto& name : required) {
      if (props->contains(name)) continue;
      if (!extra) fail(path, "required property '" + name + "' is not allowed by additionalProperties");
      members.push_back({name, *extra, true});
    }
    check_property_counts(s, members.size(), required.size(), extra.has_value(), path);

    std::vector<Expr> member_exprs;
    for (const Member& m : members) {
      const std::string member_path = path + "/properties/" + m.name;
      member_exprs.push_back(b_.seq({b_.literal(json_quote(m.name)), key_separator(), value_ref(m.schema, member_path)}));
    }
    std::optional<Expr> extra_member;
    if (extra) extra_member = b_.seq({b_.call(string_rule()), key_separator(), value_ref(*extra, path + "/additionalProperties")});

    const bool all_required = std::all_of(members.begin(), members.end(), [](const Member& m) { return m.required; });
    if (all_required && !extra_member) {
      std::vector<Expr> parts{b_.literal("{"), ws()};
      for (std::size_t i = 0; i < member_exprs.size(); ++i) {
        if (i > 0) parts.push_back(item_separator());
        parts.push_back(member_exprs[i]);
      }
      if (!member_exprs.empty()) parts.push_back(ws());
      parts.push_back(b_.literal("}"));
      return b_.seq(std::move(parts));
    }
    // rest[i]: members i.. after at least one member was written; first[i]: members i.., at least
    // one of them, none written yet. Rules keep this linear in the number of properties.
    const std::size_t n = members.size();
    std::vector<Rule> rest(n + 1), first(n + 1);
    for (std::size_t i = 0; i <= n; ++i) {
      rest[i] = b_.add_rule(path + " rest " + std::to_string(i));
      first[i] = b_.add_rule(path + " first " + std::to_string(i));
    }
    b_.define(rest[n], extra_member ? b_.star(b_.seq({item_separator(), *extra_member})) : b_.empty());
    b_.define(first[n], extra_member ? b_.seq({*extra_member, b_.call(rest[n])}) : b_.nothing());
    for (std::size_t i = n; i-- > 0;) {
      const Expr with = b_.seq({item_separator(), member_exprs[i]});
      b_.define(rest[i], b_.seq({members[i].required ? with : b_.optional(with), b_.call(rest[i + 1])}));
      const Expr here = b_.seq({member_exprs[i], b_.call(rest[i + 1])});
      b_.define(first[i], members[i].required ? here : b_.alt({here, b_.call(first[i + 1])}));
    }
    const bool any_required = std::any_of(members.begin(), members.end(), [](const Member& m) { return m.required; });
    const Expr body = b_.seq({b_.call(first[0]), ws()});
    return b_.seq({b_.literal("{"), ws(), any_required ? body : b_.optional(body), b_.literal("}")});
  }

  void check_property_counts(const json::object& s, std::size_t declared, std::size_t required, bool extra,
                             const std::string& path) {
    if (const auto min = count(s, "minProperties", path); min && static_cast<std::size_t>(*min) > required) {
      fail(path, "keyword 'minProperties' is supported only when the required properties satisfy it");
    }
    if (const auto max = count(s, "maxProperties", path); max && (extra || static_cast<std::size_t>(*max) < declared)) {
      fail(path, "keyword 'maxProperties' is supported only when every allowed property fits within it");
    }
  }

  Expr array_value(const json::object& s, const std::string& path) {
    if (const auto* u = s.if_contains("uniqueItems"); u && !(u->is_bool() && !u->as_bool())) {
      fail(path, "keyword 'uniqueItems' is not supported");
    }
    const int64_t min = count(s, "minItems", path).value_or(0);
    const auto max = count(s, "maxItems", path);
    if (max && min > *max) fail(path, "minItems is greater than maxItems");

    // Tuple form: prefixItems (or draft-4 items: [...]), then `items` (or additionalItems).
    const json::array* prefix = nullptr;
    const json::value* rest = s.if_contains("items");
    if (const auto* p = s.if_contains("prefixItems")) {
      if (!p->is_array()) fail(path, "'prefixItems' must be an array");
      prefix = &p->as_array();
    } else if (rest != nullptr && rest->is_array()) {
      prefix = &rest->as_array();
      rest = s.if_contains("additionalItems");
    }
    std::vector<Expr> elements;  // the fixed leading items
    if (prefix != nullptr) {
      const std::size_t used = max ? std::min<std::size_t>(prefix->size(), static_cast<std::size_t>(*max)) : prefix->size();
      for (std::size_t i = 0; i < used; ++i) elements.push_back(value_ref((*prefix)[i], path + "/prefixItems/" + std::to_string(i)));
    }
    const auto fixed = static_cast<int64_t>(elements.size());
    // Further items: `items`/additionalItems schema; absent after a prefix means none (unless
    // minItems needs more, then any value); absent without a prefix means any value.
    std::optional<Expr> item;
    if (rest == nullptr) {
      if (prefix == nullptr || min > fixed) item = b_.call(any_value_rule());
    } else if (!(rest->is_bool() && !rest->as_bool())) {
      item = value_ref(*rest, path + "/items");
    }
    const int64_t more_min = std::max<int64_t>(0, min - fixed);
    std::optional<int64_t> more_max;
    if (max) more_max = std::max<int64_t>(0, *max - fixed);
    if (!item) more_max = 0;
    if (more_min > 0 && !item) fail(path, "minItems needs more items than the schema allows");

    // Sequence of elements, then `item` repeated [more_min, more_max] times, comma-separated.
    std::vector<Expr> parts;
    for (std::size_t i = 0; i < elements.size(); ++i) {
      if (i > 0) parts.push_back(item_separator());
      parts.push_back(elements[i]);
    }
    if (item && more_max.value_or(1) > 0) {
      const int32_t lo = static_cast<int32_t>(more_min);
      const int32_t hi = more_max ? static_cast<int32_t>(*more_max) : GrammarBuilder::kUnbounded;
      if (elements.empty()) {
        // item (sep item){lo-1, hi-1}, optional as a whole when lo == 0.
        const Expr tail = b_.repeat(b_.seq({item_separator(), *item}), std::max(lo - 1, 0),
                                    hi == GrammarBuilder::kUnbounded ? hi : hi - 1);
        const Expr list = b_.seq({*item, tail});
        parts.push_back(lo == 0 ? b_.optional(b_.seq({list, ws()})) : b_.seq({list, ws()}));
        return b_.seq({b_.literal("["), ws(), b_.seq(std::move(parts)), b_.literal("]")});
      }
      parts.push_back(b_.repeat(b_.seq({item_separator(), *item}), lo, hi));
    }
    if (elements.empty()) return b_.seq({b_.literal("["), ws(), b_.literal("]")});
    parts.push_back(ws());
    return b_.seq({b_.literal("["), ws(), b_.seq(std::move(parts)), b_.literal("]")});
  }

  const json::value& root_;
  const JsonGrammarOptions& options_;
  GrammarBuilder b_;
  Rule string_rule_ = -1;
  Rule number_rule_ = -1;
  Rule integer_rule_ = -1;
  Rule any_value_rule_ = -1;
  Rule any_object_rule_ = -1;
  std::map<std::string, Rule> ref_rules_;
  std::map<std::string, Rule> shared_rules_;
  int depth_ = 0;
  static constexpr int kMaxDepth = 128;
};

}  // namespace

Grammar json_schema_grammar(const json::value& schema, const JsonGrammarOptions& options) {
  return SchemaCompiler(schema, options).compile_schema();
}

Grammar json_schema_grammar(std::string_view schema_json, const JsonGrammarOptions& options) {
  boost::system::error_code ec;
  const json::value schema = json::parse(schema_json, ec);
  if (ec) throw GrammarError("the JSON schema is not valid JSON: " + ec.message());
  return json_schema_grammar(schema, options);
}

Grammar json_object_grammar(const JsonGrammarOptions& options) {
  const json::value none;
  return SchemaCompiler(none, options).compile_any_object();
}

}  // namespace troupe::structured_output
