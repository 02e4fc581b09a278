// Random operation sequences against KvBlockManager with a fixed seed. A shadow "device" records
// which tokens were written into each slot, so every prefix-cache hit is checked against what the
// block really holds; check_invariants() runs after every operation.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <random>
#include <vector>

#include "pipeline/kv/kv_block_manager.hpp"

namespace troupe {

namespace {

// Collides often (two bits of entropy) so that collision handling is exercised constantly.
uint64_t weak_hash(uint64_t parent, std::span<const int32_t> tokens) {
  return (parent ^ static_cast<uint64_t>(tokens[0])) & 3;
}

struct FuzzSeq {
  std::vector<int32_t> tokens;  // its content (prompt, then growth)
  int64_t computed = 0;         // positions written on the shadow device
};

void fuzz(BlockHasher hasher, bool prefix_caching, uint32_t seed) {
  constexpr int64_t kBlocks = 48, kBlockSize = 4;
  KvBlockManager kv({.num_blocks = kBlocks, .block_size = kBlockSize, .enable_prefix_caching = prefix_caching, .hasher = hasher});
  // shadow[block][slot]: the token last written there, -1 never.
  std::vector<std::vector<int32_t>> shadow(kBlocks, std::vector<int32_t>(kBlockSize, -1));
  std::mt19937 rng(seed);
  auto rand = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  // A few shared stems make prefix hits frequent; a tiny vocabulary makes near-misses frequent.
  std::vector<std::vector<int32_t>> stems(4);
  for (auto& s : stems)
    for (int i = 0; i < 24; ++i) s.push_back(rand(0, 3));

  std::map<SeqId, FuzzSeq> live;
  SeqId next_id = 0;
  int64_t hits_seen = 0;

  // Writes positions [from, to) of `id` on the shadow device: only into blocks it holds alone.
  auto compute = [&](SeqId id, int64_t to) {
    FuzzSeq& s = live.at(id);
    const auto& table = kv.block_table(id);
    for (int64_t p = s.computed; p < to; ++p) {
      const int32_t block = table[static_cast<std::size_t>(p / kBlockSize)];
      for (const auto& [other, o] : live)
        if (other != id) {
          const auto& ot = kv.block_table(other);
          REQUIRE(std::find(ot.begin(), ot.end(), block) == ot.end());
        }
      shadow[static_cast<std::size_t>(block)][static_cast<std::size_t>(p % kBlockSize)] = s.tokens[static_cast<std::size_t>(p)];
    }
    s.computed = to;
  };

  for (int op = 0; op < 6000; ++op) {
    const int kind = rand(0, 9);
    if (kind <= 3 || live.empty()) {  // admit
      FuzzSeq s;
      s.tokens = stems[static_cast<std::size_t>(rand(0, 3))];
      s.tokens.resize(static_cast<std::size_t>(rand(1, 24)));
      for (int i = rand(0, 10); i > 0; --i) s.tokens.push_back(rand(0, 3));
      const auto len = static_cast<int64_t>(s.tokens.size());
      const int64_t cached_before = kv.cached_prefix_length(s.tokens);
      const int64_t slots = std::max<int64_t>(cached_before + 1, rand(1, static_cast<int>(len)));
      const SeqId id = next_id++;
      const auto a = kv.allocate(id, s.tokens, slots);
      if (a) {
        REQUIRE(a->num_cached_tokens == cached_before);
        REQUIRE(a->num_cached_tokens <= (len - 1) / kBlockSize * kBlockSize);
        REQUIRE(static_cast<int64_t>(a->block_table.size()) * kBlockSize >= slots);
        // Every cached position holds exactly this sequence's token.
        for (int64_t p = 0; p < a->num_cached_tokens; ++p) {
          const int32_t block = a->block_table[static_cast<std::size_t>(p / kBlockSize)];
          REQUIRE(shadow[static_cast<std::size_t>(block)][static_cast<std::size_t>(p % kBlockSize)] == s.tokens[static_cast<std::size_t>(p)]);
        }
        hits_seen += a->num_cached_tokens;
        s.computed = a->num_cached_tokens;
        live.emplace(id, std::move(s));
      } else {
        REQUIRE_FALSE(kv.contains(id));
      }
    } else if (kind <= 7) {  // compute a chunk (growing the content past the prompt if needed)
      auto it = live.begin();
      std::advance(it, rand(0, static_cast<int>(live.size()) - 1));
      FuzzSeq& s = it->second;
      const int64_t target = s.computed + rand(1, 6);
      while (static_cast<int64_t>(s.tokens.size()) < target) s.tokens.push_back(rand(0, 3));
      if (kv.append_slots(it->first, target)) {
        compute(it->first, target);
        kv.commit(it->first, s.tokens, s.computed);
      }
    } else {  // free
      auto it = live.begin();
      std::advance(it, rand(0, static_cast<int>(live.size()) - 1));
      kv.free(it->first);
      live.erase(it);
    }
    kv.check_invariants();
    REQUIRE(kv.num_used() + kv.num_free() + kv.num_cached() == kBlocks);
    REQUIRE(kv.usage() >= 0.0);
    REQUIRE(kv.usage() <= 1.0);
  }
  for (const auto& [id, s] : live) kv.free(id);
  kv.check_invariants();
  CHECK(kv.num_used() == 0);
  CHECK(kv.usage() == 0.0);
  if (prefix_caching) {
    CHECK(hits_seen > 0);
    CHECK(kv.prefix_hits() == hits_seen);
    CHECK(kv.prefix_queries() > kv.prefix_hits());
  } else {
    CHECK(hits_seen == 0);
  }
}

}  // namespace

TEST_CASE("kv: random operations keep every invariant and every hit's content", "[kv][fuzz]") {
  SECTION("strong hash") { fuzz(&hash_block_tokens, true, 1); }
  SECTION("strong hash, another seed") { fuzz(&hash_block_tokens, true, 2); }
  SECTION("colliding hash") { fuzz(&weak_hash, true, 3); }
  SECTION("prefix caching off") { fuzz(&hash_block_tokens, false, 4); }
}

}  // namespace troupe
