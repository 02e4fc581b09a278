#include "pipeline/openai/structured_output_fields.hpp"

#include <boost/json.hpp>

#include "pipeline/openai/api_exception.hpp"
#include "pipeline/structured_output/structured_output_grammar.hpp"

namespace troupe {

namespace {

using Kind = StructuredOutputRequest::Kind;

// A JSON schema given as an object, or as a string holding one.
std::string schema_text(const boost::json::value& v, const std::string& param) {
  if (v.is_object()) return boost::json::serialize(v);
  if (v.is_string()) return std::string(v.as_string());
  throw_invalid("'" + param + "' must be a JSON schema object.", param);
}

std::vector<std::string> choice_list(const boost::json::value& v, const std::string& param) {
  if (!v.is_array() || v.as_array().empty()) throw_invalid("'" + param + "' must be a non-empty array of strings.", param);
  std::vector<std::string> out;
  for (const auto& item : v.as_array()) {
    if (!item.is_string()) throw_invalid("'" + param + "' must be a non-empty array of strings.", param);
    out.emplace_back(item.as_string());
  }
  return out;
}

std::string text_field(const boost::json::value& v, const std::string& param) {
  if (!v.is_string()) throw_invalid("'" + param + "' must be a string.", param);
  return std::string(v.as_string());
}

// The constraint named by one of the vLLM fields (`name` under `prefix`), added to `found`.
struct Found {
  std::optional<StructuredOutputRequest> spec;
  std::string param;
  int count = 0;
  void set(StructuredOutputRequest s, std::string p) {
    ++count;
    spec = std::move(s);
    param = std::move(p);
  }
};

StructuredOutputRequest make(Kind kind, std::string text = {}, std::vector<std::string> choices = {}) {
  StructuredOutputRequest s;
  s.kind = kind;
  s.text = std::move(text);
  s.choices = std::move(choices);
  return s;
}

void read_vllm_object(const boost::json::object& so, Found& found, StructuredOutputRequest& options) {
  const std::string p = "structured_outputs.";
  for (const auto& kv : so) {
    const std::string key(kv.key());
    const boost::json::value& v = kv.value();
    if (v.is_null()) continue;
    if (key == "json") {
      found.set(make(Kind::JsonSchema, schema_text(v, p + key)), p + key);
    } else if (key == "regex") {
      found.set(make(Kind::Regex, text_field(v, p + key)), p + key);
    } else if (key == "choice") {
      found.set(make(Kind::Choice, {}, choice_list(v, p + key)), p + key);
    } else if (key == "grammar") {
      found.set(make(Kind::Grammar, text_field(v, p + key)), p + key);
    } else if (key == "json_object") {
      if (!v.is_bool()) throw_invalid("'" + p + key + "' must be a boolean.", p + key);
      if (v.as_bool()) found.set(make(Kind::JsonObject), p + key);
    } else if (key == "structural_tag") {
      throw_invalid("'structured_outputs.structural_tag' is not supported.", p + key);
    } else if (key == "disable_any_whitespace") {
      if (!v.is_bool()) throw_invalid("'" + p + key + "' must be a boolean.", p + key);
      options.disable_any_whitespace = v.as_bool();
    } else if (key == "whitespace_pattern") {
      options.whitespace_pattern = text_field(v, p + key);
    } else if (key == "disable_additional_properties" || key == "disable_fallback") {
      // Accepted: troupe never generates undeclared properties unless the schema allows them
      // explicitly, and has one backend, so neither changes anything.
      if (!v.is_bool()) throw_invalid("'" + p + key + "' must be a boolean.", p + key);
    }
  }
}

void read_guided_fields(const FieldReader& fields, Found& found, StructuredOutputRequest& options) {
  if (const auto* v = fields.find("guided_json")) found.set(make(Kind::JsonSchema, schema_text(*v, "guided_json")), "guided_json");
  if (const auto* v = fields.find("guided_regex")) found.set(make(Kind::Regex, text_field(*v, "guided_regex")), "guided_regex");
  if (const auto* v = fields.find("guided_choice")) found.set(make(Kind::Choice, {}, choice_list(*v, "guided_choice")), "guided_choice");
  if (const auto* v = fields.find("guided_grammar")) found.set(make(Kind::Grammar, text_field(*v, "guided_grammar")), "guided_grammar");
  if (const auto* v = fields.find("guided_whitespace_pattern")) options.whitespace_pattern = text_field(*v, "guided_whitespace_pattern");
  fields.string("guided_decoding_backend");  // one backend here: only the type is checked
}

// response_format: text, json_object, json_schema.
std::optional<StructuredOutputRequest> read_response_format(const FieldReader& fields) {
  const boost::json::object* format = fields.object("response_format");
  if (format == nullptr) return std::nullopt;
  const boost::json::value* type = format->if_contains("type");
  if (type == nullptr || !type->is_string()) throw_invalid("'response_format.type' is required.", "response_format");
  const std::string_view t = type->as_string();
  if (t == "text") return std::nullopt;
  if (t == "json_object") return make(Kind::JsonObject);
  if (t == "json_schema") {
    const boost::json::value* js = format->if_contains("json_schema");
    if (js == nullptr || !js->is_object()) {
      throw_invalid("'response_format.json_schema' is required when type is \"json_schema\".", "response_format");
    }
    const boost::json::object& o = js->as_object();
    const boost::json::value* name = o.if_contains("name");
    if (name != nullptr && !name->is_string()) throw_invalid("'response_format.json_schema.name' must be a string.", "response_format");
    const boost::json::value* strict = o.if_contains("strict");
    if (strict != nullptr && !strict->is_null() && !strict->is_bool()) {
      throw_invalid("'response_format.json_schema.strict' must be a boolean.", "response_format");
    }
    const boost::json::value* schema = o.if_contains("schema");
    if (schema == nullptr || schema->is_null()) {
      throw_invalid("'response_format.json_schema.schema' is required.", "response_format");
    }
    if (!schema->is_object() && !schema->is_bool()) throw_invalid("'response_format.json_schema.schema' must be an object.", "response_format");
    return make(Kind::JsonSchema, boost::json::serialize(*schema));
  }
  if (t == "structural_tag") throw_invalid("'response_format' of type \"structural_tag\" is not supported.", "response_format");
  throw_invalid("'response_format.type' must be \"text\", \"json_object\" or \"json_schema\", got \"" + std::string(t) + "\".",
                "response_format");
}

}  // namespace

void read_structured_output_fields(const FieldReader& fields, const ApiContext& context, GenerationRequest& request) {
  Found found;
  StructuredOutputRequest options;  // whitespace settings: the server's default, then the request's
  options.disable_any_whitespace = context.disable_any_whitespace;
  if (const auto* so = fields.find("structured_outputs")) {
    if (!so->is_object()) throw_invalid("'structured_outputs' must be an object.", "structured_outputs");
    read_vllm_object(so->as_object(), found, options);
  }
  read_guided_fields(fields, found, options);
  // A forced tool call (tool_choice "required" or a named function) already set the constraint:
  // it takes the whitespace settings too, and its schema comes from the request's tools, so a
  // schema keyword troupe cannot enforce is the tools' fault.
  if (request.structured_output) {
    request.structured_output->disable_any_whitespace = options.disable_any_whitespace;
    request.structured_output->whitespace_pattern = options.whitespace_pattern;
    try {
      structured_output::grammar_for(*request.structured_output);
    } catch (const structured_output::GrammarError& e) {
      throw_invalid(std::string("The tool's parameters cannot be enforced for tool_choice: ") + e.what(), "tools");
    }
  }
  if (found.count > 1) {
    throw_invalid("Only one kind of structured output constraint can be used at a time (json, regex, choice, grammar or json_object).",
                  found.param);
  }
  std::optional<StructuredOutputRequest> spec = std::move(found.spec);
  std::string param = found.param;
  if (auto format = read_response_format(fields)) {
    spec = std::move(format);
    param = "response_format";
  }
  if (!spec) return;
  spec->disable_any_whitespace = options.disable_any_whitespace;
  spec->whitespace_pattern = options.whitespace_pattern;
  try {
    structured_output::grammar_for(*spec);
  } catch (const structured_output::GrammarError& e) {
    throw_invalid(std::string("Invalid structured output constraint: ") + e.what(), param);
  }
  // The forced tool call's schema wins over response_format and structured_outputs, as in vLLM.
  if (!request.structured_output) request.structured_output = std::move(spec);
}

}  // namespace troupe
