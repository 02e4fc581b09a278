// troupe_engine_saturation's arithmetic: each resource as a share of its limit, clamped to 0..1;
// the step token budget averaged over the last steps and emptied when the engine goes idle.
#include <catch2/catch.hpp>

#include "telemetry/engine_saturation.hpp"

namespace troupe {

TEST_CASE("saturation: each resource against its limit", "[telemetry]") {
  SaturationTracker s(EngineLimits{8, 100, 512});
  const EngineSaturation v = s.update(EngineLoadSample{2, 25, 30, 120, false, 0});
  CHECK(v.running_slots == Approx(0.25));
  CHECK(v.waiting_queue == Approx(0.25));
  CHECK(v.kv_blocks == Approx(0.25));
  CHECK(v.step_tokens == 0);
  CHECK(v.max() == Approx(0.25));
  // Beyond a limit (preempted sequences back in the queue, say) reads as 1, not more.
  const EngineSaturation full = s.update(EngineLoadSample{8, 150, 120, 120, false, 0});
  CHECK(full.running_slots == 1);
  CHECK(full.waiting_queue == 1);
  CHECK(full.kv_blocks == 1);
}

TEST_CASE("saturation: step tokens over the last steps, reset when idle", "[telemetry]") {
  SaturationTracker s(EngineLimits{8, 100, 100});
  CHECK(s.update(EngineLoadSample{1, 0, 1, 10, true, 100}).step_tokens == Approx(1.0));
  CHECK(s.update(EngineLoadSample{1, 0, 1, 10, true, 20}).step_tokens == Approx(0.6));
  // A snapshot without a step leaves the window as it is.
  CHECK(s.update(EngineLoadSample{1, 1, 1, 10, false, 0}).step_tokens == Approx(0.6));
  // Only the last kStepWindow steps count.
  EngineSaturation v;
  for (std::size_t i = 0; i < SaturationTracker::kStepWindow; ++i) v = s.update(EngineLoadSample{1, 0, 1, 10, true, 10});
  CHECK(v.step_tokens == Approx(0.1));
  // Idle: nothing running or waiting. No step will follow, so the value drops to 0 now.
  v = s.update(EngineLoadSample{0, 0, 0, 10, true, 50});
  CHECK(v.step_tokens == 0);
  CHECK(v.max() == 0);
  CHECK(s.update(EngineLoadSample{1, 0, 1, 10, true, 50}).step_tokens == Approx(0.5));
}

TEST_CASE("saturation: limits of zero read as no saturation", "[telemetry]") {
  SaturationTracker s(EngineLimits{});
  const EngineSaturation v = s.update(EngineLoadSample{3, 3, 0, 0, true, 10});
  CHECK(v.max() == 0);
}

}  // namespace troupe
