#include "pipeline/chat_template/chat_template.hpp"

#include <algorithm>
#include <chrono>
#include <string_view>

#include "pipeline/chat_template/builtins.hpp"
#include "pipeline/chat_template/evaluator.hpp"
#include "pipeline/chat_template/lexer.hpp"
#include "pipeline/chat_template/parser.hpp"
#include "pipeline/chat_template/python_text.hpp"

namespace troupe {
namespace {

using jinja::CallArgs;
using jinja::Callable;
using jinja::Dict;
using jinja::List;
using jinja::RenderFault;
using jinja::Value;

// The fallback for models without a template: ChatML, as Qwen and SmolLM2 speak it.
constexpr const char* kChatMl =
    "{%- for message in messages %}\n"
    "    {{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}\n"
    "{%- endfor %}\n"
    "{%- if add_generation_prompt %}\n"
    "    {{- '<|im_start|>assistant\\n' }}\n"
    "{%- endif %}\n";

// transformers' apply_chat_template first drops the message keys whose value is None (OpenAI sends
// content=None next to tool_calls), then copies the reasoning under both names templates read:
// {"thinking": r, **message, "reasoning_content": r}.
Value prepare_message(const boost::json::value& json) {
  if (!json.is_object()) throw ChatTemplateError(ChatTemplateError::Kind::render, "chat messages must be objects");
  Dict message;
  for (const auto& member : json.get_object()) {
    if (member.value().is_null()) continue;
    message.set(std::string(member.key()), Value::from_json(member.value()));
  }
  const Value* reasoning = nullptr;
  for (const char* field : {"reasoning_content", "thinking", "reasoning"}) {
    if ((reasoning = message.find(field))) break;
  }
  if (!reasoning) return Value(std::move(message));
  Value shared = *reasoning;
  Dict aliased;
  aliased.set("thinking", shared);
  for (const auto& [key, value] : message.entries()) aliased.set(key, value);
  aliased.set("reasoning_content", shared);
  return Value(std::move(aliased));
}

Value strftime_now(std::tm now) {
  return Value(Callable{"strftime_now", [now](const CallArgs& args) {
                          jinja::ArgumentReader reader("strftime_now", args, {"format"});
                          const Value& format = reader.require("format");
                          if (!format.is_string()) throw RenderFault("strftime_now() format must be a str");
                          if (format.as_string().empty()) return Value("");
                          std::string buffer(256, '\0');
                          while (true) {
                            std::size_t written =
                                std::strftime(buffer.data(), buffer.size(), format.as_string().c_str(), &now);
                            if (written > 0) return Value(buffer.substr(0, written));
                            if (buffer.size() > 65536) throw RenderFault("strftime_now() output too long");
                            buffer.resize(buffer.size() * 4);
                          }
                        }});
}

Value namespace_factory() {
  return Value(Callable{"namespace", [](const CallArgs& args) {
                          auto ns = std::make_shared<jinja::Namespace>();
                          if (args.positional.size() > 1) throw RenderFault("namespace() takes at most one mapping");
                          if (!args.positional.empty()) {
                            if (!args.positional[0].is_dict()) throw RenderFault("namespace() argument must be a dict");
                            ns->attributes = args.positional[0].as_dict();
                          }
                          for (const auto& [name, value] : args.named) ns->attributes.set(name, value);
                          return Value(std::move(ns));
                        }});
}

Value dict_factory() {
  return Value(Callable{"dict", [](const CallArgs& args) {
                          if (!args.positional.empty()) throw jinja::UnsupportedFault("unsupported construct 'dict() with positional arguments'");
                          Dict dict;
                          for (const auto& [name, value] : args.named) dict.set(name, value);
                          return Value(std::move(dict));
                        }});
}

Value range_function() {
  return Value(Callable{"range", [](const CallArgs& args) {
                          if (!args.named.empty() || args.positional.empty() || args.positional.size() > 3)
                            throw RenderFault("range() takes 1 to 3 positional arguments");
                          std::vector<std::int64_t> numbers;
                          for (const auto& value : args.positional) {
                            if (value.kind() != Value::Kind::integer) throw RenderFault("range() arguments must be int");
                            numbers.push_back(value.as_int());
                          }
                          std::int64_t start = numbers.size() > 1 ? numbers[0] : 0;
                          std::int64_t stop = numbers.size() > 1 ? numbers[1] : numbers[0];
                          std::int64_t step = numbers.size() > 2 ? numbers[2] : 1;
                          if (step == 0) throw RenderFault("range() arg 3 must not be zero");
                          List out;
                          for (std::int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
                            // jinja2's sandbox caps ranges at 100000 items.
                            if (out.size() >= 100000) throw RenderFault("range too big, maximum size for range is 100000");
                            out.emplace_back(i);
                          }
                          return Value(std::move(out));
                        }});
}

Value raise_exception_function() {
  return Value(Callable{"raise_exception", [](const CallArgs& args) -> Value {
                          jinja::ArgumentReader reader("raise_exception", args, {"message"});
                          throw ChatTemplateError(ChatTemplateError::Kind::raised, reader.require("message").str());
                        }});
}

std::tm local_now() {
  std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm result{};
  localtime_r(&t, &result);
  return result;
}

}  // namespace

ChatTemplate::ChatTemplate(std::string source)
    : source_(std::move(source)),
      body_(std::make_shared<const jinja::Body>(jinja::parse_template(jinja::tokenize(source_)))) {}

ChatTemplate ChatTemplate::chatml() { return ChatTemplate(kChatMl); }

namespace {

// transformers' continue_final_message on a rendered conversation: the last message's text (its
// last text part when the content is a list) is found at its last occurrence, stripped, and the
// text cut right after it, keeping its trailing whitespace when the template kept it.
std::string cut_after_final_message(std::string rendered, const boost::json::value& final_message) {
  const auto fail = [](const std::string& why) { throw ChatTemplateError(ChatTemplateError::Kind::render, why); };
  std::string text;
  const boost::json::value* content = final_message.is_object() ? final_message.as_object().if_contains("content") : nullptr;
  if (content != nullptr && content->is_string()) {
    text = std::string(content->as_string());
  } else if (content != nullptr && content->is_array()) {
    const auto& parts = content->as_array();
    auto it = std::find_if(parts.rbegin(), parts.rend(), [](const boost::json::value& p) {
      return p.is_object() && p.as_object().contains("text") && p.as_object().at("text").is_string();
    });
    if (it == parts.rend()) fail("continue_final_message is set but the final message has no text to continue");
    text = std::string(it->as_object().at("text").as_string());
  } else {
    fail("continue_final_message is set but the final message has no text to continue");
  }
  // Python's str.strip(), as transformers calls it.
  const std::string stripped = jinja::python_strip(text, std::nullopt, true, true);
  const std::size_t at = rendered.rfind(stripped);
  if (at == std::string::npos) {
    fail("continue_final_message is set but the final message does not appear in the chat after applying the chat "
         "template (the template may delete parts of it)");
  }
  const std::string left_stripped = jinja::python_strip(text, std::nullopt, true, false);
  const bool spacing_kept = std::string_view(rendered).substr(at, left_stripped.size()) == text;
  rendered.resize(at + (spacing_kept ? left_stripped.size() : stripped.size()));
  return rendered;
}

}  // namespace

std::string ChatTemplate::render(const boost::json::array& messages, const ChatTemplateOptions& options) const {
  if (messages.empty())
    throw ChatTemplateError(ChatTemplateError::Kind::render, "cannot apply a chat template to an empty conversation");
  if (options.continue_final_message && options.add_generation_prompt) {
    throw ChatTemplateError(ChatTemplateError::Kind::render,
                            "continue_final_message and add_generation_prompt are not compatible");
  }
  Dict globals;
  try {
    globals.set("raise_exception", raise_exception_function());
    globals.set("strftime_now", strftime_now(options.now ? *options.now : local_now()));
    globals.set("namespace", namespace_factory());
    globals.set("dict", dict_factory());
    globals.set("range", range_function());
    if (options.bos_token) globals.set("bos_token", Value(*options.bos_token));
    if (options.eos_token) globals.set("eos_token", Value(*options.eos_token));
    // Caller variables override the special tokens, as transformers' kwargs do.
    for (const auto& member : options.extra_context)
      globals.set(std::string(member.key()), Value::from_json(member.value()));
    List message_values;
    message_values.reserve(messages.size());
    for (const auto& message : messages) message_values.push_back(prepare_message(message));
    globals.set("messages", Value(std::move(message_values)));
    globals.set("tools", options.tools ? Value::from_json(*options.tools) : Value::none());
    globals.set("documents", options.documents ? Value::from_json(*options.documents) : Value::none());
    globals.set("add_generation_prompt", Value(options.add_generation_prompt));
  } catch (const RenderFault& fault) {
    throw ChatTemplateError(ChatTemplateError::Kind::render, std::string("chat template input: ") + fault.what());
  }
  std::string rendered = jinja::render_template(*body_, std::move(globals));
  if (options.continue_final_message) return cut_after_final_message(std::move(rendered), messages.back());
  return rendered;
}

}  // namespace troupe
