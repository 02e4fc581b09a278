#pragma once
// Which token ids may be sampled next: one bit per id of the vocabulary. Structured output fills
// it (pipeline/structured_output) and the executor applies it to a row of logits before sampling,
// so that disallowed tokens get probability zero under every sampling setting.
#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

namespace troupe {

class TokenBitmask {
 public:
  TokenBitmask() = default;
  explicit TokenBitmask(int32_t size) { resize(size); }

  void resize(int32_t size) {
    size_ = size;
    words_.assign(static_cast<std::size_t>((size + 63) / 64), 0);
  }
  int32_t size() const { return size_; }
  void clear() { std::fill(words_.begin(), words_.end(), 0); }
  void set(int32_t id) { words_[static_cast<std::size_t>(id) >> 6] |= uint64_t{1} << (id & 63); }
  void reset(int32_t id) { words_[static_cast<std::size_t>(id) >> 6] &= ~(uint64_t{1} << (id & 63)); }
  bool test(int32_t id) const {
    return id >= 0 && id < size_ && ((words_[static_cast<std::size_t>(id) >> 6] >> (id & 63)) & 1) != 0;
  }
  // Sets every bit of `other` (same size) here as well.
  void unite(std::span<const uint64_t> other) {
    for (std::size_t i = 0; i < words_.size() && i < other.size(); ++i) words_[i] |= other[i];
  }
  int64_t count() const;
  std::span<const uint64_t> words() const { return words_; }
  std::span<uint64_t> words() { return words_; }

 private:
  int32_t size_ = 0;
  std::vector<uint64_t> words_;
};

// Sets every logit whose id is not allowed by `mask` to -infinity (ids at or past mask.size()
// included: a model's logit row may be padded past its tokenizer's vocabulary).
void apply_token_mask(std::span<float> logits, const TokenBitmask& mask);

}  // namespace troupe
