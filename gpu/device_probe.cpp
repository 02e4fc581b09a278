#include "gpu/device_probe.hpp"

#if TROUPE_WITH_CUDA
#include <cuda_runtime_api.h>
#endif

namespace troupe {

namespace {

CudaProbe run_probe() {
  CudaProbe probe;
#if TROUPE_WITH_CUDA
  int count = 0;
  const cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    probe.reason = std::string(cudaGetErrorName(err)) + ": " + cudaGetErrorString(err);
    cudaGetLastError();  // clear it, so that later runtime calls do not report it again
    return probe;
  }
  probe.device_count = count;
  if (count == 0) probe.reason = "the CUDA runtime found no device";
#else
  probe.reason = "this build of troupe has no CUDA backend";
#endif
  return probe;
}

}  // namespace

const CudaProbe& probe_cuda_devices() {
  static const CudaProbe probe = run_probe();
  return probe;
}

bool cuda_device_available() { return probe_cuda_devices().device_count > 0; }

}  // namespace troupe
