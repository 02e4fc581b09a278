#include "telemetry/nvml.hpp"

#include <dlfcn.h>

namespace troupe {

namespace {
constexpr int kNvmlSuccess = 0;
constexpr int kNvmlTemperatureGpu = 0;
// nvmlUtilization_t: {unsigned gpu; unsigned memory;} in percent.
struct Utilization {
  unsigned gpu;
  unsigned memory;
};
}  // namespace

Nvml::Nvml() {
  void* lib = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) return;
  auto init = reinterpret_cast<int (*)()>(dlsym(lib, "nvmlInit_v2"));
  get_handle_ = reinterpret_cast<int (*)(unsigned, void**)>(dlsym(lib, "nvmlDeviceGetHandleByIndex_v2"));
  get_utilization_ = reinterpret_cast<int (*)(void*, unsigned*)>(dlsym(lib, "nvmlDeviceGetUtilizationRates"));
  get_temperature_ = reinterpret_cast<int (*)(void*, int, unsigned*)>(dlsym(lib, "nvmlDeviceGetTemperature"));
  get_power_ = reinterpret_cast<int (*)(void*, unsigned*)>(dlsym(lib, "nvmlDeviceGetPowerUsage"));
  shutdown_ = reinterpret_cast<int (*)()>(dlsym(lib, "nvmlShutdown"));
  if (init == nullptr || get_handle_ == nullptr || shutdown_ == nullptr || init() != kNvmlSuccess) {
    dlclose(lib);
    return;
  }
  handle_ = lib;
}

Nvml::~Nvml() {
  if (handle_ != nullptr) {
    shutdown_();
    dlclose(handle_);
  }
}

void* Nvml::device_handle(int device) const {
  if (handle_ == nullptr || device < 0) return nullptr;
  void* dev = nullptr;
  return get_handle_(static_cast<unsigned>(device), &dev) == kNvmlSuccess ? dev : nullptr;
}

std::optional<double> Nvml::utilization_ratio(int device) const {
  void* dev = device_handle(device);
  Utilization u{};
  if (dev == nullptr || get_utilization_ == nullptr ||
      get_utilization_(dev, reinterpret_cast<unsigned*>(&u)) != kNvmlSuccess) {
    return std::nullopt;
  }
  return u.gpu / 100.0;
}

std::optional<double> Nvml::temperature_celsius(int device) const {
  void* dev = device_handle(device);
  unsigned t = 0;
  if (dev == nullptr || get_temperature_ == nullptr || get_temperature_(dev, kNvmlTemperatureGpu, &t) != kNvmlSuccess) {
    return std::nullopt;
  }
  return static_cast<double>(t);
}

std::optional<double> Nvml::power_watts(int device) const {
  void* dev = device_handle(device);
  unsigned milliwatts = 0;
  if (dev == nullptr || get_power_ == nullptr || get_power_(dev, &milliwatts) != kNvmlSuccess) return std::nullopt;
  return milliwatts / 1000.0;
}

}  // namespace troupe
