// Tokenizer::from_tokenizer_json: reads a Hugging Face tokenizer.json (and the bos/eos names of a
// tokenizer_config.json beside it). Only byte-level BPE is accepted; anything this implementation
// cannot reproduce exactly is rejected with the file and the construct named.
#include <boost/json.hpp>

#include <fstream>
#include <sstream>

#include "common/error.hpp"
#include "pipeline/tokenizer/tokenizer.hpp"

namespace troupe {
namespace {

namespace json = boost::json;

class JsonReader {
 public:
  explicit JsonReader(std::string origin) : origin_(std::move(origin)) {}

  [[noreturn]] void fail(const std::string& what) const { throw ModelError(origin_ + ": " + what); }
  [[noreturn]] void unsupported(const std::string& what) const {
    throw ModelError(origin_ + ": unsupported " + what + " (troupe implements byte-level BPE only)");
  }

  const json::object& object(const json::value& v, const char* what) const {
    if (!v.is_object()) fail(std::string(what) + " is not a JSON object");
    return v.get_object();
  }
  std::string string_field(const json::object& o, const char* key, const char* what) const {
    const auto* v = o.if_contains(key);
    if (v == nullptr || !v->is_string()) fail(std::string(what) + " has no string \"" + key + "\"");
    return std::string(v->get_string());
  }
  bool bool_field(const json::object& o, const char* key, bool fallback) const {
    const auto* v = o.if_contains(key);
    if (v == nullptr || v->is_null()) return fallback;
    if (!v->is_bool()) fail(std::string("\"") + key + "\" is not a boolean");
    return v->get_bool();
  }
  int32_t id_value(const json::value& v, const char* what) const {
    if (!v.is_int64() && !v.is_uint64()) fail(std::string(what) + " is not an integer id");
    const auto id = v.to_number<int64_t>();
    if (id < 0 || id > INT32_MAX) fail(std::string(what) + " is out of range");
    return static_cast<int32_t>(id);
  }

  const std::string& origin() const { return origin_; }

  void read_model(const json::object& model, TokenizerParts& parts) const {
    std::string type = "BPE";  // files written before model types were tagged hold BPE
    if (const auto* t = model.if_contains("type"); t != nullptr && t->is_string()) type = std::string(t->get_string());
    if (type != "BPE") unsupported("model type " + type);
    if (bool_field(model, "byte_fallback", false)) unsupported("BPE option byte_fallback");
    for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
      const auto* v = model.if_contains(key);
      if (v != nullptr && v->is_string() && !v->get_string().empty()) unsupported(std::string("BPE option ") + key);
    }
    if (const auto* d = model.if_contains("dropout"); d != nullptr && !d->is_null() && d->to_number<double>() > 0.0) {
      unsupported("BPE dropout");
    }
    parts.bpe_options.ignore_merges = bool_field(model, "ignore_merges", false);

    const auto* vocab = model.if_contains("vocab");
    if (vocab == nullptr) fail("model has no vocab");
    const auto& vocab_object = object(*vocab, "model.vocab");
    parts.vocab.reserve(vocab_object.size());
    for (const auto& entry : vocab_object) {
      parts.vocab.emplace(std::string(entry.key()), id_value(entry.value(), "a model.vocab entry"));
    }
    if (const auto* unk = model.if_contains("unk_token"); unk != nullptr && unk->is_string()) {
      const auto it = parts.vocab.find(std::string_view(unk->get_string()));
      if (it != parts.vocab.end()) parts.bpe_options.unknown_id = it->second;
    }

    const auto* merges = model.if_contains("merges");
    if (merges == nullptr || !merges->is_array()) fail("model has no merges array");
    parts.merges.reserve(merges->get_array().size());
    for (const auto& m : merges->get_array()) {
      if (m.is_string()) {
        // "left right": the tokens themselves never hold a space (it is spelled Ġ).
        const std::string_view s = m.get_string();
        const auto space = s.find(' ');
        if (space == std::string_view::npos) fail("merge \"" + std::string(s) + "\" is not two tokens");
        parts.merges.emplace_back(std::string(s.substr(0, space)), std::string(s.substr(space + 1)));
      } else if (m.is_array() && m.get_array().size() == 2 && m.get_array()[0].is_string() &&
                 m.get_array()[1].is_string()) {
        parts.merges.emplace_back(std::string(m.get_array()[0].get_string()),
                                  std::string(m.get_array()[1].get_string()));
      } else {
        fail("a merge is neither \"a b\" nor [\"a\", \"b\"]");
      }
    }
  }

