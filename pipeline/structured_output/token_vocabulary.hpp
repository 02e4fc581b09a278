#pragma once
// The vocabulary as the grammar matcher sees it: the raw bytes of every token, arranged as a trie
// laid out in depth-first order (children by byte), so that a walk can prune every token that
// shares a rejected prefix by jumping to the end of that subtree. Built once per tokenizer and
// shared by every compiled grammar of the model.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace troupe {
class Tokenizer;
}

namespace troupe::structured_output {

class TokenVocabulary {
 public:
  // `token_bytes[id]` is what the token decodes to. Ids in `stop_ids` (end of sequence) and ids in
  // `excluded` (special/control tokens, which are not text) never enter the trie: the matcher
  // allows stop ids exactly where the grammar can complete, and never the excluded ones. Empty
  // tokens are excluded too. `mask_size` is the length of the logit rows (>= token_bytes.size();
  // 0 means token_bytes.size()).
  TokenVocabulary(std::vector<std::string> token_bytes, std::vector<int32_t> stop_ids,
                  const std::vector<int32_t>& excluded = {}, int32_t mask_size = 0);

  int32_t mask_size() const { return mask_size_; }
  int32_t token_count() const { return static_cast<int32_t>(bytes_.size()); }
  std::string_view bytes(int32_t id) const { return bytes_[static_cast<std::size_t>(id)]; }
  const std::vector<int32_t>& stop_ids() const { return stop_ids_; }
  // Position of `id` in the trie's order (tokens sorted by bytes), or -1 for a token not in it.
  int32_t rank(int32_t id) const { return rank_[static_cast<std::size_t>(id)]; }

  // Trie nodes in depth-first pre-order; the root is implicit (depth 0). Node i has the byte on
  // its incoming edge, its depth (1 for the root's children), the index one past its last
  // descendant, and the ids of the tokens that end at it.
  std::size_t node_count() const { return node_byte_.size(); }
  uint8_t node_byte(std::size_t i) const { return node_byte_[i]; }
  int32_t node_depth(std::size_t i) const { return node_depth_[i]; }
  int32_t subtree_end(std::size_t i) const { return subtree_end_[i]; }
  std::span<const int32_t> node_tokens(std::size_t i) const {
    return {sorted_ids_.data() + node_tokens_begin_[i], static_cast<std::size_t>(node_tokens_begin_[i + 1] - node_tokens_begin_[i])};
  }
  // Ids of every token in node i's subtree (node i included), in trie order.
  std::span<const int32_t> subtree_tokens(std::size_t i) const {
    const int32_t begin = node_tokens_begin_[i], end = node_tokens_begin_[static_cast<std::size_t>(subtree_end_[i])];
    return {sorted_ids_.data() + begin, static_cast<std::size_t>(end - begin)};
  }
  int32_t max_depth() const { return max_depth_; }

 private:
  std::vector<std::string> bytes_;
  std::vector<int32_t> stop_ids_;
  int32_t mask_size_ = 0;
  std::vector<int32_t> rank_;
  std::vector<int32_t> sorted_ids_;  // trie tokens sorted by bytes
  std::vector<uint8_t> node_byte_;
  std::vector<int32_t> node_depth_;
  std::vector<int32_t> subtree_end_;
  std::vector<int32_t> node_tokens_begin_;  // node_count + 1 entries
  int32_t max_depth_ = 0;
};

// The vocabulary of `tokenizer`: decoded bytes of every id, special tokens and the tokenizer's
// end ids excluded from the text, `stop_ids` (the model's end-of-sequence ids, the ones generation
// stops on; the tokenizer's when empty) allowed only at completion.
TokenVocabulary vocabulary_from_tokenizer(const Tokenizer& tokenizer, std::vector<int32_t> stop_ids, int32_t mask_size = 0);

}  // namespace troupe::structured_output
