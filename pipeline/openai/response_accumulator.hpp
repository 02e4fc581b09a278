#pragma once
// Collects a request's events into whole choices and usage, for non-streaming responses.
#include <optional>
#include <string>
#include <vector>

#include "pipeline/request/generation_event.hpp"

namespace troupe {

struct AccumulatedChoice {
  int index = 0;
  std::string text;
  int64_t completion_tokens = 0;
  std::vector<TokenLogprob> logprobs;
  std::optional<FinishReason> finish;
  std::optional<StopReason> stop_reason;
  std::vector<int32_t> token_ids;
  std::optional<PromptLogprobs> prompt_logprobs;
};

class ResponseAccumulator {
 public:
  explicit ResponseAccumulator(int n);

  // Appends one event's deltas. Deltas for an index outside [0, n) are a bug in the engine and
  // are reported by throwing std::out_of_range, which the server turns into a 500.
  void add(const GenerationEvent& event);

  const std::vector<AccumulatedChoice>& choices() const { return choices_; }
  // The final event's usage when it carried one; otherwise counted from the events.
  Usage usage() const;
  // Each prompt's token ids, when the engine sent them (return_token_ids); choice c's prompt is
  // c / (choices / prompts).
  const std::vector<std::vector<int32_t>>& prompt_token_ids() const { return prompt_token_ids_; }
  // The engine said the chat prompt ended inside an opened reasoning block (GenerationEvent).
  bool reasoning_opened() const { return reasoning_opened_; }

 private:
  std::vector<AccumulatedChoice> choices_;
  std::optional<Usage> reported_usage_;
  int64_t prompt_tokens_ = 0;
  std::vector<std::vector<int32_t>> prompt_token_ids_;
  bool reasoning_opened_ = false;
};

}  // namespace troupe