  void read_added_tokens(const json::value* added, TokenizerParts& parts) const {
    if (added == nullptr || added->is_null()) return;
    if (!added->is_array()) fail("added_tokens is not an array");
    for (const auto& v : added->get_array()) {
      const auto& o = object(v, "an added token");
      AddedToken t;
      t.content = string_field(o, "content", "an added token");
      t.id = id_value(o.contains("id") ? o.at("id") : json::value(), "added token id");
      t.special = bool_field(o, "special", false);
      t.single_word = bool_field(o, "single_word", false);
      t.lstrip = bool_field(o, "lstrip", false);
      t.rstrip = bool_field(o, "rstrip", false);
      t.normalized = bool_field(o, "normalized", !t.special);
      parts.added_tokens.push_back(std::move(t));
    }
  }

  void read_normalizer(const json::value& v, std::vector<NormalizationForm>& steps) const {
    if (v.is_null()) return;
    const auto& o = object(v, "normalizer");
    const std::string type = string_field(o, "type", "normalizer");
    if (type == "NFC") steps.push_back(NormalizationForm::NFC);
    else if (type == "NFD") steps.push_back(NormalizationForm::NFD);
    else if (type == "NFKC") steps.push_back(NormalizationForm::NFKC);
    else if (type == "NFKD") steps.push_back(NormalizationForm::NFKD);
    else if (type == "Sequence") {
      const auto* list = o.if_contains("normalizers");
      if (list == nullptr || !list->is_array()) fail("Sequence normalizer has no normalizers array");
      for (const auto& step : list->get_array()) read_normalizer(step, steps);
    } else {
      unsupported("normalizer " + type);
    }
  }

  // Returns whether a ByteLevel step was seen; it must be the last step.
  void read_pre_tokenizer(const json::value& v, PreTokenizer& pre, bool& byte_level) const {
    if (v.is_null()) return;
    const auto& o = object(v, "pre_tokenizer");
    const std::string type = string_field(o, "type", "pre_tokenizer");
    if (byte_level) unsupported("pre-tokenizer " + type + " after ByteLevel");
    if (type == "Sequence") {
      const auto* list = o.if_contains("pretokenizers");
      if (list == nullptr || !list->is_array()) fail("Sequence pre_tokenizer has no pretokenizers array");
      for (const auto& step : list->get_array()) read_pre_tokenizer(step, pre, byte_level);
    } else if (type == "ByteLevel") {
      pre.add_byte_level(bool_field(o, "add_prefix_space", true), bool_field(o, "use_regex", true), origin_);
      byte_level = true;
    } else if (type == "Digits") {
      pre.add_digits(bool_field(o, "individual_digits", false), origin_);
    } else if (type == "Split") {
      const auto* pattern = o.if_contains("pattern");
      if (pattern == nullptr || !pattern->is_object()) fail("Split pre_tokenizer has no pattern");
      std::string regex;
      if (const auto* r = pattern->get_object().if_contains("Regex"); r != nullptr && r->is_string()) {
        regex = std::string(r->get_string());
      } else if (const auto* s = pattern->get_object().if_contains("String"); s != nullptr && s->is_string()) {
        regex = escape_literal(s->get_string());
      } else {
        fail("Split pattern is neither Regex nor String");
      }
      pre.add_split(std::make_shared<OnigRegex>(regex, origin_), behavior(string_field(o, "behavior", "Split")),
                    bool_field(o, "invert", false));
    } else {
      unsupported("pre-tokenizer " + type);
    }
  }

  SplitBehavior behavior(const std::string& name) const {
    if (name == "Removed") return SplitBehavior::Removed;
    if (name == "Isolated") return SplitBehavior::Isolated;
    if (name == "MergedWithPrevious") return SplitBehavior::MergedWithPrevious;
    if (name == "MergedWithNext") return SplitBehavior::MergedWithNext;
    if (name == "Contiguous") return SplitBehavior::Contiguous;
    unsupported("Split behavior " + name);
  }

  static std::string escape_literal(std::string_view literal) {
    std::string out;
    for (const char c : literal) {
      if (std::string_view(R"(\^$.|?*+()[]{}-/ #)").find(c) != std::string_view::npos) out.push_back('\\');
      out.push_back(c);
    }
    return out;
  }

