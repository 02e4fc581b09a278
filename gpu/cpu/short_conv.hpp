#pragma once
// LFM2's short convolution over a step's sequences (ModelSpec::short_conv), and the per-sequence
// state it carries from one step to the next. A layer's convolution reads, per channel, the
// current row of B ⊙ x' and the kernel − 1 rows before it in the same sequence; those earlier rows
// may belong to previous steps, so each sequence keeps its last kernel − 1 rows per layer.
#include <array>
#include <cstdint>
#include <vector>

#include "gpu/backend.hpp"
#include "gpu/cpu/thread_pool.hpp"

namespace troupe::cpu {

// The last kernel − 1 rows of B ⊙ x' of each state slot (SequenceStep::state_slot), for every
// convolution layer, kept twice: a step reads a sequence's rows from the current copy and writes
// its new rows into the other, and commit() makes those current once the whole forward pass has
// succeeded. A step that throws midway leaves every sequence's state as it was, so its sequences
// can run again (engine/isolated_forward.hpp reruns the ones not at fault).
class ConvStates {
 public:
  // `layers` convolution layers, each state `rows` (kernel − 1) rows of `width` (hidden) floats.
  ConvStates(int64_t layers, int64_t rows, int64_t width);
  // Makes room for every slot of `batch` (slots are small integers: storage grows to the largest).
  void reserve(const StepBatch& batch);
  const float* current(int64_t layer, int32_t slot) const { return at(copy(slot), layer, slot); }
  float* next(int64_t layer, int32_t slot) { return at(1 - copy(slot), layer, slot); }
  // The batch's sequences' next copies become current.
  void commit(const StepBatch& batch);
  int64_t bytes() const;

 private:
  int copy(int32_t slot) const { return current_copy_[static_cast<std::size_t>(slot)]; }
  float* at(int c, int64_t layer, int32_t slot) const {
    return const_cast<float*>(copies_[static_cast<std::size_t>(c)].data()) + (slot * layers_ + layer) * per_state_;
  }

  int64_t layers_, per_state_;
  std::array<std::vector<float>, 2> copies_;  // [slot][layer][rows][width]
  std::vector<int> current_copy_;             // per slot: 0 or 1
};

// One layer's convolution over the step's tokens (rows of `batch`'s sequences, in order).
//   bcx    [tokens, 3 width]: B, C and x' of each token (in_proj's output, its bias added)
//   taps   [width, kernel]: each channel's weights, the oldest position's first
//   bias   [width] or nullptr
//   out    [tokens, width]: C_t ⊙ (bias + Σ_k taps[k] · (B ⊙ x')_{t − kernel + 1 + k})
// Rows before a sequence's first position are zero; those before this step's first token come from
// `states` (layer `layer`'s current copy; a sequence at num_cached 0 starts from zeros), and each
// sequence's last kernel − 1 rows go into the next copy.
void short_conv(const float* bcx, const StepBatch& batch, const float* taps, const float* bias, int64_t kernel,
                int64_t width, ConvStates& states, int64_t layer, float* out, ThreadPool* pool);

}  // namespace troupe::cpu
