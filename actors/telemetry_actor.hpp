#pragma once
// The telemetry actor: takes scheduler statistics after every step and sets the gauges (saturation
// included), and on a one-second tick samples process and device metrics. Metric writes thus stay off the scheduler's path, and
// /metrics (served from the registry by the HTTP layer) always reads a consistent set.
#include <memory>

#include <caf/fwd.hpp>

#include "gpu/backend.hpp"
#include "telemetry/actor_metrics.hpp"
#include "telemetry/device_metrics.hpp"
#include "telemetry/engine_saturation.hpp"
#include "telemetry/process_metrics.hpp"
#include "telemetry/serving_metrics.hpp"

namespace troupe {

struct TelemetryActorConfig {
  std::vector<std::shared_ptr<ServingMetrics>> engines;  // indexed by EngineSnapshot::engine
  std::shared_ptr<ProcessMetrics> process;
  std::shared_ptr<DeviceMetrics> devices;
  std::vector<std::shared_ptr<Backend>> backends;  // one per engine, sampled for device metrics
  std::vector<EngineLimits> limits;                // one per engine: what saturation is relative to
};

caf::actor spawn_telemetry(caf::actor_system& system, ActorMetrics* metrics, TelemetryActorConfig config);

}  // namespace troupe
