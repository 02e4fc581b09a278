#pragma once
// Pre-tokenization: cutting normalized text into the pieces ("words") that BPE encodes one by one.
// Mirrors Hugging Face's pre-tokenizers: Split (regex or literal, with each split behavior and
// `invert`), Digits, ByteLevel (optional prefix space, optional GPT-2 regex) and, for
// SentencePiece-style models, Metaspace (spaces spelled "▁", a "▁" put before the text, optional
// split before each "▁"). ByteLevel's mapping of bytes to characters is done by the BPE model on
// ids, so apart from Metaspace a pre-tokenizer only ever deals with the original UTF-8 bytes; a split
// that Hugging Face runs after ByteLevel (Falcon's Digits) matches its pattern against the byte-level
// characters and cuts the original bytes where they do.
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/tokenizer/onig_regex.hpp"

namespace troupe {

// What happens to the parts of a piece that a pattern matches (Hugging Face's names).
enum class SplitBehavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

// When Metaspace puts its replacement before a piece: always, only before the piece that starts
// the input (not one that follows an added token), or never. A piece that already starts with the
// replacement (the input began with a space) gets no second one.
enum class PrependScheme { Always, First, Never };

// The patterns of the model families the GGUF `tokenizer.ggml.pre` names, as their Hugging Face
// tokenizer.json files spell them (facts about those files, reused by the GGUF adapter and tests).
namespace pretokenizer_patterns {
// GPT-2, also used by ByteLevel's use_regex.
inline constexpr std::string_view kGpt2 =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
// Llama 3: caseless contractions, digit groups of at most three.
inline constexpr std::string_view kLlama3 =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
// Qwen2 / Qwen2.5 / Qwen3: as Llama 3 but single digits.
inline constexpr std::string_view kQwen2 =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
// Qwen3.5: Qwen2's, with combining marks (\p{M}) part of words, as its tokenizer.json's pattern.
inline constexpr std::string_view kQwen35 =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
// Tekken (Mistral NeMo, Small 3, Devstral), as tekken.json's "pattern": words split at case changes
// (an upper-case run, then lower case), marks part of words, no contractions, single digits.
inline constexpr std::string_view kTekken =
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
// GPT-4o's o200k (Phi-4-mini): Tekken's word split with caseless contractions kept on the word,
// and digit groups of at most three.
inline constexpr std::string_view kGpt4o =
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
// Kimi K2 (and K2 Thinking, K2.5), as its tokenization_kimi.py spells it for tiktoken: runs of Han
// characters first, then GPT-4o's expression with the Han characters taken out of its letter
// classes (class intersections) and newlines, not slashes, after punctuation runs.
inline constexpr std::string_view kKimiK2 =
    R"([\p{Han}]+|[^
\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}&&[^\p{Han}]]*[\p{Ll}\p{Lm}\p{Lo}\p{M}&&[^\p{Han}]]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^
\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}&&[^\p{Han}]]+[\p{Ll}\p{Lm}\p{Lo}\p{M}&&[^\p{Han}]]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[
]*|\s*[
]+|\s+(?!\S)|\s+)";
// Tiny Aya (Cohere's, on cohere2): before GPT-4o's expression, a Split of digit runs into groups of
// three from the right, as its tokenizer.json has it ("1234567" → 1, 234, 567; a run that a letter
// follows is left to the next expression).
inline constexpr std::string_view kTinyAyaDigits = R"(\d{1,3}(?=(?:\d{3})*\b))";
// Falcon (7B, 40B, 180B): three Splits in turn, as llama.cpp reads its tokenizer.json's Punctuation,
// ByteLevel and Split pre-tokenizers: punctuation runs (with $ + < = > ^ ~ | `), GPT-2's expression,
// then digit runs cut into threes from the left.
inline constexpr std::string_view kFalcon[] = {R"([\p{P}\$\+<=>\^~\|`]+)", kGpt2, "[0-9][0-9][0-9]"};
// Seed-Coder: Llama 3's expression with single digits and no newlines in punctuation runs.
inline constexpr std::string_view kSeedCoder =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1}| ?[^\s\p{L}\p{N}\r\n]+|\s*[\r\n]+|\s+(?!\S)|\s+)";
// DeepSeek-Coder: four Splits in turn (then every digit on its own): line breaks, letter runs,
// punctuation runs, CJK runs, each with at most one space before it.
inline constexpr std::string_view kDeepSeekCoder[] = {R"([\r\n])", R"(\s?\p{L}+)", R"(\s?\p{P}+)",
                                                      "[\u4E00-\u9FA5\u0800-\u4E00\uAC00-\uD7FF]+"};
// DeepSeek-V3 (and R1, V3.1, V3.2, which share its tokenizer): three Splits in turn, as its
// tokenizer.json has them: numbers by up to three digits, CJK runs, then letters (after at most one
// punctuation mark or other non-letter), punctuation and symbol runs, line breaks and spaces.
inline constexpr std::string_view kDeepSeekV3[] = {
    R"(\p{N}{1,3})", "[\u4E00-\u9FA5\u3040-\u309F\u30A0-\u30FF]+",
    R"([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)"};
