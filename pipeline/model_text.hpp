#pragma once
// The text side of a model: its tokenizer and its chat template, found wherever the model keeps
// them — GGUF metadata (tokenizer.ggml.*, tokenizer.chat_template), or tokenizer.json (else a
// SentencePiece tokenizer.model) and tokenizer_config.json / chat_template.jinja in a Hugging Face
// directory. A model that ships no chat template gets the built-in ChatML one.
#include <memory>
#include <string>

#include "model/model_files.hpp"
#include "pipeline/chat_template/chat_template.hpp"
#include "pipeline/tokenizer/tokenizer.hpp"

namespace troupe {

struct ModelText {
  Tokenizer tokenizer;
  std::shared_ptr<const ChatTemplate> chat_template;
  bool chat_template_is_builtin = false;
  std::optional<std::string> bos_token;  // token strings the template may reference
  std::optional<std::string> eos_token;

  // Renders `messages` for generation (add_generation_prompt on) and encodes the result with
  // special tokens parsed and none added.
  std::vector<int32_t> encode_chat(const boost::json::array& messages, ChatTemplateOptions options) const;
  std::string render_chat(const boost::json::array& messages, ChatTemplateOptions options) const;
};

// Throws ModelError naming what is missing (a directory without a tokenizer, say).
// `chat_template` (vLLM's --chat-template): a Jinja file, or the template itself, used instead of
// the model's own; empty: the model's.
ModelText load_model_text(const ModelFiles& model, const std::string& chat_template = "");

}  // namespace troupe
