#pragma once
// Paged KV cache bookkeeping: which blocks each sequence owns, reference counts, the free list and
// the prefix cache. Pure logic; the device memory itself belongs to the Backend (gpu/backend.hpp),
// which stores position p of a sequence in slot p % block_size of block block_table[p / block_size].
//
// Block states (every block is in exactly one):
//   used    ref > 0, in one or more sequences' block tables (shared prefix blocks have ref > 1)
//   cached  ref == 0, holds a registered full block: evictable, can still be hit by a new sequence
//   free    ref == 0, holds nothing reusable
// Cached and free blocks sit in one FreeBlockQueue (free ones in front, cached ones in LRU order).
//
// Prefix caching: a FULL block whose tokens have been computed (commit) is registered under
// hash_block_tokens(parent hash, its tokens). A new sequence reuses the longest chain of registered
// blocks matching its tokens, but never all of them: at least the last token is computed again,
// so its logits exist (cached tokens <= len - 1, rounded down to a block). A hash hit is trusted
// only after comparing the stored tokens and the parent block's identity (block id + generation),
// so a 64-bit collision never returns a wrong block.
//
// Units: token counts and slot counts are tokens; block ids are int32 as in SequenceStep.
#include <cstdint>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

#include "pipeline/kv/block_hash.hpp"
#include "pipeline/kv/free_block_queue.hpp"
#include "pipeline/kv/sequence_id.hpp"

namespace troupe {

using BlockHasher = uint64_t (*)(uint64_t parent_hash, std::span<const int32_t> tokens);

struct KvBlockManagerConfig {
  int64_t num_blocks = 0;
  int64_t block_size = 16;  // token slots per block
  bool enable_prefix_caching = true;
  BlockHasher hasher = &hash_block_tokens;  // replaceable so tests can force collisions
};

struct KvAllocation {
  int64_t num_cached_tokens = 0;     // leading tokens already in the cache (multiple of block_size)
  std::vector<int32_t> block_table;  // covers the requested slots
};

class KvBlockManager {
 public:
  explicit KvBlockManager(KvBlockManagerConfig config);  // std::invalid_argument on a bad geometry

  int64_t block_size() const { return block_size_; }
  int64_t num_blocks() const { return static_cast<int64_t>(blocks_.size()); }
  bool prefix_caching() const { return prefix_caching_; }

  // Tokens of `tokens` that allocate() would find in the prefix cache now. No side effects.
  int64_t cached_prefix_length(std::span<const int32_t> tokens) const;

  // Gives `seq` (which must own nothing) the cached prefix of `tokens` plus fresh blocks so that
  // its table covers max(num_slots, cached) slots. nullopt, with nothing changed, when the free and
  // evictable blocks do not suffice. Counts `tokens.size()` prefix queries and the cached tokens as
  // hits on success.
  std::optional<KvAllocation> allocate(SeqId seq, std::span<const int32_t> tokens, int64_t num_slots);

  // Grows `seq`'s table to cover `num_slots` slots (no-op when it already does). All or nothing:
  // false, with nothing changed, when not enough blocks can be had.
  bool append_slots(SeqId seq, int64_t num_slots);

  // Blocks that append_slots(seq, num_slots) would have to take from the free/evictable pool.
  int64_t blocks_needed(SeqId seq, int64_t num_slots) const;

  // Shrinks `seq`'s table to the blocks covering `num_slots` slots, the blocks past them going back
  // to the free pool (speculative decoding's rejected guesses). Never below its registered blocks:
  // std::invalid_argument when num_slots would drop one.
  void trim(SeqId seq, int64_t num_slots);

  // Registers `seq`'s full blocks within its first `computed_len` tokens in the prefix cache
  // (`tokens` holds at least computed_len tokens: the sequence's content). Call after the step that
  // computed them completed. Idempotent; no-op when prefix caching is off.
  void commit(SeqId seq, std::span<const int32_t> tokens, int64_t computed_len);

  // Drops `seq`'s references; its registered blocks stay cached until evicted. Unknown seq: no-op.
  void free(SeqId seq);

  bool contains(SeqId seq) const { return seqs_.count(seq) != 0; }
  const std::vector<int32_t>& block_table(SeqId seq) const;  // std::out_of_range for unknown seq

  // Block counts; used + free + cached == num_blocks().
  int64_t num_used() const { return num_blocks() - static_cast<int64_t>(queue_.size()); }
  int64_t num_cached() const { return num_cached_; }
  int64_t num_free() const { return static_cast<int64_t>(queue_.size()) - num_cached_; }
  int64_t num_available() const { return static_cast<int64_t>(queue_.size()); }  // free + cached
  double usage() const { return static_cast<double>(num_used()) / static_cast<double>(num_blocks()); }

  // Prefix cache counters in tokens, vLLM semantics: queries = tokens looked up, hits = found.
  int64_t prefix_queries() const { return prefix_queries_; }
  int64_t prefix_hits() const { return prefix_hits_; }

  // Walks every structure and throws std::logic_error naming the first broken invariant (ref counts
  // equal table references, each block in exactly one state, hash index consistent). For tests.
  void check_invariants() const;

 private:
  struct Block {
    int32_t ref = 0;
    uint32_t generation = 0;  // bumped whenever the block loses its registration
    bool registered = false;  // in index_ under `hash`
    uint64_t hash = 0;
    int32_t parent = -1;      // registered parent block (-1: first block of a sequence)
    uint32_t parent_generation = 0;
    std::vector<int32_t> tokens;  // the block's tokens while registered (collision check)
  };
  struct SeqBlocks {
    std::vector<int32_t> table;
    // Prefix-cache progress: the first `num_hashed` blocks are known to the cache, the last of them
    // through `canonical` (the registered block with that content: the sequence's own block, or an
    // identical one registered earlier by another sequence).
    int64_t num_hashed = 0;
    int32_t canonical = -1;
    uint32_t canonical_generation = 0;
    uint64_t canonical_hash = kRootBlockHash;
    bool chain_open = true;  // false after a collision or a lost parent: nothing more is registered
  };
  // The registered block matching (parent, tokens), or -1.
  int32_t lookup(int32_t parent, uint32_t parent_generation, uint64_t hash, std::span<const int32_t> tokens) const;
  // Longest usable chain of registered blocks for `tokens`.
  std::vector<int32_t> match_prefix(std::span<const int32_t> tokens) const;
  bool parent_alive(int32_t parent, uint32_t parent_generation) const;
  int32_t take_block();           // pops the queue front, evicting its registration if any
  void unregister(int32_t block);
  void acquire(int32_t block);    // ref++ (leaving the queue when it was 0)
  void release(int32_t block);    // ref--, entering the queue at 0
  int64_t blocks_for(int64_t num_slots) const { return (num_slots + block_size_ - 1) / block_size_; }

  int64_t block_size_;
  bool prefix_caching_;
  BlockHasher hasher_;
  std::vector<Block> blocks_;
  FreeBlockQueue queue_;
  int64_t num_cached_ = 0;  // queued blocks that are registered
  std::unordered_map<uint64_t, int32_t> index_;  // hash -> registered block
  std::unordered_map<SeqId, SeqBlocks> seqs_;
  int64_t prefix_queries_ = 0, prefix_hits_ = 0;
};

}  // namespace troupe
