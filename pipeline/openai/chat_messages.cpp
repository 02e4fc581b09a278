#include "pipeline/openai/chat_messages.hpp"

#include <array>
#include <string>

#include "pipeline/openai/api_exception.hpp"
#include "pipeline/openai/field_reader.hpp"

namespace troupe {

namespace {

constexpr std::array<std::string_view, 5> kRoles = {"system", "developer", "user", "assistant", "tool"};

std::string at(std::string_view base, std::size_t index, std::string_view field = {}) {
  std::string path = std::string(base) + "[" + std::to_string(index) + "]";
  if (!field.empty()) path += "." + std::string(field);
  return path;
}

std::string joined_text_parts(const boost::json::array& parts, const std::string& param) {
  std::string text;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const std::string part_param = param + "[" + std::to_string(i) + "]";
    if (!parts[i].is_object()) throw_invalid("'" + part_param + "' must be an object.", part_param);
    const boost::json::object& part = parts[i].as_object();
    const boost::json::value* type = part.if_contains("type");
    if (type == nullptr || !type->is_string()) {
      throw_invalid("'" + part_param + ".type' is required and must be a string.", part_param + ".type");
    }
    if (type->as_string() != "text") {
      throw_invalid("Content parts of type '" + std::string(type->as_string()) +
                        "' are not supported; only 'text' parts are.",
                    part_param + ".type");
    }
    const boost::json::value* part_text = part.if_contains("text");
    if (part_text == nullptr || !part_text->is_string()) {
      throw_invalid("'" + part_param + ".text' is required and must be a string.", part_param + ".text");
    }
    if (i > 0) text += "\n";
    text += part_text->as_string();
  }
  return text;
}

// An assistant message's tool_calls as the chat template sees them (vLLM's conversation
// preprocessing): each call's `function.arguments`, a JSON string in the API, becomes the object it
// encodes ({} when null or ""), since tool-use templates render it with tojson or iterate it.
boost::json::array template_tool_calls(const boost::json::value& tool_calls, const std::string& param) {
  if (!tool_calls.is_array()) throw_invalid("'" + param + "' must be an array.", param);
  boost::json::array calls = tool_calls.as_array();
  for (std::size_t i = 0; i < calls.size(); ++i) {
    const std::string call_param = at(param, i);
    if (!calls[i].is_object()) throw_invalid("'" + call_param + "' must be an object.", call_param);
    boost::json::value* function = calls[i].as_object().if_contains("function");
    if (function == nullptr || !function->is_object()) {
      throw_invalid("'" + call_param + ".function' is required and must be an object.", call_param + ".function");
    }
    boost::json::object& fn = function->as_object();
    const boost::json::value* name = fn.if_contains("name");
    if (name == nullptr || !name->is_string()) {
      throw_invalid("'" + call_param + ".function.name' is required and must be a string.",
                    call_param + ".function.name");
    }
    boost::json::value* arguments = fn.if_contains("arguments");
    if (arguments == nullptr || arguments->is_null() || (arguments->is_string() && arguments->as_string().empty())) {
      fn["arguments"] = boost::json::object();
    } else if (arguments->is_string()) {
      boost::system::error_code ec;
      boost::json::value parsed = boost::json::parse(arguments->as_string(), ec);
      if (ec) {
        throw_invalid("'" + call_param + ".function.arguments' is not valid JSON: " + ec.message() + ".",
                      call_param + ".function.arguments");
      }
      *arguments = std::move(parsed);
    } else if (!arguments->is_object() && !arguments->is_array()) {
      throw_invalid("'" + call_param + ".function.arguments' must be a JSON string.", call_param + ".function.arguments");
    }
  }
  return calls;
}

// One message as vLLM hands it to the chat template: role, content (text parts joined by "\n";
// an assistant's null content becomes ""), and only the keys vLLM keeps: tool_calls (assistant,
// dropped when empty), reasoning / reasoning_content (assistant), tool_call_id (tool), name.
boost::json::object normalize_message(const boost::json::value& item, std::size_t index) {
  const std::string param = at("messages", index);
  if (!item.is_object()) {
    throw_invalid("'" + param + "' must be an object, got " + std::string(json_kind_name(item)) + ".", param);
  }
  const boost::json::object& source = item.as_object();
  const boost::json::value* role = source.if_contains("role");
  if (role == nullptr || !role->is_string()) {
    throw_invalid("'" + param + ".role' is required and must be a string.", param + ".role");
  }
  const std::string_view role_name = role->as_string();
  if (std::find(kRoles.begin(), kRoles.end(), role_name) == kRoles.end()) {
    throw_invalid("'" + param + ".role' must be one of system, developer, user, assistant, tool; got '" +
                      std::string(role_name) + "'.",
                  param + ".role");
  }
  const bool assistant = role_name == "assistant";
  boost::json::object message;
  message["role"] = role_name;
  const boost::json::value* content = source.if_contains("content");
  if (content == nullptr || content->is_null()) {
    if (!assistant) throw_invalid("'" + param + ".content' is required for role '" + std::string(role_name) + "'.",
                                  param + ".content");
    message["content"] = "";
  } else if (content->is_array()) {
    message["content"] = joined_text_parts(content->as_array(), param + ".content");
  } else if (content->is_string()) {
    message["content"] = content->as_string();
  } else {
    throw_invalid("'" + param + ".content' must be a string or an array of text parts, got " +
                      std::string(json_kind_name(*content)) + ".",
                  param + ".content");
  }
  for (std::string_view key : {"name", "tool_call_id", "reasoning", "reasoning_content"}) {
    const boost::json::value* value = source.if_contains(key);
    if (value != nullptr && !value->is_null() && !value->is_string()) {
      throw_invalid("'" + param + "." + std::string(key) + "' must be a string.", param + "." + std::string(key));
    }
  }
  if (const boost::json::value* tool_calls = source.if_contains("tool_calls"); tool_calls && !tool_calls->is_null()) {
    if (!assistant) throw_invalid("'" + param + ".tool_calls' is only allowed on assistant messages.",
                                  param + ".tool_calls");
    boost::json::array calls = template_tool_calls(*tool_calls, param + ".tool_calls");
    if (!calls.empty()) message["tool_calls"] = std::move(calls);
  }
  if (assistant) {
    const boost::json::value* reasoning = source.if_contains("reasoning");
    if (reasoning == nullptr || reasoning->is_null()) reasoning = source.if_contains("reasoning_content");
    if (reasoning != nullptr && reasoning->is_string()) {
      message["reasoning"] = reasoning->as_string();
      message["reasoning_content"] = reasoning->as_string();
    }
  }
  if (role_name == "tool") {
    if (const boost::json::value* id = source.if_contains("tool_call_id"); id && id->is_string()) {
      message["tool_call_id"] = id->as_string();
    }
  }
  if (const boost::json::value* name = source.if_contains("name"); name && name->is_string()) message["name"] = name->as_string();
  return message;
}

}  // namespace

