#include "gpu/backend_factory.hpp"

#include "common/error.hpp"
#include "gpu/cpu/cpu_backend.hpp"

namespace troupe {

std::unique_ptr<Backend> make_backend(const ModelFiles& model, const BackendOptions& options) {
  const std::string& device = options.device;
  if (device == "cpu" || device == "auto") return std::make_unique<CpuBackend>(model, options);
  if (device.rfind("cuda", 0) == 0) {
    throw ConfigError("--device " + device + ": this build of troupe has no CUDA backend; use --device cpu");
  }
  throw ConfigError("--device " + device + ": expected auto, cpu, cuda or cuda:N");
}

}  // namespace troupe
