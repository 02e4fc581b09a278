#include "pipeline/tokenizer/bpe_model.hpp"

#include <algorithm>
#include <mutex>

#include "common/error.hpp"
#include "pipeline/tokenizer/byte_level.hpp"
#include "pipeline/tokenizer/utf8.hpp"

namespace troupe {
namespace {

// One symbol of the word being merged; symbols form a doubly linked list over a vector so that a
// merge is O(1). A merged-away symbol gets id -1.
struct Symbol {
  int32_t id;
  int32_t prev;
  int32_t next;
};

// A possible merge of the symbol at `left` with its successor, valid while both still hold the
// ids it was computed from.
struct Candidate {
  uint32_t rank;
  int32_t left;
  int32_t left_id;
  int32_t right_id;
  int32_t merged_id;
};

// Min-heap order: lowest rank first, then leftmost, which is the order Hugging Face merges in.
bool later(const Candidate& a, const Candidate& b) {
  return a.rank != b.rank ? a.rank > b.rank : a.left > b.left;
}

}  // namespace

BpeModel::BpeModel(StringIdMap vocab, const std::vector<std::pair<std::string, std::string>>& merges,
                   Options options, const std::string& origin)
    : vocab_(std::move(vocab)), merges_(merges.size()), options_(options) {
  for (unsigned b = 0; b < 256; ++b) {
    std::string spelling;
    utf8::append(spelling, byte_level::char_for_byte(static_cast<unsigned char>(b)));
    const auto it = vocab_.find(spelling);
    byte_ids_[b] = it == vocab_.end() ? -1 : it->second;
  }
  std::string joined;
  for (std::size_t rank = 0; rank < merges.size(); ++rank) {
    const auto& [left, right] = merges[rank];
    const auto l = vocab_.find(left);
    const auto r = vocab_.find(right);
    joined.assign(left).append(right);
    const auto m = vocab_.find(joined);
    if (l == vocab_.end() || r == vocab_.end() || m == vocab_.end()) {
      throw ModelError(origin + ": BPE merge #" + std::to_string(rank) + " \"" + left + " " + right +
                       "\" names a token missing from the vocabulary");
    }
    merges_.insert(l->second, r->second, {static_cast<uint32_t>(rank), m->second});
  }
}

void BpeModel::encode_word(std::string_view bytes, std::vector<int32_t>& out) const {
  if (bytes.empty()) return;
  const bool cacheable = bytes.size() <= kCachedWordBytes;
  if (cacheable) {
    std::shared_lock lock(cache_->mutex);
    const auto it = cache_->words.find(bytes);
    if (it != cache_->words.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  const std::size_t first = out.size();
  merge(bytes, out);
  if (cacheable) {
    std::unique_lock lock(cache_->mutex);
    // A full cache stops growing rather than evicting: the words seen first are the common ones.
    if (cache_->words.size() < kCacheCapacity) {
      cache_->words.try_emplace(std::string(bytes), out.begin() + static_cast<std::ptrdiff_t>(first), out.end());
    }
  }
}

void BpeModel::merge(std::string_view bytes, std::vector<int32_t>& out) const {
  if (options_.ignore_merges) {
    const auto it = vocab_.find(byte_level::encode(bytes));
    if (it != vocab_.end()) {
      out.push_back(it->second);
      return;
    }
  }
  thread_local std::vector<Symbol> symbols;
  thread_local std::vector<Candidate> heap;
  symbols.clear();
  heap.clear();
  for (const char c : bytes) {
    int32_t id = byte_ids_[static_cast<unsigned char>(c)];
    if (id < 0) {
      if (!options_.unknown_id) continue;
      id = *options_.unknown_id;
    }
    const auto index = static_cast<int32_t>(symbols.size());
    symbols.push_back(Symbol{id, index - 1, index + 1});
  }
  if (symbols.empty()) return;
  symbols.back().next = -1;

  auto consider = [&](int32_t left) {
    const int32_t right = symbols[static_cast<std::size_t>(left)].next;
    if (right < 0) return;
    const int32_t left_id = symbols[static_cast<std::size_t>(left)].id;
    const int32_t right_id = symbols[static_cast<std::size_t>(right)].id;
    if (const auto* m = merges_.find(left_id, right_id)) {
      heap.push_back(Candidate{m->rank, left, left_id, right_id, m->merged_id});
      std::push_heap(heap.begin(), heap.end(), later);
    }
  };
  for (int32_t i = 0; i + 1 < static_cast<int32_t>(symbols.size()); ++i) consider(i);

  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), later);
    const Candidate c = heap.back();
    heap.pop_back();
    Symbol& left = symbols[static_cast<std::size_t>(c.left)];
    if (left.id != c.left_id || left.next < 0) continue;  // stale: the left symbol changed
    Symbol& right = symbols[static_cast<std::size_t>(left.next)];
    if (right.id != c.right_id) continue;  // stale: the right neighbour changed
    left.id = c.merged_id;
    right.id = -1;
    left.next = right.next;
    if (right.next >= 0) symbols[static_cast<std::size_t>(right.next)].prev = c.left;
    if (left.prev >= 0) consider(left.prev);
    consider(c.left);
  }
  for (int32_t i = 0; i >= 0; i = symbols[static_cast<std::size_t>(i)].next) out.push_back(symbols[static_cast<std::size_t>(i)].id);
}

}  // namespace troupe
