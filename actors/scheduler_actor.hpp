#pragma once
// The scheduler actor: owns the Scheduler policy and the KV block accounting of one executor. It
// keeps up to two steps in flight — it plans step N+1 while the executor runs step N — routes each
// step's tokens to the request actors that own the sequences, and supervises the executor.
#include <atomic>
#include <functional>
#include <memory>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "pipeline/scheduler/cancelled_sequences.hpp"
#include "pipeline/scheduler/scheduler.hpp"
#include "telemetry/actor_metrics.hpp"

namespace troupe {

struct SchedulerActorConfig {
  SchedulerConfig scheduler;
  // Spawns (and, after a crash, respawns) the executor this scheduler drives.
  std::function<caf::actor()> spawn_executor;
  // Shared with that executor: aborted sequences it must leave out of steps already sent.
  std::shared_ptr<CancelledSequences> cancelled;
  caf::actor telemetry;
  caf::actor router;  // null with one engine
  int engine = 0;     // this pair's index
  std::shared_ptr<std::atomic<bool>> healthy;  // false while the executor is down
  std::function<void()> on_executor_restart;    // telemetry: count the restart
  std::function<void(bool)> on_executor_up;     // telemetry: troupe_executor_up
};

caf::actor spawn_scheduler(caf::actor_system& system, ActorMetrics* metrics, const std::string& name,
                           SchedulerActorConfig config);

}  // namespace troupe
