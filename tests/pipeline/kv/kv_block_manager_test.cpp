// KvBlockManager: allocation, growth, freeing, and the prefix cache (hit rules, registration only
// after commit, LRU eviction of cached blocks, collisions never returning a wrong block).
#include <catch2/catch.hpp>

#include <numeric>
#include <stdexcept>
#include <vector>

#include "pipeline/kv/kv_block_manager.hpp"

namespace troupe {

namespace {

std::vector<int32_t> iota_tokens(int n, int32_t first = 100) {
  std::vector<int32_t> v(static_cast<std::size_t>(n));
  std::iota(v.begin(), v.end(), first);
  return v;
}

// Every block collides with every other one: only the stored tokens and parent tell them apart.
uint64_t constant_hash(uint64_t, std::span<const int32_t>) { return 42; }

}  // namespace

TEST_CASE("kv: allocate, append and free account every block", "[kv]") {
  KvBlockManager kv({.num_blocks = 10, .block_size = 4, .enable_prefix_caching = false});
  const auto prompt = iota_tokens(10);
  const auto a = kv.allocate(1, prompt, 10);
  REQUIRE(a);
  CHECK(a->num_cached_tokens == 0);
  CHECK(a->block_table.size() == 3);  // ceil(10 / 4)
  CHECK(kv.num_used() == 3);
  CHECK(kv.num_free() == 7);
  CHECK(kv.usage() == Approx(0.3));
  CHECK(kv.append_slots(1, 12));  // still 3 blocks
  CHECK(kv.num_used() == 3);
  CHECK(kv.blocks_needed(1, 13) == 1);
  CHECK(kv.append_slots(1, 13));
  CHECK(kv.block_table(1).size() == 4);
  CHECK_FALSE(kv.append_slots(1, 4 * 11));  // all or nothing
  CHECK(kv.block_table(1).size() == 4);
  CHECK_FALSE(kv.allocate(2, iota_tokens(30), 30));  // 8 blocks, 6 left
  CHECK_FALSE(kv.contains(2));
  CHECK_THROWS_AS(kv.allocate(1, prompt, 4), std::logic_error);
  kv.free(1);
  kv.free(1);  // unknown now: no-op
  CHECK(kv.num_used() == 0);
  CHECK(kv.num_free() == 10);
  CHECK(kv.prefix_queries() == 0);
  kv.check_invariants();
}

TEST_CASE("kv: rejects a bad geometry", "[kv]") {
  CHECK_THROWS_AS(KvBlockManager({.num_blocks = 0, .block_size = 4}), std::invalid_argument);
  CHECK_THROWS_AS(KvBlockManager({.num_blocks = 4, .block_size = 0}), std::invalid_argument);
}

TEST_CASE("kv: blocks enter the prefix cache only once committed, and never the last token", "[kv]") {
  KvBlockManager kv({.num_blocks = 20, .block_size = 4});
  const auto prompt = iota_tokens(13);  // 3 full blocks + 1 token
  REQUIRE(kv.allocate(1, prompt, 13));
  CHECK(kv.cached_prefix_length(prompt) == 0);  // not computed yet
  kv.commit(1, prompt, 8);
  CHECK(kv.cached_prefix_length(prompt) == 8);
  kv.commit(1, prompt, 13);
  CHECK(kv.cached_prefix_length(prompt) == 12);
  // Exactly 12 tokens: at most 11 may come from the cache, so 2 blocks.
  CHECK(kv.cached_prefix_length(std::span(prompt).first(12)) == 8);
  CHECK(kv.cached_prefix_length(std::span(prompt).first(5)) == 4);
  CHECK(kv.cached_prefix_length(std::span(prompt).first(4)) == 0);

  const auto b = kv.allocate(2, prompt, 13);
  REQUIRE(b);
  CHECK(b->num_cached_tokens == 12);
  CHECK(std::vector<int32_t>(b->block_table.begin(), b->block_table.begin() + 3) ==
        std::vector<int32_t>(kv.block_table(1).begin(), kv.block_table(1).begin() + 3));
  CHECK(b->block_table[3] != kv.block_table(1)[3]);  // the partial block is private
  CHECK(kv.num_used() == 5);
  CHECK(kv.prefix_queries() == 26);
  CHECK(kv.prefix_hits() == 12);
  kv.check_invariants();
}

TEST_CASE("kv: a different token or a different parent breaks the match", "[kv]") {
  KvBlockManager kv({.num_blocks = 20, .block_size = 4});
  const auto prompt = iota_tokens(13);
  REQUIRE(kv.allocate(1, prompt, 13));
  kv.commit(1, prompt, 13);
  auto other = prompt;
  other[5] = 7;  // second block differs
  CHECK(kv.cached_prefix_length(other) == 4);
  auto first_differs = prompt;
  first_differs[0] = 7;  // the third block's tokens still match, but not its parent
  CHECK(kv.cached_prefix_length(first_differs) == 0);
}

TEST_CASE("kv: freed prefix blocks stay cached until evicted, least recently used first", "[kv]") {
  KvBlockManager kv({.num_blocks = 6, .block_size = 4});
  const auto a = iota_tokens(9, 0);    // 2 full blocks + 1
  const auto b = iota_tokens(9, 500);
  REQUIRE(kv.allocate(1, a, 9));
  kv.commit(1, a, 9);
  kv.free(1);
  CHECK(kv.num_used() == 0);
  CHECK(kv.num_cached() == 2);
  CHECK(kv.num_free() == 4);
  REQUIRE(kv.allocate(2, b, 9));
  kv.commit(2, b, 9);
  kv.free(2);
  CHECK(kv.num_cached() == 4);
  CHECK(kv.cached_prefix_length(a) == 8);
  CHECK(kv.cached_prefix_length(b) == 8);
  // Touch a again: its blocks become the most recently used.
  REQUIRE(kv.allocate(3, a, 9));
  CHECK(kv.num_used() == 3);
  kv.free(3);
  // 4 fresh blocks: the 2 free ones, then b's (older) cached blocks, tail first.
  REQUIRE(kv.allocate(4, iota_tokens(16, 900), 16));
  CHECK(kv.cached_prefix_length(b) == 0);
  CHECK(kv.cached_prefix_length(a) == 8);
  kv.free(4);
  kv.check_invariants();
}

TEST_CASE("kv: allocation counts evictable hits only once", "[kv]") {
  KvBlockManager kv({.num_blocks = 3, .block_size = 4});
  const auto a = iota_tokens(9);
  REQUIRE(kv.allocate(1, a, 9));
  kv.commit(1, a, 9);
  kv.free(1);  // 2 cached + 1 free
  // Needs 3 blocks of which 2 are hits: fits exactly.
  const auto again = kv.allocate(2, a, 9);
  REQUIRE(again);
  CHECK(again->num_cached_tokens == 8);
  CHECK(kv.num_used() == 3);
  kv.free(2);
  // 4 blocks needed: never fits, whatever is cached.
  CHECK_FALSE(kv.allocate(3, iota_tokens(13), 13));
  kv.check_invariants();
}

TEST_CASE("kv: switching prefix caching off never hits", "[kv]") {
  KvBlockManager kv({.num_blocks = 10, .block_size = 4, .enable_prefix_caching = false});
  const auto a = iota_tokens(9);
  REQUIRE(kv.allocate(1, a, 9));
  kv.commit(1, a, 9);
  kv.free(1);
  CHECK(kv.num_cached() == 0);
  CHECK(kv.allocate(2, a, 9)->num_cached_tokens == 0);
  CHECK(kv.prefix_queries() == 0);
}

TEST_CASE("kv: identical blocks computed twice stay usable through the first registered copy", "[kv]") {
  KvBlockManager kv({.num_blocks = 20, .block_size = 4});
  const auto a = iota_tokens(13);
  // Two sequences compute the same prompt before either commits (same step).
  REQUIRE(kv.allocate(1, a, 13));
  REQUIRE(kv.allocate(2, a, 13));
  kv.commit(1, std::span(a).first(8), 8);
  // Sequence 2 continues with a suffix sequence 1 never had; its own copies of blocks 0-1 are
  // duplicates, but its third block chains onto sequence 1's registered ones.
  auto b = a;
  b[9] = 7;
  kv.commit(2, b, 12);
  kv.free(1);
  kv.free(2);
  CHECK(kv.cached_prefix_length(a) == 8);
  CHECK(kv.cached_prefix_length(b) == 12);
  kv.check_invariants();
}

TEST_CASE("kv: a hash collision never returns a block with other content", "[kv]") {
  KvBlockManager kv({.num_blocks = 20, .block_size = 4, .enable_prefix_caching = true, .hasher = &constant_hash});
  const auto a = iota_tokens(9, 0);
  const auto b = iota_tokens(9, 50);
  REQUIRE(kv.allocate(1, a, 9));
  kv.commit(1, a, 9);  // block 0 registered; block 1 collides with it and is left out
  CHECK(kv.cached_prefix_length(a) == 4);
  CHECK(kv.cached_prefix_length(b) == 0);  // same hash, other tokens
  const auto got = kv.allocate(2, b, 9);
  REQUIRE(got);
  CHECK(got->num_cached_tokens == 0);
  kv.commit(2, b, 9);
  kv.free(1);
  kv.free(2);
  CHECK(kv.cached_prefix_length(a) == 4);
  CHECK(kv.cached_prefix_length(b) == 0);
  kv.check_invariants();
}

}  // namespace troupe

