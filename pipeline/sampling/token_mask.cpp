#include "pipeline/sampling/token_mask.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace troupe {

int64_t TokenBitmask::count() const {
  int64_t n = 0;
  for (uint64_t w : words_) n += std::popcount(w);
  return n;
}

void apply_token_mask(std::span<float> logits, const TokenBitmask& mask) {
  const std::size_t n = logits.size();
  const std::span<const uint64_t> words = mask.words();
  const std::size_t covered = std::min(n, static_cast<std::size_t>(mask.size()));
  for (std::size_t w = 0; w * 64 < covered; ++w) {
    const uint64_t bits = words[w];
    if (bits == ~uint64_t{0}) continue;
    const std::size_t end = std::min(covered, w * 64 + 64);
    for (std::size_t i = w * 64; i < end; ++i) {
      if (((bits >> (i - w * 64)) & 1) == 0) logits[i] = -INFINITY;
    }
  }
  for (std::size_t i = covered; i < n; ++i) logits[i] = -INFINITY;
}

}  // namespace troupe
