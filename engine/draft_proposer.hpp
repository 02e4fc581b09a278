#pragma once
// Speculative guesses from a draft model: a smaller model with the target's vocabulary, run on the
// same executor just before the target's forward. It proposes greedily (its argmax): the target
// keeps its own distribution whatever the guesses are (see StepExecutor::verify), so the draft
// only decides how often a guess is right.
//
// The draft's KV cache mirrors the target's geometry (same block size, at least as many blocks)
// and uses the target's block tables: position p of a sequence lives in the same block and slot in
// both caches. The draft writes only while guessing, so each sequence's draft KV can lag: before
// guessing, the draft catches up on the positions it has not computed with the tokens now known
// (a whole prompt at a sequence's first guess, one token after a step whose guesses all held),
// then takes K − 1 single-token steps. All sequences of a step go through each draft forward
// together.
#include <cstdint>
#include <memory>
#include <span>
#include <unordered_map>
#include <vector>

#include "gpu/backend.hpp"
#include "pipeline/kv/sequence_id.hpp"

namespace troupe {

struct DraftRequest {
  SeqId id = 0;
  std::span<const int32_t> history;   // every token known, the step's input last (at position size-1)
  const std::vector<int32_t>* block_table = nullptr;  // the target's: covers the guesses' positions
  std::span<int32_t> guesses;         // filled with the draft's tokens (its length is K)
};

class DraftModelProposer {
 public:
  // `target` is only checked against (check_compatible).
  DraftModelProposer(std::shared_ptr<Backend> draft, const Backend& target);

  // The same vocabulary, a context at least as long, and a KV cache that can mirror the target's.
  // Throws ConfigError naming what does not match.
  static void check_compatible(const Backend& draft, const Backend& target);

  // Fills every request's guesses. Throws what the draft's forward throws (the caller then
  // decodes those sequences without guesses).
  void propose(std::span<DraftRequest> requests);

  // The sequence's state is dropped (released, or failed): its next guess recomputes from 0.
  void forget(SeqId id) { written_.erase(id); }

 private:
  std::shared_ptr<Backend> draft_;
  // Per sequence, the tokens whose KV the draft wrote, by position (guesses included: a rejected
  // guess's position is rewritten at the next catch-up).
  std::unordered_map<SeqId, std::vector<int32_t>> written_;
  StepBatch batch_;
  StepLogits logits_;
};

}  // namespace troupe
