#pragma once
// Per-device metrics, labelled `device`: memory (used, total, kv_cache, weights) for every device,
// and utilization, temperature and power for CUDA devices through NVML. A reading NVML cannot
// give leaves its series absent: a gauge is only created once it has a value.
#include <memory>
#include <string>

#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include "telemetry/nvml.hpp"

namespace troupe {

struct DeviceReading {
  std::string device;          // "cpu", "cuda:0", ...
  int nvml_index = -1;         // -1: not an NVML device
  int64_t memory_used = 0, memory_total = 0, kv_cache_bytes = 0, weight_bytes = 0;
};

class DeviceMetrics {
 public:
  explicit DeviceMetrics(prometheus::Registry& registry);
  void record(const DeviceReading& reading);

 private:
  prometheus::Family<prometheus::Gauge>& memory_;
  prometheus::Family<prometheus::Gauge>& utilization_;
  prometheus::Family<prometheus::Gauge>& temperature_;
  prometheus::Family<prometheus::Gauge>& power_;
  Nvml nvml_;
};

}  // namespace troupe
