#pragma once
// Limits of one scheduler (one executor). Names follow vLLM's flags of the same meaning.
#include <cstdint>

namespace troupe {

struct SchedulerConfig {
  int64_t max_num_seqs = 256;             // sequences running at once (prefilling or decoding)
  int64_t max_num_batched_tokens = 2048;  // token budget of one step (prefill chunks + decodes)
  int64_t max_model_len = 2048;           // prompt + output tokens of one sequence
  int64_t block_size = 16;                // KV token slots per block
  int64_t num_blocks = 0;                 // KV blocks of the executor's cache
  bool enable_prefix_caching = true;
  int64_t max_waiting = 1024;             // admission queue bound: add() answers QueueFull beyond it
};

}  // namespace troupe
