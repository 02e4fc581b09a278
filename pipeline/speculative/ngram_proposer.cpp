#include "pipeline/speculative/ngram_proposer.hpp"

#include <algorithm>

namespace troupe {

std::vector<int32_t> propose_ngram(std::span<const int32_t> tokens, NgramLookup lookup, int64_t k) {
  const auto len = static_cast<int64_t>(tokens.size());
  if (k <= 0 || lookup.min_n < 1) return {};
  for (int64_t n = std::min(lookup.max_n, len - 1); n >= lookup.min_n; --n) {
    const std::span<const int32_t> suffix = tokens.subspan(static_cast<std::size_t>(len - n));
    // Latest occurrence first: start positions len-n-1 down to 0 (the suffix itself excluded).
    for (int64_t start = len - n - 1; start >= 0; --start) {
      if (tokens[static_cast<std::size_t>(start + n - 1)] != suffix.back()) continue;  // cheap first test
      if (!std::equal(suffix.begin(), suffix.end(), tokens.begin() + start)) continue;
      const int64_t from = start + n;
      const int64_t to = std::min(from + k, len);
      return {tokens.begin() + from, tokens.begin() + to};
    }
  }
  return {};
}

}  // namespace troupe