  // Post-processor: the special tokens a TemplateProcessing puts around a single sequence.
  void read_post_processor(const json::value& v, TokenizerParts& parts) const {
    if (v.is_null()) return;
    const auto& o = object(v, "post_processor");
    const std::string type = string_field(o, "type", "post_processor");
    if (type == "ByteLevel") return;  // only adjusts offsets
    if (type == "Sequence") {
      const auto* list = o.if_contains("processors");
      if (list == nullptr || !list->is_array()) fail("Sequence post_processor has no processors array");
      for (const auto& step : list->get_array()) read_post_processor(step, parts);
      return;
    }
    if (type != "TemplateProcessing") unsupported("post-processor " + type);
    const auto* single = o.if_contains("single");
    const auto* specials = o.if_contains("special_tokens");
    if (single == nullptr || !single->is_array()) fail("TemplateProcessing has no single template");
    bool seen_sequence = false;
    for (const auto& piece : single->get_array()) {
      const auto& p = object(piece, "a template piece");
      if (p.contains("Sequence")) {
        seen_sequence = true;
        continue;
      }
      const auto* special = p.if_contains("SpecialToken");
      if (special == nullptr) fail("template piece is neither Sequence nor SpecialToken");
      const std::string name = string_field(object(*special, "SpecialToken"), "id", "SpecialToken");
      const json::value* entry = specials != nullptr && specials->is_object() ? specials->get_object().if_contains(name)
                                                                                : nullptr;
      if (entry == nullptr) fail("template special token " + name + " is not in special_tokens");
      const auto* ids = object(*entry, "special token").if_contains("ids");
      if (ids == nullptr || !ids->is_array()) fail("template special token " + name + " has no ids");
      auto& target = seen_sequence ? parts.suffix_ids : parts.prefix_ids;
      for (const auto& id : ids->get_array()) target.push_back(id_value(id, "template special token id"));
    }
  }

  void read_decoder(const json::value& v) const {
    if (v.is_null()) return;
    const auto& o = object(v, "decoder");
    const std::string type = string_field(o, "type", "decoder");
    if (type != "ByteLevel") unsupported("decoder " + type);
  }

 private:
  std::string origin_;
};

json::value parse_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ModelError(path.string() + ": cannot open tokenizer file");
  std::stringstream buffer;
  buffer << in.rdbuf();
  boost::system::error_code ec;
  json::value v = json::parse(buffer.str(), ec);
  if (ec) throw ModelError(path.string() + ": not valid JSON (" + ec.message() + ")");
  return v;
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

std::optional<int32_t> id_of(const TokenizerParts& parts, const std::string& name) {
  for (const AddedToken& t : parts.added_tokens) {
    if (t.content == name) return t.id;
  }
  if (const auto it = parts.vocab.find(name); it != parts.vocab.end()) return it->second;
  return std::nullopt;
}

}  // namespace

Tokenizer Tokenizer::from_tokenizer_json(const std::filesystem::path& path) {
  const json::value root = parse_file(path);
  JsonReader reader(path.string());
  const auto& top = reader.object(root, "tokenizer.json");
  TokenizerParts parts;
  parts.origin = path.string();

  const auto* model = top.if_contains("model");
  if (model == nullptr) reader.fail("no model section");
  reader.read_model(reader.object(*model, "model"), parts);
  reader.read_added_tokens(top.if_contains("added_tokens"), parts);

  std::vector<NormalizationForm> forms;
  if (const auto* n = top.if_contains("normalizer")) reader.read_normalizer(*n, forms);
  parts.normalizer = Normalizer(std::move(forms));

  bool byte_level = false;
  if (const auto* p = top.if_contains("pre_tokenizer")) reader.read_pre_tokenizer(*p, parts.pre_tokenizer, byte_level);
  if (!byte_level) reader.unsupported("pre_tokenizer without a ByteLevel step (not a byte-level BPE)");
  if (const auto* p = top.if_contains("post_processor")) reader.read_post_processor(*p, parts);
  if (const auto* d = top.if_contains("decoder")) reader.read_decoder(*d);

  // bos/eos names come from tokenizer_config.json; without one, a lone leading template token is
  // taken as BOS.
  const auto config_path = path.parent_path() / "tokenizer_config.json";
  if (std::filesystem::exists(config_path)) {
    const json::value config_root = parse_file(config_path);
    if (config_root.is_object()) {
      const auto& config = config_root.get_object();
      if (const auto bos = token_name(config, "bos_token")) parts.bos_id = id_of(parts, *bos);
      if (const auto eos = token_name(config, "eos_token")) {
        if (const auto id = id_of(parts, *eos)) parts.eos_ids.push_back(*id);
      }
    }
  }
  if (!parts.bos_id && parts.prefix_ids.size() == 1) parts.bos_id = parts.prefix_ids.front();
  return Tokenizer(std::move(parts));
}

}  // namespace troupe
