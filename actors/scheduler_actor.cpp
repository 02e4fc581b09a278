#include "actors/scheduler_actor.hpp"

#include <caf/all.hpp>
#include <deque>
#include <map>
#include <unordered_map>

#include "actors/instrumented.hpp"
#include "actors/messages/atoms.hpp"
#include "actors/messages/scheduler_messages.hpp"
#include "actors/messages/telemetry_messages.hpp"

namespace troupe {

namespace {

struct Owner {
  caf::actor request;
  std::string request_id;
  std::shared_ptr<RequestTimeline> timeline;  // null for callers that keep none
};

struct InFlight {
  std::shared_ptr<const ScheduledStep> step;
  bool doomed = false;  // its sequences were failed after an executor error: ignore its report
};

// A submission that arrived while paused: admitted (or refused) on /resume, in arrival order.
struct Held {
  SubmitSequences submit;
  caf::actor owner;
  caf::typed_response_promise<AdmissionResult> promise;
};

// POST /pause: while `mode` is set nothing new is admitted (it is held), and in Keep mode no step
// is planned. The /pause calls are answered once the engine is as the mode says (settle_pause).
struct PauseState {
  std::optional<PauseMode> mode;
  std::deque<Held> held;
  int64_t held_sequences = 0;
  std::vector<caf::typed_response_promise<bool>> waiters;
};

struct SchedulerActorState {
  static inline const char* name = "troupe.scheduler";
  std::unique_ptr<Scheduler> scheduler;
  caf::actor executor;
  std::unordered_map<SeqId, Owner> owners;
  std::unordered_map<std::string, std::vector<SeqId>> by_request;
  std::map<uint64_t, InFlight> in_flight;  // by step id, oldest first
  SchedulerStats last;                     // for deltas in telemetry snapshots
  SchedulerActorConfig config;
  PauseState pause;
};

using Self = instrumented<caf::stateful_actor<SchedulerActorState>>;

constexpr std::size_t kMaxStepsInFlight = 2;

void forget_sequence(Self* self, SeqId id) {
  auto it = self->state.owners.find(id);
  if (it == self->state.owners.end()) return;
  auto& ids = self->state.by_request[it->second.request_id];
  ids.erase(std::remove(ids.begin(), ids.end(), id), ids.end());
  if (ids.empty()) self->state.by_request.erase(it->second.request_id);
  self->state.owners.erase(it);
}

// The client's side ended the sequence (a disconnect, a stop string, a cancel): its blocks are free
// at once, and a step already sent to the executor runs without it.
void abort_sequence(Self* self, SeqId id) {
  auto& st = self->state;
  st.scheduler->abort(id);
  forget_sequence(self, id);
  if (st.config.cancelled && !st.in_flight.empty()) st.config.cancelled->add(id, st.in_flight.rbegin()->first);
}

// Sequences the executor could not run end alone, each with its own reason; the others in their
// steps go on. Their requests end with a server error (the request path validated their input, so
// a failure here is the server's).
void fail_sequences(Self* self, const std::vector<FailedSequence>& failed) {
  auto& st = self->state;
  for (const FailedSequence& f : failed) {
    auto it = st.owners.find(f.id);
    if (it == st.owners.end()) continue;  // already ended (aborted, or failed in an earlier step)
    SequenceOutputs out;
    SequenceUpdate u;
    u.id = f.id;
    u.finished = FinishReason::Error;
    out.updates.push_back(u);
    out.logprobs.emplace_back();
    out.error = "this request could not be computed: " + f.reason;
    self->send(it->second.request, atoms::outputs::value, std::move(out));
    st.scheduler->abort(f.id);
    forget_sequence(self, f.id);
  }
}

void send_snapshot(Self* self, const StepResult* result) {
  const SchedulerStats s = self->state.scheduler->stats();
  EngineSnapshot snap;
  snap.engine = self->state.config.engine;
  snap.running = s.num_running;
  snap.waiting = s.num_waiting + self->state.pause.held_sequences;  // held while paused: waiting to the router too
  snap.paused = self->state.pause.mode.has_value();
  snap.kv_used = s.kv_used_blocks;
  snap.kv_free = s.kv_free_blocks;
  snap.kv_cached = s.kv_cached_blocks;
  snap.kv_total = s.kv_total_blocks;
  snap.preemptions = s.preemptions_total - self->state.last.preemptions_total;
  snap.prefix_queries = s.prefix_queries_tokens - self->state.last.prefix_queries_tokens;
  snap.prefix_hits = s.prefix_hits_tokens - self->state.last.prefix_hits_tokens;
  snap.spec_drafts = s.spec_drafts - self->state.last.spec_drafts;
  snap.spec_draft_tokens = s.spec_draft_tokens - self->state.last.spec_draft_tokens;
  snap.spec_accepted_tokens = s.spec_accepted_tokens - self->state.last.spec_accepted_tokens;
  if (snap.spec_drafts > 0) {
    snap.spec_accepted_per_position = s.spec_accepted_per_position;
    const auto& before = self->state.last.spec_accepted_per_position;
    for (std::size_t i = 0; i < before.size(); ++i) snap.spec_accepted_per_position[i] -= before[i];
  }
  if (result != nullptr) {
    // What the executor computed: a sequence cancelled after the step was planned is not counted.
    snap.step = true;
    snap.prefill_tokens = result->prefill_tokens;
    snap.decode_tokens = result->decode_tokens;
    snap.step_seconds = result->forward_seconds;
  }
  self->state.last = s;
  self->send(self->state.config.telemetry, atoms::stats::value, snap);
  if (self->state.config.router) self->send(self->state.config.router, atoms::stats::value, snap);
}

// Issues steps while fewer than two are in flight and the policy has something to run.
void pump(Self* self) {
  auto& st = self->state;
  if (st.pause.mode == PauseMode::Keep) return;  // frozen: the sequences keep their place and blocks
  while (st.in_flight.size() < kMaxStepsInFlight) {
    std::optional<ScheduledStep> next = st.scheduler->schedule();
    if (!next) break;
    auto step = std::make_shared<const ScheduledStep>(std::move(*next));
    // The first step that holds one of a request's sequences starts its prefill (an atomic load
    // per sequence and step; the one mark per request is a compare-and-swap).
    const auto now = std::chrono::steady_clock::now();
    for (const auto& seq : step->sequences) {
      auto owner = st.owners.find(seq.id);
      if (owner == st.owners.end() || !owner->second.timeline) continue;
      RequestTimeline& timeline = *owner->second.timeline;
      if (!timeline.has(RequestTimeline::Instant::FirstScheduled)) timeline.mark(RequestTimeline::Instant::FirstScheduled, now);
    }
    st.in_flight.emplace(step->step_id, InFlight{step, false});
    self->send(st.executor, atoms::run_step::value, StepOrder{step});
  }
}

// Every sequence of every step in flight ends with `error`; the steps' reports are ignored.
void fail_in_flight(Self* self, const std::string& error) {
  auto& st = self->state;
  std::map<caf::actor, SequenceOutputs> by_owner;
  for (auto& [id, flight] : st.in_flight) {
    flight.doomed = true;
    for (const auto& seq : flight.step->sequences) {
      auto it = st.owners.find(seq.id);
      if (it == st.owners.end()) continue;
      SequenceUpdate u;
      u.id = seq.id;
      u.finished = FinishReason::Error;
      auto& out = by_owner[it->second.request];
      out.updates.push_back(u);
      out.logprobs.emplace_back();
      out.error = error;
      st.scheduler->abort(seq.id);
      forget_sequence(self, seq.id);
    }
  }
  for (auto& [owner, out] : by_owner) self->send(owner, atoms::outputs::value, std::move(out));
}

// Completes a step whose sequences were all aborted, so the policy drops it from its in-flight
// list. Their tokens are discarded, so placeholders stand in for the ones never sampled.
void close_books(Self* self, const ScheduledStep& step) {
  std::vector<SampledToken> placeholders;
  for (const auto& seq : step.sequences) {
    if (seq.sample) placeholders.push_back(SampledToken{seq.id, 0});
  }
  self->state.scheduler->complete(step.step_id, placeholders);
}

void on_report(Self* self, const StepReport& report) {
  auto& st = self->state;
  auto it = st.in_flight.find(report.step_id);
  if (it == st.in_flight.end()) return;
  const InFlight flight = it->second;
  st.in_flight.erase(it);
  if (flight.doomed || !report.result) {
    if (!flight.doomed) fail_in_flight(self, "the executor failed: " + report.error);
    close_books(self, *flight.step);
    send_snapshot(self, nullptr);
    return;
  }
  const StepResult& result = *report.result;
  st.scheduler->observe_step(result.prefill_tokens, result.decode_tokens, result.forward_seconds);
  fail_sequences(self, result.failed);
  // A sequence's tokens (several after a speculative decode) are consecutive in result.tokens.
  std::unordered_map<SeqId, std::size_t> logprob_index;
  for (std::size_t i = result.tokens.size(); i-- > 0;) logprob_index[result.tokens[i].id] = i;
  std::vector<SequenceUpdate> updates = st.scheduler->complete(report.step_id, result.tokens);
  std::map<caf::actor, SequenceOutputs> by_owner;
  for (const PromptLogprobsChunk& chunk : result.prompt_logprobs) {
    auto owner = st.owners.find(chunk.id);
    if (owner != st.owners.end()) by_owner[owner->second.request].prompt_logprobs.push_back(chunk);
  }
  for (auto& u : updates) {
    auto owner = st.owners.find(u.id);
    if (owner == st.owners.end()) continue;  // aborted meanwhile
    auto& out = by_owner[owner->second.request];
    std::vector<std::optional<TokenLogprobs>> lp;
    if (auto li = logprob_index.find(u.id); li != logprob_index.end()) {
      for (std::size_t i = li->second; i < li->second + u.new_tokens.size() && i < result.logprobs.size(); ++i)
        lp.push_back(result.logprobs[i]);
    }
    const bool finished = u.finished.has_value();
    const SeqId id = u.id;
    out.updates.push_back(std::move(u));
    out.logprobs.push_back(std::move(lp));
    if (finished) forget_sequence(self, id);
  }
  for (auto& [owner, out] : by_owner) self->send(owner, atoms::outputs::value, std::move(out));
  send_snapshot(self, &result);
}

// The sequences of one request enter the policy all or none.
AdmissionResult admit(Self* self, SubmitSequences& submit, const caf::actor& owner) {
  auto& st = self->state;
  std::vector<SeqId> added;
  for (auto& seq : submit.sequences) {
    const SeqId id = seq.id;
    const AddResult r = st.scheduler->add(std::move(seq));
    if (r != AddResult::Accepted) {
      for (SeqId a : added) st.scheduler->abort(a);
      if (r == AddResult::TooLong) return AdmissionResult{Admission::TooLong, 0};
      return AdmissionResult{Admission::QueueFull, st.scheduler->retry_after_seconds()};
    }
    added.push_back(id);
  }
  for (SeqId id : added) st.owners[id] = Owner{owner, submit.request_id, submit.timeline};
  st.by_request[submit.request_id] = added;
  return AdmissionResult{Admission::Accepted, 0};
}

// PauseMode::Abort: every request in the engine ends now with finish_reason "abort"; a step in
// flight runs without them (CancelledSequences), as after a client's cancel.
void abort_all(Self* self) {
  auto& st = self->state;
  std::map<caf::actor, SequenceOutputs> by_owner;
  std::vector<SeqId> ids;
  for (const auto& [id, owner] : st.owners) ids.push_back(id);
  for (SeqId id : ids) {
    SequenceOutputs& out = by_owner[st.owners[id].request];
    SequenceUpdate u;
    u.id = id;
    u.finished = FinishReason::Abort;
    out.updates.push_back(u);
    out.logprobs.emplace_back();
    out.aborted = AbortReason::Pause;
    abort_sequence(self, id);
  }
  for (auto& [owner, out] : by_owner) self->send(owner, atoms::outputs::value, std::move(out));
}

// The engine is as the pause's mode says: no step running, and (Abort, Wait) nothing admitted
// left. Answers the /pause calls waiting for it.
void settle_pause(Self* self) {
  auto& p = self->state.pause;
  if (!p.mode || p.waiters.empty() || !self->state.in_flight.empty()) return;
  if (p.mode != PauseMode::Keep && self->state.scheduler->has_unscheduled_work()) return;
  for (auto& waiter : p.waiters) waiter.deliver(true);
  p.waiters.clear();
}

caf::behavior scheduler_behavior(Self* self, SchedulerActorConfig config) {
  auto& st = self->state;
  st.scheduler = std::make_unique<Scheduler>(config.scheduler);
  st.config = std::move(config);
  st.executor = st.config.spawn_executor();
  self->monitor(st.executor);
  // Supervision: an executor that dies (rather than reporting a failed step) takes the steps in
  // flight with it; their requests end with an error, a fresh executor is spawned and serving
  // goes on.
  self->set_down_handler([self](const caf::down_msg& down) {
    auto& st = self->state;
    if (down.source != st.executor.address()) return;
    st.config.healthy->store(false);
    if (st.config.on_executor_up) st.config.on_executor_up(false);
    fail_in_flight(self, "the executor stopped: " + caf::to_string(down.reason));
    for (const auto& [id, flight] : st.in_flight) close_books(self, *flight.step);
    st.in_flight.clear();
    if (st.config.on_executor_restart) st.config.on_executor_restart();
    st.executor = st.config.spawn_executor();
    self->monitor(st.executor);
    st.config.healthy->store(true);
    if (st.config.on_executor_up) st.config.on_executor_up(true);
    pump(self);
    settle_pause(self);  // the steps it took with it were all a pause waited for
  });
  return {
      [self](atoms::submit, SubmitSequences& submit) -> caf::result<AdmissionResult> {
        auto& st = self->state;
        auto owner = caf::actor_cast<caf::actor>(self->current_sender());
        if (st.pause.mode) {
          // Held until /resume, within the queue's bound (what max_waiting and max_num_seqs
          // would take), so a paused server still sheds load instead of piling it up.
          const SchedulerConfig& limits = st.scheduler->config();
          const auto count = static_cast<int64_t>(submit.sequences.size());
          if (st.pause.held_sequences + count > limits.max_waiting + limits.max_num_seqs) {
            return AdmissionResult{Admission::QueueFull, st.scheduler->retry_after_seconds()};
          }
          auto promise = self->make_response_promise<AdmissionResult>();
          st.pause.held_sequences += count;
          st.pause.held.push_back(Held{std::move(submit), std::move(owner), promise});
          send_snapshot(self, nullptr);
          return promise;
        }
        const AdmissionResult result = admit(self, submit, owner);
        pump(self);
        send_snapshot(self, nullptr);
        return result;
      },
      [self](atoms::abort_seqs, const std::vector<uint64_t>& ids) {
        auto& st = self->state;
        for (SeqId id : ids) abort_sequence(self, id);
        // A held request's client left: it is dropped (its actor has ended; the answer goes nowhere).
        std::erase_if(st.pause.held, [&](Held& h) {
          const bool gone = std::any_of(h.submit.sequences.begin(), h.submit.sequences.end(), [&](const SequenceRequest& seq) {
            return std::find(ids.begin(), ids.end(), seq.id) != ids.end();
          });
          if (gone) {
            st.pause.held_sequences -= static_cast<int64_t>(h.submit.sequences.size());
            h.promise.deliver(AdmissionResult{Admission::QueueFull, 0});
          }
          return gone;
        });
        pump(self);
        settle_pause(self);
        send_snapshot(self, nullptr);
      },
      [self](atoms::step_done, const StepReport& report) {
        on_report(self, report);
        pump(self);
        settle_pause(self);
      },
      [self](atoms::pause, PauseMode mode) -> caf::result<bool> {
        auto& st = self->state;
        if (st.pause.mode) return true;  // already paused: as it is
        st.pause.mode = mode;
        if (mode == PauseMode::Abort) abort_all(self);
        auto promise = self->make_response_promise<bool>();
        st.pause.waiters.push_back(promise);
        settle_pause(self);
        send_snapshot(self, nullptr);
        return promise;
      },
      [self](atoms::resume) -> bool {
        auto& st = self->state;
        if (!st.pause.mode) return true;
        st.pause.mode.reset();
        // A /pause still waiting for the engine to settle is answered: the pause it asked for is over.
        for (auto& waiter : st.pause.waiters) waiter.deliver(false);
        st.pause.waiters.clear();
        std::deque<Held> held = std::move(st.pause.held);
        st.pause.held.clear();
        st.pause.held_sequences = 0;
        for (Held& h : held) h.promise.deliver(admit(self, h.submit, h.owner));
        pump(self);
        send_snapshot(self, nullptr);
        return true;
      },
  };
}

}  // namespace

caf::actor spawn_scheduler(caf::actor_system& system, ActorMetrics* metrics, const std::string& name,
                           SchedulerActorConfig config) {
  return spawn_instrumented(system, metrics, name, scheduler_behavior, std::move(config));
}

}  // namespace troupe