boost::json::array normalize_messages(const boost::json::array& messages) {
  if (messages.empty()) throw_invalid("'messages' must contain at least one message.", "messages");
  boost::json::array out;
  out.reserve(messages.size());
  for (std::size_t i = 0; i < messages.size(); ++i) out.emplace_back(normalize_message(messages[i], i));
  return out;
}

void validate_tools(const boost::json::array& tools) {
  for (std::size_t i = 0; i < tools.size(); ++i) {
    const std::string param = at("tools", i);
    if (!tools[i].is_object()) throw_invalid("'" + param + "' must be an object.", param);
    const boost::json::object& tool = tools[i].as_object();
    const boost::json::value* type = tool.if_contains("type");
    if (type == nullptr || !type->is_string() || type->as_string() != "function") {
      throw_invalid("'" + param + ".type' must be 'function'.", param + ".type");
    }
    const boost::json::value* function = tool.if_contains("function");
    if (function == nullptr || !function->is_object()) {
      throw_invalid("'" + param + ".function' is required and must be an object.", param + ".function");
    }
    const boost::json::value* name = function->as_object().if_contains("name");
    if (name == nullptr || !name->is_string() || name->as_string().empty()) {
      throw_invalid("'" + param + ".function.name' is required and must be a non-empty string.",
                    param + ".function.name");
    }
  }
}

}  // namespace troupe
