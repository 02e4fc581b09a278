#include "pipeline/openai/tool_choice.hpp"

#include "pipeline/openai/api_exception.hpp"
#include "pipeline/openai/request_limits.hpp"
#include "pipeline/openai/chat_messages.hpp"

namespace troupe {

namespace {

constexpr std::string_view kNamedUsage = "Correct usage: `{\"type\": \"function\", \"function\": {\"name\": \"my_function\"}}`";

const boost::json::object* function_of(const boost::json::value& tool) {
  return tool.as_object().at("function").if_object();
}

// A tool's parameters schema, or the empty-object schema vLLM substitutes when there is none.
boost::json::value parameters_schema(const boost::json::object& function) {
  const boost::json::value* parameters = function.if_contains("parameters");
  if (parameters != nullptr && parameters->is_object() && !parameters->as_object().empty()) return *parameters;
  return boost::json::object{{"type", "object"}, {"properties", boost::json::object()}};
}

std::string named_function(const boost::json::value& choice, const boost::json::array& tools) {
  const boost::json::value* function = choice.as_object().if_contains("function");
  if (function == nullptr || !function->is_object()) {
    throw_invalid("Invalid value for `function` in `tool_choice`! " + std::string(kNamedUsage), "tool_choice");
  }
  const boost::json::value* name = function->as_object().if_contains("name");
  if (name == nullptr) {
    throw_invalid("Expected field `name` in `function` in `tool_choice`! " + std::string(kNamedUsage), "tool_choice");
  }
  if (!name->is_string() || name->as_string().empty()) {
    throw_invalid("Invalid `name` in `function` in `tool_choice`! " + std::string(kNamedUsage), "tool_choice");
  }
  for (const boost::json::value& tool : tools) {
    if (function_of(tool)->at("name").as_string() == name->as_string()) return std::string(name->as_string());
  }
  throw_invalid("The tool specified in `tool_choice` does not match any of the specified `tools`", "tool_choice");
}

// Each tool's parameters and the JSON Schema type it names (a list of types: its first that is not
// "null"; none: ""), for formats that write parameters as text.
ParameterTypes parameter_types(const boost::json::array& tools) {
  ParameterTypes types;
  for (const boost::json::value& tool : tools) {
    const boost::json::object& function = *function_of(tool);
    auto& of_function = types[std::string(function.at("name").as_string())];
    const boost::json::value schema = parameters_schema(function);
    const boost::json::value* properties = schema.as_object().if_contains("properties");
    if (properties == nullptr || !properties->is_object()) continue;
    for (const boost::json::key_value_pair& property : properties->as_object()) {
      std::string type;
      const boost::json::value* t = property.value().is_object() ? property.value().as_object().if_contains("type") : nullptr;
      if (t != nullptr && t->is_string()) type = std::string(t->as_string());
      if (t != nullptr && t->is_array()) {
        for (const boost::json::value& option : t->as_array()) {
          if (option.is_string() && option.as_string() != "null") {
            type = std::string(option.as_string());
            break;
          }
        }
      }
      of_function[std::string(property.key())] = std::move(type);
    }
  }
  return types;
}

}  // namespace

std::string required_tool_calls_schema(const boost::json::array& tools) {
  boost::json::array any_of;
  boost::json::object defs;
  for (const boost::json::value& tool : tools) {
    const boost::json::object& function = *function_of(tool);
    boost::json::value parameters = parameters_schema(function);
    if (boost::json::value* own = parameters.as_object().if_contains("$defs"); own && own->is_object()) {
      for (const boost::json::key_value_pair& def : own->as_object()) {
        if (const boost::json::value* known = defs.if_contains(def.key()); known && *known != def.value()) {
          throw_invalid("Tool definition '" + std::string(def.key()) + "' has multiple schemas, which is not supported.",
                        "tools");
        }
        defs[def.key()] = def.value();
      }
      parameters.as_object().erase("$defs");
    }
    any_of.emplace_back(boost::json::object{
        {"properties", boost::json::object{{"name", boost::json::object{{"type", "string"},
                                                                        {"enum", boost::json::array{function.at("name")}}}},
                                           {"parameters", std::move(parameters)}}},
        {"required", boost::json::array{"name", "parameters"}}});
  }
  boost::json::object schema{{"type", "array"},
                             {"minItems", 1},
                             {"items", boost::json::object{{"type", "object"}, {"anyOf", std::move(any_of)}}}};
  if (!defs.empty()) schema["$defs"] = std::move(defs);
  return boost::json::serialize(schema);
}

void read_tool_fields(const FieldReader& fields, const ApiContext& context, GenerationRequest& request) {
  const boost::json::array* tools = fields.array("tools");
  if (tools != nullptr) {
    check_list_length("tools", tools->size(), kMaxTools, "tools");
    validate_tools(*tools);
    request.tools = *tools;
  }
  if (auto parallel = fields.boolean("parallel_tool_calls")) request.parallel_tool_calls = *parallel;
  // A harmony model's replies are parsed (for their reasoning) with or without tools.
  if (context.tool_call_format == ToolCallFormat::Harmony) request.tool_calls.format = ToolCallFormat::Harmony;
  request.tool_calls.reasoning = context.reasoning;

  const boost::json::value* choice = fields.find("tool_choice");  // null counts as absent
  std::string choice_name;
  if (choice == nullptr) {
    if (tools == nullptr) return;
    choice_name = "auto";  // tools given without tool_choice: vLLM (and OpenAI) mean "auto"
  } else if (choice->is_string()) {
    choice_name = std::string(choice->as_string());
    if (choice_name != "none" && choice_name != "auto" && choice_name != "required") {
      throw_invalid("Invalid value for `tool_choice`: " + choice_name +
                        "! Only named tools, \"none\", \"auto\" or \"required\" are supported.",
                    "tool_choice");
    }
  } else if (!choice->is_object()) {
    throw_invalid("Invalid value for `tool_choice`: " + boost::json::serialize(*choice) +
                      "! Only named tools, \"none\", \"auto\" or \"required\" are supported.",
                  "tool_choice");
  }
  if (choice_name == "none") return;
  if (tools == nullptr) throw_invalid("When using `tool_choice`, `tools` must be set.", "tool_choice");
  if (choice_name == "required" && tools->empty()) {
    request.tools.reset();  // OpenAI's behaviour, which vLLM copies: nothing to require
    return;
  }
  if (choice_name == "auto") {
    if (!context.enable_auto_tool_choice) {
      throw_invalid("\"auto\" tool choice is turned off on this server (troupe serve --disable-auto-tool-choice)",
                    "tool_choice");
    }
    if (!context.tool_call_format) {
      // The model has no tool-call format: "auto" lets it answer without a tool, so it answers in
      // text (the tools are still rendered, as the template renders them).
      request.auto_tools_as_text = true;
      return;
    }
    request.tool_calls.kind = ToolCallMode::Kind::Auto;
    request.tool_calls.format = *context.tool_call_format;
    if (writes_parameters_as_text(request.tool_calls.format)) request.tool_calls.parameter_types = parameter_types(*tools);
    return;
  }
  StructuredOutputRequest constraint;
  constraint.kind = StructuredOutputRequest::Kind::JsonSchema;
  if (choice_name == "required") {
    request.tool_calls.kind = ToolCallMode::Kind::Required;
    constraint.text = required_tool_calls_schema(*tools);
  } else {
    request.tool_calls.kind = ToolCallMode::Kind::Named;
    request.tool_calls.function_name = named_function(*choice, *tools);
    for (const boost::json::value& tool : *tools) {
      const boost::json::object& function = *function_of(tool);
      if (function.at("name").as_string() == request.tool_calls.function_name) {
        constraint.text = boost::json::serialize(parameters_schema(function));
      }
    }
  }
  request.structured_output = std::move(constraint);
}

}  // namespace troupe
