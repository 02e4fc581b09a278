#pragma once
// scheduler -> telemetry: the state after one step.
#include <cstdint>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>

namespace troupe {

struct EngineSnapshot {
  int engine = 0;  // which scheduler/executor pair
  int64_t running = 0, waiting = 0;
  int64_t kv_used = 0, kv_free = 0, kv_cached = 0, kv_total = 0;
  // Deltas since the previous snapshot.
  int64_t prefill_tokens = 0, decode_tokens = 0;
  double step_seconds = 0;
  int64_t preemptions = 0;
  int64_t prefix_queries = 0, prefix_hits = 0;
  // Speculative decoding: verified proposals, their tokens, accepted tokens (and by position).
  int64_t spec_drafts = 0, spec_draft_tokens = 0, spec_accepted_tokens = 0;
  std::vector<int64_t> spec_accepted_per_position;
  bool step = false;  // false for a snapshot taken without a step (admission, abort)
  bool paused = false;  // between POST /pause and POST /resume
};

}  // namespace troupe

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::EngineSnapshot)
