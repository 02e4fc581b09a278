#include "telemetry/device_metrics.hpp"

namespace troupe {

DeviceMetrics::DeviceMetrics(prometheus::Registry& registry)
    : memory_(prometheus::BuildGauge().Name("troupe_device_memory_bytes").Help("Device memory by kind (used, total, kv_cache, weights).").Register(registry)),
      utilization_(prometheus::BuildGauge().Name("troupe_device_utilization_ratio").Help("GPU busy time ratio (NVML).").Register(registry)),
      temperature_(prometheus::BuildGauge().Name("troupe_device_temperature_celsius").Help("GPU temperature (NVML).").Register(registry)),
      power_(prometheus::BuildGauge().Name("troupe_device_power_watts").Help("GPU power draw (NVML).").Register(registry)) {}

void DeviceMetrics::record(const DeviceReading& r) {
  auto set_memory = [&](const char* kind, int64_t bytes) {
    memory_.Add({{"device", r.device}, {"kind", kind}}).Set(static_cast<double>(bytes));
  };
  set_memory("used", r.memory_used);
  set_memory("total", r.memory_total);
  set_memory("kv_cache", r.kv_cache_bytes);
  set_memory("weights", r.weight_bytes);
  if (r.nvml_index < 0) return;
  if (auto u = nvml_.utilization_ratio(r.nvml_index)) utilization_.Add({{"device", r.device}}).Set(*u);
  if (auto t = nvml_.temperature_celsius(r.nvml_index)) temperature_.Add({{"device", r.device}}).Set(*t);
  if (auto p = nvml_.power_watts(r.nvml_index)) power_.Add({{"device", r.device}}).Set(*p);
}

}  // namespace troupe
