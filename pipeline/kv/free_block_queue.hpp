#pragma once
// The KV blocks nobody references, in the order they should be handed out again. Intrusive doubly
// linked list over block ids (O(1) push, pop and removal from the middle, no allocation after
// construction). Blocks holding nothing reusable go to the front, so they are taken first; blocks
// that still hold a cached prefix go to the back and age towards the front: the front is the
// least recently used cached block, the next one to be evicted.
#include <cstdint>
#include <vector>

namespace troupe {

class FreeBlockQueue {
 public:
  explicit FreeBlockQueue(int32_t num_blocks);  // starts empty

  bool empty() const { return size_ == 0; }
  int32_t size() const { return size_; }
  bool contains(int32_t block) const;

  void push_front(int32_t block);  // block must not be queued
  void push_back(int32_t block);   // block must not be queued
  int32_t pop_front();             // queue must not be empty
  void remove(int32_t block);      // block must be queued
  int32_t front() const;           // queue must not be empty

  // Queued blocks front to back (for tests and invariant checks; O(size)).
  std::vector<int32_t> to_vector() const;

 private:
  static constexpr int32_t kNone = -1;
  std::vector<int32_t> prev_, next_;
  std::vector<uint8_t> queued_;
  int32_t head_ = kNone, tail_ = kNone, size_ = 0;
};

}  // namespace troupe
