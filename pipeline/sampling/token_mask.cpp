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
  const std::size_t full_words = covered / 64;
  float* out = logits.data();
  for (std::size_t w = 0; w < full_words; ++w) {
    const uint64_t bits = words[w];
    if (bits == ~uint64_t{0}) continue;
    if (bits == 0) {
      std::fill_n(out + w * 64, 64, -INFINITY);
      continue;
    }
    for (uint64_t off = ~bits; off != 0; off &= off - 1) out[w * 64 + static_cast<std::size_t>(std::countr_zero(off))] = -INFINITY;
  }
  for (std::size_t i = full_words * 64; i < covered; ++i) {
    if (((words[i >> 6] >> (i & 63)) & 1) == 0) out[i] = -INFINITY;
  }
  std::fill(out + covered, out + n, -INFINITY);
}

}  // namespace troupe
