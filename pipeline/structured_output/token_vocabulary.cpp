#include "pipeline/structured_output/token_vocabulary.hpp"

#include <algorithm>
#include <stdexcept>

#include "pipeline/tokenizer/tokenizer.hpp"

namespace troupe::structured_output {

TokenVocabulary::TokenVocabulary(std::vector<std::string> token_bytes, std::vector<int32_t> stop_ids,
                                 const std::vector<int32_t>& excluded, int32_t mask_size)
    : bytes_(std::move(token_bytes)), stop_ids_(std::move(stop_ids)) {
  const auto n = static_cast<int32_t>(bytes_.size());
  mask_size_ = std::max(mask_size, n);
  std::sort(stop_ids_.begin(), stop_ids_.end());
  stop_ids_.erase(std::unique(stop_ids_.begin(), stop_ids_.end()), stop_ids_.end());
  std::erase_if(stop_ids_, [&](int32_t id) { return id < 0 || id >= mask_size_; });

  std::vector<char> in_trie(bytes_.size(), 1);
  for (int32_t id : stop_ids_) {
    if (id < n) in_trie[static_cast<std::size_t>(id)] = 0;
  }
  for (int32_t id : excluded) {
    if (id >= 0 && id < n) in_trie[static_cast<std::size_t>(id)] = 0;
  }
  for (int32_t id = 0; id < n; ++id) {
    if (bytes_[static_cast<std::size_t>(id)].empty()) in_trie[static_cast<std::size_t>(id)] = 0;
    if (in_trie[static_cast<std::size_t>(id)]) sorted_ids_.push_back(id);
  }
  std::sort(sorted_ids_.begin(), sorted_ids_.end(), [&](int32_t a, int32_t b) {
    const std::string_view x = bytes_[static_cast<std::size_t>(a)], y = bytes_[static_cast<std::size_t>(b)];
    return x < y || (x == y && a < b);
  });
  rank_.assign(bytes_.size(), -1);
  for (std::size_t i = 0; i < sorted_ids_.size(); ++i) rank_[static_cast<std::size_t>(sorted_ids_[i])] = static_cast<int32_t>(i);

  // Walk the sorted tokens, keeping the path of open nodes; a node closes (its subtree ends) when
  // a later token leaves its prefix. A token belongs to the node of its last byte; in sorted
  // order those nodes never decrease, so each node's tokens are one range of sorted_ids_.
  std::vector<int32_t> path;  // node index at each depth - 1
  std::vector<int32_t> count;  // tokens ending at each node
  std::string_view previous;
  auto close_to = [&](std::size_t depth) {
    while (path.size() > depth) {
      subtree_end_[static_cast<std::size_t>(path.back())] = static_cast<int32_t>(node_byte_.size());
      path.pop_back();
    }
  };
  for (const int32_t id : sorted_ids_) {
    const std::string_view t = bytes_[static_cast<std::size_t>(id)];
    std::size_t common = 0;
    while (common < t.size() && common < previous.size() && t[common] == previous[common]) ++common;
    close_to(common);
    for (std::size_t d = common; d < t.size(); ++d) {
      path.push_back(static_cast<int32_t>(node_byte_.size()));
      node_byte_.push_back(static_cast<uint8_t>(t[d]));
      node_depth_.push_back(static_cast<int32_t>(d + 1));
      subtree_end_.push_back(0);
      count.push_back(0);
    }
    ++count[static_cast<std::size_t>(path.back())];
    max_depth_ = std::max(max_depth_, static_cast<int32_t>(t.size()));
    previous = t;
  }
  close_to(0);
  node_tokens_begin_.assign(node_byte_.size() + 1, 0);
  for (std::size_t k = 0; k < node_byte_.size(); ++k) node_tokens_begin_[k + 1] = node_tokens_begin_[k] + count[k];
}

TokenVocabulary vocabulary_from_tokenizer(const Tokenizer& tokenizer, std::vector<int32_t> stop_ids, int32_t mask_size) {
  const int32_t n = tokenizer.vocab_size();
  std::vector<std::string> bytes(static_cast<std::size_t>(n));
  std::vector<int32_t> excluded;
  for (int32_t id = 0; id < n; ++id) {
    bytes[static_cast<std::size_t>(id)] = std::string(tokenizer.token_bytes(id));
    if (tokenizer.is_special(id)) excluded.push_back(id);
  }
  // The tokenizer's own end ids are never text; they end a sequence only when they are among the
  // model's stop ids (the ones the scheduler stops on), which default to them.
  for (int32_t id : tokenizer.eos_ids()) excluded.push_back(id);
  if (stop_ids.empty()) stop_ids = tokenizer.eos_ids();
  return TokenVocabulary(std::move(bytes), std::move(stop_ids), excluded, mask_size);
}

}  // namespace troupe::structured_output
