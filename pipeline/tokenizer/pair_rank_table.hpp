#pragma once
// Merge table of a BPE model: for a pair of adjacent token ids, the merge's rank (lower merges
// first) and the id of the merged token. Open addressing with linear probing over a power-of-two
// table: lookups are the innermost operation of encoding, so they must not chase pointers.
#include <cstdint>
#include <optional>
#include <vector>

namespace troupe {

class PairRankTable {
 public:
  struct Merge {
    uint32_t rank;
    int32_t merged_id;
  };

  explicit PairRankTable(std::size_t expected_size = 0) { rehash(capacity_for(expected_size)); }

  // Keeps the first rank given for a pair (a merges list never repeats a pair in practice).
  void insert(int32_t left, int32_t right, Merge merge) {
    if ((size_ + 1) * 2 > slots_.size()) rehash(slots_.size() * 2);
    const uint64_t key = key_of(left, right);
    for (std::size_t i = index_of(key);; i = (i + 1) & mask_) {
      Slot& slot = slots_[i];
      if (slot.key == kEmpty) {
        slot = Slot{key, merge};
        ++size_;
        return;
      }
      if (slot.key == key) return;
    }
  }

  const Merge* find(int32_t left, int32_t right) const {
    const uint64_t key = key_of(left, right);
    for (std::size_t i = index_of(key);; i = (i + 1) & mask_) {
      const Slot& slot = slots_[i];
      if (slot.key == key) return &slot.merge;
      if (slot.key == kEmpty) return nullptr;
    }
  }

  std::size_t size() const { return size_; }

 private:
  static constexpr uint64_t kEmpty = ~uint64_t{0};  // ids are non-negative, so no real key is this
  struct Slot {
    uint64_t key = kEmpty;
    Merge merge{};
  };

  static uint64_t key_of(int32_t left, int32_t right) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
  }
  std::size_t index_of(uint64_t key) const {
    // Fibonacci hashing spreads the structured (small, dense) ids over the table.
    return static_cast<std::size_t>((key * 0x9E3779B97F4A7C15ULL) >> shift_);
  }
  static std::size_t capacity_for(std::size_t n) {
    std::size_t capacity = 16;
    while (capacity < n * 2) capacity *= 2;
    return capacity;
  }
  void rehash(std::size_t capacity) {
    std::vector<Slot> old;
    old.swap(slots_);
    slots_.assign(capacity, Slot{});
    mask_ = capacity - 1;
    shift_ = 64;
    for (std::size_t c = capacity; c > 1; c >>= 1) --shift_;
    size_ = 0;
    for (const Slot& slot : old) {
      if (slot.key != kEmpty) insert(static_cast<int32_t>(slot.key >> 32), static_cast<int32_t>(slot.key & 0xFFFFFFFFu), slot.merge);
    }
  }

  std::vector<Slot> slots_;
  std::size_t mask_ = 0;
  unsigned shift_ = 64;
  std::size_t size_ = 0;
};

}  // namespace troupe
