#pragma once
// The reference greedy loop the engine and model tests compare against: one sequence straight on a
// backend, no scheduler, no sampler state — prefill the prompt, then one token per step; and the
// logits of every position of a prompt in one step.
#include <cstdint>
#include <numeric>
#include <vector>

#include "gpu/backend.hpp"
#include "pipeline/sampling/sampler.hpp"

namespace troupe::test {

// `n` greedy tokens after `prompt`; the sequence lives in KV blocks 0 .. blocks-1.
inline std::vector<int32_t> greedy_on_backend(Backend& backend, const std::vector<int32_t>& prompt, int64_t n,
                                              int64_t blocks) {
  SequenceStep seq;
  seq.state_slot = 0;  // for a model with per-sequence state (LFM2)
  seq.block_table.resize(static_cast<std::size_t>(blocks));
  std::iota(seq.block_table.begin(), seq.block_table.end(), 0);
  seq.tokens = prompt;
  std::vector<int32_t> out;
  StepLogits logits;
  while (static_cast<int64_t>(out.size()) < n) {
    StepBatch batch;
    batch.sequences = {seq};
    backend.forward(batch, logits);
    out.push_back(argmax({logits.row(0), static_cast<std::size_t>(logits.vocab)}));
    seq.num_cached += static_cast<int64_t>(seq.tokens.size());
    seq.tokens = {out.back()};
  }
  return out;
}

// The logits of every row of `ids` run as one step from an empty cache (all KV blocks available).
inline StepLogits all_logits(Backend& backend, const std::vector<int32_t>& ids) {
  SequenceStep seq;
  seq.state_slot = 0;
  seq.tokens = ids;
  seq.block_table.resize(static_cast<std::size_t>(backend.kv_num_blocks()));
  std::iota(seq.block_table.begin(), seq.block_table.end(), 0);
  seq.all_logits = true;
  StepBatch batch;
  batch.sequences = {seq};
  StepLogits out;
  backend.forward(batch, out);
  return out;
}

// The logits of every row of each of `seqs`, one step from an empty cache, each sequence in the
// next blocks in order.
inline StepLogits all_logits(Backend& backend, const std::vector<std::vector<int32_t>>& seqs) {
  StepBatch batch;
  int32_t next_block = 0;
  for (const auto& ids : seqs) {
    SequenceStep s;
    s.tokens = ids;
    s.all_logits = true;
    const int64_t blocks = (static_cast<int64_t>(ids.size()) + backend.kv_block_size() - 1) / backend.kv_block_size();
    for (int64_t b = 0; b < blocks; ++b) s.block_table.push_back(next_block++);
    batch.sequences.push_back(std::move(s));
  }
  StepLogits out;
  backend.forward(batch, out);
  return out;
}

}  // namespace troupe::test
