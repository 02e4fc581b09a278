#pragma once
// One instrumentation mechanism for every actor: `instrumented<Base>` wraps any CAF actor type and
// measures, per actor name, the mailbox depth (enqueue +1, consume -1), the time each message
// waited in the mailbox and the time its handler took — what CAF 1.x exports as
// caf_actor_mailbox_size / caf_actor_mailbox_time_seconds / caf_actor_processing_time_seconds.
// Actors are spawned through spawn_instrumented(), which tells the new actor its name and where
// to report; handlers themselves contain no measuring code.
//
// Time in mailbox without shared state: enqueue() wraps the mailbox element in a TimedElement
// that carries its enqueue time (CAF 0.17's mailbox_element has no field for it), and consume()
// reads it back. Nothing is looked up or locked; the cost is one allocation per message
// (tools/actor_bench.cpp measures it). Depth and message totals are integer atomics that
// ActorMetrics::publish() turns into series when /metrics is collected. An element destroyed without being consumed (its actor
// ended first) takes its +1 off the depth gauge, so the gauge cannot drift.
#include <chrono>
#include <string>
#include <typeinfo>
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

namespace instrumented_detail {

// A mailbox element as sent, plus when it entered the mailbox. The routing fields (sender, message
// id, forwarding stages) move to the wrapper, which is what the actor sees; the content stays in
// the original element and is reached through it.
class TimedElement final : public caf::mailbox_element {
 public:
  TimedElement(caf::mailbox_element_ptr inner, ActorProbe* probe, ActorProbe::Clock::time_point enqueued)
      : caf::mailbox_element(std::move(inner->sender), inner->mid, std::move(inner->stages)),
        inner_(std::move(inner)),
        probe_(probe),
        enqueued_(enqueued) {}
  ~TimedElement() override {
    if (!consumed_) probe_->dropped();
  }

  caf::type_erased_tuple& content() override { return inner_->content(); }
  const caf::type_erased_tuple& content() const override { return inner_->content(); }
  caf::message move_content_to_message() override { return inner_->move_content_to_message(); }
  caf::message copy_content_to_message() const override { return inner_->copy_content_to_message(); }

  // Reports the handling of this element (once).
  void consumed(ActorProbe::Clock::time_point start, ActorProbe::Clock::time_point end) {
    if (consumed_) return;
    consumed_ = true;
    probe_->consumed(enqueued_, start, end);
  }

 private:
  caf::mailbox_element_ptr inner_;
  ActorProbe* probe_;
  ActorProbe::Clock::time_point enqueued_;
  bool consumed_ = false;
};

}  // namespace instrumented_detail

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
    if (probe_ == nullptr || ptr == nullptr) {
      Base::enqueue(std::move(ptr), eu);
      return;
    }
    if (this->getf(caf::abstract_actor::is_terminated_flag)) {
      probe_->rejected();
      Base::enqueue(std::move(ptr), eu);
      return;
    }
    // Counted before handing the element over: once enqueued it may be consumed at once.
    probe_->enqueued();
    caf::mailbox_element_ptr timed{
        new instrumented_detail::TimedElement(std::move(ptr), probe_, ActorProbe::Clock::now())};
    Base::enqueue(std::move(timed), eu);
  }

  caf::invoke_message_result consume(caf::mailbox_element& x) override {
    if (probe_ == nullptr) return Base::consume(x);
    const auto start = ActorProbe::Clock::now();
    const caf::invoke_message_result result = Base::consume(x);
    if (result != caf::invoke_message_result::skipped) {
      const auto end = ActorProbe::Clock::now();
      // Every element our enqueue() saw is a TimedElement; a type check (not a dynamic_cast) is
      // enough, since the class is final.
      if (typeid(x) == typeid(instrumented_detail::TimedElement)) {
        static_cast<instrumented_detail::TimedElement&>(x).consumed(start, end);
      } else {
        probe_->consumed_unqueued(start, end);
      }
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
