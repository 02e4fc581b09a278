#pragma once
// Content hash of one full KV block for prefix caching. A block's KV values depend on every token
// before it, so the hash chains: hash(block i) = mix(hash(block i-1), tokens of block i), with a
// fixed root value standing in for the parent of block 0. Equal hashes are only a hint; the block
// manager confirms a hit by comparing the stored tokens and the parent block's identity.
#include <cstdint>
#include <span>

namespace troupe {

// Parent hash of a sequence's first block.
inline constexpr uint64_t kRootBlockHash = 0x6a09e667f3bcc908ULL;

uint64_t hash_block_tokens(uint64_t parent_hash, std::span<const int32_t> tokens);

}  // namespace troupe
