#pragma once
// Byte-level BPE model: vocabulary (tokens spelled in the byte-level alphabet), merge ranks, and
// the encoding of one pre-tokenized word. Works on ids throughout: a word's bytes start as the ids
// of the 256 single-byte tokens and merges combine ids, so no strings are built per byte.
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
  struct Options {
    // Emit a word as one token when the vocabulary holds it whole (Llama 3's tokenizer.json).
    bool ignore_merges = false;
    // Id used for a byte whose single-character token is missing; such bytes are dropped without.
    std::optional<int32_t> unknown_id;
  };

  // `vocab` maps byte-level spellings to ids; `merges` are pairs of spellings, highest priority
  // first. Throws ModelError naming `origin` when a merge names an unknown token or produces one.
  BpeModel(StringIdMap vocab, const std::vector<std::pair<std::string, std::string>>& merges, Options options,
           const std::string& origin);

  const StringIdMap& vocab() const { return vocab_; }

  // Appends the ids of one pre-tokenized word given as raw UTF-8 bytes. Results of words up to
  // kCachedWordBytes long are cached (thread-safe), since natural text repeats words constantly.
  void encode_word(std::string_view bytes, std::vector<int32_t>& out) const;

 private:
  static constexpr std::size_t kCachedWordBytes = 256;
  static constexpr std::size_t kCacheCapacity = 1 << 16;

  void merge(std::string_view bytes, std::vector<int32_t>& out) const;

  StringIdMap vocab_;
  PairRankTable merges_;
  Options options_;
  std::array<int32_t, 256> byte_ids_{};  // -1 where the vocabulary lacks the byte's character

  struct Cache {
    std::shared_mutex mutex;
    std::unordered_map<std::string, std::vector<int32_t>, StringHash, std::equal_to<>> words;
  };
  std::unique_ptr<Cache> cache_ = std::make_unique<Cache>();
};

}  // namespace troupe
