#pragma once
// What Scheduler::complete() reports for one sequence.
#include <cstdint>
#include <optional>
#include <vector>

#include "pipeline/kv/sequence_id.hpp"
#include "pipeline/request/generation_event.hpp"

namespace troupe {

struct SequenceUpdate {
  SeqId id = 0;
  std::vector<int32_t> new_tokens;      // 0 or 1 token (several from a speculative decode), in order;
                                        // a stopping eos / stop id is included, nothing after it
  std::optional<FinishReason> finished;  // Stop (eos or stop id) or Length (max_new_tokens,
                                         // max_model_len, or the whole KV cache); retired at once
  std::optional<int32_t> stop_token;     // the eos / stop id that finished it
  bool first_token = false;              // new_tokens holds its first generated token
  int64_t num_cached_prompt_tokens = 0;  // with first_token: prompt tokens found in the prefix cache
  bool preempted = false;  // its blocks were taken back; it waits to be recomputed (tokens kept)
};

}  // namespace troupe
