#include "engine/step_executor.hpp"

#include <chrono>
#include <stdexcept>
#include <string>

#include "engine/isolated_forward.hpp"

namespace troupe {

StepExecutor::StepExecutor(Backend& backend) : backend_(backend) {}

std::optional<std::string> StepExecutor::prepare(const ScheduledSequence& s, const SequenceStep& scheduled,
                                                 SequenceStep& entry) {
  if (s.first_time) {
    if (s.sampling == nullptr || s.prompt == nullptr) {
      return "arrives first_time without prompt or sampling parameters";
    }
    SequenceState state{SequenceSampler(*s.sampling, *s.prompt, s.output_so_far), std::nullopt};
    if (!s.output_so_far.empty()) state.last_token = s.output_so_far.back();
    sequences_.insert_or_assign(s.id, std::move(state));
    failed_.erase(s.id);
  }
  const auto it = sequences_.find(s.id);
  if (it == sequences_.end()) return "was never seen (first_time unset)";
  entry = scheduled;
  for (int32_t& token : entry.tokens) {
    if (token != kPendingToken) continue;
    if (!it->second.last_token) return "has a pending token but nothing was sampled for it";
    token = *it->second.last_token;
  }
  return std::nullopt;
}

void StepExecutor::fail(SeqId id, std::string reason, StepResult& result) {
  sequences_.erase(id);
  failed_.insert(id);
  result.failed.push_back({id, std::move(reason)});
}

StepResult StepExecutor::run(const ScheduledStep& step) {
  if (step.sequences.size() != step.batch.sequences.size()) {
    throw std::invalid_argument("StepExecutor: " + std::to_string(step.sequences.size()) + " scheduled sequences for " +
                                std::to_string(step.batch.sequences.size()) + " batch entries");
  }
  for (SeqId id : step.released) {
    sequences_.erase(id);
    failed_.erase(id);
  }
  StepResult result;
  result.step_id = step.step_id;

  // The batch of the sequences that can run, pending tokens filled in. One that failed in an earlier
  // step (and is still scheduled because the step after it was planned in the meantime) is left out
  // quietly: its failure is reported already.
  batch_.sequences.resize(step.sequences.size());
  runnable_.clear();
  for (std::size_t i = 0; i < step.sequences.size(); ++i) {
    const ScheduledSequence& s = step.sequences[i];
    if (!s.first_time && failed_.contains(s.id)) continue;
    if (auto problem = prepare(s, step.batch.sequences[i], batch_.sequences[runnable_.size()])) {
      fail(s.id, "sequence " + std::to_string(s.id) + " " + *problem, result);
      continue;
    }
    runnable_.push_back(i);
  }
  batch_.sequences.resize(runnable_.size());
  if (runnable_.empty()) return result;

  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  Clock::duration sampling{0};
  const std::vector<SequenceFault> faults = forward_isolating(
      backend_, batch_, logits_, [&](std::span<const std::size_t> indices, const StepLogits& logits) {
        const auto sampling_start = Clock::now();
        for (std::size_t row_group = 0; row_group < indices.size(); ++row_group) {
          const std::size_t k = indices[row_group];
          const ScheduledSequence& s = step.sequences[runnable_[k]];
          if (!s.sample) continue;
          // The sequence's last new token is the one whose logits predict the next token.
          const SequenceStep& entry = batch_.sequences[k];
          const int64_t row =
              logits.first_row[row_group] + (entry.all_logits ? static_cast<int64_t>(entry.tokens.size()) - 1 : 0);
          const std::span<const float> row_logits(logits.row(row), static_cast<std::size_t>(logits.vocab));
          try {
            SequenceState& state = sequences_.at(s.id);
            const int32_t token = state.sampler.sample(row_logits);
            const auto& wanted = state.sampler.params().logprobs;
            std::optional<TokenLogprobs> logprobs;
            if (wanted) logprobs = compute_logprobs(row_logits, token, *wanted);
            state.last_token = token;
            result.tokens.push_back({s.id, token});
            result.logprobs.push_back(std::move(logprobs));
          } catch (const std::exception& e) {
            fail(s.id, std::string("sampling failed: ") + e.what(), result);
          }
        }
        sampling += Clock::now() - sampling_start;
      });
  result.forward_seconds = std::chrono::duration<double>(Clock::now() - start - sampling).count();
  std::vector<bool> faulted(runnable_.size(), false);
  for (const SequenceFault& fault : faults) {
    faulted[fault.index] = true;
    fail(step.sequences[runnable_[fault.index]].id, fault.reason, result);
  }
  for (std::size_t k = 0; k < runnable_.size(); ++k) {
    if (faulted[k]) continue;
    const auto tokens = static_cast<int64_t>(batch_.sequences[k].tokens.size());
    (step.sequences[runnable_[k]].decode ? result.decode_tokens : result.prefill_tokens) += tokens;
  }
  return result;
}

}  // namespace troupe
