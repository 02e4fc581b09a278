#pragma once
// Per-actor metrics with CAF 1.x's names, labels and buckets (caf_actor_mailbox_size,
// caf_actor_mailbox_time_seconds, caf_actor_processing_time_seconds labelled `name`, and the
// caf_system_* totals). CAF 0.17 measures none of this itself: actors/instrumented.hpp feeds these
// probes from every actor's enqueue and consume.
//
// Cost on the message path: a probe keeps no per-message state (the enqueue time travels with the
// message) and takes no lock. Mailbox depth and the processed-message total are plain integer
// atomics that publish() copies into their gauge and counter when /metrics is collected, so the
// hot path never runs prometheus-cpp's compare-and-swap loops on shared doubles for them; the two
// histograms are observed per message.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
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
  using Clock = std::chrono::steady_clock;

  ActorProbe(prometheus::Gauge& mailbox_size, prometheus::Histogram& mailbox_time, prometheus::Histogram& processing_time,
             prometheus::Counter& restarts);

  // A message entered the mailbox.
  void enqueued() noexcept { depth_.fetch_add(1, std::memory_order_relaxed); }
  // The actor handled a message that entered its mailbox at `enqueued`, from `start` to `end`.
  void consumed(Clock::time_point enqueued, Clock::time_point start, Clock::time_point end);
  // The actor handled a message that did not pass through enqueued() (processing time only).
  void consumed_unqueued(Clock::time_point start, Clock::time_point end);
  // A message left the mailbox unhandled (its actor terminated first).
  void dropped() noexcept { depth_.fetch_sub(1, std::memory_order_relaxed); }
  // A message sent to an actor that had already terminated.
  void rejected() noexcept { rejected_.fetch_add(1, std::memory_order_relaxed); }
  void restarted();

  int64_t depth() const noexcept { return depth_.load(std::memory_order_relaxed); }
  uint64_t processed() const noexcept { return processed_.load(std::memory_order_relaxed); }
  uint64_t rejected_count() const noexcept { return rejected_.load(std::memory_order_relaxed); }
  // Copies the depth into caf_actor_mailbox_size.
  void publish();

 private:
  prometheus::Gauge& mailbox_size_;
  prometheus::Histogram& mailbox_time_;
  prometheus::Histogram& processing_time_;
  prometheus::Counter& restarts_;
  std::atomic<int64_t> depth_{0};
  std::atomic<uint64_t> processed_{0};
  std::atomic<uint64_t> rejected_{0};
};

class ActorMetrics {
 public:
  explicit ActorMetrics(prometheus::Registry& registry);

  // The probe for actors called `name` ("troupe.scheduler.0"), created on first use.
  ActorProbe& probe(const std::string& name);
  void actor_started();
  void actor_stopped();
  // Brings the mailbox-size gauges and the caf_system_processed/rejected totals up to date. Call it
  // before collecting the registry.
  void publish();

 private:
  prometheus::Family<prometheus::Gauge>& mailbox_size_;
  prometheus::Family<prometheus::Histogram>& mailbox_time_;
  prometheus::Family<prometheus::Histogram>& processing_time_;
  prometheus::Family<prometheus::Counter>& restarts_;
  prometheus::Counter& processed_;
  prometheus::Counter& rejected_;
  prometheus::Gauge& running_;
  std::mutex mutex_;  // guards probes_ and the published totals (probe creation and publish, never messages)
  std::unordered_map<std::string, std::unique_ptr<ActorProbe>> probes_;
  uint64_t processed_published_ = 0;
  uint64_t rejected_published_ = 0;
};

}  // namespace troupe
