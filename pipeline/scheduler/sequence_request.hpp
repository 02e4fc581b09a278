#pragma once
// One sequence handed to the scheduler: one choice of one request, already tokenized.
#include <cstdint>
#include <memory>
#include <vector>

#include "pipeline/kv/sequence_id.hpp"
#include "pipeline/sampling/sampler.hpp"

namespace troupe {

struct SequenceRequest {
  SeqId id = 0;
  std::shared_ptr<const std::vector<int32_t>> prompt;  // non-empty; shared by the n choices
  SamplingParams sampling;                             // passed through to the executor untouched
  int64_t max_new_tokens = 16;  // >= 1, already capped so prompt + max_new_tokens <= max_model_len
  int64_t min_tokens = 0;       // eos and stop ids do not finish the sequence before this many tokens
  std::vector<int32_t> eos_token_ids;   // empty when ignore_eos
  std::vector<int32_t> stop_token_ids;
};

enum class AddResult {
  Accepted,
  QueueFull,  // max_waiting sequences already wait: answer 503, retry later
  TooLong,    // the prompt leaves no room for one new token within max_model_len or the whole cache
};

}  // namespace troupe
