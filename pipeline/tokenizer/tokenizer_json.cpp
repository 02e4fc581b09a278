// Tokenizer::from_tokenizer_json: reads a Hugging Face tokenizer.json (and the bos/eos names of a
// tokenizer_config.json beside it). BPE models are accepted in two forms: byte-level (a ByteLevel
// pre-tokenizer; GPT-2, Llama 3, Qwen) and SentencePiece-style (no ByteLevel step: "▁" for spaces
// from a Metaspace pre-tokenizer or Replace/Prepend normalizers, byte_fallback to "<0xNN>" tokens;
// Llama 2, Mistral, Gemma). Anything this implementation cannot reproduce exactly is rejected with
// the file and the construct named.
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
    throw ModelError(origin_ + ": unsupported " + what +
                     " (troupe reads BPE tokenizers: byte-level, or SentencePiece-style with byte_fallback)");
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
    parts.bpe_options.byte_fallback = bool_field(model, "byte_fallback", false);
    parts.bpe_options.fuse_unk = bool_field(model, "fuse_unk", false);
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

  // A Replace's pattern must be a literal string (all SentencePiece-style tokenizers use " ").
  std::string literal_pattern(const json::object& o, const char* what) const {
    const auto* pattern = o.if_contains("pattern");
    if (pattern == nullptr || !pattern->is_object()) fail(std::string(what) + " has no pattern");
    const auto* literal = pattern->get_object().if_contains("String");
    if (literal == nullptr || !literal->is_string()) unsupported(std::string(what) + " with a regex pattern");
    if (literal->get_string().empty()) fail(std::string(what) + " has an empty pattern");
    return std::string(literal->get_string());
  }

  void read_normalizer(const json::value& v, std::vector<NormalizerStep>& steps) const {
    if (v.is_null()) return;
    const auto& o = object(v, "normalizer");
    const std::string type = string_field(o, "type", "normalizer");
    if (type == "NFC") steps.push_back(NormalizerStep::unicode(NormalizationForm::NFC));
    else if (type == "NFD") steps.push_back(NormalizerStep::unicode(NormalizationForm::NFD));
    else if (type == "NFKC") steps.push_back(NormalizerStep::unicode(NormalizationForm::NFKC));
    else if (type == "NFKD") steps.push_back(NormalizerStep::unicode(NormalizationForm::NFKD));
    else if (type == "Replace") {
      steps.push_back(NormalizerStep::replace(literal_pattern(o, "Replace normalizer"), string_field(o, "content", "Replace normalizer")));
    } else if (type == "Prepend") {
      steps.push_back(NormalizerStep::prepend(string_field(o, "prepend", "Prepend normalizer")));
    } else if (type == "Sequence") {
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
    // After ByteLevel a split reads its byte-level characters (Falcon's Digits and Split).
    if (byte_level && type != "Digits" && type != "Split" && type != "Punctuation") {
      unsupported("pre-tokenizer " + type + " after ByteLevel");
    }
    if (type == "Sequence") {
      const auto* list = o.if_contains("pretokenizers");
      if (list == nullptr || !list->is_array()) fail("Sequence pre_tokenizer has no pretokenizers array");
      for (const auto& step : list->get_array()) read_pre_tokenizer(step, pre, byte_level);
    } else if (type == "ByteLevel") {
      pre.add_byte_level(bool_field(o, "add_prefix_space", true), bool_field(o, "use_regex", true), origin_);
      byte_level = true;
    } else if (type == "Digits") {
      pre.add_digits(bool_field(o, "individual_digits", false), origin_, byte_level);
    } else if (type == "Punctuation") {
      pre.add_punctuation(behavior(string_field(o, "behavior", "Isolated")), origin_, byte_level);
    } else if (type == "Metaspace") {
      pre.add_metaspace(string_field(o, "replacement", "Metaspace pre_tokenizer"), prepend_scheme(o),
                        bool_field(o, "split", true));
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
                    bool_field(o, "invert", false), byte_level);
    } else {
      unsupported("pre-tokenizer " + type);
    }
  }

  // Metaspace's prepend_scheme, or the add_prefix_space of files written before it existed.
  PrependScheme prepend_scheme(const json::object& o) const {
    if (const auto* scheme = o.if_contains("prepend_scheme"); scheme != nullptr && scheme->is_string()) {
      const std::string_view name = scheme->get_string();
      if (name == "always") return PrependScheme::Always;
      if (name == "first") return PrependScheme::First;
      if (name == "never") return PrependScheme::Never;
      unsupported("Metaspace prepend_scheme " + std::string(name));
    }
    return bool_field(o, "add_prefix_space", true) ? PrependScheme::Always : PrependScheme::Never;
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

  // The decoder steps troupe reproduces: ByteLevel alone, or the SentencePiece-style chain
  // (Replace "▁" → " ", ByteFallback, Fuse, Strip of leading spaces, or Metaspace).
  void read_decoder(const json::value& v, TokenDecoder& decoder) const {
    if (v.is_null()) return;
    const auto& o = object(v, "decoder");
    const std::string type = string_field(o, "type", "decoder");
    if (type == "ByteLevel") {
      decoder.byte_level = true;
    } else if (type == "Sequence") {
      const auto* list = o.if_contains("decoders");
      if (list == nullptr || !list->is_array()) fail("Sequence decoder has no decoders array");
      for (const auto& step : list->get_array()) read_decoder(step, decoder);
    } else if (type == "Replace") {
      const std::string pattern = literal_pattern(o, "Replace decoder");
      if (string_field(o, "content", "Replace decoder") != " ") unsupported("Replace decoder to anything but a space");
      decoder.space_marker = pattern;
    } else if (type == "ByteFallback") {
      decoder.byte_fallback = true;
    } else if (type == "Fuse") {
      // Joining the tokens' strings is what decoding does anyway.
    } else if (type == "Strip") {
      if (string_field(o, "content", "Strip decoder") != " ") unsupported("Strip decoder of anything but spaces");
      const auto* start = o.if_contains("start");
      const auto* stop = o.if_contains("stop");
      if (stop != nullptr && stop->is_number() && stop->to_number<int64_t>() != 0) unsupported("Strip decoder with stop");
      decoder.strip_leading_spaces = start != nullptr && start->is_number() ? static_cast<int>(start->to_number<int64_t>()) : 0;
    } else if (type == "Metaspace") {
      decoder.space_marker = string_field(o, "replacement", "Metaspace decoder");
      decoder.strip_leading_spaces = prepend_scheme(o) == PrependScheme::Never ? 0 : 1;
    } else {
      unsupported("decoder " + type);
    }
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

  std::vector<NormalizerStep> steps;
  if (const auto* n = top.if_contains("normalizer")) reader.read_normalizer(*n, steps);
  parts.normalizer = Normalizer(std::move(steps));

  bool byte_level = false;
  if (const auto* p = top.if_contains("pre_tokenizer")) reader.read_pre_tokenizer(*p, parts.pre_tokenizer, byte_level);
  if (const auto* p = top.if_contains("post_processor")) reader.read_post_processor(*p, parts);
  parts.decoder.byte_level = false;
  const json::value* decoder = top.if_contains("decoder");
  const bool has_decoder = decoder != nullptr && !decoder->is_null();
  if (has_decoder) reader.read_decoder(*decoder, parts.decoder);
  // Without a ByteLevel pre-tokenizer the vocabulary is spelled in characters (SentencePiece-style).
  if (byte_level) {
    if (has_decoder && (!parts.decoder.byte_level || !parts.decoder.space_marker.empty() || parts.decoder.byte_fallback)) {
      reader.unsupported("decoder other than ByteLevel for a byte-level BPE");
    }
    if (parts.bpe_options.byte_fallback) reader.unsupported("BPE option byte_fallback with a ByteLevel pre-tokenizer");
    parts.decoder = TokenDecoder{};
  } else {
    if (parts.decoder.byte_level) reader.unsupported("ByteLevel decoder without a ByteLevel pre-tokenizer");
    parts.bpe_options.alphabet = BpeModel::Alphabet::Characters;
  }

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
