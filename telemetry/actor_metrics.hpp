#pragma once
// Per-actor metrics with CAF 1.x's names, labels and buckets (caf_actor_mailbox_size,
// caf_actor_mailbox_time_seconds, caf_actor_processing_time_seconds labelled `name`, and the
// caf_system_* totals). CAF 0.17 measures none of this itself: actors/instrumented.hpp feeds these
// probes from every actor's enqueue and consume.
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

namespace troupe {

// The metrics of one actor name (all request actors share one probe: names never carry ids).
class ActorProbe {
 public:
  ActorProbe(prometheus::Gauge& mailbox_size, prometheus::Histogram& mailbox_time, prometheus::Histogram& processing_time,
             prometheus::Counter& processed, prometheus::Counter& rejected, prometheus::Counter& restarts);

  // Enqueue time of a message, keyed by its mailbox element, until the actor takes it.
  void enqueued(const void* element);
  // The actor finished handling `element`, which it took at `start`.
  void consumed(const void* element, std::chrono::steady_clock::time_point start,
                std::chrono::steady_clock::time_point end);
  // A message sent to an actor that had already terminated.
  void rejected();
  void restarted();

 private:
  prometheus::Gauge& mailbox_size_;
  prometheus::Histogram& mailbox_time_;
  prometheus::Histogram& processing_time_;
  prometheus::Counter& processed_;
  prometheus::Counter& rejected_;
  prometheus::Counter& restarts_;
  std::mutex mutex_;
  std::unordered_map<const void*, std::chrono::steady_clock::time_point> enqueued_at_;
};

class ActorMetrics {
 public:
  explicit ActorMetrics(prometheus::Registry& registry);

  // The probe for actors called `name` ("troupe.scheduler.0"), created on first use.
  ActorProbe& probe(const std::string& name);
  void actor_started();
  void actor_stopped();

 private:
  prometheus::Family<prometheus::Gauge>& mailbox_size_;
  prometheus::Family<prometheus::Histogram>& mailbox_time_;
  prometheus::Family<prometheus::Histogram>& processing_time_;
  prometheus::Family<prometheus::Counter>& restarts_;
  prometheus::Counter& processed_;
  prometheus::Counter& rejected_;
  prometheus::Gauge& running_;
  std::mutex mutex_;
  std::unordered_map<std::string, std::unique_ptr<ActorProbe>> probes_;
};

}  // namespace troupe
