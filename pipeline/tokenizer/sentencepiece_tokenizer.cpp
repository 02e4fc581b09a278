#include "pipeline/tokenizer/sentencepiece_tokenizer.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "common/error.hpp"
#include "pipeline/tokenizer/sentencepiece_model.hpp"

namespace troupe {
namespace {

namespace json = boost::json;

json::object read_config(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  std::stringstream buffer;
  buffer << in.rdbuf();
  boost::system::error_code ec;
  json::value v = json::parse(buffer.str(), ec);
  if (ec || !v.is_object()) throw ModelError(path.string() + ": not a JSON object");
  return std::move(v.as_object());
}

std::optional<bool> flag(const json::object& config, const char* key) {
  const auto* v = config.if_contains(key);
  if (v == nullptr || !v->is_bool()) return std::nullopt;
  return v->get_bool();
}

// "bos_token": "<s>" or {"content": "<s>", ...}.
std::optional<std::string> token_name(const json::object& config, const char* key) {
  const auto* v = config.if_contains(key);
  if (v == nullptr) return std::nullopt;
  if (v->is_string()) return std::string(v->get_string());
  if (v->is_object()) {
    if (const auto* c = v->get_object().if_contains("content"); c != nullptr && c->is_string()) {
      return std::string(c->get_string());
    }
  }
  return std::nullopt;
}

bool bool_field(const json::object& o, const char* key, bool fallback) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_bool() ? v->get_bool() : fallback;
}

}  // namespace

Tokenizer tokenizer_from_sentencepiece(const std::filesystem::path& model_file) {
  const std::filesystem::path config_path = model_file.parent_path() / "tokenizer_config.json";
  const json::object config = read_config(config_path);
  const std::string tokenizer_class = config.contains("tokenizer_class") && config.at("tokenizer_class").is_string()
                                          ? std::string(config.at("tokenizer_class").get_string())
                                          : "";
  // Gemma's slow tokenizer runs the model as it is (its dummy prefix is off in the model itself);
  // IQuestCoderTokenizer too, after a space of its own per segment when add_prefix_space (off by
  // default); LlamaTokenizer and the classes modelled on it default to legacy = true.
  SentencePieceModel::Options options;
  if (tokenizer_class.starts_with("Gemma")) {
    options.legacy = true;
  } else if (tokenizer_class.starts_with("IQuestCoder")) {
    options.legacy = true;
    options.segment_space = flag(config, "add_prefix_space").value_or(false);
  } else {
    options.legacy = flag(config, "legacy").value_or(true);
    options.add_prefix_space = flag(config, "add_prefix_space").value_or(true);
  }
  auto model = std::make_shared<const SentencePieceModel>(model_file, options);

  TokenizerParts parts;
  parts.origin = model_file.string();
  const auto& pieces = model->pieces();
  parts.vocab.reserve(pieces.size());
  for (std::size_t id = 0; id < pieces.size(); ++id) {
    parts.vocab.try_emplace(pieces[id].text, static_cast<int32_t>(id));
    // Control and unknown pieces are special tokens to transformers; they are matched in the text
    // (the library itself never produces a control piece from text).
    if (pieces[id].type == SentencePieceModel::PieceType::Control ||
        pieces[id].type == SentencePieceModel::PieceType::Unknown) {
      AddedToken t;
      t.content = pieces[id].text;
      t.id = static_cast<int32_t>(id);
      t.special = true;
      parts.added_tokens.push_back(std::move(t));
    }
  }
  if (const auto* added = config.if_contains("added_tokens_decoder"); added != nullptr && added->is_object()) {
    for (const auto& [key, value] : added->get_object()) {
      if (!value.is_object()) throw ModelError(config_path.string() + ": added_tokens_decoder entry " + std::string(key) + " is not an object");
      const auto& o = value.get_object();
      const auto* content = o.if_contains("content");
      if (content == nullptr || !content->is_string()) {
        throw ModelError(config_path.string() + ": added_tokens_decoder entry " + std::string(key) + " has no content");
      }
      AddedToken t;
      try {
        t.id = static_cast<int32_t>(std::stol(std::string(key)));
      } catch (const std::exception&) {
        throw ModelError(config_path.string() + ": added_tokens_decoder key \"" + std::string(key) + "\" is not an id");
      }
      if (t.id < 0) throw ModelError(config_path.string() + ": negative added token id " + std::string(key));
      t.content = std::string(content->get_string());
      t.special = bool_field(o, "special", false);
      t.single_word = bool_field(o, "single_word", false);
      t.lstrip = bool_field(o, "lstrip", false);
      t.rstrip = bool_field(o, "rstrip", false);
      t.normalized = false;  // matched in the raw text, before the model's own normalization
      // An entry for a control piece replaces the one made from the model above.
      std::erase_if(parts.added_tokens, [&](const AddedToken& a) { return a.id == t.id; });
      parts.added_tokens.push_back(std::move(t));
    }
  }
  parts.bpe_options.alphabet = BpeModel::Alphabet::Characters;
  parts.sentencepiece = model;
  parts.decoder.byte_level = false;
  parts.decoder.space_marker = "\xE2\x96\x81";
  parts.decoder.byte_fallback = true;
  parts.decoder.strip_leading_spaces = model->prefixes_space() ? 1 : 0;

  const auto id_of = [&](const std::string& name) -> std::optional<int32_t> {
    for (const AddedToken& t : parts.added_tokens) {
      if (t.content == name) return t.id;
    }
    if (const auto it = parts.vocab.find(name); it != parts.vocab.end()) return it->second;
    return std::nullopt;
  };
  if (const auto bos = token_name(config, "bos_token")) parts.bos_id = id_of(*bos);
  if (const auto eos = token_name(config, "eos_token")) {
    if (const auto id = id_of(*eos)) parts.eos_ids.push_back(*id);
  }
  if (flag(config, "add_bos_token").value_or(true) && parts.bos_id) parts.prefix_ids.push_back(*parts.bos_id);
  if (flag(config, "add_eos_token").value_or(false) && !parts.eos_ids.empty()) parts.suffix_ids.push_back(parts.eos_ids.front());
  return Tokenizer(std::move(parts));
}

}  // namespace troupe
