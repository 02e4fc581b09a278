#pragma once
// How close one engine is to a limit, per resource, each as a value from 0 (idle) to 1 (at the
// limit): troupe_engine_saturation{engine, resource}. The largest of the four is the one number to
// autoscale on (docs/METRICS.md, "Saturation"); each alone says which limit is near.
//
//   kv_blocks      KV blocks referenced by sequences / all KV blocks (vllm:kv_cache_usage_perc)
//   running_slots  running sequences / --max-num-seqs
//   step_tokens    tokens the last steps computed / their token budget (--max-num-batched-tokens),
//                  averaged over the last kStepWindow steps; 0 once the engine is idle
//   waiting_queue  waiting sequences / --max-queue-len (at 1, new requests get 503)
//
// Pure arithmetic over the scheduler's state after each step or admission: the telemetry actor feeds
// it, tests feed it directly.
#include <array>
#include <cstdint>
#include <string_view>

namespace troupe {

struct EngineLimits {
  int64_t max_running = 0;        // --max-num-seqs
  int64_t max_waiting = 0;        // --max-queue-len
  int64_t step_token_budget = 0;  // --max-num-batched-tokens
};

// The scheduler's state as one snapshot reports it.
struct EngineLoadSample {
  int64_t running = 0, waiting = 0;
  int64_t kv_used = 0, kv_total = 0;
  bool step = false;         // a step completed with this snapshot
  int64_t step_tokens = 0;   // tokens that step computed (prefill + decode)
};

struct EngineSaturation {
  double kv_blocks = 0, running_slots = 0, step_tokens = 0, waiting_queue = 0;
  double max() const;
};

class SaturationTracker {
 public:
  static constexpr std::size_t kStepWindow = 8;
  static constexpr std::array<std::string_view, 4> kResources{"kv_blocks", "running_slots", "step_tokens", "waiting_queue"};

  explicit SaturationTracker(EngineLimits limits) : limits_(limits) {}
  // Takes one snapshot and returns the saturation after it.
  EngineSaturation update(const EngineLoadSample& sample);

 private:
  EngineLimits limits_;
  std::array<int64_t, kStepWindow> recent_{};  // tokens of the last steps, a ring
  std::size_t steps_ = 0;                      // steps in the ring (<= kStepWindow)
  std::size_t next_ = 0;
};

}  // namespace troupe
