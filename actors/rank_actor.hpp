#pragma once
// Tensor-parallel ranks as actors: one detached actor per rank of an engine's group
// (gpu/parallel/tensor_parallel_backend.hpp), named troupe.executor.<engine>.rank.<r> so that
// each has its own mailbox depth, time in mailbox and processing time (labelled rank="<r>"). The
// engine's executor actor runs a step by posting each rank its part and waiting for all of them.
#include <memory>
#include <string>

#include <caf/fwd.hpp>

#include "gpu/parallel/rank_runner.hpp"
#include "telemetry/actor_metrics.hpp"

namespace troupe {

// Spawns `ranks` rank actors; the runner sends each its jobs and, when destroyed (after the last
// step that used it), stops them.
std::shared_ptr<RankRunner> spawn_rank_actors(caf::actor_system& system, ActorMetrics* metrics,
                                              const std::string& executor_name, int ranks);

}  // namespace troupe