namespace troupe {

TEST_CASE("kv: trim gives back the blocks past the kept slots, registered blocks stay", "[kv]") {
  KvBlockManager kv({.num_blocks = 10, .block_size = 4, .enable_prefix_caching = true});
  const auto tokens = iota_tokens(9);
  REQUIRE(kv.allocate(1, tokens, 9));
  kv.commit(1, tokens, 8);  // two full blocks registered
  // A speculative decode reserved slots up to 9 + 6; two guesses were accepted.
  REQUIRE(kv.append_slots(1, 15));
  CHECK(kv.block_table(1).size() == 4);
  kv.trim(1, 11);
  CHECK(kv.block_table(1).size() == 3);
  CHECK(kv.num_used() == 3);
  CHECK(kv.num_cached() == 0);
  kv.check_invariants();
  // The registered prefix is still found by a new sequence with the same tokens.
  CHECK(kv.cached_prefix_length(iota_tokens(12)) == 8);
  // Trimming into a registered block is refused; trimming to what it holds changes nothing.
  CHECK_THROWS_AS(kv.trim(1, 4), std::invalid_argument);
  kv.trim(1, 12);
  CHECK(kv.block_table(1).size() == 3);
  kv.free(1);
  CHECK(kv.num_used() == 0);
  kv.check_invariants();
}

}  // namespace troupe
