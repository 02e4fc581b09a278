#include "pipeline/openai/response_accumulator.hpp"

#include <stdexcept>

namespace troupe {

ResponseAccumulator::ResponseAccumulator(int n) : choices_(static_cast<std::size_t>(n)) {
  for (int i = 0; i < n; ++i) choices_[static_cast<std::size_t>(i)].index = i;
}

void ResponseAccumulator::add(const GenerationEvent& event) {
  if (event.prompt_tokens > 0) prompt_tokens_ = event.prompt_tokens;
  reasoning_opened_ = reasoning_opened_ || event.reasoning_opened;
  if (event.usage) reported_usage_ = event.usage;
  if (!event.prompt_token_ids.empty()) prompt_token_ids_ = event.prompt_token_ids;
  for (const ChoiceDelta& delta : event.choices) {
    if (delta.index < 0 || static_cast<std::size_t>(delta.index) >= choices_.size()) {
      throw std::out_of_range("engine sent a delta for choice " + std::to_string(delta.index) + " of " +
                              std::to_string(choices_.size()));
    }
    AccumulatedChoice& choice = choices_[static_cast<std::size_t>(delta.index)];
    choice.text += delta.text;
    choice.completion_tokens += static_cast<int64_t>(delta.token_ids.size());
    choice.token_ids.insert(choice.token_ids.end(), delta.token_ids.begin(), delta.token_ids.end());
    choice.logprobs.insert(choice.logprobs.end(), delta.logprobs.begin(), delta.logprobs.end());
    if (delta.finish) choice.finish = delta.finish;
    if (delta.stop_reason) choice.stop_reason = delta.stop_reason;
    if (delta.prompt_logprobs) choice.prompt_logprobs = delta.prompt_logprobs;
  }
}

Usage ResponseAccumulator::usage() const {
  if (reported_usage_) return *reported_usage_;
  Usage usage;
  usage.prompt_tokens = prompt_tokens_;
  for (const AccumulatedChoice& choice : choices_) usage.completion_tokens += choice.completion_tokens;
  return usage;
}

}  // namespace troupe
