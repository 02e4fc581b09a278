#include "telemetry/actor_metrics.hpp"

namespace troupe {

namespace {

// CAF 1.x's default buckets for both actor histograms.
const prometheus::Histogram::BucketBoundaries kActorBuckets{1e-5, 1e-4, 5e-4, 1e-3, 1e-2, 0.1, 0.5, 1, 5};

}  // namespace

ActorProbe::ActorProbe(prometheus::Gauge& mailbox_size, prometheus::Histogram& mailbox_time,
                       prometheus::Histogram& processing_time, prometheus::Counter& processed, prometheus::Counter& rejected,
                       prometheus::Counter& restarts)
    : mailbox_size_(mailbox_size),
      mailbox_time_(mailbox_time),
      processing_time_(processing_time),
      processed_(processed),
      rejected_(rejected),
      restarts_(restarts) {}

void ActorProbe::enqueued(const void* element) {
  const auto now = std::chrono::steady_clock::now();
  mailbox_size_.Increment();
  std::lock_guard lock(mutex_);
  enqueued_at_[element] = now;
}

void ActorProbe::consumed(const void* element, std::chrono::steady_clock::time_point start,
                          std::chrono::steady_clock::time_point end) {
  std::optional<std::chrono::steady_clock::time_point> queued;
  {
    std::lock_guard lock(mutex_);
    if (auto it = enqueued_at_.find(element); it != enqueued_at_.end()) {
      queued = it->second;
      enqueued_at_.erase(it);
    }
  }
  // Messages CAF itself puts in the mailbox before our enqueue sees them (none in practice) have
  // no enqueue time and no depth increment.
  if (queued) {
    mailbox_size_.Decrement();
    mailbox_time_.Observe(std::chrono::duration<double>(start - *queued).count());
  }
  processing_time_.Observe(std::chrono::duration<double>(end - start).count());
  processed_.Increment();
}

void ActorProbe::rejected() { rejected_.Increment(); }
void ActorProbe::restarted() { restarts_.Increment(); }

ActorMetrics::ActorMetrics(prometheus::Registry& registry)
    : mailbox_size_(prometheus::BuildGauge().Name("caf_actor_mailbox_size").Help("Number of messages in the mailbox.").Register(registry)),
      mailbox_time_(prometheus::BuildHistogram()
                        .Name("caf_actor_mailbox_time_seconds")
                        .Help("Time a message waits in the mailbox before processing.")
                        .Register(registry)),
      processing_time_(prometheus::BuildHistogram()
                           .Name("caf_actor_processing_time_seconds")
                           .Help("Time an actor needs to process messages.")
                           .Register(registry)),
      restarts_(prometheus::BuildCounter().Name("troupe_actor_restarts_total").Help("Actor restarts after a failure.").Register(registry)),
      processed_(prometheus::BuildCounter()
                     .Name("caf_system_processed_messages_total")
                     .Help("Number of processed messages.")
                     .Register(registry)
                     .Add({})),
      rejected_(prometheus::BuildCounter()
                    .Name("caf_system_rejected_messages_total")
                    .Help("Number of rejected messages (sent to terminated actors).")
                    .Register(registry)
                    .Add({})),
      running_(prometheus::BuildGauge().Name("caf_system_running_actors").Help("Number of currently running actors.").Register(registry).Add({})) {}

ActorProbe& ActorMetrics::probe(const std::string& name) {
  std::lock_guard lock(mutex_);
  auto& slot = probes_[name];
  if (!slot) {
    const prometheus::Labels labels{{"name", name}};
    slot = std::make_unique<ActorProbe>(mailbox_size_.Add(labels), mailbox_time_.Add(labels, kActorBuckets),
                                        processing_time_.Add(labels, kActorBuckets), processed_, rejected_,
                                        restarts_.Add(labels));
  }
  return *slot;
}

void ActorMetrics::actor_started() { running_.Increment(); }
void ActorMetrics::actor_stopped() { running_.Decrement(); }

}  // namespace troupe
