#include "pipeline/kv/kv_block_manager.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <string>
#include <unordered_set>

namespace troupe {

namespace {

int32_t checked_num_blocks(const KvBlockManagerConfig& config) {
  if (config.num_blocks <= 0 || config.num_blocks > std::numeric_limits<int32_t>::max())
    throw std::invalid_argument("KvBlockManager: num_blocks must be in [1, 2^31), got " + std::to_string(config.num_blocks));
  if (config.block_size <= 0)
    throw std::invalid_argument("KvBlockManager: block_size must be positive, got " + std::to_string(config.block_size));
  return static_cast<int32_t>(config.num_blocks);
}

void broken(const std::string& what) { throw std::logic_error("KvBlockManager invariant: " + what); }

}  // namespace

KvBlockManager::KvBlockManager(KvBlockManagerConfig config)
    : block_size_(config.block_size),
      prefix_caching_(config.enable_prefix_caching),
      hasher_(config.hasher ? config.hasher : &hash_block_tokens),
      blocks_(static_cast<std::size_t>(checked_num_blocks(config))),
      queue_(static_cast<int32_t>(config.num_blocks)) {
  for (int32_t b = 0; b < static_cast<int32_t>(config.num_blocks); ++b) queue_.push_back(b);
}

bool KvBlockManager::parent_alive(int32_t parent, uint32_t parent_generation) const {
  if (parent < 0) return true;
  const Block& p = blocks_[static_cast<std::size_t>(parent)];
  return p.registered && p.generation == parent_generation;
}

int32_t KvBlockManager::lookup(int32_t parent, uint32_t parent_generation, uint64_t hash,
                               std::span<const int32_t> tokens) const {
  const auto it = index_.find(hash);
  if (it == index_.end()) return -1;
  const Block& b = blocks_[static_cast<std::size_t>(it->second)];
  // The hash only nominates a candidate: same parent block (same incarnation of it) and same tokens
  // make it the same content.
  if (b.parent != parent) return -1;
  if (parent >= 0 && b.parent_generation != parent_generation) return -1;
  if (!std::equal(tokens.begin(), tokens.end(), b.tokens.begin(), b.tokens.end())) return -1;
  return it->second;
}

std::vector<int32_t> KvBlockManager::match_prefix(std::span<const int32_t> tokens) const {
  std::vector<int32_t> chain;
  if (!prefix_caching_ || tokens.empty()) return chain;
  // The last token is always computed again (its logits are needed), so only blocks lying wholly
  // within the first len - 1 tokens can be reused.
  const int64_t max_blocks = (static_cast<int64_t>(tokens.size()) - 1) / block_size_;
  int32_t parent = -1;
  uint32_t parent_generation = 0;
  uint64_t parent_hash = kRootBlockHash;
  for (int64_t i = 0; i < max_blocks; ++i) {
    const auto block_tokens = tokens.subspan(static_cast<std::size_t>(i * block_size_), static_cast<std::size_t>(block_size_));
    const uint64_t h = hasher_(parent_hash, block_tokens);
    const int32_t b = lookup(parent, parent_generation, h, block_tokens);
    if (b < 0) break;
    chain.push_back(b);
    parent = b;
    parent_generation = blocks_[static_cast<std::size_t>(b)].generation;
    parent_hash = h;
  }
  return chain;
}

int64_t KvBlockManager::cached_prefix_length(std::span<const int32_t> tokens) const {
  return static_cast<int64_t>(match_prefix(tokens).size()) * block_size_;
}

void KvBlockManager::unregister(int32_t block) {
  Block& b = blocks_[static_cast<std::size_t>(block)];
  if (!b.registered) return;
  const auto it = index_.find(b.hash);
  if (it != index_.end() && it->second == block) index_.erase(it);
  b.registered = false;
  b.tokens.clear();
  b.parent = -1;
  ++b.generation;  // children registered under this block no longer match it
  if (queue_.contains(block)) {
    // It holds nothing reusable any more: move it among the free blocks at the front.
    --num_cached_;
    queue_.remove(block);
    queue_.push_front(block);
  }
}

int32_t KvBlockManager::take_block() {
  const int32_t block = queue_.front();
  unregister(block);  // evicts the least recently used cached block when no free one is left
  queue_.remove(block);
  blocks_[static_cast<std::size_t>(block)].ref = 1;
  return block;
}

void KvBlockManager::acquire(int32_t block) {
  Block& b = blocks_[static_cast<std::size_t>(block)];
  if (b.ref == 0) {
    queue_.remove(block);
    if (b.registered) --num_cached_;
  }
  ++b.ref;
}

void KvBlockManager::release(int32_t block) {
  Block& b = blocks_[static_cast<std::size_t>(block)];
  if (b.ref <= 0) broken("releasing block " + std::to_string(block) + " with ref " + std::to_string(b.ref));
  if (--b.ref > 0) return;
  if (b.registered) {
    queue_.push_back(block);  // most recently used end
    ++num_cached_;
  } else {
    queue_.push_front(block);
  }
}

std::optional<KvAllocation> KvBlockManager::allocate(SeqId seq, std::span<const int32_t> tokens, int64_t num_slots) {
  if (seqs_.count(seq) != 0) throw std::logic_error("KvBlockManager: sequence " + std::to_string(seq) + " already holds blocks");
  const std::vector<int32_t> hits = match_prefix(tokens);
  const int64_t total = std::max<int64_t>(blocks_for(num_slots), static_cast<int64_t>(hits.size()));
  const int64_t fresh = total - static_cast<int64_t>(hits.size());
  // Hits that sit unreferenced in the queue stop being available once this sequence takes them.
  const auto queued_hits = std::count_if(hits.begin(), hits.end(), [&](int32_t b) { return queue_.contains(b); });
  if (fresh > static_cast<int64_t>(queue_.size()) - queued_hits) return std::nullopt;

  SeqBlocks& sb = seqs_[seq];
  sb.table.reserve(static_cast<std::size_t>(total));
  for (const int32_t b : hits) {
    acquire(b);
    sb.table.push_back(b);
  }
  for (int64_t i = 0; i < fresh; ++i) sb.table.push_back(take_block());
  sb.num_hashed = static_cast<int64_t>(hits.size());
  if (!hits.empty()) {
    const Block& last = blocks_[static_cast<std::size_t>(hits.back())];
    sb.canonical = hits.back();
    sb.canonical_generation = last.generation;
    sb.canonical_hash = last.hash;
  }
  if (prefix_caching_) {
    prefix_queries_ += static_cast<int64_t>(tokens.size());
    prefix_hits_ += static_cast<int64_t>(hits.size()) * block_size_;
  }
  return KvAllocation{static_cast<int64_t>(hits.size()) * block_size_, sb.table};
}

int64_t KvBlockManager::blocks_needed(SeqId seq, int64_t num_slots) const {
  const auto it = seqs_.find(seq);
  const int64_t have = it == seqs_.end() ? 0 : static_cast<int64_t>(it->second.table.size());
  return std::max<int64_t>(0, blocks_for(num_slots) - have);
}

bool KvBlockManager::append_slots(SeqId seq, int64_t num_slots) {
  SeqBlocks& sb = seqs_.at(seq);
  const int64_t need = blocks_for(num_slots) - static_cast<int64_t>(sb.table.size());
  if (need <= 0) return true;
  if (need > static_cast<int64_t>(queue_.size())) return false;
  for (int64_t i = 0; i < need; ++i) sb.table.push_back(take_block());
  return true;
}

void KvBlockManager::trim(SeqId seq, int64_t num_slots) {
  SeqBlocks& sb = seqs_.at(seq);
  const int64_t keep = blocks_for(num_slots);
  if (keep < sb.num_hashed)
    throw std::invalid_argument("KvBlockManager::trim: " + std::to_string(num_slots) + " slots would drop a registered block");
  while (static_cast<int64_t>(sb.table.size()) > keep) {
    release(sb.table.back());
    sb.table.pop_back();
  }
}

void KvBlockManager::commit(SeqId seq, std::span<const int32_t> tokens, int64_t computed_len) {
  if (!prefix_caching_) return;
  SeqBlocks& sb = seqs_.at(seq);
  if (computed_len > static_cast<int64_t>(tokens.size()))
    throw std::invalid_argument("KvBlockManager::commit: computed_len exceeds the tokens given");
  const int64_t full = std::min<int64_t>(computed_len / block_size_, static_cast<int64_t>(sb.table.size()));
  for (int64_t i = sb.num_hashed; i < full && sb.chain_open; ++i) {
    if (!parent_alive(sb.canonical, sb.canonical_generation)) {
      // The registered block standing for our previous block was evicted: our chain can no longer
      // be reached from the root, so registering further blocks would only waste index entries.
      sb.chain_open = false;
      break;
    }
    const auto block_tokens = tokens.subspan(static_cast<std::size_t>(i * block_size_), static_cast<std::size_t>(block_size_));
    const uint64_t h = hasher_(sb.canonical_hash, block_tokens);
    const int32_t own = sb.table[static_cast<std::size_t>(i)];
    int32_t chosen = lookup(sb.canonical, sb.canonical_generation, h, block_tokens);
    if (chosen < 0) {
      const auto it = index_.find(h);
      if (it != index_.end()) {
        const Block& other = blocks_[static_cast<std::size_t>(it->second)];
        const bool stale = other.parent >= 0 && !parent_alive(other.parent, other.parent_generation);
        if (!stale) {  // a true 64-bit collision: keep the incumbent, stop registering this chain
          sb.chain_open = false;
          break;
        }
        unregister(it->second);
      }
      Block& b = blocks_[static_cast<std::size_t>(own)];
      b.registered = true;
      b.hash = h;
      b.parent = sb.canonical;
      b.parent_generation = sb.canonical_generation;
      b.tokens.assign(block_tokens.begin(), block_tokens.end());
      index_[h] = own;
      chosen = own;
    }
    // else: an identical block (same content, same parent) is already registered, typically by a
    // sequence with the same prompt that was computed concurrently; ours stays unregistered and the
    // chain continues through the registered one.
    sb.canonical = chosen;
    sb.canonical_generation = blocks_[static_cast<std::size_t>(chosen)].generation;
    sb.canonical_hash = h;
    sb.num_hashed = i + 1;
  }
}

void KvBlockManager::free(SeqId seq) {
  const auto it = seqs_.find(seq);
  if (it == seqs_.end()) return;
  // Last block first: among the cached blocks a sequence leaves behind, its tail is evicted before
  // its head, so a shared prefix outlives the suffixes that depend on it.
  for (auto b = it->second.table.rbegin(); b != it->second.table.rend(); ++b) release(*b);
  seqs_.erase(it);
}

const std::vector<int32_t>& KvBlockManager::block_table(SeqId seq) const { return seqs_.at(seq).table; }

void KvBlockManager::check_invariants() const {
  const std::size_t n = blocks_.size();
  std::vector<int32_t> refs(n, 0);
  for (const auto& [seq, sb] : seqs_) {
    std::unordered_set<int32_t> seen;
    for (const int32_t b : sb.table) {
      if (b < 0 || static_cast<std::size_t>(b) >= n) broken("block id out of range in a table");
      if (!seen.insert(b).second) broken("block " + std::to_string(b) + " twice in sequence " + std::to_string(seq));
      ++refs[static_cast<std::size_t>(b)];
    }
    if (sb.num_hashed > static_cast<int64_t>(sb.table.size())) broken("more hashed blocks than table entries");
  }
  int64_t cached = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const auto b = static_cast<int32_t>(i);
    const Block& blk = blocks_[i];
    if (blk.ref < 0) broken("negative ref count on block " + std::to_string(b));
    if (blk.ref != refs[i]) broken("block " + std::to_string(b) + " ref " + std::to_string(blk.ref) + " but " + std::to_string(refs[i]) + " table references");
    if ((blk.ref == 0) != queue_.contains(b)) broken("block " + std::to_string(b) + " queued state disagrees with its ref count");
    if (blk.ref > 1 && !blk.registered) broken("shared block " + std::to_string(b) + " is not registered");
    if (blk.registered) {
      if (static_cast<int64_t>(blk.tokens.size()) != block_size_) broken("registered block with a partial token list");
      const auto it = index_.find(blk.hash);
      if (it == index_.end() || it->second != b) broken("registered block " + std::to_string(b) + " missing from the index");
      if (parent_alive(blk.parent, blk.parent_generation)) {
        const uint64_t parent_hash = blk.parent < 0 ? kRootBlockHash : blocks_[static_cast<std::size_t>(blk.parent)].hash;
        if (hasher_(parent_hash, blk.tokens) != blk.hash) broken("registered block " + std::to_string(b) + " hash disagrees with its content");
      }
      if (blk.ref == 0) ++cached;
    }
  }
  if (cached != num_cached_) broken("cached block count " + std::to_string(num_cached_) + " but " + std::to_string(cached) + " found");
  for (const auto& [h, b] : index_) {
    const Block& blk = blocks_[static_cast<std::size_t>(b)];
    if (!blk.registered || blk.hash != h) broken("index entry for an unregistered block");
  }
  // Queue order: every free block before every cached one, so a cached prefix is evicted only
  // when no free block is left.
  bool seen_cached = false;
  const std::vector<int32_t> order = queue_.to_vector();
  if (static_cast<int32_t>(order.size()) != queue_.size()) broken("queue size disagrees with its links");
  for (const int32_t b : order) {
    const bool is_cached = blocks_[static_cast<std::size_t>(b)].registered;
    if (seen_cached && !is_cached) broken("free block " + std::to_string(b) + " queued behind cached blocks");
    seen_cached = seen_cached || is_cached;
  }
}

}  // namespace troupe
