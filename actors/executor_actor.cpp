#include "actors/executor_actor.hpp"

#include <caf/all.hpp>

#include "actors/instrumented.hpp"
#include "actors/messages/atoms.hpp"
#include "actors/messages/scheduler_messages.hpp"

namespace troupe {

namespace {

caf::behavior executor_behavior(instrumented<caf::event_based_actor>* self, ExecutorActorConfig config) {
  auto executor = std::make_shared<StepExecutor>(*config.backend, true, config.draft);
  return {
      [self, executor, config](atoms::run_step, const StepOrder& order) mutable {
        StepReport report;
        report.step_id = order.step->step_id;
        try {
          std::shared_ptr<const ScheduledStep> step = order.step;
          if (config.cancelled) step = config.cancelled->without_cancelled(std::move(step));
          report.result = std::make_shared<const StepResult>(executor->run(*step));
        } catch (const std::exception& e) {
          report.error = e.what();
          // The sequences of a failed step are finished by the scheduler; drop their state here so
          // a later sequence with a recycled id starts clean.
          executor = std::make_shared<StepExecutor>(*config.backend, true, config.draft);
        }
        self->send(caf::actor_cast<caf::actor>(self->current_sender()), atoms::step_done::value, std::move(report));
      },
  };
}

}  // namespace

caf::actor spawn_executor(caf::actor_system& system, ActorMetrics* metrics, const std::string& name,
                          ExecutorActorConfig config) {
  return spawn_instrumented<caf::detached>(system, metrics, name, executor_behavior, std::move(config));
}

}  // namespace troupe
