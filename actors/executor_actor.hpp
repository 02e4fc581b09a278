#pragma once
// The executor actor: the only code that touches a device. It runs on its own thread (spawned
// detached) because a step blocks for as long as the device computes. It answers each StepOrder
// with a StepReport; a backend exception becomes a failed report, not a dead actor, so the
// scheduler can fail the step's requests and carry on.
#include <functional>
#include <memory>

#include <caf/fwd.hpp>

#include "gpu/backend.hpp"
#include "pipeline/scheduler/cancelled_sequences.hpp"
#include "telemetry/actor_metrics.hpp"

namespace troupe {

struct ExecutorActorConfig {
  std::shared_ptr<Backend> backend;
  std::shared_ptr<Backend> draft;  // speculative decoding's draft model, or null
  // Shared with the scheduler actor: sequences aborted after their step was sent are left out.
  std::shared_ptr<CancelledSequences> cancelled;
};

// Spawned detached: its own thread, since a step blocks on the device.
caf::actor spawn_executor(caf::actor_system& system, ActorMetrics* metrics, const std::string& name,
                          ExecutorActorConfig config);

}  // namespace troupe
