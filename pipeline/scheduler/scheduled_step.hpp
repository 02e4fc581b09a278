#pragma once
// One planned forward step, as the scheduler hands it to the executor, and what comes back.
#include <cstdint>
#include <memory>
#include <vector>

#include "gpu/backend.hpp"
#include "pipeline/kv/sequence_id.hpp"
#include "pipeline/sampling/sampler.hpp"

namespace troupe {

// A decode entry's input token when it is "the token you sampled for this sequence in the previous
// step": the scheduler plans step N+1 before step N's tokens are known. The executor substitutes.
inline constexpr int32_t kPendingToken = -1;
// A speculative decode's guess still to be made by the executor's draft model.
inline constexpr int32_t kDraftToken = -2;

struct ScheduledSequence {  // parallel to ScheduledStep::batch.sequences
  SeqId id = 0;
  bool sample = false;      // this step produces a token for it (last prompt chunk, or a decode)
  bool decode = false;      // a decode entry (one generated token), not prompt or recompute tokens
  bool first_time = false;  // first time the executor sees it (or first since it was released)
  // A speculative decode: the entry's tokens are [input, d1..dK], K = num_draft proposed tokens,
  // with logits for every row (all_logits). The executor samples row 0, then row i while the
  // token it sampled at row i-1 equals d_i: 1..K+1 tokens come back for it, in order.
  int num_draft = 0;
  std::shared_ptr<const std::vector<int32_t>> prompt;  // set when first_time (for penalties)
  std::vector<int32_t> output_so_far;  // set when first_time after a preemption: tokens generated so
                                       // far, recomputed in this and later chunks after the prompt
  const SamplingParams* sampling = nullptr;  // valid until complete(step_id) returns
};

struct ScheduledStep {
  uint64_t step_id = 0;  // consecutive from 0; complete() takes them in this order
  StepBatch batch;       // a decode entry's single token may be kPendingToken
  std::vector<ScheduledSequence> sequences;
  // Sequences finished, aborted or preempted since the previous step: the executor drops their
  // state before running this batch (a released id may come back later with first_time).
  std::vector<SeqId> released;
  int64_t prefill_tokens = 0;  // prompt (or recompute) tokens in the batch
  int64_t decode_tokens = 0;   // decode entries' tokens (one each, 1 + K for a speculative one)
};

// One sampled token. A speculative decode yields several for its sequence, consecutive and in order.
struct SampledToken {
  SeqId id = 0;
  int32_t token = 0;
};

}  // namespace troupe
