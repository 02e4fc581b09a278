#include "engine/step_executor.hpp"

#include <chrono>
#include <stdexcept>
#include <string>

namespace troupe {

StepExecutor::StepExecutor(Backend& backend) : backend_(backend) {}

StepResult StepExecutor::run(const ScheduledStep& step) {
  if (step.sequences.size() != step.batch.sequences.size()) {
    throw std::invalid_argument("StepExecutor: " + std::to_string(step.sequences.size()) + " scheduled sequences for " +
                                std::to_string(step.batch.sequences.size()) + " batch entries");
  }
  for (SeqId id : step.released) sequences_.erase(id);

  // State for newcomers, then the batch with pending tokens filled in.
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

  StepResult result;
  result.step_id = step.step_id;
  const auto start = std::chrono::steady_clock::now();
  backend_.forward(batch_, logits_);
  result.forward_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

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
  return result;
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
