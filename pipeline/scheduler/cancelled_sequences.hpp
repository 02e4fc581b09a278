#pragma once
// Sequences aborted while a step that contains them may still wait for the executor. With two
// steps in flight, a request cancelled mid-prefill would otherwise have its next chunk computed
// after it was gone: the scheduler records it here when it aborts it, and the executor leaves it
// out of every step it has not started. So a cancelled sequence stops costing compute at the next
// step boundary. Thread-safe: the scheduler's thread adds, the executor's thread filters.
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "pipeline/kv/sequence_id.hpp"
#include "pipeline/scheduler/scheduled_step.hpp"

namespace troupe {

class CancelledSequences {
 public:
  // `id` was aborted when `newest_step` was the newest step planned: no later step contains it,
  // so the record is dropped once the executor is past that step.
  void add(SeqId id, uint64_t newest_step);

  // `step` without the cancelled sequences (their batch entries, sampling and all); `step` itself
  // when none of its sequences is cancelled. The copy keeps the id and `released` list, and counts
  // only the tokens it still carries.
  std::shared_ptr<const ScheduledStep> without_cancelled(std::shared_ptr<const ScheduledStep> step);

  std::size_t size() const;

 private:
  mutable std::mutex mutex_;
  std::unordered_map<SeqId, uint64_t> newest_step_;  // by sequence
};

}  // namespace troupe
