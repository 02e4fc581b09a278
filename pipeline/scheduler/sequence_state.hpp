#pragma once
// The scheduler's record of one live sequence. Internal to pipeline/scheduler.
#include <cstdint>
#include <vector>

#include "pipeline/scheduler/sequence_request.hpp"

namespace troupe {

struct SequenceState {
  SequenceRequest request;
  std::vector<int32_t> tokens;  // prompt, then every generated token known so far
  int64_t prompt_len = 0;
  // Positions whose KV is computed by scheduled steps, in flight or completed (the next chunk
  // starts here), and those computed by completed steps only (what may enter the prefix cache).
  int64_t num_scheduled = 0;
  int64_t num_computed = 0;
  int pending = 0;  // tokens sampled by in-flight steps, not yet known (0 or 1 when planning)
  uint32_t incarnation = 0;      // bumped by each preemption; in-flight entries of older ones only deliver tokens
  bool running = false;          // in the running list (else waiting)
  bool executor_knows = false;   // scheduled since the executor last dropped its state
  bool retired = false;          // finished or aborted; kept alive only by in-flight steps
  bool admitted_once = false;
  int64_t num_cached_prompt_tokens = 0;  // prefix cache hits at the first admission
  // Prompt logprobs (sampling.prompt_logprobs): prompt tokens 1..n whose logprobs completed steps
  // have produced. Until all are, the prompt is computed without the prefix cache, every row's
  // logits returned.
  int64_t prompt_logprobs_through = 0;
  // Speculation back-off: after a proposal with nothing accepted the sequence decodes plainly for
  // `spec_skip` steps; each such miss doubles the next pause (up to kMaxSpecBackoff), a hit resets it.
  int spec_skip = 0;
  int spec_backoff = 1;
  // Guesses to ask for next (0: the configured K): one more than were accepted last time, and
  // twice as many after a proposal accepted whole, so a sequence whose guesses hold only briefly
  // pays for few rejected rows.
  int64_t spec_k = 0;
  static constexpr int kMaxSpecBackoff = 32;

  bool wants_prompt_logprobs() const {
    return request.sampling.prompt_logprobs.has_value() && prompt_logprobs_through < prompt_len - 1;
  }

  int64_t num_output() const { return static_cast<int64_t>(tokens.size()) - prompt_len; }
  // Length once the in-flight tokens are known.
  int64_t total_len() const { return static_cast<int64_t>(tokens.size()) + pending; }
};

}  // namespace troupe
