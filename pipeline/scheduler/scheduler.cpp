#include "pipeline/scheduler/scheduler.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <unordered_set>

#include "pipeline/scheduler/stop_check.hpp"
#include "pipeline/speculative/ngram_proposer.hpp"

namespace troupe {

namespace {

const SchedulerConfig& validated(const SchedulerConfig& c) {
  auto require = [](bool ok, const char* what) {
    if (!ok) throw std::invalid_argument(std::string("SchedulerConfig: ") + what);
  };
  require(c.max_num_seqs >= 1, "max_num_seqs must be at least 1");
  require(c.max_num_batched_tokens >= 1, "max_num_batched_tokens must be at least 1");
  require(c.max_model_len >= 2, "max_model_len must be at least 2");
  require(c.block_size >= 1, "block_size must be at least 1");
  require(c.num_blocks >= 1, "num_blocks must be at least 1");
  require(c.max_waiting >= 1, "max_waiting must be at least 1");
  require(c.prefill_budget_seconds >= 0, "prefill_budget_seconds must not be negative");
  require(c.long_prefill_token_threshold >= 0, "long_prefill_token_threshold must not be negative");
  require(!c.speculative.enabled() || c.speculative.num_speculative_tokens < c.max_num_batched_tokens,
          "speculative.num_speculative_tokens must be below max_num_batched_tokens");
  return c;
}

}  // namespace

struct Scheduler::StepPlan {
  ScheduledStep step;
  InFlightStep record;
  int64_t budget = 0;                                  // tokens left in this step
  int64_t prefill_left = 0;                            // prompt tokens left in this step (<= budget)
  std::unordered_set<const SequenceState*> scheduled;  // already in this step: never preempted
  bool preempted_any = false;
};

Scheduler::Scheduler(SchedulerConfig config)
    : config_(validated(config)),
      max_len_(std::min(config.max_model_len, config.num_blocks * config.block_size)),
      kv_(KvBlockManagerConfig{config.num_blocks, config.block_size, config.enable_prefix_caching}) {}

AddResult Scheduler::add(SequenceRequest request) {
  if (!request.prompt || request.prompt->empty())
    throw std::invalid_argument("Scheduler::add: sequence " + std::to_string(request.id) + " has an empty prompt");
  if (request.max_new_tokens < 1)
    throw std::invalid_argument("Scheduler::add: sequence " + std::to_string(request.id) + " asks for no new tokens");
  if (live_.count(request.id) != 0)
    throw std::invalid_argument("Scheduler::add: sequence " + std::to_string(request.id) + " is already live");
  const auto prompt_len = static_cast<int64_t>(request.prompt->size());
  if (prompt_len >= max_len_) return AddResult::TooLong;
  // The bound counts only sequences that cannot run now: as many as there are free running slots
  // are admitted at the next step, so a burst fills max_num_seqs + max_waiting before any 503.
  const int64_t free_slots = std::max<int64_t>(0, config_.max_num_seqs - static_cast<int64_t>(running_.size()));
  if (static_cast<int64_t>(waiting_.size()) >= config_.max_waiting + free_slots) return AddResult::QueueFull;

  auto seq = std::make_shared<SequenceState>();
  seq->tokens = *request.prompt;
  seq->prompt_len = prompt_len;
  seq->request = std::move(request);
  live_.emplace(seq->request.id, seq);
  waiting_.push_back(std::move(seq));
  return AddResult::Accepted;
}

void Scheduler::abort(SeqId id) {
  const auto it = live_.find(id);
  if (it == live_.end()) return;
  retire(it->second);
}

bool Scheduler::has_unscheduled_work() const { return !running_.empty() || !waiting_.empty(); }

void Scheduler::release_from_executor(SequenceState& seq) {
  if (!seq.executor_knows) return;
  released_.push_back(seq.request.id);
  seq.executor_knows = false;
}

void Scheduler::retire(const std::shared_ptr<SequenceState>& seq) {
  // Copy: erasing from live_ may drop the last owner of the state while it is still being used.
  const std::shared_ptr<SequenceState> keep = seq;
  keep->retired = true;
  kv_.free(keep->request.id);
  if (keep->running) {
    running_.erase(std::find(running_.begin(), running_.end(), keep));
    keep->running = false;
  } else {
    const auto w = std::find(waiting_.begin(), waiting_.end(), keep);
    if (w != waiting_.end()) waiting_.erase(w);
  }
  release_from_executor(*keep);
  live_.erase(keep->request.id);
}

void Scheduler::preempt(const std::shared_ptr<SequenceState>& seq) {
  const std::shared_ptr<SequenceState> keep = seq;
  kv_.free(keep->request.id);
  running_.erase(std::find(running_.begin(), running_.end(), keep));
  keep->running = false;
  // Everything is recomputed from position 0 at re-admission (its full blocks may still be found in
  // the prefix cache). A token sampled for it by an in-flight step still arrives and is kept.
  keep->num_scheduled = 0;
  keep->num_computed = 0;
  ++keep->incarnation;
  release_from_executor(*keep);
  waiting_.push_front(keep);
  ++preemptions_total_;
  SequenceUpdate update;
  update.id = keep->request.id;
  update.preempted = true;
  deferred_updates_.push_back(std::move(update));
}

bool Scheduler::preempt_one(StepPlan& plan, const SequenceState* keep, bool may_preempt_keep) {
  for (auto it = running_.rbegin(); it != running_.rend(); ++it) {
    const SequenceState* candidate = it->get();
    if (plan.scheduled.count(candidate) != 0) continue;
    if (candidate == keep && !may_preempt_keep) continue;
    preempt(*it);
    plan.preempted_any = true;
    return true;
  }
  return false;
}

void Scheduler::add_entry(StepPlan& plan, const std::shared_ptr<SequenceState>& seq, std::vector<int32_t> tokens,
                          int64_t num_cached, bool sample, bool decode, int num_draft) {
  const auto n = static_cast<int64_t>(tokens.size());
  SequenceStep step;
  step.tokens = std::move(tokens);
  step.num_cached = num_cached;
  step.block_table = kv_.block_table(seq->request.id);
  // Row q of the chunk predicts token q + 1: wanted while that is a prompt token still owed.
  const bool prompt_logprobs = !decode && seq->wants_prompt_logprobs() && num_cached < seq->prompt_len - 1;
  step.all_logits = prompt_logprobs || num_draft > 0;  // a proposal is verified at every row

  ScheduledSequence scheduled;
  scheduled.id = seq->request.id;
  scheduled.sample = sample;
  scheduled.decode = decode;
  scheduled.num_draft = num_draft;
  scheduled.first_time = !seq->executor_knows;
  if (scheduled.first_time) {
    scheduled.prompt = seq->request.prompt;
    scheduled.output_so_far.assign(seq->tokens.begin() + seq->prompt_len, seq->tokens.end());
    seq->executor_knows = true;
  }
  scheduled.sampling = &seq->request.sampling;

  plan.step.batch.sequences.push_back(std::move(step));
  plan.step.sequences.push_back(std::move(scheduled));
  plan.record.entries.push_back(InFlightEntry{seq, seq->incarnation, n, sample, prompt_logprobs, num_draft});
  plan.scheduled.insert(seq.get());
  (decode ? plan.step.decode_tokens : plan.step.prefill_tokens) += n;
  plan.budget -= n;
  if (!decode) plan.prefill_left -= n;
  seq->num_scheduled = num_cached + n;
  if (sample) ++seq->pending;
}

bool Scheduler::speculation_active() const {
  const SpeculativeConfig& spec = config_.speculative;
  if (!spec.enabled()) return false;
  const auto decoding = std::count_if(running_.begin(), running_.end(), [](const std::shared_ptr<SequenceState>& seq) {
    return seq->num_scheduled >= seq->total_len() - 1;
  });
  return decoding <= spec.batch_size_limit();
}

std::vector<int32_t> Scheduler::propose(SequenceState& seq, int64_t k) const {
  if (k <= 0) return {};
  if (seq.spec_skip > 0) {
    --seq.spec_skip;
    return {};
  }
  const SpeculativeConfig& spec = config_.speculative;
  switch (spec.method) {
    case SpeculativeMethod::Ngram:
      return propose_ngram(seq.tokens, NgramLookup{spec.prompt_lookup_min, spec.prompt_lookup_max}, k);
    case SpeculativeMethod::Draft:
      return std::vector<int32_t>(static_cast<std::size_t>(k), kDraftToken);  // the executor's draft model fills them
    case SpeculativeMethod::None:
      break;
  }
  return {};
}

bool Scheduler::schedule_decode(StepPlan& plan, const std::shared_ptr<SequenceState>& seq, bool speculate) {
  if (reaches_length_limit(*seq, max_len_)) return false;  // finishes when its in-flight token lands
  std::vector<int32_t> tokens{seq->pending > 0 ? kPendingToken : seq->tokens.back()};
  if (speculate && seq->pending == 0) {
    // Room for k guesses plus the token after them: within max_new_tokens, the length limit and
    // this step's token budget.
    const int64_t wanted = seq->spec_k > 0 ? seq->spec_k : config_.speculative.num_speculative_tokens;
    const int64_t k = std::min({wanted, seq->request.max_new_tokens - seq->num_output() - 1, max_len_ - seq->total_len() - 1,
                                plan.budget - 1});
    const std::vector<int32_t> guesses = propose(*seq, k);
    tokens.insert(tokens.end(), guesses.begin(), guesses.end());
  }
  auto slots = static_cast<int64_t>(tokens.size());
  while (!kv_.append_slots(seq->request.id, seq->num_scheduled + slots)) {
    if (slots > 1) {  // the cache is short: guess nothing rather than preempt for guesses
      tokens.resize(1);
      slots = 1;
      continue;
    }
    // Itself included: when it is the most recently admitted sequence left, it yields.
    if (!preempt_one(plan, seq.get(), true) || !seq->running) return false;
  }
  add_entry(plan, seq, std::move(tokens), seq->num_scheduled, true, true, static_cast<int>(slots - 1));
  return true;
}

bool Scheduler::schedule_prefill(StepPlan& plan, const std::shared_ptr<SequenceState>& seq, int64_t limit) {
  const int64_t len = seq->total_len();
  const SeqId id = seq->request.id;
  int64_t chunk = std::min({len - seq->num_scheduled, plan.budget, limit});
  if (chunk <= 0) return false;
  while (!kv_.append_slots(id, seq->num_scheduled + chunk)) {
    if (preempt_one(plan, seq.get(), false)) continue;
    // Nobody left to preempt: run the part of the chunk that fits.
    const int64_t fit = (static_cast<int64_t>(kv_.block_table(id).size()) + kv_.num_available()) * kv_.block_size() -
                        seq->num_scheduled;
    chunk = std::min(chunk, fit);
    if (chunk <= 0) return false;
  }
  const auto begin = seq->tokens.begin() + seq->num_scheduled;
  add_entry(plan, seq, std::vector<int32_t>(begin, begin + chunk), seq->num_scheduled, seq->num_scheduled + chunk == len, false);
  return true;
}

bool Scheduler::waits_for_sibling(const SequenceState& seq) const {
  if (!kv_.prefix_caching() || seq.wants_prompt_logprobs()) return false;
  const int64_t cacheable = (seq.prompt_len - 1) / kv_.block_size() * kv_.block_size();
  if (cacheable == 0) return false;
  return std::any_of(running_.begin(), running_.end(), [&](const std::shared_ptr<SequenceState>& r) {
    return r->request.prompt == seq.request.prompt && r->num_computed < cacheable;
  });
}

void Scheduler::admit_waiting(StepPlan& plan, bool short_only) {
  const int64_t long_threshold =
      config_.long_prefill_token_threshold > 0 ? config_.long_prefill_token_threshold : config_.max_num_batched_tokens;
  std::size_t i = 0;
  while (i < waiting_.size() && plan.budget > 0 && plan.prefill_left > 0 &&
         static_cast<int64_t>(running_.size()) < config_.max_num_seqs) {
    const std::shared_ptr<SequenceState> seq = waiting_[i];
    // A preempted sequence whose last token is still being computed cannot be rebuilt yet; first
    // come first served, so nobody overtakes it (it is ready after the in-flight step).
    if (seq->pending > 0) break;
    if (waits_for_sibling(*seq)) {
      ++i;
      continue;
    }
    const std::span<const int32_t> tokens(seq->tokens);
    const auto len = static_cast<int64_t>(tokens.size());
    // Long prompts wait for the second pass, in order: nobody behind one overtakes it there.
    if (short_only && len > long_threshold) break;
    // No prefix lookup (and no query counted) for a prompt whose logprobs are wanted, as vLLM skips it.
    const std::span<const int32_t> lookup = seq->wants_prompt_logprobs() ? std::span<const int32_t>{} : tokens;
    const int64_t cached = kv_.cached_prefix_length(lookup);
    const int64_t chunk = std::min({len - cached, plan.budget, plan.prefill_left});
    const auto allocation = kv_.allocate(seq->request.id, lookup, cached + chunk);
    if (!allocation) break;
    waiting_.erase(waiting_.begin() + static_cast<std::ptrdiff_t>(i));
    running_.push_back(seq);
    seq->running = true;
    seq->num_scheduled = seq->num_computed = allocation->num_cached_tokens;
    if (!seq->admitted_once) {
      seq->admitted_once = true;
      seq->num_cached_prompt_tokens = allocation->num_cached_tokens;
    }
    const auto begin = seq->tokens.begin() + cached;
    add_entry(plan, seq, std::vector<int32_t>(begin, begin + chunk), cached, cached + chunk == len, false);
  }
}

bool Scheduler::engine_is_shared(const StepPlan& plan) const {
  if (!plan.step.sequences.empty()) return true;  // decodes
  // Otherwise: more than one prompt could use this step (running partial prefills, and waiting
  // prompts while a running slot is free).
  auto prompts = std::count_if(running_.begin(), running_.end(), [](const std::shared_ptr<SequenceState>& seq) {
    return seq->num_scheduled < seq->total_len() - 1;
  });
  if (static_cast<int64_t>(running_.size()) < config_.max_num_seqs) prompts += static_cast<std::ptrdiff_t>(waiting_.size());
  return prompts > 1;
}

int64_t Scheduler::prefill_cap_tokens() const {
  if (config_.prefill_budget_seconds <= 0) return config_.max_num_batched_tokens;
  const int64_t floor = std::min(config_.block_size, config_.max_num_batched_tokens);
  const std::optional<StepCostModel::PromptCost> cost = cost_.prompt_cost();
  // Before a prompt step was measured: one block, so that a first step on a slow machine cannot
  // stall everyone; the measured value replaces it after that step.
  if (!cost) return floor;
  if (cost->per_token <= 0) return config_.max_num_batched_tokens;
  const double budget = config_.prefill_budget_seconds;
  if (!cost->line_known) {
    // Every recent step had about the same number of prompt tokens, so a fixed per-step cost cannot
    // be told from a per-token one (taking it all as per token would shrink chunks for ever when
    // the fixed part alone exceeds the budget). Learn the line: try half the smallest size, or
    // twice the largest when half would fall under one block.
    const auto half = static_cast<int64_t>(cost->smallest_p / 2);
    const int64_t probe = half >= floor ? half : static_cast<int64_t>(2 * cost->largest_p);
    return std::clamp<int64_t>(probe, floor, config_.max_num_batched_tokens);
  }
  double tokens = 0;
  if (cost->fixed + cost->per_token * static_cast<double>(floor) <= budget) {
    tokens = (budget - cost->fixed) / cost->per_token;  // as many as the budget holds
  } else {
    // Not even one block fits: every prompt step costs at least `fixed`. Spend as much on tokens as
    // on that overhead, so the prompt runs at half its full-chunk speed or better while the others'
    // steps grow by at most twice the overhead.
    tokens = cost->fixed / cost->per_token;
  }
  // A noisy fit (a per-token cost estimated near zero) must not turn into one huge step: the cap
  // grows by at most 2x the largest chunk measured, so a wrong estimate is corrected next step.
  tokens = std::min(tokens, 2 * cost->largest_p);
  // (The epsilon keeps 0.05 / 0.001 from truncating to 49.)
  return std::clamp<int64_t>(static_cast<int64_t>(std::min(tokens + 1e-6, 1e12)), floor, config_.max_num_batched_tokens);
}

int Scheduler::retry_after_seconds() const {
  constexpr int kMin = 1, kMax = 60;
  const std::optional<double> step = cost_.seconds_per_step();
  if (!step || running_.empty()) return kMin;
  int64_t fewest_steps = std::numeric_limits<int64_t>::max();
  for (const auto& seq : running_) {
    const int64_t prompt_left = std::max<int64_t>(0, seq->prompt_len - seq->num_scheduled);
    const int64_t per_step = prefill_cap_tokens();
    const int64_t chunks = (prompt_left + per_step - 1) / per_step;
    fewest_steps = std::min(fewest_steps, chunks + seq->request.max_new_tokens - seq->num_output());
  }
  const double seconds = std::ceil(static_cast<double>(std::max<int64_t>(1, fewest_steps)) * *step);
  return static_cast<int>(std::clamp(seconds, static_cast<double>(kMin), static_cast<double>(kMax)));
}

void Scheduler::observe_step(int64_t prefill_tokens, int64_t decode_tokens, double seconds) {
  cost_.observe(prefill_tokens, decode_tokens, seconds);
}

void Scheduler::schedule_partial_prefills(StepPlan& plan, const std::vector<std::shared_ptr<SequenceState>>& snapshot) {
  std::vector<std::shared_ptr<SequenceState>> partial;
  for (const auto& seq : snapshot) {
    if (seq->running && seq->num_scheduled < seq->total_len() - 1 && plan.scheduled.count(seq.get()) == 0)
      partial.push_back(seq);
  }
  if (partial.empty()) return;
  const std::shared_ptr<SequenceState> oldest = partial.front();  // running_ is in admission order
  // Fewest tokens left first: a short prompt's last chunk is not queued behind a long prompt's.
  std::stable_sort(partial.begin(), partial.end(), [](const auto& a, const auto& b) {
    return a->total_len() - a->num_scheduled < b->total_len() - b->num_scheduled;
  });
  for (const auto& seq : partial) {
    if (plan.budget <= 0 || plan.prefill_left <= 0) break;
    if (seq->running) schedule_prefill(plan, seq, plan.prefill_left);
  }
  // Progress for the oldest: at least one block per step, even when shorter prompts took the cap.
  if (oldest->running && plan.scheduled.count(oldest.get()) == 0 && plan.budget > 0) {
    schedule_prefill(plan, oldest, std::min(config_.block_size, plan.budget));
  }
}

std::optional<ScheduledStep> Scheduler::schedule() {
  if (in_flight_.size() >= 2) return std::nullopt;
  // While speculating, a step waits for the one in flight: proposals need every token known.
  const bool speculate = speculation_active();
  if (speculate && !in_flight_.empty()) return std::nullopt;
  StepPlan plan;
  plan.budget = config_.max_num_batched_tokens;
  plan.prefill_left = plan.budget;

  // Preemption edits running_, so walk a snapshot and skip whoever left it.
  const std::vector<std::shared_ptr<SequenceState>> snapshot = running_;
  for (const auto& seq : snapshot) {
    if (plan.budget <= 0) break;
    if (seq->running && seq->num_scheduled == seq->total_len() - 1) schedule_decode(plan, seq, speculate);
  }
  plan.prefill_left = std::min(plan.budget, engine_is_shared(plan) ? prefill_cap_tokens() : plan.budget);
  // After a preemption the cache is known to be short: admitting now would only preempt again.
  if (!plan.preempted_any) admit_waiting(plan, /*short_only=*/true);
  schedule_partial_prefills(plan, snapshot);
  if (!plan.preempted_any) admit_waiting(plan, /*short_only=*/false);

  if (plan.step.sequences.empty()) return std::nullopt;
  plan.step.step_id = next_step_id_++;
  plan.step.released = std::move(released_);
  released_.clear();
  plan.record.step_id = plan.step.step_id;
  in_flight_.push_back(std::move(plan.record));
  return std::move(plan.step);
}

bool Scheduler::apply_tokens(const std::shared_ptr<SequenceState>& seq, std::span<const int32_t> tokens,
                             std::vector<SequenceUpdate>& out) {
  --seq->pending;
  SequenceUpdate update;
  update.id = seq->request.id;
  update.first_token = seq->num_output() == 0;
  if (update.first_token) update.num_cached_prompt_tokens = seq->num_cached_prompt_tokens;
  for (const int32_t token : tokens) {
    seq->tokens.push_back(token);
    update.new_tokens.push_back(token);
    if (const auto finish = check_finish(*seq, max_len_)) {
      update.finished = finish->reason;
      update.stop_token = finish->stop_token;
      break;  // tokens accepted after a stop are dropped
    }
  }
  const bool finished = update.finished.has_value();
  out.push_back(std::move(update));
  return finished;
}

void Scheduler::record_speculation(SequenceState& seq, int num_draft, int64_t accepted) {
  ++spec_drafts_;
  spec_draft_tokens_ += num_draft;
  spec_accepted_tokens_ += accepted;
  if (spec_accepted_per_position_.size() < static_cast<std::size_t>(num_draft)) spec_accepted_per_position_.resize(num_draft, 0);
  for (int64_t i = 0; i < accepted; ++i) ++spec_accepted_per_position_[static_cast<std::size_t>(i)];
  const int64_t k_max = config_.speculative.num_speculative_tokens;
  seq.spec_k = accepted == num_draft ? std::min(k_max, 2 * static_cast<int64_t>(num_draft)) : std::max<int64_t>(1, accepted + 1);
  if (accepted > 0) {
    seq.spec_backoff = 1;
  } else {
    seq.spec_skip = seq.spec_backoff;
    seq.spec_backoff = std::min(2 * seq.spec_backoff, SequenceState::kMaxSpecBackoff);
  }
}

std::vector<SequenceUpdate> Scheduler::complete(uint64_t step_id, std::span<const SampledToken> sampled) {
  if (in_flight_.empty() || in_flight_.front().step_id != step_id)
    throw std::invalid_argument("Scheduler::complete: step " + std::to_string(step_id) + " is not the oldest step in flight");
  // Each sequence's tokens are consecutive in `sampled` (several for a speculative decode).
  std::unordered_map<SeqId, std::span<const SampledToken>> tokens;
  tokens.reserve(sampled.size());
  for (std::size_t i = 0; i < sampled.size();) {
    std::size_t j = i + 1;
    while (j < sampled.size() && sampled[j].id == sampled[i].id) ++j;
    tokens[sampled[i].id] = sampled.subspan(i, j - i);
    i = j;
  }
  for (const InFlightEntry& e : in_flight_.front().entries) {
    // A retired sequence may have been left out of the step (cancelled after it was planned, or
    // failed in the executor): it has no token, and needs none.
    if (e.sample && !e.seq->retired && tokens.count(e.seq->request.id) == 0)
      throw std::invalid_argument("Scheduler::complete: no token for sequence " + std::to_string(e.seq->request.id) +
                                  " in step " + std::to_string(step_id));
  }
  const InFlightStep step = std::move(in_flight_.front());
  in_flight_.pop_front();

  std::vector<SequenceUpdate> out;
  for (SequenceUpdate& u : deferred_updates_)
    if (live_.count(u.id) != 0) out.push_back(std::move(u));  // aborted since: nothing to report
  deferred_updates_.clear();
  std::vector<int32_t> got;
  for (const InFlightEntry& e : step.entries) {
    const std::shared_ptr<SequenceState>& seq = e.seq;
    if (seq->retired) continue;  // finished or aborted meanwhile: its token is discarded
    got.clear();
    if (e.sample) {
      for (const SampledToken& t : tokens.at(seq->request.id)) got.push_back(t.token);
      if (got.empty() || static_cast<int64_t>(got.size()) > e.num_draft + 1)
        throw std::invalid_argument("Scheduler::complete: " + std::to_string(got.size()) + " tokens for sequence " +
                                    std::to_string(seq->request.id) + " in step " + std::to_string(step_id));
    }
    // A token computed before a preemption is still right: the context it saw was complete.
    const bool finished = e.sample && apply_tokens(seq, got, out);
    if (e.num_draft > 0) record_speculation(*seq, e.num_draft, static_cast<int64_t>(got.size()) - 1);
    if (e.incarnation == seq->incarnation) {
      // Same blocks as when planned: these positions are now computed and may enter the cache. A
      // speculative decode computed its input and the accepted guesses; the rest was guesswork,
      // whose blocks go back.
      const int64_t computed = e.num_draft > 0 ? static_cast<int64_t>(got.size()) : e.num_tokens;
      seq->num_computed += computed;
      if (e.num_draft > 0) {
        seq->num_scheduled = seq->num_computed;
        if (!finished) kv_.trim(seq->request.id, seq->num_computed);
      }
      // (A stop inside accepted guesses drops the tokens after it, whose positions were computed.)
      kv_.commit(seq->request.id, seq->tokens, std::min<int64_t>(seq->num_computed, static_cast<int64_t>(seq->tokens.size())));
      if (e.prompt_logprobs) {
        seq->prompt_logprobs_through = std::max(seq->prompt_logprobs_through, std::min(seq->num_computed, seq->prompt_len - 1));
      }
    }
    if (finished) retire(seq);
  }
  return out;
}

SchedulerStats Scheduler::stats() const {
  SchedulerStats s;
  s.num_running = static_cast<int64_t>(running_.size());
  s.num_waiting = static_cast<int64_t>(waiting_.size());
  s.kv_used_blocks = kv_.num_used();
  s.kv_free_blocks = kv_.num_free();
  s.kv_cached_blocks = kv_.num_cached();
  s.kv_total_blocks = kv_.num_blocks();
  s.kv_usage = kv_.usage();
  s.preemptions_total = preemptions_total_;
  s.prefix_queries_tokens = kv_.prefix_queries();
  s.prefix_hits_tokens = kv_.prefix_hits();
  s.num_steps = static_cast<int64_t>(next_step_id_);
  s.num_steps_in_flight = static_cast<int64_t>(in_flight_.size());
  s.spec_drafts = spec_drafts_;
  s.spec_draft_tokens = spec_draft_tokens_;
  s.spec_accepted_tokens = spec_accepted_tokens_;
  s.spec_accepted_per_position = spec_accepted_per_position_;
  return s;
}

}  // namespace troupe
