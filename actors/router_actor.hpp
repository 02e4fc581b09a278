#pragma once
// The router actor (with --data-parallel-size > 1): places each request on the scheduler/executor
// pair with the least load. Load is what the schedulers last reported (running and waiting
// sequences, KV usage) plus the requests routed there since that report, so that a burst arriving
// between two reports is spread instead of piling onto one engine.
#include <vector>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "telemetry/actor_metrics.hpp"

namespace troupe {

// Answers `route` with the chosen engine's index (int); takes `stats` snapshots from every scheduler.
caf::actor spawn_router(caf::actor_system& system, ActorMetrics* metrics, int engines);

// The choice itself, pure: index of the least loaded engine (lowest index on ties).
struct EngineLoad {
  int64_t running = 0;
  int64_t waiting = 0;
  double kv_usage = 0.0;          // 0..1
  int64_t routed_since_report = 0;
};
int least_loaded(const std::vector<EngineLoad>& engines);

}  // namespace troupe
