#pragma once
// How a StepBatch becomes passes through the model on the device, on the host and without CUDA.
// The device works with fixed-size buffers (so that captured CUDA graphs keep valid pointers), so
// a step larger than them is split into sub-steps: a sequence's tokens may be cut between two
// sub-steps, which is exact because every sub-step stores its keys and values in the cache before
// attending, so the later piece reads the earlier one's from the cache as if it had been cached
// in a previous step.
//
// The flattened metadata of one sub-step is what the kernels index (cuda_kernels.hpp):
// per token its id, position, owning sequence and cache slot; per sequence the offset of its
// block table inside the concatenated tables; per logits row the token it is computed from.
#include <cstdint>
#include <vector>

#include "gpu/backend.hpp"

namespace troupe::cuda {

struct StepLimits {
  int64_t max_tokens = 0;     // tokens per sub-step (activation buffers)
  int64_t max_sequences = 0;  // sequences per sub-step
  int64_t max_rows = 0;       // logits rows per sub-step (logits buffer)
};

struct SubStep {
  std::vector<int32_t> ids, positions, token_seq, slots;  // per token
  std::vector<int32_t> table_offsets;                      // per sequence of this sub-step
  std::vector<int32_t> block_tables;                       // the sequences' tables, concatenated
  std::vector<int32_t> logit_rows;                         // per logits row: its token index
  std::vector<int32_t> row_sequence;                       // per logits row: index into batch.sequences

  int64_t tokens() const { return static_cast<int64_t>(ids.size()); }
  int64_t sequences() const { return static_cast<int64_t>(table_offsets.size()); }
  int64_t rows() const { return static_cast<int64_t>(logit_rows.size()); }
};

// Splits `batch` (already validated) into sub-steps within `limits`, in order: the logits rows of
// the sub-steps, concatenated, are the step's rows in StepLogits order (every new token of an
// all_logits sequence, else its last). With `last_only`, every sequence yields exactly its last
// token's row, whatever all_logits says (on-device sampling). Only the blocks covering each
// sequence's positions are copied into block_tables.
std::vector<SubStep> plan_step(const StepBatch& batch, int64_t block_size, const StepLimits& limits,
                               bool last_only = false);

// True when every sequence runs exactly one token (a pure decode step).
bool is_decode_step(const StepBatch& batch);

// Pads a decode sub-step to `size` sequences (for a CUDA graph captured at that size): each pad
// sequence runs token 0 at position 0 in slot 0 of `pad_block`, a block no sequence owns, and
// yields one logits row that nobody reads.
void pad_decode(SubStep& step, int64_t size, int32_t pad_block, int64_t block_size);

}  // namespace troupe::cuda
