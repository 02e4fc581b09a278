#include "gpu/cuda/step_plan.hpp"

#include <algorithm>
#include <stdexcept>

namespace troupe::cuda {

std::vector<SubStep> plan_step(const StepBatch& batch, int64_t block_size, const StepLimits& limits,
                               bool last_only) {
  if (limits.max_tokens <= 0 || limits.max_sequences <= 0 || limits.max_rows <= 0) {
    throw std::invalid_argument("plan_step: every limit must be positive");
  }
  std::vector<SubStep> plan;
  SubStep current;
  const auto flush = [&] {
    if (current.tokens() > 0) plan.push_back(std::move(current));
    current = SubStep{};
  };
  for (std::size_t i = 0; i < batch.sequences.size(); ++i) {
    const SequenceStep& s = batch.sequences[i];
    const auto n = static_cast<int64_t>(s.tokens.size());
    const bool every_row = s.all_logits && !last_only;
    int64_t done = 0;
    while (done < n) {
      if (current.sequences() == limits.max_sequences || current.tokens() == limits.max_tokens ||
          current.rows() == limits.max_rows) {
        flush();
      }
      int64_t piece = std::min(n - done, limits.max_tokens - current.tokens());
      if (every_row) piece = std::min(piece, limits.max_rows - current.rows());

      const int64_t end = s.num_cached + done + piece;  // positions covered once this piece is stored
      const int64_t blocks = (end + block_size - 1) / block_size;
      const auto seq_local = static_cast<int32_t>(current.sequences());
      current.table_offsets.push_back(static_cast<int32_t>(current.block_tables.size()));
      current.block_tables.insert(current.block_tables.end(), s.block_table.begin(), s.block_table.begin() + blocks);
      for (int64_t j = done; j < done + piece; ++j) {
        const int64_t pos = s.num_cached + j;
        if (every_row || j == n - 1) {
          current.logit_rows.push_back(static_cast<int32_t>(current.tokens()));
          current.row_sequence.push_back(static_cast<int32_t>(i));
        }
        current.ids.push_back(s.tokens[static_cast<std::size_t>(j)]);
        current.positions.push_back(static_cast<int32_t>(pos));
        current.token_seq.push_back(seq_local);
        current.slots.push_back(static_cast<int32_t>(s.block_table[static_cast<std::size_t>(pos / block_size)] * block_size +
                                                     pos % block_size));
      }
      done += piece;
    }
  }
  flush();
  return plan;
}

bool is_decode_step(const StepBatch& batch) {
  return std::all_of(batch.sequences.begin(), batch.sequences.end(),
                     [](const SequenceStep& s) { return s.tokens.size() == 1; });
}

void pad_decode(SubStep& step, int64_t size, int32_t pad_block, int64_t block_size) {
  if (step.sequences() != step.tokens() || step.rows() != step.tokens()) {
    throw std::invalid_argument("pad_decode: not a decode sub-step (one token and one row per sequence)");
  }
  if (size < step.sequences()) throw std::invalid_argument("pad_decode: cannot pad to fewer sequences");
  for (int64_t k = step.sequences(); k < size; ++k) {
    step.table_offsets.push_back(static_cast<int32_t>(step.block_tables.size()));
    step.block_tables.push_back(pad_block);
    step.logit_rows.push_back(static_cast<int32_t>(step.tokens()));
    step.row_sequence.push_back(-1);
    step.ids.push_back(0);
    step.positions.push_back(0);
    step.token_seq.push_back(static_cast<int32_t>(k));
    step.slots.push_back(static_cast<int32_t>(static_cast<int64_t>(pad_block) * block_size));
  }
}

}  // namespace troupe::cuda
