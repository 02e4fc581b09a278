#pragma once
// Prompt-lookup proposals (vLLM's "ngram" method, llama.cpp's ngram-simple): find the latest
// earlier place where the sequence's last n tokens occurred, and propose the tokens that followed
// it there. n runs from `max_n` down to `min_n`; the longest suffix with a match wins. Code edits
// and quoting answers repeat long stretches of their prompt, so the guess is often right.
#include <cstdint>
#include <span>
#include <vector>

namespace troupe {

struct NgramLookup {
  int64_t min_n = 1;
  int64_t max_n = 5;
};

// Up to `k` tokens to follow `tokens` (prompt and output so far); empty when no suffix of min_n..max_n
// tokens occurs earlier. Cost: O(len · (max_n − min_n + 1) · n) compares at worst, a scan per n.
std::vector<int32_t> propose_ngram(std::span<const int32_t> tokens, NgramLookup lookup, int64_t k);

}  // namespace troupe
