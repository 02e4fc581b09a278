#pragma once
// One instrumentation mechanism for every actor: `instrumented<Base>` wraps any CAF actor type and
// measures, per actor name, the mailbox depth (enqueue +1, consume -1), the time each message
// waited in the mailbox and the time its handler took — what CAF 1.x exports as
// caf_actor_mailbox_size / caf_actor_mailbox_time_seconds / caf_actor_processing_time_seconds.
// Actors are spawned through spawn_instrumented(), which tells the new actor its name and where
// to report; handlers themselves contain no measuring code.
#include <chrono>
#include <string>
#include <utility>

#include <caf/actor_system.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/scheduled_actor.hpp>

#include "telemetry/actor_metrics.hpp"

namespace troupe {

// What the actor being constructed on this thread reports as. Set by spawn_instrumented around
// the (synchronous) construction inside caf::actor_system::spawn.
struct SpawnContext {
  ActorMetrics* metrics = nullptr;
  const std::string* name = nullptr;
};
inline thread_local SpawnContext current_spawn_context;

template <class Base>
class instrumented : public Base {
 public:
  template <class... Ts>
  explicit instrumented(caf::actor_config& cfg, Ts&&... xs) : Base(cfg, std::forward<Ts>(xs)...) {
    const SpawnContext ctx = current_spawn_context;
    if (ctx.metrics != nullptr && ctx.name != nullptr) {
      metrics_ = ctx.metrics;
      probe_ = &ctx.metrics->probe(*ctx.name);
      metrics_->actor_started();
    }
  }

  ~instrumented() override {
    if (metrics_ != nullptr) metrics_->actor_stopped();
  }

  using Base::enqueue;

  void enqueue(caf::mailbox_element_ptr ptr, caf::execution_unit* eu) override {
    if (probe_ != nullptr) {
      if (this->getf(caf::abstract_actor::is_terminated_flag)) {
        probe_->rejected();
      } else {
        // Recorded before handing the element over: once enqueued it may be consumed (and freed)
        // by a worker thread at once.
        probe_->enqueued(ptr.get());
      }
    }
    Base::enqueue(std::move(ptr), eu);
  }

  caf::invoke_message_result consume(caf::mailbox_element& x) override {
    if (probe_ == nullptr) return Base::consume(x);
    const auto start = std::chrono::steady_clock::now();
    const caf::invoke_message_result result = Base::consume(x);
    if (result != caf::invoke_message_result::skipped) {
      probe_->consumed(&x, start, std::chrono::steady_clock::now());
    }
    return result;
  }

 private:
  ActorMetrics* metrics_ = nullptr;
  ActorProbe* probe_ = nullptr;
};

// Spawns `fun` (whose first parameter is an instrumented<...>* self) reporting as `name`.
// Without metrics the actor runs uninstrumented in effect (no probe).
template <caf::spawn_options Os = caf::no_spawn_options, class F, class... Ts>
caf::actor spawn_instrumented(caf::actor_system& system, ActorMetrics* metrics, const std::string& name, F fun,
                              Ts&&... xs) {
  const SpawnContext saved = current_spawn_context;
  current_spawn_context = SpawnContext{metrics, &name};
  caf::actor result = system.spawn<Os>(fun, std::forward<Ts>(xs)...);
  current_spawn_context = saved;
  return result;
}

}  // namespace troupe
