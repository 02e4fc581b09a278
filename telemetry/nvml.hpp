#pragma once
// NVML, loaded at run time with dlopen so that troupe builds and runs without an NVIDIA driver.
// Where the library or the device is missing every reading is nullopt, and the metric it feeds is
// left out rather than reported as zero.
#include <optional>

namespace troupe {

class Nvml {
 public:
  Nvml();   // dlopen + nvmlInit; failure leaves the object unavailable
  ~Nvml();  // nvmlShutdown + dlclose
  Nvml(const Nvml&) = delete;
  Nvml& operator=(const Nvml&) = delete;

  bool available() const { return handle_ != nullptr; }
  std::optional<double> utilization_ratio(int device) const;  // 0..1, GPU busy time over the last sample period
  std::optional<double> temperature_celsius(int device) const;
  std::optional<double> power_watts(int device) const;

 private:
  void* handle_ = nullptr;
  // NVML entry points (C ABI), resolved by dlsym.
  int (*get_handle_)(unsigned, void**) = nullptr;
  int (*get_utilization_)(void*, unsigned*) = nullptr;
  int (*get_temperature_)(void*, int, unsigned*) = nullptr;
  int (*get_power_)(void*, unsigned*) = nullptr;
  int (*shutdown_)() = nullptr;
  void* device_handle(int device) const;
};

}  // namespace troupe
