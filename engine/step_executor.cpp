#include "engine/step_executor.hpp"

#include <algorithm>
#include <chrono>
#include <climits>
#include <stdexcept>
#include <string>

namespace troupe {

StepExecutor::StepExecutor(Backend& backend, bool device_sampling)
    : backend_(backend), device_(device_sampling ? dynamic_cast<DeviceSampling*>(&backend) : nullptr) {}

StepResult StepExecutor::run(const ScheduledStep& step) {
  if (step.sequences.size() != step.batch.sequences.size()) {
    throw std::invalid_argument("StepExecutor: " + std::to_string(step.sequences.size()) + " scheduled sequences for " +
                                std::to_string(step.batch.sequences.size()) + " batch entries");
  }
  for (SeqId id : step.released) sequences_.erase(id);
  prepare(step);

  StepResult result;
  result.step_id = step.step_id;
  const auto start = std::chrono::steady_clock::now();
  if (fits_device(step)) {
    run_on_device(step, result);
  } else {
    run_on_host(step, result);
  }
  result.forward_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

void StepExecutor::prepare(const ScheduledStep& step) {
  batch_.sequences.resize(step.batch.sequences.size());
  for (std::size_t i = 0; i < step.sequences.size(); ++i) {
    const ScheduledSequence& s = step.sequences[i];
    if (s.first_time) {
      if (s.sampling == nullptr || s.prompt == nullptr) {
        throw std::invalid_argument("StepExecutor: sequence " + std::to_string(s.id) +
                                    " arrives first_time without prompt or sampling parameters");
      }
      SequenceState state{SequenceSampler(*s.sampling, *s.prompt, s.output_so_far), std::nullopt, nullptr};
      if (!s.output_so_far.empty()) state.last_token = s.output_so_far.back();
      if (s.sampling->grammar) {
        // A resumed (preempted) sequence replays what it generated so far.
        state.grammar = std::make_unique<structured_output::GrammarMatcher>(s.sampling->grammar);
        for (int32_t token : s.output_so_far) state.grammar->accept_token(token);
      }
      sequences_.insert_or_assign(s.id, std::move(state));
    }
    const auto it = sequences_.find(s.id);
    if (it == sequences_.end()) {
      throw std::invalid_argument("StepExecutor: sequence " + std::to_string(s.id) + " was never seen (first_time unset)");
    }
    SequenceStep& entry = batch_.sequences[i];
    entry = step.batch.sequences[i];
    for (int32_t& token : entry.tokens) {
      if (token != kPendingToken) continue;
      if (!it->second.last_token) {
        throw std::invalid_argument("StepExecutor: sequence " + std::to_string(s.id) +
                                    " has a pending token but nothing was sampled for it");
      }
      token = *it->second.last_token;
    }
  }
}

// The device samples every sequence of a step from its last token's logits, so the whole step
// goes there or none of it: a sequence sampled now that needs penalties or top logprobs, or an
// entry that wants every token's logits, keeps the step on the host. Entries that sample nothing
// (a prompt chunk before the last) fit either way; their draw is discarded.
bool StepExecutor::fits_device(const ScheduledStep& step) const {
  if (device_ == nullptr) return false;
  for (std::size_t i = 0; i < step.sequences.size(); ++i) {
    if (batch_.sequences[i].all_logits) return false;
    if (step.sequences[i].sample && !sequences_.at(step.sequences[i].id).sampler.can_sample_on_device()) return false;
  }
  return true;
}

void StepExecutor::run_on_device(const ScheduledStep& step, StepResult& result) {
  device_params_.assign(step.sequences.size(), DeviceSamplingParams{});  // greedy for non-sampling entries
  bool wants_logprobs = false;
  for (std::size_t i = 0; i < step.sequences.size(); ++i) {
    if (!step.sequences[i].sample) continue;
    SequenceSampler& sampler = sequences_.at(step.sequences[i].id).sampler;
    const SamplingParams& p = sampler.params();
    DeviceSamplingParams& d = device_params_[i];
    d.temperature = static_cast<float>(p.temperature);
    d.top_k = static_cast<int32_t>(std::clamp<int64_t>(p.top_k, 0, INT32_MAX));
    d.top_p = static_cast<float>(p.top_p);
    d.min_p = static_cast<float>(p.min_p);
    d.u = sampler.next_uniform();
    wants_logprobs = wants_logprobs || sampler.wants_logprobs();
  }
  if (!device_->sample(batch_, device_params_, device_tokens_, wants_logprobs ? &device_logprobs_ : nullptr)) {
    throw std::logic_error("StepExecutor: the device sampler declined a step of " +
                           std::to_string(step.sequences.size()) + " sequences with as many parameter rows");
  }
  result.sampled_on_device = true;
  for (std::size_t i = 0; i < step.sequences.size(); ++i) {
    const ScheduledSequence& s = step.sequences[i];
    if (!s.sample) continue;
    SequenceState& state = sequences_.at(s.id);
    const int32_t token = device_tokens_[i];
    state.sampler.record(token);
    state.last_token = token;
    result.tokens.push_back({s.id, token});
    std::optional<TokenLogprobs> lp;
    if (state.sampler.wants_logprobs()) lp = TokenLogprobs{token, device_logprobs_[i], {}};
    result.logprobs.push_back(std::move(lp));
  }
}

void StepExecutor::run_on_host(const ScheduledStep& step, StepResult& result) {
  backend_.forward(batch_, logits_);
  for (std::size_t i = 0; i < step.sequences.size(); ++i) {
    const ScheduledSequence& s = step.sequences[i];
    if (!s.sample) continue;
    SequenceState& state = sequences_.at(s.id);
    // The sequence's last new token is the one whose logits predict the next token.
    const SequenceStep& entry = batch_.sequences[i];
    const int64_t row = logits_.first_row[i] + (entry.all_logits ? static_cast<int64_t>(entry.tokens.size()) - 1 : 0);
    const std::span<float> logits(logits_.values.data() + row * logits_.vocab, static_cast<std::size_t>(logits_.vocab));
    // The mask goes on the logits themselves, before sampling and logprobs, as vLLM applies its
    // grammar bitmask: reported logprobs are those of the constrained distribution.
    if (state.grammar) apply_grammar(state, logits);
    const int32_t token = state.sampler.sample(logits);
    if (state.grammar) state.grammar->accept_token(token);
    state.last_token = token;
    result.tokens.push_back({s.id, token});
    const auto& wanted = state.sampler.params().logprobs;
    result.logprobs.push_back(wanted ? std::optional(compute_logprobs(logits, token, *wanted)) : std::nullopt);
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
