#pragma once
// A snapshot of a scheduler for telemetry (vLLM-style gauges and counters).
#include <cstdint>
#include <vector>

namespace troupe {

struct SchedulerStats {
  int64_t num_running = 0;  // admitted: prefilling or decoding
  int64_t num_waiting = 0;  // queued, including preempted sequences waiting for recompute
  int64_t kv_used_blocks = 0;
  int64_t kv_free_blocks = 0;
  int64_t kv_cached_blocks = 0;  // unreferenced blocks still holding a reusable prefix
  int64_t kv_total_blocks = 0;
  double kv_usage = 0.0;         // used / total, 0..1
  int64_t preemptions_total = 0;
  int64_t prefix_queries_tokens = 0;  // prompt tokens looked up in the prefix cache
  int64_t prefix_hits_tokens = 0;     // of which found
  int64_t num_steps = 0;              // steps scheduled
  int64_t num_steps_in_flight = 0;    // scheduled, not yet completed (0..2)
  // Speculative decoding, vLLM's spec_decode counters: verified proposals, their tokens, the tokens
  // accepted of them, and accepted tokens by position in the proposal (index 0 = first draft).
  int64_t spec_drafts = 0;
  int64_t spec_draft_tokens = 0;
  int64_t spec_accepted_tokens = 0;
  std::vector<int64_t> spec_accepted_per_position;
};

}  // namespace troupe
