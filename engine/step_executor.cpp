#include "engine/step_executor.hpp"

#include <algorithm>
#include <chrono>
#include <climits>
#include <stdexcept>
#include <string>

#include "engine/isolated_forward.hpp"

namespace troupe {

StepExecutor::StepExecutor(Backend& backend, bool device_sampling, std::shared_ptr<Backend> draft)
    : backend_(backend),
      draft_(draft ? std::make_unique<DraftModelProposer>(std::move(draft), backend) : nullptr),
      device_(device_sampling ? dynamic_cast<DeviceSampling*>(&backend) : nullptr) {}

StepResult StepExecutor::run(const ScheduledStep& step) {
  if (step.sequences.size() != step.batch.sequences.size()) {
    throw std::invalid_argument("StepExecutor: " + std::to_string(step.sequences.size()) + " scheduled sequences for " +
                                std::to_string(step.batch.sequences.size()) + " batch entries");
  }
  for (SeqId id : step.released) {
    forget(id);
    failed_.erase(id);
    if (draft_) draft_->forget(id);
  }
  StepResult result;
  result.step_id = step.step_id;
  prepare(step, result);
  make_draft_guesses(step);
  if (runnable_.empty()) return result;

  const auto start = std::chrono::steady_clock::now();
  bool done = false;
  if (fits_device(step)) {
    try {
      run_on_device(step, result);
      done = true;
    } catch (const std::exception&) {
      // The device ran the step whole or not at all: the host path finds the sequences at fault.
      // (Their uniforms for this step were drawn already: a seeded sequence's stream moves on by one.)
      result.tokens.clear();
      result.logprobs.clear();
      result.sampled_on_device = false;
    }
  }
  if (!done) run_on_host(step, result);
  result.forward_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  // What was computed: the runnable sequences, less those the host path found at fault.
  for (std::size_t k = 0; k < runnable_.size(); ++k) {
    const ScheduledSequence& s = step.sequences[runnable_[k]];
    if (failed_.contains(s.id)) continue;
    const auto tokens = static_cast<int64_t>(batch_.sequences[k].tokens.size());
    (s.decode ? result.decode_tokens : result.prefill_tokens) += tokens;
  }
  return result;
}

void StepExecutor::make_draft_guesses(const ScheduledStep& step) {
  draft_requests_.clear();
  for (std::size_t k = 0; k < runnable_.size(); ++k) {
    SequenceStep& entry = batch_.sequences[k];
    if (entry.tokens.size() < 2 || entry.tokens[1] != kDraftToken) continue;
    const ScheduledSequence& s = step.sequences[runnable_[k]];
    const SequenceState& state = sequences_.at(s.id);
    if (!draft_ || static_cast<int64_t>(state.tokens.size()) != entry.num_cached + 1 || state.tokens.back() != entry.tokens[0]) {
      entry.tokens.resize(1);  // no draft model, or a history that does not end in the input: no guesses
      continue;
    }
    draft_requests_.push_back(DraftRequest{s.id, state.tokens, &entry.block_table,
                                           std::span<int32_t>(entry.tokens).subspan(1)});
  }
  if (draft_requests_.empty()) return;
  try {
    draft_->propose(draft_requests_);
  } catch (const std::exception&) {
    // The draft model could not run: the guesses it did not make are dropped, those it made stand
    // (any guess is as exact as another), and its state of these sequences is rebuilt next time.
    for (const DraftRequest& r : draft_requests_) draft_->forget(r.id);
    for (std::size_t k = 0; k < runnable_.size(); ++k) {
      std::vector<int32_t>& tokens = batch_.sequences[k].tokens;
      tokens.erase(std::find(tokens.begin(), tokens.end(), kDraftToken), tokens.end());
    }
  }
}

void StepExecutor::prepare(const ScheduledStep& step, StepResult& result) {
  // One that failed in an earlier step (and is still scheduled because the step after it was
  // planned in the meantime) is left out quietly: its failure is reported already.
  batch_.sequences.resize(step.sequences.size());
  runnable_.clear();
  for (std::size_t i = 0; i < step.sequences.size(); ++i) {
    const ScheduledSequence& s = step.sequences[i];
    if (!s.first_time && failed_.contains(s.id)) continue;
    if (auto problem = prepare_one(s, step.batch.sequences[i], batch_.sequences[runnable_.size()])) {
      fail(s.id, "sequence " + std::to_string(s.id) + " " + *problem, result);
      continue;
    }
    runnable_.push_back(i);
  }
  batch_.sequences.resize(runnable_.size());
}

std::optional<std::string> StepExecutor::prepare_one(const ScheduledSequence& s, const SequenceStep& scheduled,
                                                     SequenceStep& entry) {
  if (s.first_time) {
    if (s.sampling == nullptr || s.prompt == nullptr) {
      return "arrives first_time without prompt or sampling parameters";
    }
    SequenceState state{SequenceSampler(*s.sampling, *s.prompt, s.output_so_far), std::nullopt, nullptr, std::nullopt, s.prompt, {}};
    if (!s.output_so_far.empty()) state.last_token = s.output_so_far.back();
    if (draft_) {
      state.tokens = *s.prompt;
      state.tokens.insert(state.tokens.end(), s.output_so_far.begin(), s.output_so_far.end());
      draft_->forget(s.id);
    }
    if (s.sampling->grammar) {
      // A resumed (preempted) sequence replays what it generated so far.
      state.grammar = std::make_unique<structured_output::GrammarMatcher>(s.sampling->grammar);
      state.grammar_after = s.sampling->grammar_after;
      for (int32_t token : s.output_so_far) advance_grammar(state, token);
    }
    if (backend_.spec().has_sequence_state()) {
      // A sequence seen again without a release keeps its slot: its first step starts it afresh.
      if (const auto old = sequences_.find(s.id); old != sequences_.end()) {
        state.state_slot = old->second.state_slot;
      } else if (!free_slots_.empty()) {
        state.state_slot = free_slots_.back();
        free_slots_.pop_back();
      } else {
        state.state_slot = slots_made_++;
      }
    }
    sequences_.insert_or_assign(s.id, std::move(state));
    failed_.erase(s.id);
  }
  const auto it = sequences_.find(s.id);
  if (it == sequences_.end()) return "was never seen (first_time unset)";
  entry = scheduled;
  entry.state_slot = it->second.state_slot;
  for (int32_t& token : entry.tokens) {
    if (token != kPendingToken) continue;
    if (!it->second.last_token) return "has a pending token but nothing was sampled for it";
    token = *it->second.last_token;
  }
  return std::nullopt;
}

void StepExecutor::fail(SeqId id, std::string reason, StepResult& result) {
  forget(id);
  if (draft_) draft_->forget(id);
  failed_.insert(id);
  result.failed.push_back({id, std::move(reason)});
}

void StepExecutor::forget(SeqId id) {
  const auto it = sequences_.find(id);
  if (it == sequences_.end()) return;
  if (it->second.state_slot >= 0) free_slots_.push_back(it->second.state_slot);
  sequences_.erase(it);
}

// The device samples every sequence of a step from its last token's logits, so the whole step
// goes there or none of it: a sequence sampled now that needs penalties or top logprobs, or an
// entry that wants every token's logits, keeps the step on the host. Entries that sample nothing
// (a prompt chunk before the last) fit either way; their draw is discarded.
bool StepExecutor::fits_device(const ScheduledStep& step) const {
  if (device_ == nullptr) return false;
  for (std::size_t k = 0; k < runnable_.size(); ++k) {
    const ScheduledSequence& s = step.sequences[runnable_[k]];
    if (batch_.sequences[k].all_logits) return false;
    if (s.sample && !sequences_.at(s.id).sampler.can_sample_on_device()) return false;
  }
  return true;
}

void StepExecutor::run_on_device(const ScheduledStep& step, StepResult& result) {
  device_params_.assign(runnable_.size(), DeviceSamplingParams{});  // greedy for non-sampling entries
  bool wants_logprobs = false;
  for (std::size_t k = 0; k < runnable_.size(); ++k) {
    const ScheduledSequence& s = step.sequences[runnable_[k]];
    if (!s.sample) continue;
    SequenceSampler& sampler = sequences_.at(s.id).sampler;
    const SamplingParams& p = sampler.params();
    DeviceSamplingParams& d = device_params_[k];
    d.temperature = static_cast<float>(p.temperature);
    d.top_k = static_cast<int32_t>(std::clamp<int64_t>(p.top_k, 0, INT32_MAX));
    d.top_p = static_cast<float>(p.top_p);
    d.min_p = static_cast<float>(p.min_p);
    d.u = sampler.next_uniform();
    wants_logprobs = wants_logprobs || sampler.wants_logprobs();
  }
  if (!device_->sample(batch_, device_params_, device_tokens_, wants_logprobs ? &device_logprobs_ : nullptr)) {
    throw std::logic_error("StepExecutor: the device sampler declined a step of " +
                           std::to_string(runnable_.size()) + " sequences with as many parameter rows");
  }
  result.sampled_on_device = true;
  for (std::size_t k = 0; k < runnable_.size(); ++k) {
    const ScheduledSequence& s = step.sequences[runnable_[k]];
    if (!s.sample) continue;
    SequenceState& state = sequences_.at(s.id);
    const int32_t token = device_tokens_[k];
    state.sampler.record(token);
    state.last_token = token;
    if (draft_) state.tokens.push_back(token);
    result.tokens.push_back({s.id, token});
    std::optional<TokenLogprobs> lp;
    if (state.sampler.wants_logprobs()) lp = TokenLogprobs{token, device_logprobs_[k], {}};
    result.logprobs.push_back(std::move(lp));
  }
}

void StepExecutor::run_on_host(const ScheduledStep& step, StepResult& result) {
  const std::vector<SequenceFault> faults = forward_isolating(
      backend_, batch_, logits_, [&](std::span<const std::size_t> indices, StepLogits& logits) {
        for (std::size_t group = 0; group < indices.size(); ++group) {
          const std::size_t k = indices[group];
          const ScheduledSequence& s = step.sequences[runnable_[k]];
          const SequenceStep& entry = batch_.sequences[k];
          if (entry.all_logits && !s.decode) {
            try {
              const SequenceState& state = sequences_.at(s.id);
              if (state.sampler.params().prompt_logprobs) {
                PromptLogprobsChunk chunk = prompt_logprobs(s.id, state, entry, logits, logits.first_row[group]);
                if (!chunk.tokens.empty()) result.prompt_logprobs.push_back(std::move(chunk));
              }
            } catch (const std::exception& e) {
              fail(s.id, std::string("prompt logprobs failed: ") + e.what(), result);
              continue;
            }
          }
          if (!s.sample) continue;
          try {
            if (s.num_draft > 0 && entry.all_logits) {
              verify(s, entry, logits, logits.first_row[group], result);
            } else {
              // The sequence's last new token is the one whose logits predict the next token.
              const int64_t row =
                  logits.first_row[group] + (entry.all_logits ? static_cast<int64_t>(entry.tokens.size()) - 1 : 0);
              sample_row(s.id, sequences_.at(s.id), logits, row, result);
            }
          } catch (const std::exception& e) {
            fail(s.id, std::string("sampling failed: ") + e.what(), result);
          }
        }
      });
  for (const SequenceFault& fault : faults) fail(step.sequences[runnable_[fault.index]].id, fault.reason, result);
}

int32_t StepExecutor::sample_row(SeqId id, SequenceState& state, StepLogits& logits, int64_t row, StepResult& result) {
  const std::span<float> row_logits(logits.values.data() + row * logits.vocab, static_cast<std::size_t>(logits.vocab));
  // The mask goes on the logits themselves, before sampling and logprobs, as vLLM applies its
  // grammar bitmask: reported logprobs are those of the constrained distribution.
  if (grammar_applies(state)) apply_grammar(state, row_logits);
  const int32_t token = state.sampler.sample(row_logits);
  advance_grammar(state, token);
  const auto& wanted = state.sampler.params().logprobs;
  std::optional<TokenLogprobs> logprobs;
  if (wanted) logprobs = compute_logprobs(row_logits, token, *wanted);
  state.last_token = token;
  if (draft_) state.tokens.push_back(token);
  result.tokens.push_back({id, token});
  result.logprobs.push_back(std::move(logprobs));
  return token;
}

// Row i of a speculative entry holds the target's logits after the input and guesses d_1..d_i.
// Sampling row i as an ordinary decode would, and going on only while the sample equals the next
// guess, yields exactly the tokens plain decoding would give for the same uniforms: a guess is
// kept with probability p(d_i), and on a miss the token drawn is distributed as p without d_i,
// renormalized — the rejection-sampling rule for a proposal that is a single token (q = 1 at
// d_i). So greedy output is identical token for token, and a seeded sequence draws the same
// uniforms, in the same order, as without speculation. Penalties, the grammar and logprobs see
// each accepted token before the next row is sampled.
void StepExecutor::verify(const ScheduledSequence& s, const SequenceStep& entry, StepLogits& logits, int64_t first_row,
                          StepResult& result) {
  SequenceState& state = sequences_.at(s.id);
  // The entry's guesses (fewer than s.num_draft when the draft model could not make them).
  const auto guesses = static_cast<int>(entry.tokens.size()) - 1;
  for (int i = 0; i <= guesses; ++i) {
    const int32_t token = sample_row(s.id, state, logits, first_row + i, result);
    if (i == guesses || token != entry.tokens[static_cast<std::size_t>(i) + 1]) break;
    // A grammar that took its stop id has nothing after it; the scheduler drops what follows a stop.
    if (grammar_applies(state) && state.grammar->terminated()) break;
  }
}

PromptLogprobsChunk StepExecutor::prompt_logprobs(SeqId id, const SequenceState& state, const SequenceStep& entry,
                                                  const StepLogits& logits, int64_t first_row) const {
  PromptLogprobsChunk chunk;
  chunk.id = id;
  chunk.first_position = entry.num_cached + 1;
  const std::vector<int32_t>& prompt = *state.prompt;
  const int top_n = *state.sampler.params().prompt_logprobs;
  const auto rows = static_cast<int64_t>(entry.tokens.size());
  for (int64_t j = 0; j < rows; ++j) {
    const int64_t predicted = entry.num_cached + j + 1;  // row j predicts this position's token
    if (predicted >= static_cast<int64_t>(prompt.size())) break;  // the sampled token's row, or recomputed output
    const std::span<const float> row(logits.row(first_row + j), static_cast<std::size_t>(logits.vocab));
    chunk.tokens.push_back(compute_logprobs(row, prompt[static_cast<std::size_t>(predicted)], top_n));
  }
  return chunk;
}

void StepExecutor::advance_grammar(SequenceState& state, int32_t token) {
  if (!state.grammar) return;
  if (!state.grammar_after) {
    state.grammar->accept_token(token);
  } else if (token == *state.grammar_after) {
    state.grammar_after.reset();  // the grammar applies from the next token on
  }
}

void StepExecutor::apply_grammar(SequenceState& state, std::span<float> row) {
  state.grammar->fill_next_token_mask(grammar_mask_);
  // A vocabulary that cannot spell what the grammar needs next would leave nothing to sample:
  // end the sequence instead (the stop ids), rather than sample a token the grammar rejects.
  if (grammar_mask_.count() == 0) {
    for (int32_t id : state.grammar->grammar().vocabulary().stop_ids()) grammar_mask_.set(id);
  }
  apply_token_mask(row, grammar_mask_);
}

}  // namespace troupe