// DeepSeek-LLM and DeepSeek-V2 (V2-Lite): six Splits in turn, as llama.cpp reads tokenizer.ggml.pre
// "deepseek-llm" (line breaks; letter runs of the scripts listed, with at most one space before;
// ASCII and full-width punctuation runs; trailing spaces; CJK runs; digit runs). Their
// tokenizer.json is not on PyPI: tools/make_llamacpp_tokenizer_reference.py checks these against
// llama.cpp.
inline constexpr std::string_view kDeepSeekLlm[] = {
    "[\r\n]",
    "\\s?[A-Za-z\u00B5\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u01BA\u01BC-\u01BF\u01C4-\u0293\u0295-"
    "\u02AF\u0370-\u0373\u0376\u0377\u037B-\u037D\u037F\u0386\u0388-\u038A\u038C\u038E-\u03A1"
    "\u03A3-\u03F5\u03F7-\u0481\u048A-\u052F\u0531-\u0556\u10A0-\u10C5\u13A0-\u13F5\u13F8-"
    "\u13FD\u1C90-\u1CBA\u1CBD-\u1CBF\u1D00-\u1D2B\u1D6B-\u1D77\u1D79-\u1D9A\u1E00-\u1F15"
    "\u1F18-\u1F1D\u1F20-\u1F45\u1F48-\u1F4D\u1F50-\u1F57\u1F59\u1F5B\u1F5D\u1F5F-\u1F7D"
    "\u1F80-\u1FB4\u1FB6-\u1FBC\u1FBE\u1FC2-\u1FC4\u1FC6-\u1FCC\u1FD0-\u1FD3\u1FD6-\u1FDB"
    "\u1FE0-\u1FEC\u1FF2-\u1FF4\u1FF6-\u1FFC\u2102\u2107\u210A-\u2113\u2115\u2119-\u211D\u2124"
    "\u2126\u2128\u212A-\u212D\u212F-\u2134\u2139\u213C-\u213F\u2145-\u2149\u214E\u2183\u2184"
    "\u2C00-\u2C7B\u2C7E-\u2CE4\u2CEB-\u2CEE\u2CF2\u2CF3\uA640-\uA66D\uA680-\uA69B\uA722-"
    "\uA76F\uA771-\uA787\uA78B-\uA78E\uAB70-\uABBF\uFB00-\uFB06\uFB13-\uFB17\uFF21-\uFF3A"
    "\uFF41-\uFF5A\U00010400-\U0001044F\U000104B0-\U000104D3\U000104D8-\U000104FB\U00010C80-"
    "\U00010CB2\U00010CC0-\U00010CF2\U000118A0-\U000118DF\U0001E900-\U0001E943]+",
    "\\s?[!-/:-~\uFF01-\uFF0F\uFF1A-\uFF5E\u2018-\u201F\u3000-\u3002]+",
    "\\s+$",
    "[\u4E00-\u9FA5\u0800-\u4E00\uAC00-\uD7FF]+",
    "\\p{N}+"};
}  // namespace pretokenizer_patterns

class PreTokenizer {
 public:
  // Steps are applied in the order they are added, each to every piece the previous ones left.
  // `on_byte_chars`: the step comes after ByteLevel, whose characters (one per byte: byte_level.hpp)
  // its pattern reads.
  void add_split(std::shared_ptr<const OnigRegex> regex, SplitBehavior behavior, bool invert, bool on_byte_chars = false);
  // Digits: each digit (`individual`) or each run of digits becomes its own piece.
  void add_digits(bool individual, const std::string& origin, bool on_byte_chars = false);
  // Punctuation: ASCII punctuation and Unicode's, one character at a time, with `behavior` (Hugging
  // Face's; Contiguous makes runs).
  void add_punctuation(SplitBehavior behavior, const std::string& origin, bool on_byte_chars = false);
  // ByteLevel: a space is put before each piece that does not start with one when
  // `add_prefix_space`, then pieces are split with the GPT-2 pattern when `use_regex`.
  void add_byte_level(bool add_prefix_space, bool use_regex, const std::string& origin);
  // Metaspace: every " " becomes `replacement`, which is put before the piece as `scheme` says;
  // with `split` the piece is then cut before each replacement (Hugging Face's MergedWithNext).
  void add_metaspace(std::string replacement, PrependScheme scheme, bool split);

  bool empty() const { return steps_.empty(); }

  // Cuts `text` into pieces, appended to `out`. Pieces view `text` or strings kept in `storage`
  // (pieces that received a prefix or a replacement), which must outlive them. `input_start`: the
  // text begins the whole input (for PrependScheme::First).
  void run(std::string_view text, std::deque<std::string>& storage, std::vector<std::string_view>& out,
           bool input_start = true) const;

 private:
  struct Step {
    std::shared_ptr<const OnigRegex> regex;  // null for a prefix-space or Metaspace step
    SplitBehavior behavior = SplitBehavior::Isolated;
    bool invert = false;
    bool on_byte_chars = false;
    bool add_prefix_space = false;
    std::string metaspace;  // Metaspace's replacement; empty for the other steps
    PrependScheme prepend = PrependScheme::Always;
    bool metaspace_split = false;
  };
  void apply(const Step& step, std::string_view piece, bool input_start, std::deque<std::string>& storage,
             std::vector<std::string_view>& out) const;
  void apply_metaspace(const Step& step, std::string_view piece, bool input_start, std::deque<std::string>& storage,
                       std::vector<std::string_view>& out) const;

  std::vector<Step> steps_;
};

}  // namespace troupe
