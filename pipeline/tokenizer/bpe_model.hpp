#pragma once
// BPE model: vocabulary, merge ranks, and the encoding of one pre-tokenized word, in one of two
// alphabets. Byte-level (GPT-2, Llama 3, Qwen): tokens are spelled in the byte-level alphabet and a
// word starts as the ids of its bytes' 256 single-byte tokens. Characters (SentencePiece-style:
// Llama 2, Mistral, Gemma): tokens are spelled in UTF-8 with "▁" for a space and a word starts as
// the ids of its characters, a character missing from the vocabulary falling back to the byte
// tokens "<0xNN>" of its UTF-8 bytes (byte_fallback) or to the unknown token. Works on ids
// throughout: merges combine ids, so no strings are built per merge.
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "pipeline/tokenizer/pair_rank_table.hpp"

namespace troupe {

// Hash and equality that let string-keyed maps be searched with a string_view, without a copy.
struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using StringIdMap = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

class BpeModel {
 public:
  enum class Alphabet { ByteLevel, Characters };

  struct Options {
    Alphabet alphabet = Alphabet::ByteLevel;
    // Emit a word as one token when the vocabulary holds it whole (Llama 3's tokenizer.json).
    bool ignore_merges = false;
    // Characters: a character missing from the vocabulary becomes its bytes' "<0xNN>" tokens.
    bool byte_fallback = false;
    // Characters: consecutive unknown characters become one unknown token.
    bool fuse_unk = false;
    // Id used for a byte (ByteLevel) or character (Characters) with no token of its own; such
    // bytes or characters are dropped without.
    std::optional<int32_t> unknown_id;
  };

  // A merge given by ids: `left` then `right` become `merged`; lower ranks merge first, and equal
  // ranks merge leftmost first.
  struct IdMerge {
    int32_t left, right, merged;
    uint32_t rank;
  };

  // `vocab` maps spellings to ids; `merges` are pairs of spellings, highest priority first.
  // Throws ModelError naming `origin` when a merge names an unknown token or produces one.
  BpeModel(StringIdMap vocab, const std::vector<std::pair<std::string, std::string>>& merges, Options options,
           const std::string& origin);
  // Merges given as ids (SentencePiece vocabularies, whose merge order comes from token scores).
  // `merge_characters` are characters without a token of their own that merges may still start
  // from (SentencePiece and llama.cpp merge text, so "\n" + "\n" can become a "\n\n" token where
  // "\n" alone is only its byte), each with the id the merges name it by (above every token id); a
  // word that keeps one unmerged falls back to its bytes.
  BpeModel(StringIdMap vocab, const std::vector<IdMerge>& merges, Options options,
           const std::vector<std::pair<std::string, int32_t>>& merge_characters = {});

  const StringIdMap& vocab() const { return vocab_; }

  // Appends the ids of one pre-tokenized word given as raw UTF-8 bytes. Results of words up to
  // kCachedWordBytes long are cached (thread-safe), since natural text repeats words constantly.
  void encode_word(std::string_view bytes, std::vector<int32_t>& out) const;

 private:
  static constexpr std::size_t kCachedWordBytes = 256;
  static constexpr std::size_t kCacheCapacity = 1 << 16;

  void merge(std::string_view bytes, std::vector<int32_t>& out) const;
  void init_byte_ids();
  // Appends the starting symbols of `bytes` (before any merge) to `ids`.
  void initial_symbols(std::string_view bytes, std::vector<int32_t>& ids) const;

  StringIdMap vocab_;
  PairRankTable merges_;
  Options options_;
  // ByteLevel: the id of each byte's single-character token; Characters: of its "<0xNN>" token.
  // -1 where the vocabulary lacks it.
  std::array<int32_t, 256> byte_ids_{};
  // Characters without a token that merges start from: text -> id, and the text of each id from
  // first_merge_character_ on.
  StringIdMap merge_character_ids_;
  std::vector<std::string> merge_character_texts_;
  int32_t first_merge_character_ = INT32_MAX;

  struct Cache {
    std::shared_mutex mutex;
    std::unordered_map<std::string, std::vector<int32_t>, StringHash, std::equal_to<>> words;
  };
  std::unique_ptr<Cache> cache_ = std::make_unique<Cache>();
};

}  // namespace troupe
