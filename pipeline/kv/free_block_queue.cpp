#include "pipeline/kv/free_block_queue.hpp"

#include <stdexcept>

namespace troupe {

FreeBlockQueue::FreeBlockQueue(int32_t num_blocks)
    : prev_(static_cast<std::size_t>(num_blocks), kNone),
      next_(static_cast<std::size_t>(num_blocks), kNone),
      queued_(static_cast<std::size_t>(num_blocks), 0) {}

bool FreeBlockQueue::contains(int32_t block) const {
  return block >= 0 && static_cast<std::size_t>(block) < queued_.size() && queued_[static_cast<std::size_t>(block)] != 0;
}

void FreeBlockQueue::push_front(int32_t block) {
  if (contains(block)) throw std::logic_error("FreeBlockQueue: block queued twice");
  const auto b = static_cast<std::size_t>(block);
  prev_[b] = kNone;
  next_[b] = head_;
  if (head_ != kNone) prev_[static_cast<std::size_t>(head_)] = block;
  head_ = block;
  if (tail_ == kNone) tail_ = block;
  queued_[b] = 1;
  ++size_;
}

void FreeBlockQueue::push_back(int32_t block) {
  if (contains(block)) throw std::logic_error("FreeBlockQueue: block queued twice");
  const auto b = static_cast<std::size_t>(block);
  next_[b] = kNone;
  prev_[b] = tail_;
  if (tail_ != kNone) next_[static_cast<std::size_t>(tail_)] = block;
  tail_ = block;
  if (head_ == kNone) head_ = block;
  queued_[b] = 1;
  ++size_;
}

void FreeBlockQueue::remove(int32_t block) {
  if (!contains(block)) throw std::logic_error("FreeBlockQueue: removing a block that is not queued");
  const auto b = static_cast<std::size_t>(block);
  if (prev_[b] != kNone) next_[static_cast<std::size_t>(prev_[b])] = next_[b]; else head_ = next_[b];
  if (next_[b] != kNone) prev_[static_cast<std::size_t>(next_[b])] = prev_[b]; else tail_ = prev_[b];
  prev_[b] = next_[b] = kNone;
  queued_[b] = 0;
  --size_;
}

int32_t FreeBlockQueue::front() const {
  if (empty()) throw std::logic_error("FreeBlockQueue: front of an empty queue");
  return head_;
}

int32_t FreeBlockQueue::pop_front() {
  const int32_t block = front();
  remove(block);
  return block;
}

std::vector<int32_t> FreeBlockQueue::to_vector() const {
  std::vector<int32_t> out;
  out.reserve(static_cast<std::size_t>(size_));
  for (int32_t b = head_; b != kNone; b = next_[static_cast<std::size_t>(b)]) out.push_back(b);
  return out;
}

}  // namespace troupe
