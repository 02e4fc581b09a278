#pragma once
// Runs the scheduler's steps on a backend: fills in pending decode tokens (kPendingToken) with the
// token sampled for that sequence in the previous step, runs the forward pass, and samples one
// token for every sequence the step marks `sample`, each with its own SequenceSampler; a
// speculative decode (ScheduledSequence::num_draft) is verified row by row and yields 1..K+1. It keeps
// per-sequence state (sampler, last token) from a sequence's first_time until the scheduler
// releases it. Not thread-safe: one executor thread owns it.
//
// Where the backend samples on its device (gpu/device_sampling.hpp) and every sequence of a step
// can be sampled there (SequenceSampler::can_sample_on_device), the step runs through it: only
// token ids and the chosen tokens' logprobs come back, not [sequences, vocab] logits. Each draw
// takes its uniform value from the sequence's own stream either way, so a seeded sequence gives
// the same tokens whichever path its steps take.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "engine/draft_proposer.hpp"
#include "gpu/backend.hpp"
#include "gpu/device_sampling.hpp"
#include "pipeline/sampling/sequence_sampler.hpp"
#include "pipeline/sampling/token_logprobs.hpp"
#include "pipeline/sampling/token_mask.hpp"
#include "pipeline/scheduler/scheduled_step.hpp"
#include "pipeline/structured_output/grammar_matcher.hpp"

namespace troupe {

// A sequence that could not run in a step (the backend refused its input, its forward failed when
// run alone, or its sampling failed). The step ran without it; the executor drops its state and
// leaves it out of later steps until the scheduler releases it.
struct FailedSequence {
  SeqId id = 0;
  std::string reason;  // about this sequence only: never another sequence's content
};

// The logprobs of prompt tokens first_position, first_position + 1, ... of one sequence (its
// sampling asked for prompt_logprobs), from the rows of one chunk. A recomputed chunk (after a
// preemption) repeats positions already reported.
struct PromptLogprobsChunk {
  SeqId id = 0;
  int64_t first_position = 1;  // >= 1: position 0 has no context, hence no logprob
  std::vector<TokenLogprobs> tokens;
};

struct StepResult {
  uint64_t step_id = 0;
  std::vector<SampledToken> tokens;                  // in the order of the step's sequences
  std::vector<std::optional<TokenLogprobs>> logprobs;  // parallel to tokens; set when the sequence asked
  std::vector<FailedSequence> failed;                // sequences of this step that failed (no token)
  std::vector<PromptLogprobsChunk> prompt_logprobs;  // for chunks that asked for every row's logits
  // Tokens the forward computed: the step's, less those of sequences that could not run.
  int64_t prefill_tokens = 0;
  int64_t decode_tokens = 0;
  double forward_seconds = 0.0;                      // wall time of the forward passes (and device sampling)
  bool sampled_on_device = false;                    // the step took the device-sampling path
};

class StepExecutor {
 public:
  // `device_sampling`: use the backend's device sampler where it has one (off: always copy logits
  // back and sample on the host, e.g. to compare the two).
  // `draft`: the speculative draft model (--speculative-config with a model), which makes the
  // guesses of entries that carry kDraftToken; ConfigError when it cannot serve this target.
  explicit StepExecutor(Backend& backend, bool device_sampling = true, std::shared_ptr<Backend> draft = nullptr);

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
    // Set when the sampling parameters carry a grammar: advanced by every token of the sequence
    // from the first on, or, with SamplingParams::grammar_after, from the token after that one.
    std::unique_ptr<structured_output::GrammarMatcher> grammar;
    std::optional<int32_t> grammar_after;  // still awaited: the grammar does not apply yet
    std::shared_ptr<const std::vector<int32_t>> prompt;  // the tokens prompt logprobs are taken of
    std::vector<int32_t> tokens;  // with a draft model: prompt and every token sampled, for its guesses
    int32_t state_slot = -1;      // SequenceStep::state_slot, for a model with per-sequence state
  };

  // The logprobs of the prompt tokens that the rows of `entry` (an all_logits prompt chunk starting
  // at logits row `first_row`) predict.
  PromptLogprobsChunk prompt_logprobs(SeqId id, const SequenceState& state, const SequenceStep& entry,
                                      const StepLogits& logits, int64_t first_row) const;

  // Samples logits row `row` for the sequence (grammar mask, sampler, logprobs) into `result`.
  int32_t sample_row(SeqId id, SequenceState& state, StepLogits& logits, int64_t row, StepResult& result);
  // A speculative decode: samples rows while the guesses hold (1..num_draft + 1 tokens).
  void verify(const ScheduledSequence& s, const SequenceStep& entry, StepLogits& logits, int64_t first_row,
              StepResult& result);

  // Masks the tokens the sequence's grammar does not allow next (in place, in the step's logits).
  void apply_grammar(SequenceState& state, std::span<float> row);
  // The sequence's grammar (if it has one) takes a token it generated; while it awaits its
  // grammar_after token, the token is only compared with that one.
  static void advance_grammar(SequenceState& state, int32_t token);
  // Whether the grammar constrains the sequence's next token.
  static bool grammar_applies(const SequenceState& state) { return state.grammar && !state.grammar_after; }

  // Fills batch_ and runnable_ from `step`: state for newcomers, pending tokens substituted; a
  // sequence that cannot run is failed into `result`.
  void prepare(const ScheduledStep& step, StepResult& result);
  // Fills `entry` from the scheduled one (pending token substituted); the reason it cannot run.
  std::optional<std::string> prepare_one(const ScheduledSequence& s, const SequenceStep& scheduled, SequenceStep& entry);
  void fail(SeqId id, std::string reason, StepResult& result);
  // Drops a sequence's state, its state slot back to the free ones.
  void forget(SeqId id);
  // Fills the kDraftToken guesses of batch_ with the draft model's; without one (or when it
  // fails) such entries lose their guesses and decode plainly.
  void make_draft_guesses(const ScheduledStep& step);
  bool fits_device(const ScheduledStep& step) const;
  // Both run batch_ (the runnable sequences). On the device the step runs whole or throws; on the
  // host a failure is narrowed down to the sequences at fault (forward_isolating).
  void run_on_device(const ScheduledStep& step, StepResult& result);
  void run_on_host(const ScheduledStep& step, StepResult& result);

  Backend& backend_;
  std::unique_ptr<DraftModelProposer> draft_;
  std::vector<DraftRequest> draft_requests_;  // scratch
  DeviceSampling* device_ = nullptr;  // the backend's device sampler, if it has one and it is used
  std::unordered_map<SeqId, SequenceState> sequences_;
  std::unordered_set<SeqId> failed_;  // failed in an earlier step and not yet released
  // State slots (ModelSpec::has_sequence_state): one per held sequence, reused once it is dropped,
  // so they stay below the most sequences ever held at once.
  std::vector<int32_t> free_slots_;
  int32_t slots_made_ = 0;
  std::vector<std::size_t> runnable_;  // batch_ entry k is step.sequences[runnable_[k]]
  StepBatch batch_;     // the step's batch with pending tokens filled in; reused between steps
  StepLogits logits_;
  std::vector<DeviceSamplingParams> device_params_;  // reused between steps
  std::vector<int32_t> device_tokens_;
  std::vector<float> device_logprobs_;
  TokenBitmask grammar_mask_;  // scratch, reused between sequences and steps
};

}  // namespace troupe
