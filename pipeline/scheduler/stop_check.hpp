#pragma once
// Token-level finish rules, applied after a sampled token is appended to a sequence.
#include <cstdint>
#include <optional>

#include "pipeline/request/generation_event.hpp"
#include "pipeline/scheduler/sequence_state.hpp"

namespace troupe {

struct FinishDecision {
  FinishReason reason = FinishReason::Stop;
  std::optional<int32_t> stop_token;
};

// `seq.tokens` already ends with the new token. Eos and stop ids count only once min_tokens tokens
// exist, and win over Length when the same token hits both (the model did stop there). Length:
// max_new_tokens generated, or `max_len` tokens in all (max_model_len capped by the cache size).
std::optional<FinishDecision> check_finish(const SequenceState& seq, int64_t max_len);

// True when the sequence will reach a Length limit once its in-flight tokens are known, so
// scheduling it again would compute a token that is thrown away.
bool reaches_length_limit(const SequenceState& seq, int64_t max_len);

}  // namespace troupe
