#pragma once
// The per-sequence state of a model's recurrent layers (ModelSpec::has_sequence_state): for each
// state slot (SequenceStep::state_slot) and each such layer, what the layer carries from one step
// of a sequence to the next — a convolution's last inputs, a delta net's matrices.
#include <array>
#include <cstdint>
#include <vector>

#include "gpu/backend.hpp"

namespace troupe::cpu {

// Every slot's state is kept twice: a step reads a sequence's state from the current copy and
// writes the new one into the other, and commit() makes those current once the whole forward pass
// has succeeded. A step that throws midway leaves every sequence's state as it was, so its
// sequences can run again (engine/isolated_forward.hpp reruns the ones not at fault).
class SequenceStates {
 public:
  // `layer_floats[l]`: floats of one sequence's state in layer l (0 for a layer without one).
  explicit SequenceStates(const std::vector<int64_t>& layer_floats);
  // Makes room for every slot of `batch` (slots are small integers: storage grows to the largest).
  void reserve(const StepBatch& batch);
  const float* current(int64_t layer, int32_t slot) const { return at(copy(slot), layer, slot); }
  float* next(int64_t layer, int32_t slot) { return at(1 - copy(slot), layer, slot); }
  // The batch's sequences' next copies become current.
  void commit(const StepBatch& batch);
  int64_t bytes() const;
  int64_t bytes_per_slot() const { return 2 * per_slot_ * static_cast<int64_t>(sizeof(float)); }  // both copies

 private:
  int copy(int32_t slot) const { return current_copy_[static_cast<std::size_t>(slot)]; }
  float* at(int c, int64_t layer, int32_t slot) const {
    return const_cast<float*>(copies_[static_cast<std::size_t>(c)].data()) + slot * per_slot_ +
           offset_[static_cast<std::size_t>(layer)];
  }

  std::vector<int64_t> offset_;  // of each layer's state within a slot's
  int64_t per_slot_ = 0;
  std::array<std::vector<float>, 2> copies_;  // [slot][layer's floats]
  std::vector<int> current_copy_;             // per slot: 0 or 1
};

}  // namespace troupe::cpu
