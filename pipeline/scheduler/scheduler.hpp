#pragma once
// Continuous batching over a paged KV cache, as pure logic (the scheduler actor drives it).
//
// Each step: running decodes first (one token each), then prompt tokens (prefill) up to the step's
// token budget. A sequence whose prompt ends in a step is sampled in it.
//
// Fair prefill: one long prompt must not hold the engine. When a step shares the engine (it has
// decodes, or other requests wait or prefill), its prompt tokens are capped by a time budget
// (prefill_budget_seconds) converted to tokens with the per-token cost learned from completed steps
// (StepCostModel, fed by observe_step: a fixed cost per prompt step plus a cost per token; when the
// fixed cost alone exceeds the budget, as many tokens as it buys, so the prompt keeps half its
// speed); never below one KV block, so prompts always progress, and never more than twice the
// largest chunk measured, so a misestimate costs one step at most. So
// running streams get a token every step, and a step lasts at most their decode time plus the
// budget. Within the prefill tokens, order is: waiting short prompts (long_prefill_token_threshold)
// first come first served, then running prompts with the fewest tokens left first (a short request
// overtakes a long prompt's remaining chunks; the oldest partial prefill still gets at least one
// block each step), then waiting long prompts, first come first served, while max_num_seqs, the
// budget and the KV blocks allow.
//
// Pipelining: schedule() may be called while one step is in flight, so step N+1 is planned while
// the executor runs step N (at most two steps outstanding; a third schedule() returns nullopt).
// A sequence sampled in the in-flight step gets kPendingToken as its decode input. If complete(N)
// finishes it, the token it got in N+1 is discarded by complete(N+1). The executor runs steps in
// order, so blocks freed while planning (or on completion) are only reused by later steps.
//
// Preemption (recompute): when a running sequence cannot get a block, the most recently admitted
// running sequences not yet in this step give theirs back and go to the front of the waiting queue
// with prompt + generated tokens to recompute. Generated tokens are never lost and no sequence is
// dropped: a sequence alone always fits because max length is capped by the cache size.
//
// Prefix cache: blocks enter it when the step that computed them completes, so choices of one
// request (n > 1) admitted in the same step could not share; a later choice therefore waits until
// a running sibling has computed the shared prompt blocks (see waits_for_sibling).
//
// Speculative decoding (config.speculative): while at most batch_size_limit() sequences decode,
// steps are not pipelined (one in flight), so each sequence's tokens are all known when its next
// decode is planned. A decode then carries the proposer's K guesses after its input token, with KV
// slots for all of them; complete() takes the 1..K+1 tokens the executor accepted, and the slots
// of rejected guesses are given back (the blocks past the accepted length return to the pool; the
// full blocks already in the prefix cache are untouched, since only computed positions enter it).
// A sequence whose guesses all miss pauses speculation for a while (SequenceState::spec_skip).
//
// Prompt logprobs (echo with logprobs): such a prompt is computed whole, without prefix-cache hits
// (a cached block has no logits), its chunks asking the executor for every row's logits; after a
// preemption it is recomputed the same way until all its prompt logprobs were produced (the
// request drops the positions it already has).
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

#include "pipeline/kv/kv_block_manager.hpp"
#include "pipeline/scheduler/scheduled_step.hpp"
#include "pipeline/scheduler/scheduler_config.hpp"
#include "pipeline/scheduler/scheduler_stats.hpp"
#include "pipeline/scheduler/sequence_request.hpp"
#include "pipeline/scheduler/sequence_state.hpp"
#include "pipeline/scheduler/sequence_update.hpp"
#include "pipeline/scheduler/step_cost_model.hpp"

namespace troupe {

class Scheduler {
 public:
  explicit Scheduler(SchedulerConfig config);  // std::invalid_argument on a bad config

  // Queues a sequence. std::invalid_argument for a malformed request (empty prompt,
  // max_new_tokens < 1, an id already live).
  AddResult add(SequenceRequest request);

  // Finished by the client (stop string, disconnect): its blocks are freed at once, nothing more is
  // reported for it. Unknown or already finished ids are ignored.
  void abort(SeqId id);

  // Some sequence is running or waiting. schedule() may still answer nullopt (two steps in flight,
  // or everything left waits for an in-flight token).
  bool has_unscheduled_work() const;

  // The next step, or nullopt when nothing can run now.
  std::optional<ScheduledStep> schedule();

  // Step `step_id` ran (the oldest in flight; std::invalid_argument otherwise, or when a sampled
  // sequence still live has no token in `sampled`; an aborted one needs none, since the executor
  // may have left it out). Returns one update per sequence that got a token, plus the
  // sequences preempted while planning since the previous complete().
  // A speculative decode's sequence has its 1..K+1 tokens consecutive, in order.
  std::vector<SequenceUpdate> complete(uint64_t step_id, std::span<const SampledToken> sampled);

