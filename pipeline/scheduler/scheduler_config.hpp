#pragma once
// Limits of one scheduler (one executor). Names follow vLLM's flags of the same meaning.
#include <cstdint>

#include "pipeline/speculative/speculative_config.hpp"

namespace troupe {

struct SchedulerConfig {
  int64_t max_num_seqs = 256;             // sequences running at once (prefilling or decoding)
  int64_t max_num_batched_tokens = 2048;  // token budget of one step (prefill chunks + decodes)
  int64_t max_model_len = 2048;           // prompt + output tokens of one sequence
  int64_t block_size = 16;                // KV token slots per block
  int64_t num_blocks = 0;                 // KV blocks of the executor's cache
  bool enable_prefix_caching = true;
  // Fair prefill (see scheduler.hpp). While a step shares the engine (it carries decodes, or other
  // requests wait or prefill), its prompt tokens are capped so that at the measured cost per prompt
  // token they take at most this long; at least one KV block of them always runs. 0: no time cap
  // (chunks only by the token budget). `troupe serve` sets 0.05 (--prefill-budget-ms 50).
  double prefill_budget_seconds = 0.0;
  // A prompt with more tokens left than this is long: a waiting short prompt is admitted before a
  // long prompt's next chunk. 0: max_num_batched_tokens (long = cannot finish in one step).
  int64_t long_prefill_token_threshold = 0;
  // Admission queue bound: add() answers QueueFull when this many sequences wait beyond those that
  // free running slots will take at the next step.
  int64_t max_waiting = 1024;
  // Speculative decoding (--speculative-config): off unless enabled(). While it is in use (at most
  // speculative.batch_size_limit() sequences decode), one step is in flight at a time, so every
  // sequence's tokens are known when its next step is planned and proposals can be made from them.
  SpeculativeConfig speculative;
};

}  // namespace troupe
