#include "gpu/cpu/sequence_states.hpp"

#include <algorithm>

namespace troupe::cpu {

SequenceStates::SequenceStates(const std::vector<int64_t>& layer_floats) {
  for (const int64_t n : layer_floats) {
    offset_.push_back(per_slot_);
    per_slot_ += n;
  }
}

void SequenceStates::reserve(const StepBatch& batch) {
  int32_t slots = static_cast<int32_t>(current_copy_.size());
  for (const SequenceStep& s : batch.sequences) slots = std::max(slots, s.state_slot + 1);
  if (slots == static_cast<int32_t>(current_copy_.size())) return;
  current_copy_.resize(static_cast<std::size_t>(slots), 0);
  for (auto& c : copies_) c.resize(static_cast<std::size_t>(slots * per_slot_), 0.0f);
}

void SequenceStates::commit(const StepBatch& batch) {
  for (const SequenceStep& s : batch.sequences) {
    int& c = current_copy_[static_cast<std::size_t>(s.state_slot)];
    c = 1 - c;
  }
}

int64_t SequenceStates::bytes() const {
  return static_cast<int64_t>((copies_[0].size() + copies_[1].size()) * sizeof(float));
}

}  // namespace troupe::cpu
