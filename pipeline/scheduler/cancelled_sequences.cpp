#include "pipeline/scheduler/cancelled_sequences.hpp"

#include <algorithm>

namespace troupe {

void CancelledSequences::add(SeqId id, uint64_t newest_step) {
  const std::lock_guard lock(mutex_);
  auto [it, inserted] = newest_step_.try_emplace(id, newest_step);
  if (!inserted) it->second = std::max(it->second, newest_step);
}

std::shared_ptr<const ScheduledStep> CancelledSequences::without_cancelled(std::shared_ptr<const ScheduledStep> step) {
  std::vector<std::size_t> keep;
  {
    const std::lock_guard lock(mutex_);
    // Steps run in order: a record whose newest step is older than this one can never match again.
    std::erase_if(newest_step_, [&](const auto& entry) { return entry.second < step->step_id; });
    if (newest_step_.empty()) return step;
    keep.reserve(step->sequences.size());
    for (std::size_t i = 0; i < step->sequences.size(); ++i) {
      if (!newest_step_.contains(step->sequences[i].id)) keep.push_back(i);
    }
  }
  if (keep.size() == step->sequences.size()) return step;
  auto filtered = std::make_shared<ScheduledStep>();
  filtered->step_id = step->step_id;
  filtered->released = step->released;
  for (std::size_t i : keep) {
    filtered->sequences.push_back(step->sequences[i]);
    filtered->batch.sequences.push_back(step->batch.sequences[i]);
    const auto tokens = static_cast<int64_t>(step->batch.sequences[i].tokens.size());
    (step->sequences[i].decode ? filtered->decode_tokens : filtered->prefill_tokens) += tokens;
  }
  return filtered;
}

std::size_t CancelledSequences::size() const {
  const std::lock_guard lock(mutex_);
  return newest_step_.size();
}

}  // namespace troupe
