#pragma once
// Whether a CUDA device can be used, and if not, why. Compiled in every build: without the CUDA
// backend it answers "not built with CUDA"; with it, it asks the CUDA runtime, which on a machine
// without a driver returns an error code (never a crash) that is reported as the reason.
#include <string>

namespace troupe {

struct CudaProbe {
  int device_count = 0;  // usable CUDA devices; 0 when none or when the runtime failed
  std::string reason;    // why there is none ("" when device_count > 0)
};

// Asks once per process (the answer cannot change while it runs) and caches the result.
const CudaProbe& probe_cuda_devices();

// probe_cuda_devices().device_count > 0: the guard every CUDA test starts with.
bool cuda_device_available();

}  // namespace troupe
