#include "telemetry/actor_metrics.hpp"

namespace troupe {

namespace {

// CAF 1.x's default buckets for both actor histograms.
const prometheus::Histogram::BucketBoundaries kActorBuckets{1e-5, 1e-4, 5e-4, 1e-3, 1e-2, 0.1, 0.5, 1, 5};

}  // namespace

ActorProbe::ActorProbe(prometheus::Gauge& mailbox_size, prometheus::Histogram& mailbox_time,
                       prometheus::Histogram& processing_time, prometheus::Counter& restarts)
    : mailbox_size_(mailbox_size), mailbox_time_(mailbox_time), processing_time_(processing_time), restarts_(restarts) {}

void ActorProbe::consumed(Clock::time_point enqueued, Clock::time_point start, Clock::time_point end) {
  depth_.fetch_sub(1, std::memory_order_relaxed);
  mailbox_time_.Observe(std::chrono::duration<double>(start - enqueued).count());
  consumed_unqueued(start, end);
}

void ActorProbe::consumed_unqueued(Clock::time_point start, Clock::time_point end) {
  processing_time_.Observe(std::chrono::duration<double>(end - start).count());
  processed_.fetch_add(1, std::memory_order_relaxed);
}

void ActorProbe::restarted() { restarts_.Increment(); }

void ActorProbe::publish() { mailbox_size_.Set(static_cast<double>(depth())); }

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
    prometheus::Labels labels{{"name", name}};
    // A tensor-parallel rank's actor (troupe.executor.<engine>.rank.<r>) also says its rank.
    if (const auto at = name.rfind(".rank."); at != std::string::npos) labels["rank"] = name.substr(at + 6);
    slot = std::make_unique<ActorProbe>(mailbox_size_.Add(labels), mailbox_time_.Add(labels, kActorBuckets),
                                        processing_time_.Add(labels, kActorBuckets), restarts_.Add(labels));
  }
  return *slot;
}

void ActorMetrics::actor_started() { running_.Increment(); }
void ActorMetrics::actor_stopped() { running_.Decrement(); }

void ActorMetrics::publish() {
  std::lock_guard lock(mutex_);
  uint64_t processed = 0, rejected = 0;
  for (auto& [name, probe] : probes_) {
    probe->publish();
    processed += probe->processed();
    rejected += probe->rejected_count();
  }
  // Counters only move forward: add what was counted since the last publish.
  if (processed > processed_published_) processed_.Increment(static_cast<double>(processed - processed_published_));
  if (rejected > rejected_published_) rejected_.Increment(static_cast<double>(rejected - rejected_published_));
  processed_published_ = processed;
  rejected_published_ = rejected;
}

}  // namespace troupe
