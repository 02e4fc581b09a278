// The prefix-cache block hash: deterministic, sensitive to the parent, to every token and to
// token order, and free of collisions over many random blocks.
#include <catch2/catch.hpp>

#include <random>
#include <unordered_set>
#include <vector>

#include "pipeline/kv/block_hash.hpp"

namespace troupe {

TEST_CASE("kv: block hash is deterministic and depends on parent, tokens and order", "[kv]") {
  const std::vector<int32_t> a{1, 2, 3, 4};
  CHECK(hash_block_tokens(kRootBlockHash, a) == hash_block_tokens(kRootBlockHash, a));
  CHECK(hash_block_tokens(kRootBlockHash, a) != hash_block_tokens(kRootBlockHash + 1, a));
  const std::vector<int32_t> swapped{2, 1, 3, 4};
  CHECK(hash_block_tokens(kRootBlockHash, a) != hash_block_tokens(kRootBlockHash, swapped));
  const std::vector<int32_t> shorter{1, 2, 3};
  CHECK(hash_block_tokens(kRootBlockHash, a) != hash_block_tokens(kRootBlockHash, shorter));
  for (std::size_t i = 0; i < a.size(); ++i) {
    std::vector<int32_t> b = a;
    b[i] ^= 1 << 20;  // a high bit of one token
    CHECK(hash_block_tokens(kRootBlockHash, a) != hash_block_tokens(kRootBlockHash, b));
  }
}

TEST_CASE("kv: block hash has no collisions over 200k random blocks", "[kv]") {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int32_t> token(0, 50000);
  std::unordered_set<uint64_t> seen;
  std::vector<int32_t> block(16);
  uint64_t parent = kRootBlockHash;
  for (int i = 0; i < 200000; ++i) {
    for (auto& t : block) t = token(rng);
    const uint64_t h = hash_block_tokens(parent, block);
    REQUIRE(seen.insert(h).second);
    if (i % 3 == 0) parent = h;  // chains as well as roots
  }
}

TEST_CASE("kv: block hash spreads single-bit changes over about half the output bits", "[kv]") {
  std::vector<int32_t> block(16, 0);
  const uint64_t base = hash_block_tokens(kRootBlockHash, block);
  double total_flipped = 0;
  int trials = 0;
  for (std::size_t i = 0; i < block.size(); ++i) {
    for (int bit = 0; bit < 32; ++bit) {
      std::vector<int32_t> b = block;
      b[i] = static_cast<int32_t>(1u << bit);
      total_flipped += __builtin_popcountll(base ^ hash_block_tokens(kRootBlockHash, b));
      ++trials;
    }
  }
  const double mean = total_flipped / trials;
  CHECK(mean > 28.0);
  CHECK(mean < 36.0);
}

}  // namespace troupe
