#include "pipeline/kv/block_hash.hpp"

namespace troupe {

namespace {

// A 64-bit finalizer with full avalanche (every input bit flips each output bit with probability
// about 1/2): xor-shift / multiply rounds with odd constants.
uint64_t mix64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

}  // namespace

uint64_t hash_block_tokens(uint64_t parent_hash, std::span<const int32_t> tokens) {
  // Absorb two tokens per round (one 64-bit word), mixing after each so that order matters; the
  // length is absorbed too, so blocks of different sizes never share a hash by construction.
  uint64_t h = mix64(parent_hash ^ 0x9e3779b97f4a7c15ULL) + static_cast<uint64_t>(tokens.size());
  std::size_t i = 0;
  for (; i + 1 < tokens.size(); i += 2) {
    const uint64_t word = static_cast<uint64_t>(static_cast<uint32_t>(tokens[i])) |
                          (static_cast<uint64_t>(static_cast<uint32_t>(tokens[i + 1])) << 32);
    h = mix64(h ^ word) + 0x9e3779b97f4a7c15ULL;
  }
  if (i < tokens.size()) h = mix64(h ^ static_cast<uint64_t>(static_cast<uint32_t>(tokens[i])));
  return mix64(h);
}

}  // namespace troupe
