#include "pipeline/tokenizer/gguf_tokenizer.hpp"

#include <algorithm>
#include <array>
#include <iterator>
#include <string_view>

#include "common/error.hpp"
#include "model/gguf_token_roles.hpp"
#include "pipeline/tokenizer/utf8.hpp"

namespace troupe {
namespace {

constexpr std::string_view kSpaceMarker = "\xE2\x96\x81";  // ▁, SentencePiece's space

// tokenizer.ggml.token_type values.
enum TokenType : int64_t { kNormal = 1, kUnknown = 2, kControl = 3, kUserDefined = 4, kUnused = 5, kByte = 6 };

// How the byte-level BPE families that tokenizer.ggml.pre names split text before their merges,
// as each family's tokenizer.json does; the names are those llama.cpp's converter writes, several
// for one family where models share a tokenizer.json layout. A family splits with its patterns
// (each a Split, isolated, in turn), then [every digit on its own], then ByteLevel — with GPT-2's
// expression when it has no patterns of its own.
struct PreFamily {
  std::vector<std::string_view> names;
  std::vector<std::string_view> patterns = {};
  bool digits = false;         // every digit split off (SmolLM's and DeepSeek-Coder's Digits)
  bool nfc = false;            // text normalized to NFC first (Qwen2's tokenizer.json)
  bool ignore_merges = false;  // a piece that is a token is taken whole (tokenizer.json's ignore_merges)
  // BOS is added when the file has no tokenizer.ggml.add_bos_token: llama.cpp's default for these
  // families, whose older conversions predate that key.
  bool adds_bos = false;
};

const std::array<PreFamily, 16>& pre_families() {
  namespace p = pretokenizer_patterns;
  static const std::array<PreFamily, 16> families{{
      {.names = {"gpt2", "default", "gpt-2", "phi-2", "mpt", "olmo", "jais", "trillion", "mellum", "a.x-4.0",
                 "exaone4"}},
      // SmolLM, StarCoder, Refact (Granite Code), CodeShell, Command R, EXAONE, Minerva.
      {.names = {"smollm", "starcoder", "refact", "codeshell", "command-r", "exaone", "minerva-7b"}, .digits = true},
      // Llama 3's, and those llama.cpp reads as Llama 3's: Falcon 3, Falcon-H1, LFM2 and LFM2.5
      // (LiquidAI's GGUFs), Mi:dm 2.0.
      {.names = {"llama-bpe", "llama3", "llama-v3", "falcon3", "falcon-h1", "lfm2", "midm-2.0"}, .patterns = {p::kLlama3},
       .ignore_merges = true, .adds_bos = true},
      // GLM-4-0414, GLM-4.5/4.6 (and GLM-5): Llama 3's splitting, without a BOS (their templates open
      // with [gMASK]<sop>; llama.cpp gives them none).
      {.names = {"glm4", "glm5"}, .patterns = {p::kLlama3}, .ignore_merges = true},
      // DBRX, Smaug and GLM-4-9B's ChatGLM files: Llama 3's expression, merges always applied
      // (llama.cpp's reading of them), no BOS.
      {.names = {"dbrx", "smaug-bpe", "chatglm-bpe"}, .patterns = {p::kLlama3}},
      {.names = {"qwen2", "deepseek-r1-qwen", "stablelm2"}, .patterns = {p::kQwen2}, .nfc = true},
      // Qwen3.5: no NFC (its tokenizer.json has no normalizer: a decomposed "é" stays e + U+0301).
      {.names = {"qwen35"}, .patterns = {p::kQwen35}},
      // Mistral NeMo, Small 3, Devstral, Ministral: Tekken, a tiktoken vocabulary. Pixtral's
      // tokenizer.json is Tekken's too (the converter's hash of its output equals the one
      // transformers' conversion of tekken.json gives), although llama.cpp reads "pixtral" with
      // Llama 3's expression.
      {.names = {"tekken", "pixtral"}, .patterns = {p::kTekken}, .ignore_merges = true, .adds_bos = true},
      // GPT-4o's o200k vocabulary (Phi-4-mini); MiniMax-M2's tokenizer.json splits by the same
      // expression (llama.cpp copies it from there), as does Llama 4's.
      {.names = {"gpt-4o", "minimax-m2", "llama4"}, .patterns = {p::kGpt4o}},
      // Kimi K2's tiktoken vocabulary, as llama.cpp's converter turns it into merges.
      {.names = {"kimi-k2"}, .patterns = {p::kKimiK2}},
      // Tiny Aya: digit runs grouped by three from the right, then GPT-4o's expression.
      {.names = {"tiny_aya"}, .patterns = {p::kTinyAyaDigits, p::kGpt4o}},
      {.names = {"falcon"}, .patterns = {std::begin(p::kFalcon), std::end(p::kFalcon)}},
      // Coding models with Llama's architecture: Seed-Coder, and DeepSeek-Coder (1.3B to 33B).
      {.names = {"seed-coder"}, .patterns = {p::kSeedCoder}},
      {.names = {"deepseek-coder"}, .patterns = {std::begin(p::kDeepSeekCoder), std::end(p::kDeepSeekCoder)},
       .digits = true},
      // DeepSeek-V3, R1 and their successors (the MoE models with latent attention); Hunyuan's dense
      // models, whose expressions llama.cpp reads as DeepSeek-V3's.
      {.names = {"deepseek-v3", "hunyuan-dense"}, .patterns = {std::begin(p::kDeepSeekV3), std::end(p::kDeepSeekV3)}},
      // DeepSeek-V2, V2-Lite and DeepSeek-LLM.
      {.names = {"deepseek-llm"}, .patterns = {std::begin(p::kDeepSeekLlm), std::end(p::kDeepSeekLlm)}},
  }};
  return families;
}

std::string supported_pre_tokenizers() {
  std::string out;
  for (const PreFamily& f : pre_families()) {
    for (const std::string_view name : f.names) out += (out.empty() ? "" : ", ") + std::string(name);
  }
  return out;
}

// Configures parts for tokenizer.ggml.pre = `pre`; returns the family's adds_bos.
bool configure_pre_tokenizer(const std::string& pre, const std::string& origin, TokenizerParts& parts) {
  for (const PreFamily& f : pre_families()) {
    if (std::find(f.names.begin(), f.names.end(), pre) == f.names.end()) continue;
    for (const std::string_view pattern : f.patterns) {
      parts.pre_tokenizer.add_split(std::make_shared<OnigRegex>(std::string(pattern), origin), SplitBehavior::Isolated,
                                    false);
    }
    if (f.digits) parts.pre_tokenizer.add_digits(true, origin);
    parts.pre_tokenizer.add_byte_level(false, /*use_regex=*/f.patterns.empty(), origin);
    if (f.nfc) parts.normalizer = Normalizer({NormalizationForm::NFC});
    parts.bpe_options.ignore_merges = f.ignore_merges;
    return f.adds_bos;
  }
  throw ModelError(origin + ": unsupported pre-tokenizer tokenizer.ggml.pre = \"" + pre +
                   "\" (supported: " + supported_pre_tokenizers() + ")");
}

std::optional<int32_t> token_id_key(const GgufFile& gguf, const std::string& key, std::size_t vocab) {
  const auto v = gguf.get_int(key);
  if (!v || *v < 0 || static_cast<std::size_t>(*v) >= vocab) return std::nullopt;
  return static_cast<int32_t>(*v);
}

// Merges of a SentencePiece vocabulary, made from its scores as llama.cpp's SPM tokenizer merges:
// two adjacent symbols join when their concatenation is a token, the highest-scoring such token
// first and, at equal scores, the leftmost. So every split of a token into two parts, each a token
// or a single character, is a merge, ranked by the token's score (equal scores share a rank;
// BpeModel breaks ties leftmost first). A character without a token of its own that is such a
// part gets an id past the vocabulary (`merge_characters`), provided its bytes all have byte
// tokens to fall back on when it merges with nothing.
void merges_from_scores(const std::vector<std::string>& tokens, const std::vector<double>& scores, TokenizerParts& parts,
                        const std::array<bool, 256>& has_byte_token) {
  std::vector<double> distinct(scores);
  std::sort(distinct.begin(), distinct.end(), std::greater<>());
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  const auto rank_of = [&](double score) {
    return static_cast<uint32_t>(std::lower_bound(distinct.begin(), distinct.end(), score, std::greater<>()) - distinct.begin());
  };
  StringIdMap characters;
  auto next_character = static_cast<int32_t>(tokens.size());
  // The id of a merge part: its token, else (a single character) its character id; -1 for neither.
  const auto part_id = [&](std::string_view text) -> int32_t {
    if (const auto it = parts.vocab.find(text); it != parts.vocab.end()) return it->second;
    if (utf8::sequence_length(static_cast<unsigned char>(text[0])) != text.size()) return -1;
    if (!std::all_of(text.begin(), text.end(), [&](char c) { return has_byte_token[static_cast<unsigned char>(c)]; })) {
      return -1;
    }
    const auto [it, added] = characters.try_emplace(std::string(text), next_character);
    if (added) ++next_character;
    return it->second;
  };
  for (std::size_t id = 0; id < tokens.size(); ++id) {
    const std::string_view text = tokens[id];
    if (text.empty() || parts.vocab.find(text)->second != static_cast<int32_t>(id)) continue;  // repeated: the first id is the token
    const uint32_t rank = rank_of(scores[id]);
    for (std::size_t cut = utf8::sequence_length(static_cast<unsigned char>(text[0])); cut < text.size();
         cut += utf8::sequence_length(static_cast<unsigned char>(text[cut]))) {
      const int32_t left = part_id(text.substr(0, cut));
      if (left < 0) continue;
      const int32_t right = part_id(text.substr(cut));
      if (right < 0) continue;
      parts.id_merges.push_back({left, right, static_cast<int32_t>(id), rank});
    }
  }
  parts.merge_characters.assign(characters.begin(), characters.end());
}

// SentencePiece's alphabet, as llama.cpp spells text for its SPM and Gemma 4 vocabularies: "▁" for
// spaces (one put in front of the text when `space_prefix`, and taken off the first token's text
// again when decoding), characters without a token of their own falling back to their bytes'
// "<0xNN>" tokens.
void use_sentencepiece_alphabet(TokenizerParts& parts, bool space_prefix) {
  parts.bpe_options.alphabet = BpeModel::Alphabet::Characters;
  parts.bpe_options.byte_fallback = true;
  std::vector<NormalizerStep> steps;
  if (space_prefix) steps.push_back(NormalizerStep::prepend(std::string(kSpaceMarker)));
  steps.push_back(NormalizerStep::replace(" ", std::string(kSpaceMarker)));
  parts.normalizer = Normalizer(std::move(steps));
  parts.decoder.byte_level = false;
  parts.decoder.space_marker = kSpaceMarker;
  parts.decoder.byte_fallback = true;
  parts.decoder.strip_leading_spaces = space_prefix ? 1 : 0;
  parts.decoder.strip_first_token_only = true;
}

// llama.cpp's SPM vocabulary: the text is spelled with "▁" for spaces (one put before each segment
// when add_space_prefix), words are not pre-split, and characters without a token fall back to
// their bytes' "<0xNN>" tokens.
void read_sentencepiece(const GgufFile& gguf, const std::vector<std::string>& tokens, TokenizerParts& parts) {
  const std::string& origin = parts.origin;
  const auto scores = gguf.get_float_array("tokenizer.ggml.scores");
  if (!scores || scores->size() != tokens.size()) {
    throw ModelError(origin + ": a SentencePiece vocabulary needs tokenizer.ggml.scores with one score per token");
  }
  std::array<bool, 256> has_byte_token{};
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (unsigned b = 0; b < 256; ++b) {
    has_byte_token[b] = parts.vocab.contains(std::string{'<', '0', 'x', kHex[b >> 4], kHex[b & 15], '>'});
  }
  merges_from_scores(tokens, *scores, parts, has_byte_token);
  use_sentencepiece_alphabet(parts, gguf.get_bool("tokenizer.ggml.add_space_prefix").value_or(true));
}

// tokenizer.ggml.merges, each "left right".
void read_merges(const GgufFile& gguf, TokenizerParts& parts) {
  const std::string& origin = parts.origin;
  const auto* merges = gguf.get_string_array("tokenizer.ggml.merges");
  if (merges == nullptr) throw ModelError(origin + ": no tokenizer.ggml.merges");
  parts.merges.reserve(merges->size());
  for (const std::string& m : *merges) {
    const auto space = m.find(' ', 1);  // a merge's left part may itself be a space-free "▁" run
    if (space == std::string::npos) throw ModelError(origin + ": merge \"" + m + "\" is not two tokens");
    parts.merges.emplace_back(m.substr(0, space), m.substr(space + 1));
  }
}

// Returns whether the pre-tokenizer's family adds BOS by default (configure_pre_tokenizer).
bool read_byte_level(const GgufFile& gguf, TokenizerParts& parts) {
  read_merges(gguf, parts);
  return configure_pre_tokenizer(gguf.get_string("tokenizer.ggml.pre").value_or("default"), parts.origin, parts);
}

// Gemma 4's vocabulary (tokenizer.ggml.model "gemma4"), as llama.cpp reads it: BPE merges by
// spelling over SentencePiece's alphabet — "▁" for spaces, none put in front, <0xNN> tokens for
// the bytes of characters without one — each run of newlines and each run of other characters
// merged on its own (Gemma's merges never cross a newline, so this is its tokenizer.json's reading).
void read_gemma4(const GgufFile& gguf, TokenizerParts& parts) {
  read_merges(gguf, parts);
  use_sentencepiece_alphabet(parts, /*space_prefix=*/false);
  parts.pre_tokenizer.add_split(std::make_shared<OnigRegex>("[^\n]+|\n+", parts.origin), SplitBehavior::Isolated, false);
}

}  // namespace

Tokenizer tokenizer_from_gguf(const GgufFile& gguf) {
  const std::string origin = gguf.path().string();
  const auto model = gguf.get_string("tokenizer.ggml.model");
  if (!model) throw ModelError(origin + ": no tokenizer.ggml.model (the file carries no tokenizer)");
  const bool sentencepiece = *model == "llama" || *model == "gemma";
  const bool gemma4 = *model == "gemma4";
  if (*model != "gpt2" && !sentencepiece && !gemma4) {
    throw ModelError(origin + ": unsupported tokenizer model tokenizer.ggml.model = \"" + *model +
                     "\" (supported: gpt2 (byte-level BPE), llama and gemma (SentencePiece), gemma4 (BPE over "
                     "SentencePiece's alphabet))");
  }
  const auto* tokens = gguf.get_string_array("tokenizer.ggml.tokens");
  if (tokens == nullptr || tokens->empty()) throw ModelError(origin + ": no tokenizer.ggml.tokens");
  const auto types = gguf.get_int_array("tokenizer.ggml.token_type");
  if (types && types->size() != tokens->size()) {
    throw ModelError(origin + ": tokenizer.ggml.token_type has " + std::to_string(types->size()) +
                     " entries for " + std::to_string(tokens->size()) + " tokens");
  }

  TokenizerParts parts;
  parts.origin = origin;
  parts.vocab.reserve(tokens->size());
  for (std::size_t id = 0; id < tokens->size(); ++id) {
    const std::string& text = (*tokens)[id];
    parts.vocab.try_emplace(text, static_cast<int32_t>(id));  // the first id of a repeated spelling wins
    // llama.cpp makes tokens with the texts of its end-of-turn, end-of-generation and
    // fill-in-the-middle markers control tokens, whatever their recorded type; troupe follows it
    // for SentencePiece vocabularies, whose reference is llama.cpp, and keeps the recorded types of
    // byte-level ones, whose tokenizer.json (the reference there) has them.
    const int64_t recorded = types ? (*types)[id] : kNormal;
    const int64_t type = sentencepiece && gguf_control_text(text) ? kControl : recorded;
    // llama.cpp cuts control, user-defined and (SentencePiece) unknown tokens out of the text
    // before tokenizing it; control and unknown ones only when special tokens are parsed.
    if (type == kControl || type == kUserDefined || (sentencepiece && type == kUnknown)) {
      AddedToken t;
      t.content = text;
      t.id = static_cast<int32_t>(id);
      t.special = type != kUserDefined;
      parts.added_tokens.push_back(std::move(t));
    }
    if (type == kUnknown) parts.bpe_options.unknown_id = static_cast<int32_t>(id);
  }
  bool family_adds_bos = sentencepiece || gemma4;
  if (sentencepiece) {
    read_sentencepiece(gguf, *tokens, parts);
  } else if (gemma4) {
    read_gemma4(gguf, parts);
  } else {
    family_adds_bos = read_byte_level(gguf, parts);
  }

  parts.bos_id = token_id_key(gguf, "tokenizer.ggml.bos_token_id", tokens->size());
  for (const char* key : {"tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id"}) {
    const auto id = token_id_key(gguf, key, tokens->size());
    if (id && std::find(parts.eos_ids.begin(), parts.eos_ids.end(), *id) == parts.eos_ids.end()) {
      parts.eos_ids.push_back(*id);
    }
  }
  // Without tokenizer.ggml.add_bos_token, SentencePiece vocabularies and the byte-level families
  // that llama.cpp gives a BOS (Llama 3, Tekken) add one; other byte-level ones do not.
  if (gguf.get_bool("tokenizer.ggml.add_bos_token").value_or(family_adds_bos) && parts.bos_id) {
    parts.prefix_ids.push_back(*parts.bos_id);
  }
  if (gguf.get_bool("tokenizer.ggml.add_eos_token").value_or(false)) {
    if (const auto eos = token_id_key(gguf, "tokenizer.ggml.eos_token_id", tokens->size())) {
      parts.suffix_ids.push_back(*eos);
    }
  }
  return Tokenizer(std::move(parts));
}

}  // namespace troupe
