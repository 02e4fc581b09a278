#include "gpu/backend.hpp"

#include <fstream>
#include <stdexcept>
#include <string>

namespace troupe {

// The host's memory, from /proc/meminfo: total and in use (total − available).
DeviceMemory Backend::device_memory() const {
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  int64_t value = 0, total = 0, available = 0;
  std::string unit;
  while (meminfo >> key >> value >> unit) {
    if (key == "MemTotal:") total = value * 1024;
    if (key == "MemAvailable:") available = value * 1024;
  }
  return DeviceMemory{total - available, total};
}

int64_t StepBatch::total_tokens() const {
  int64_t n = 0;
  for (const auto& s : sequences) n += static_cast<int64_t>(s.tokens.size());
  return n;
}

std::vector<int64_t> StepBatch::first_token_rows() const {
  std::vector<int64_t> rows;
  rows.reserve(sequences.size());
  int64_t row = 0;
  for (const SequenceStep& s : sequences) {
    rows.push_back(row);
    row += static_cast<int64_t>(s.tokens.size());
  }
  return rows;
}

void validate_step(const StepBatch& batch, const ModelSpec& spec, int64_t block_size, int64_t num_blocks) {
  for (std::size_t i = 0; i < batch.sequences.size(); ++i) {
    const SequenceStep& s = batch.sequences[i];
    auto invalid = [i](const std::string& reason) { return InvalidSequence(i, reason); };
    if (s.tokens.empty()) throw invalid("no tokens to run");
    if (s.num_cached < 0) throw invalid("negative cached length");
    const int64_t end = s.num_cached + static_cast<int64_t>(s.tokens.size());
    if (end > spec.max_position) {
      throw invalid("position " + std::to_string(end - 1) + " is past the model's context of " +
                    std::to_string(spec.max_position));
    }
    const int64_t blocks_needed = (end + block_size - 1) / block_size;
    if (static_cast<int64_t>(s.block_table.size()) < blocks_needed) {
      throw invalid(std::to_string(end) + " positions need " + std::to_string(blocks_needed) +
                    " KV blocks, the block table has " + std::to_string(s.block_table.size()));
    }
    for (int32_t b : s.block_table) {
      if (b < 0 || b >= num_blocks) {
        throw invalid("KV block " + std::to_string(b) + " is outside the cache of " + std::to_string(num_blocks) +
                      " blocks");
      }
    }
    for (int32_t t : s.tokens) {
      if (t < 0 || t >= spec.vocab_size) {
        throw invalid("token id " + std::to_string(t) + " is outside the vocabulary of " +
                      std::to_string(spec.vocab_size));
      }
    }
    if (spec.has_sequence_state()) {
      if (s.state_slot < 0) throw invalid("no state slot (this model keeps per-sequence state)");
      for (std::size_t j = 0; j < i; ++j) {
        if (batch.sequences[j].state_slot == s.state_slot) {
          throw invalid("state slot " + std::to_string(s.state_slot) + " is another sequence's in this step");
        }
      }
    }
  }
}

int64_t kv_blocks_for(const BackendOptions& options, const ModelSpec& spec,
                      const std::function<int64_t(int64_t head_dim)>& head_row_bytes) {
  int64_t bytes_per_token = 0;  // per plane
  for (int64_t layer = 0; layer < spec.num_layers; ++layer) {
    if (spec.stores_kv(layer)) bytes_per_token += spec.kv_heads_of(layer) * head_row_bytes(spec.head_dim_of(layer));
  }
  const int64_t bytes_per_block = spec.kv_planes() * options.kv_block_size * bytes_per_token;
  if (options.kv_cache_bytes > 0) return std::max<int64_t>(1, options.kv_cache_bytes / bytes_per_block);
  const int64_t tokens = options.max_kv_tokens > 0 ? options.max_kv_tokens : spec.max_position;
  return (tokens + options.kv_block_size - 1) / options.kv_block_size;
}

}  // namespace troupe
