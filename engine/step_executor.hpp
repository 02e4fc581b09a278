#pragma once
// Runs the scheduler's steps on a backend: fills in pending decode tokens (kPendingToken) with the
// token sampled for that sequence in the previous step, runs the forward pass, and samples one
// token for every sequence the step marks `sample`, each with its own SequenceSampler. It keeps
// per-sequence state (sampler, last token) from a sequence's first_time until the scheduler
// releases it. Not thread-safe: one executor thread owns it.
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "gpu/backend.hpp"
#include "pipeline/sampling/sequence_sampler.hpp"
#include "pipeline/sampling/token_logprobs.hpp"
#include "pipeline/scheduler/scheduled_step.hpp"

namespace troupe {

// A sequence that could not run in a step (the backend refused its input, its forward failed when
// run alone, or its sampling failed). The step ran without it; the executor drops its state and
// leaves it out of later steps until the scheduler releases it.
struct FailedSequence {
  SeqId id = 0;
  std::string reason;  // about this sequence only: never another sequence's content
};

struct StepResult {
  uint64_t step_id = 0;
  std::vector<SampledToken> tokens;                  // in the order of the step's sequences
  std::vector<std::optional<TokenLogprobs>> logprobs;  // parallel to tokens; set when the sequence asked
  std::vector<FailedSequence> failed;                // sequences of this step that failed (no token)
  // Tokens the forward computed: the step's, less those of sequences that could not run.
  int64_t prefill_tokens = 0;
  int64_t decode_tokens = 0;
  double forward_seconds = 0.0;                      // wall time of backend.forward (retries included)
};

class StepExecutor {
 public:
  explicit StepExecutor(Backend& backend);

  // Throws std::invalid_argument when the step does not fit together (sequences not parallel to the
  // batch). A problem of one sequence fails only that sequence (StepResult::failed): an unknown
  // sequence that is not first_time, a pending token with no token sampled before, a first_time
  // sequence without prompt or sampling parameters, an input the backend refuses, a forward that
  // fails for it (see engine/isolated_forward.hpp), a sampling error.
  StepResult run(const ScheduledStep& step);

  // Sequences whose state is held (seen and not yet released).
  std::size_t live_sequences() const { return sequences_.size(); }
  bool holds(SeqId id) const { return sequences_.contains(id); }

 private:
  struct SequenceState {
    SequenceSampler sampler;
    std::optional<int32_t> last_token;  // the last token sampled (or resumed from output_so_far)
  };

  // Fills `entry` from the scheduled one (pending token substituted); the reason it cannot run.
  std::optional<std::string> prepare(const ScheduledSequence& s, const SequenceStep& scheduled, SequenceStep& entry);
  void fail(SeqId id, std::string reason, StepResult& result);

  Backend& backend_;
  std::unordered_map<SeqId, SequenceState> sequences_;
  std::unordered_set<SeqId> failed_;  // failed in an earlier step and not yet released
  std::vector<std::size_t> runnable_;  // batch_ entry k is step.sequences[runnable_[k]]
  StepBatch batch_;     // the step's batch with pending tokens filled in; reused between steps
  StepLogits logits_;
};

}  // namespace troupe
