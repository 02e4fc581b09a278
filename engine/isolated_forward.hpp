#pragma once
// A forward step in which one sequence's failure stays that sequence's: when backend.forward throws
// because of some sequences of the batch, they are found and left out, and the others run.
//
// How the culprits are found:
// - InvalidSequence (validate_step names the batch index): that sequence is dropped and the rest
//   retried at once.
// - Any other exception: the batch is split in halves and each half retried, recursively, so a
//   sequence fails only when it fails alone. A failure that is not any sequence's (a device fault)
//   fails every sequence, each with the error it got alone. Worst case 2n - 1 forwards for n
//   sequences; the normal path is one forward on the batch as given, without copies.
// - StepFailure (the backend failed as a whole, e.g. a tensor-parallel rank): rethrown; the step
//   fails for all its sequences.
// Rerunning a sequence is harmless: its KV slots for these positions are rewritten with the same
// values, and nothing is sampled until its forward succeeded.
#include <cstddef>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "gpu/backend.hpp"

namespace troupe {

struct SequenceFault {
  std::size_t index = 0;  // into the batch given to forward_isolating
  std::string reason;     // what went wrong, about this sequence alone
};

// `on_logits(indices, logits)` is called once per successful forward, with the batch indices it
// covered, in the order of the rows of `logits` (the layout of StepLogits for that sub-batch; the
// callback may change them in place, e.g. to mask a row). It must not throw: a sequence whose
// sampling fails is the caller's to record.
// Returns the sequences that failed, by batch index, in increasing order.
std::vector<SequenceFault> forward_isolating(
    Backend& backend, const StepBatch& batch, StepLogits& logits,
    const std::function<void(std::span<const std::size_t> indices, StepLogits& logits)>& on_logits);

}  // namespace troupe
