#pragma once
// Process metrics with the Prometheus client conventions (process_resident_memory_bytes,
// process_cpu_seconds_total, process_open_fds, process_start_time_seconds, ...), read from /proc on
// each sample().
#include <memory>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

namespace troupe {

class ProcessMetrics {
 public:
  explicit ProcessMetrics(prometheus::Registry& registry);
  void sample();

 private:
  prometheus::Gauge *rss_, *vsize_, *fds_, *max_fds_, *start_time_;
  prometheus::Counter* cpu_;     // a counter, as Prometheus clients export it: advanced by deltas
  double cpu_reported_ = 0.0;
};

}  // namespace troupe
