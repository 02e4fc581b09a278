#pragma once
// Runs the scheduler's steps on a backend: fills in pending decode tokens (kPendingToken) with the
// token sampled for that sequence in the previous step, runs the forward pass, and samples one
// token for every sequence the step marks `sample`, each with its own SequenceSampler. It keeps
// per-sequence state (sampler, last token) from a sequence's first_time until the scheduler
// releases it. Not thread-safe: one executor thread owns it.
#include <cstdint>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "gpu/backend.hpp"
#include "pipeline/sampling/sequence_sampler.hpp"
#include "pipeline/sampling/token_mask.hpp"
#include "pipeline/structured_output/grammar_matcher.hpp"
#include "pipeline/sampling/token_logprobs.hpp"
#include "pipeline/scheduler/scheduled_step.hpp"

namespace troupe {

struct StepResult {
  uint64_t step_id = 0;
  std::vector<SampledToken> tokens;                  // in the order of the step's sequences
  std::vector<std::optional<TokenLogprobs>> logprobs;  // parallel to tokens; set when the sequence asked
  double forward_seconds = 0.0;                      // wall time of backend.forward
};

class StepExecutor {
 public:
  explicit StepExecutor(Backend& backend);

  // Throws std::invalid_argument for a step that does not fit (sequences not parallel to the batch,
  // an unknown sequence that is not first_time, a pending token with no token sampled before, a
  // first_time sequence without prompt or sampling parameters), and whatever backend.forward throws.
  StepResult run(const ScheduledStep& step);

  // Sequences whose state is held (seen and not yet released).
  std::size_t live_sequences() const { return sequences_.size(); }
  bool holds(SeqId id) const { return sequences_.contains(id); }

 private:
  struct SequenceState {
    SequenceSampler sampler;
    std::optional<int32_t> last_token;  // the last token sampled (or resumed from output_so_far)
    // Set when the sampling parameters carry a grammar: advanced by every token of the sequence.
    std::unique_ptr<structured_output::GrammarMatcher> grammar;
  };
  // Masks the tokens the sequence's grammar does not allow next (in place, in logits_).
  void apply_grammar(SequenceState& state, std::span<float> row);

  Backend& backend_;
  std::unordered_map<SeqId, SequenceState> sequences_;
  StepBatch batch_;     // the step's batch with pending tokens filled in; reused between steps
  StepLogits logits_;
  TokenBitmask grammar_mask_;  // scratch, reused between sequences and steps
};

}  // namespace troupe
