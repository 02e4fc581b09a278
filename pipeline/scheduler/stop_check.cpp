#include "pipeline/scheduler/stop_check.hpp"

#include <algorithm>

namespace troupe {

namespace {

bool contains(const std::vector<int32_t>& ids, int32_t token) {
  return std::find(ids.begin(), ids.end(), token) != ids.end();
}

}  // namespace

std::optional<FinishDecision> check_finish(const SequenceState& seq, int64_t max_len) {
  const SequenceRequest& r = seq.request;
  const int64_t generated = seq.num_output();
  if (generated <= 0) return std::nullopt;
  const int32_t token = seq.tokens.back();
  if (generated >= r.min_tokens && (contains(r.eos_token_ids, token) || contains(r.stop_token_ids, token)))
    return FinishDecision{FinishReason::Stop, token};
  if (generated >= r.max_new_tokens || static_cast<int64_t>(seq.tokens.size()) >= max_len)
    return FinishDecision{FinishReason::Length, std::nullopt};
  return std::nullopt;
}

bool reaches_length_limit(const SequenceState& seq, int64_t max_len) {
  return seq.num_output() + seq.pending >= seq.request.max_new_tokens || seq.total_len() >= max_len;
}

}  // namespace troupe
