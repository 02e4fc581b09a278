#pragma once
// Tokenizer with Hugging Face `tokenizers` semantics: added tokens are cut out first, the rest is
// normalized, pre-tokenized into words, and each word is BPE-encoded (byte-level or
// SentencePiece-style, bpe_model.hpp) — or, for a SentencePiece tokenizer.model, encoded by the
// SentencePiece library (sentencepiece_model.hpp); decoding maps tokens back to bytes and repairs
// invalid UTF-8 with U+FFFD. Loaded from a tokenizer.json (here), a tokenizer.model
// (sentencepiece_model.hpp) or GGUF metadata (gguf_tokenizer.hpp). Immutable after loading and
// safe to share between threads; copies share the loaded tables.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/tokenizer/added_vocabulary.hpp"
#include "pipeline/tokenizer/bpe_model.hpp"
#include "pipeline/tokenizer/normalizer.hpp"
#include "pipeline/tokenizer/pre_tokenizer.hpp"

namespace troupe {

class SentencePieceModel;

// How a token id becomes bytes (Hugging Face's decoder). Byte-level: the token's spelling is
// mapped back through the byte-level alphabet. Otherwise (SentencePiece-style): `space_marker`
// ("▁") becomes a space, "<0xNN>" tokens become their byte when `byte_fallback`, and decoding a
// whole sequence drops up to `strip_leading_spaces` spaces at its start (the one the tokenizer
// put before the text; Strip or Metaspace in tokenizer.json). Hugging Face strips them from the
// text left after skipping special tokens; llama.cpp (`strip_first_token_only`) from the first
// token's own text, which is empty when that token is skipped.
struct TokenDecoder {
  bool byte_level = true;
  std::string space_marker;
  bool byte_fallback = false;
  int strip_leading_spaces = 0;
  bool strip_first_token_only = false;
};

// Everything a loader extracts from a tokenizer file; the Tokenizer is built from it.
struct TokenizerParts {
  std::string origin;  // the file, for error messages
  StringIdMap vocab;   // spelling (byte-level, or SentencePiece-style with "▁") -> id
  // The merges by spelling (tokenizer.json) or by id (GGUF SentencePiece vocabularies); one is empty.
  std::vector<std::pair<std::string, std::string>> merges;
  std::vector<BpeModel::IdMerge> id_merges;
  std::vector<std::pair<std::string, int32_t>> merge_characters;  // see BpeModel
  BpeModel::Options bpe_options;
  // A tokenizer.model: encodes each text segment in place of the pre-tokenizer and BPE.
  std::shared_ptr<const SentencePieceModel> sentencepiece;
  TokenDecoder decoder;
  std::vector<AddedToken> added_tokens;
  Normalizer normalizer;
  PreTokenizer pre_tokenizer;
  // Ids put before / after the text when encoding with add_special_tokens (the post-processor).
  std::vector<int32_t> prefix_ids;
  std::vector<int32_t> suffix_ids;
  std::optional<int32_t> bos_id;
  std::vector<int32_t> eos_ids;
};

class Tokenizer {
 public:
  // Throws ModelError naming the file and the unsupported or malformed part (a model type other
  // than BPE, a pre-tokenizer or normalizer it does not implement, bad JSON, ...). A
  // tokenizer_config.json next to the file supplies the bos/eos tokens when present.
  static Tokenizer from_tokenizer_json(const std::filesystem::path& path);

  explicit Tokenizer(TokenizerParts parts);

  // `add_special_tokens`: add what the model's post-processor adds (BOS for Llama 3 and
  // DeepSeek-R1 distills; nothing for SmolLM2 or Qwen2.5). `parse_special`: recognize special
  // tokens written in the text; when false their text is encoded as ordinary text.
  // Invalid UTF-8 in `text` is replaced by U+FFFD first.
  std::vector<int32_t> encode(std::string_view text, bool add_special_tokens, bool parse_special = true) const;

  // Text of the ids, with special tokens left out when `skip_special_tokens`. Unknown ids are
  // skipped. Byte sequences that are not valid UTF-8 become U+FFFD. The text is that of a whole
  // sequence: a SentencePiece-style tokenizer drops the space its encoding put before the text
  // (TokenDecoder::strip_leading_spaces); concatenated token_bytes() are the text of ids that
  // continue a sequence (what IncrementalDetokenizer streams).
  std::string decode(std::span<const int32_t> ids, bool skip_special_tokens = true) const;

  // One more than the largest id (model vocabulary and added tokens).
  int32_t vocab_size() const;
  // Id of a token given as it is spelled in the vocabulary (byte-level form, e.g. "Ġthe", or
  // SentencePiece form, "▁the") or as an added token's content.
  std::optional<int32_t> token_id(std::string_view token) const;
  // The vocabulary spelling of an id; empty for an unknown id.
  std::string_view token_text(int32_t id) const;
  // The raw bytes an id stands for when decoded (may be part of a UTF-8 character).
  std::string_view token_bytes(int32_t id) const;
  bool is_special(int32_t id) const;
  std::optional<int32_t> bos_id() const;
  std::vector<int32_t> eos_ids() const;
  // Whether encode(text, true) puts the BOS id first.
  bool adds_bos() const;
  const std::string& origin() const;

 private:
  struct Impl;
  std::shared_ptr<const Impl> impl_;
};

}  // namespace troupe