  // The executor computed a step of these many prompt and decode tokens in `seconds`: feeds the
  // cost model behind the prefill cap.
  void observe_step(int64_t prefill_tokens, int64_t decode_tokens, double seconds);
  // Prompt tokens a step that shares the engine may carry now (the prefill cap).
  int64_t prefill_cap_tokens() const;
  const StepCostModel& cost_model() const { return cost_; }
  // For a request refused with QueueFull: whole seconds until a place in the queue surely opens,
  // 1 to 60. A place opens when a running sequence ends; the one with the fewest tokens left ends by
  // its max_new_tokens at the latest, one token per step at the measured step time.
  int retry_after_seconds() const;

  SchedulerStats stats() const;
  const SchedulerConfig& config() const { return config_; }
  const KvBlockManager& kv() const { return kv_; }
  // Longest sequence (prompt + output) this scheduler lets grow: max_model_len capped by the cache.
  int64_t max_sequence_len() const { return max_len_; }

 private:
  struct InFlightEntry {
    std::shared_ptr<SequenceState> seq;  // keeps SamplingParams alive for the executor
    uint32_t incarnation = 0;
    int64_t num_tokens = 0;
    bool sample = false;
    bool prompt_logprobs = false;  // all_logits for prompt logprobs
    int num_draft = 0;             // speculative decode: proposed tokens after the input token
  };
  struct InFlightStep {
    uint64_t step_id = 0;
    std::vector<InFlightEntry> entries;
  };
  // Planning state of one schedule() call.
  struct StepPlan;

  bool schedule_decode(StepPlan& plan, const std::shared_ptr<SequenceState>& seq, bool speculate);
  // Speculation is in use for the next step: enabled, and few enough sequences decode.
  bool speculation_active() const;
  // The proposer's guesses for `seq`'s next tokens, at most `k` (none while it backs off).
  std::vector<int32_t> propose(SequenceState& seq, int64_t k) const;
  bool schedule_prefill(StepPlan& plan, const std::shared_ptr<SequenceState>& seq, int64_t limit);
  void schedule_partial_prefills(StepPlan& plan, const std::vector<std::shared_ptr<SequenceState>>& snapshot);
  // Admits waiting sequences in order; with `short_only`, stops at the first long prompt.
  void admit_waiting(StepPlan& plan, bool short_only);
  bool engine_is_shared(const StepPlan& plan) const;
  // n > 1: the choices of one request share one prompt object. A choice waits while a running
  // sibling has not yet computed the prompt's full blocks, then finds them in the prefix cache
  // instead of computing (and holding) its own copy.
  bool waits_for_sibling(const SequenceState& seq) const;
  // Frees the most recently admitted running sequence not in this step (other than `keep`, unless
  // `may_preempt_keep`); false when there is none.
  bool preempt_one(StepPlan& plan, const SequenceState* keep, bool may_preempt_keep);
  void preempt(const std::shared_ptr<SequenceState>& seq);
  void add_entry(StepPlan& plan, const std::shared_ptr<SequenceState>& seq, std::vector<int32_t> tokens,
                 int64_t num_cached, bool sample, bool decode, int num_draft = 0);
  // Appends `tokens` (one step's, in order) until one finishes the sequence; one update. True when
  // it finished (the caller retires it).
  bool apply_tokens(const std::shared_ptr<SequenceState>& seq, std::span<const int32_t> tokens,
                    std::vector<SequenceUpdate>& out);
  // Counts a verified proposal of `num_draft` tokens of which `accepted` were taken; adjusts the
  // sequence's back-off.
  void record_speculation(SequenceState& seq, int num_draft, int64_t accepted);
  void retire(const std::shared_ptr<SequenceState>& seq);
  void release_from_executor(SequenceState& seq);

  SchedulerConfig config_;
  int64_t max_len_;
  KvBlockManager kv_;
  std::unordered_map<SeqId, std::shared_ptr<SequenceState>> live_;
  std::vector<std::shared_ptr<SequenceState>> running_;  // admission order: last = most recent
  std::deque<std::shared_ptr<SequenceState>> waiting_;   // preempted ones at the front
  std::deque<InFlightStep> in_flight_;
  std::vector<SeqId> released_;                // since the last step
  std::vector<SequenceUpdate> deferred_updates_;  // preemptions, reported by the next complete()
  uint64_t next_step_id_ = 0;
  int64_t preemptions_total_ = 0;
  int64_t spec_drafts_ = 0, spec_draft_tokens_ = 0, spec_accepted_tokens_ = 0;
  std::vector<int64_t> spec_accepted_per_position_;
  StepCostModel cost_;
};

}  // namespace troupe
