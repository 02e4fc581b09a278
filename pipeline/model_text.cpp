#include "pipeline/model_text.hpp"

#include <boost/json.hpp>
#include <fstream>
#include <sstream>

#include "common/error.hpp"
#include "pipeline/tokenizer/gguf_tokenizer.hpp"
#include "pipeline/tokenizer/sentencepiece_tokenizer.hpp"

namespace troupe {

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

std::optional<std::string> read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// tokenizer_config.json spells special tokens as a string or as {"content": "..."}.
std::optional<std::string> token_string(const json::object& cfg, std::string_view key) {
  const json::value* v = cfg.if_contains(key);
  if (!v) return std::nullopt;
  if (v->is_string()) return std::string(v->as_string());
  if (v->is_object()) {
    if (const json::value* c = v->as_object().if_contains("content"); c && c->is_string()) {
      return std::string(c->as_string());
    }
  }
  return std::nullopt;
}

// chat_template is a string, or a list of {"name", "template"} where "default" is the one to use.
std::optional<std::string> template_from_config(const json::object& cfg) {
  const json::value* v = cfg.if_contains("chat_template");
  if (!v) return std::nullopt;
  if (v->is_string()) return std::string(v->as_string());
  if (v->is_array()) {
    for (const auto& entry : v->as_array()) {
      const json::object* o = entry.if_object();
      if (o && o->contains("name") && o->at("name") == "default" && o->at("template").is_string()) {
        return std::string(o->at("template").as_string());
      }
    }
  }
  return std::nullopt;
}

}  // namespace

ModelText load_model_text(const ModelFiles& model, const std::string& chat_template) {
  std::optional<std::string> template_source;
  std::optional<Tokenizer> tokenizer;
  std::optional<std::string> bos, eos;
  if (const GgufFile* gguf = model.gguf()) {
    tokenizer = tokenizer_from_gguf(*gguf);
    template_source = gguf->get_string("tokenizer.chat_template");
    if (auto id = tokenizer->bos_id()) bos = std::string(tokenizer->token_text(*id));
    const auto eos_ids = tokenizer->eos_ids();
    if (!eos_ids.empty()) eos = std::string(tokenizer->token_text(eos_ids.front()));
  } else {
    const fs::path dir = model.path();
    // tokenizer.json when there is one (what transformers' fast tokenizers load), else the
    // SentencePiece model of a slow tokenizer (IQuest-Coder ships only that).
    if (fs::exists(dir / "tokenizer.json")) {
      tokenizer = Tokenizer::from_tokenizer_json(dir / "tokenizer.json");
    } else if (fs::exists(dir / "tokenizer.model")) {
      tokenizer = tokenizer_from_sentencepiece(dir / "tokenizer.model");
    } else {
      throw ModelError(dir.string() + ": no tokenizer.json or tokenizer.model (troupe needs the model's own tokenizer)");
    }
    if (auto text = read_file(dir / "tokenizer_config.json")) {
      json::value cfg;
      try {
        cfg = json::parse(*text);
      } catch (const std::exception& e) {
        throw ModelError((dir / "tokenizer_config.json").string() + ": not valid JSON: " + e.what());
      }
      if (cfg.is_object()) {
        template_source = template_from_config(cfg.as_object());
        bos = token_string(cfg.as_object(), "bos_token");
        eos = token_string(cfg.as_object(), "eos_token");
      }
    }
    // transformers 5 writes the template to its own file.
    if (!template_source) template_source = read_file(dir / "chat_template.jinja");
  }
  if (!chat_template.empty()) {
    std::error_code ec;
    const bool is_file = chat_template.find('\n') == std::string::npos && fs::is_regular_file(chat_template, ec);
    template_source = is_file ? read_file(chat_template) : chat_template;
    if (!template_source) throw ModelError(chat_template + ": cannot read the chat template");
  }
  ModelText text{std::move(*tokenizer), nullptr, false, bos, eos};
  if (template_source && !template_source->empty()) {
    text.chat_template = std::make_shared<const ChatTemplate>(*template_source);
  } else {
    text.chat_template = std::make_shared<const ChatTemplate>(ChatTemplate::chatml());
    text.chat_template_is_builtin = true;
  }
  return text;
}

std::string ModelText::render_chat(const json::array& messages, ChatTemplateOptions options) const {
  options.add_generation_prompt = true;
  if (!options.bos_token) options.bos_token = bos_token;
  if (!options.eos_token) options.eos_token = eos_token;
  return chat_template->render(messages, options);
}

std::vector<int32_t> ModelText::encode_chat(const json::array& messages, ChatTemplateOptions options) const {
  // The template writes every special token the model expects (Llama 3's BOS included), so the
  // post-processor adds nothing: what transformers' apply_chat_template(tokenize=True) and vLLM's
  // chat endpoint do.
  return tokenizer.encode(render_chat(messages, std::move(options)), /*add_special_tokens=*/false);
}

}  // namespace troupe
