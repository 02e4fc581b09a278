#pragma once
// Renders a model's own chat template (the Jinja string in tokenizer_config.json `chat_template` or GGUF
// `tokenizer.chat_template`) into the prompt text, exactly as Hugging Face transformers'
// `apply_chat_template(..., tokenize=False)` would. Templates are parsed once; render() is const and
// thread-safe. Anything the interpreter cannot render exactly throws ChatTemplateError.
#include <boost/json.hpp>
#include <ctime>
#include <memory>
#include <optional>
#include <string>

#include "pipeline/chat_template/chat_template_error.hpp"

namespace troupe {

namespace jinja {
struct Stmt;
}

struct ChatTemplateOptions {
  bool add_generation_prompt = false;
  // transformers' continue_final_message: the text ends right after the last message's content
  // (no end-of-turn), so the model continues that message. Incompatible with add_generation_prompt.
  bool continue_final_message = false;
  // OpenAI-style tool definitions; absent renders as `tools = none`, as transformers passes it.
  std::optional<boost::json::array> tools;
  std::optional<boost::json::array> documents;
  // Special-token strings; an absent one leaves the variable undefined in the template.
  std::optional<std::string> bos_token;
  std::optional<std::string> eos_token;
  // Further template variables: enable_thinking (Qwen3), date_string (Llama 3), ...
  boost::json::object extra_context;
  // The local time strftime_now() reports; absent means the current time. Tests pin it.
  std::optional<std::tm> now;
};

class ChatTemplate {
 public:
  // Parses the template; throws ChatTemplateError (syntax or unsupported) naming the line and construct.
  explicit ChatTemplate(std::string source);

  // `messages` is an array of message objects (role, content, tool_calls, reasoning_content, ...).
  std::string render(const boost::json::array& messages, const ChatTemplateOptions& options = {}) const;

  // The built-in ChatML template for models that ship none.
  static ChatTemplate chatml();

  const std::string& source() const { return source_; }

 private:
  std::string source_;
  std::shared_ptr<const std::vector<std::unique_ptr<jinja::Stmt>>> body_;
};

}  // namespace troupe
