#include "gpu/cuda/bandwidth.hpp"

#include <algorithm>
#include <vector>

#include "gpu/cuda/cuda_check.cuh"
#include "gpu/cuda/cuda_kernels.hpp"
#include "gpu/cuda/device_buffer.hpp"

namespace troupe::cuda {

double device_copy_bandwidth(int device, int64_t bytes, int repeats) {
  TROUPE_CUDA_CHECK(cudaSetDevice(device));
  DeviceBuffer src(bytes), dst(bytes);
  // Random data, not zeros: some memory systems move zeros faster than real data.
  fill_random(src.data(), StorageType::BF16, bytes / kStorageBytes, 1, 0.0f, 1.0f, nullptr);
  cudaEvent_t start = nullptr, stop = nullptr;
  TROUPE_CUDA_CHECK(cudaEventCreate(&start));
  TROUPE_CUDA_CHECK(cudaEventCreate(&stop));
  std::vector<float> ms;
  try {
    for (int i = -1; i < repeats; ++i) {  // i = -1: warm-up, not recorded
      TROUPE_CUDA_CHECK(cudaEventRecord(start));
      TROUPE_CUDA_CHECK(cudaMemcpyAsync(dst.data(), src.data(), static_cast<std::size_t>(bytes), cudaMemcpyDeviceToDevice));
      TROUPE_CUDA_CHECK(cudaEventRecord(stop));
      TROUPE_CUDA_CHECK(cudaEventSynchronize(stop));
      float elapsed = 0.0f;
      TROUPE_CUDA_CHECK(cudaEventElapsedTime(&elapsed, start, stop));
      if (i >= 0) ms.push_back(elapsed);
    }
  } catch (...) {
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
    throw;
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  std::sort(ms.begin(), ms.end());
  const double median_s = static_cast<double>(ms[ms.size() / 2]) / 1e3;
  return 2.0 * static_cast<double>(bytes) / median_s;
}

}  // namespace troupe::cuda
