#pragma once
// Added tokens (Hugging Face "added_tokens"; GGUF control and user-defined tokens): strings that
// are cut out of the input before normalization and BPE and map straight to their id. Matching
// follows Hugging Face: leftmost match, longest at that position, non-overlapping; `single_word`
// rejects a match inside a word, `lstrip`/`rstrip` absorb the whitespace around it. Tokens with
// `normalized` are matched in normalized text, the others in the raw input.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/tokenizer/normalizer.hpp"

namespace troupe {

struct AddedToken {
  std::string content;
  int32_t id = 0;
  bool special = false;  // control token: skipped when decoding with skip_special_tokens
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = false;
};

class AddedVocabulary {
 public:
  AddedVocabulary() = default;
  // Tokens with `normalized` are matched in their normalized spelling (`normalizer` applied to the
  // content), since they are looked for in normalized text.
  AddedVocabulary(std::vector<AddedToken> tokens, const Normalizer& normalizer);

  const std::vector<AddedToken>& tokens() const { return tokens_; }

  // A part of the input: either an added token (id >= 0) or text to encode (id == -1).
  struct Segment {
    std::size_t begin;
    std::size_t end;
    int32_t id;
  };

  // Cuts `text` at the tokens of one set (normalized ones, or the others). With `parse_special`
  // false, special tokens are not recognized (their text is encoded like any other text).
  void split(std::string_view text, bool normalized_set, bool parse_special, std::vector<Segment>& out) const;

  bool has_set(bool normalized_set) const { return !tries_[normalized_set ? 1 : 0].nodes.empty(); }

 private:
  // A byte trie of the token strings of one set; node 0 is the root.
  struct Trie {
    struct Node {
      std::vector<std::pair<unsigned char, int32_t>> children;  // sorted by byte
      int32_t token = -1;  // index into tokens_ of the token ending here
    };
    std::vector<Node> nodes;
    std::array<bool, 256> first_byte{};  // bytes that start some token: a cheap first filter
    void insert(std::string_view key, int32_t token);
    int32_t child(int32_t node, unsigned char byte) const;
  };
  // Index into tokens_ of the longest token starting at text[pos], or -1.
  int32_t longest_at(const Trie& trie, std::string_view text, std::size_t pos, std::size_t& length) const;

  std::vector<AddedToken> tokens_;
  std::array<Trie, 2> tries_;  // [0]: matched in raw text, [1]: matched in normalized text
};

}  // namespace troupe
