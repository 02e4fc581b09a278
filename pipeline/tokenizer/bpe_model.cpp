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

void BpeModel::init_byte_ids() {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (unsigned b = 0; b < 256; ++b) {
    std::string spelling;
    if (options_.alphabet == Alphabet::ByteLevel) {
      utf8::append(spelling, byte_level::char_for_byte(static_cast<unsigned char>(b)));
    } else {
      spelling = {'<', '0', 'x', kHex[b >> 4], kHex[b & 15], '>'};
    }
    const auto it = vocab_.find(spelling);
    byte_ids_[b] = it == vocab_.end() ? -1 : it->second;
  }
}

BpeModel::BpeModel(StringIdMap vocab, const std::vector<IdMerge>& merges, Options options,
                   const std::vector<std::pair<std::string, int32_t>>& merge_characters)
    : vocab_(std::move(vocab)), merges_(merges.size()), options_(options) {
  init_byte_ids();
  for (const IdMerge& m : merges) merges_.insert(m.left, m.right, {m.rank, m.merged});
  for (const auto& [text, id] : merge_characters) first_merge_character_ = std::min(first_merge_character_, id);
  for (const auto& [text, id] : merge_characters) {
    merge_character_ids_.emplace(text, id);
    const auto index = static_cast<std::size_t>(id - first_merge_character_);
    if (merge_character_texts_.size() <= index) merge_character_texts_.resize(index + 1);
    merge_character_texts_[index] = text;
  }
}

BpeModel::BpeModel(StringIdMap vocab, const std::vector<std::pair<std::string, std::string>>& merges,
                   Options options, const std::string& origin)
    : vocab_(std::move(vocab)), merges_(merges.size()), options_(options) {
  init_byte_ids();
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

void BpeModel::initial_symbols(std::string_view bytes, std::vector<int32_t>& ids) const {
  if (options_.alphabet == Alphabet::ByteLevel) {
    for (const char c : bytes) {
      const int32_t id = byte_ids_[static_cast<unsigned char>(c)];
      if (id >= 0) {
        ids.push_back(id);
      } else if (options_.unknown_id) {
        ids.push_back(*options_.unknown_id);
      }
    }
    return;
  }
  bool previous_unknown = false;
  for (std::size_t pos = 0; pos < bytes.size();) {
    // Pieces are valid UTF-8 (the tokenizer repairs its input), so a character is whole here.
    const std::size_t length = std::min(utf8::sequence_length(static_cast<unsigned char>(bytes[pos])), bytes.size() - pos);
    const std::string_view character = bytes.substr(pos, length);
    pos += length;
    if (const auto it = vocab_.find(character); it != vocab_.end()) {
      ids.push_back(it->second);
      previous_unknown = false;
      continue;
    }
    if (const auto it = merge_character_ids_.find(character); it != merge_character_ids_.end()) {
      ids.push_back(it->second);  // may still merge; falls back to bytes below if it does not
      previous_unknown = false;
      continue;
    }
    if (options_.byte_fallback &&
        std::all_of(character.begin(), character.end(), [&](char c) { return byte_ids_[static_cast<unsigned char>(c)] >= 0; })) {
      for (const char c : character) ids.push_back(byte_ids_[static_cast<unsigned char>(c)]);
      previous_unknown = false;
      continue;
    }
    if (!options_.unknown_id) continue;
    if (!(options_.fuse_unk && previous_unknown)) ids.push_back(*options_.unknown_id);
    previous_unknown = true;
  }
}

void BpeModel::merge(std::string_view bytes, std::vector<int32_t>& out) const {
  if (options_.ignore_merges) {
    const auto it = options_.alphabet == Alphabet::ByteLevel ? vocab_.find(byte_level::encode(bytes)) : vocab_.find(bytes);
    if (it != vocab_.end()) {
      out.push_back(it->second);
      return;
    }
  }
  thread_local std::vector<int32_t> initial;
  thread_local std::vector<Symbol> symbols;
  thread_local std::vector<Candidate> heap;
  initial.clear();
  symbols.clear();
  heap.clear();
  initial_symbols(bytes, initial);
  for (const int32_t id : initial) {
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
  for (int32_t i = 0; i >= 0; i = symbols[static_cast<std::size_t>(i)].next) {
    const int32_t id = symbols[static_cast<std::size_t>(i)].id;
    if (id < first_merge_character_) {
      out.push_back(id);
      continue;
    }
    // A character that merged with nothing: its bytes (every byte token exists: it got an id only
    // when they do).
    for (const char c : merge_character_texts_[static_cast<std::size_t>(id - first_merge_character_)]) {
      out.push_back(byte_ids_[static_cast<unsigned char>(c)]);
    }
  }
}

}  // namespace troupe
