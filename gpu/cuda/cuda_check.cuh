#pragma once
// Checking every CUDA runtime and cuBLAS call: a failure throws std::runtime_error naming the
// file:line, the call as written and the library's error string. Included only by gpu/cuda
// sources (it pulls in the CUDA headers, which the rest of troupe never sees).
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

namespace troupe::cuda {

[[noreturn]] inline void throw_cuda_error(cudaError_t err, const char* call, const char* file, int line) {
  throw std::runtime_error(std::string(file) + ":" + std::to_string(line) + ": " + call + " failed: " +
                           cudaGetErrorName(err) + ": " + cudaGetErrorString(err));
}

[[noreturn]] inline void throw_cublas_error(cublasStatus_t status, const char* call, const char* file, int line) {
  throw std::runtime_error(std::string(file) + ":" + std::to_string(line) + ": " + call + " failed: " +
                           cublasGetStatusName(status) + ": " + cublasGetStatusString(status));
}

}  // namespace troupe::cuda

#define TROUPE_CUDA_CHECK(call)                                                            \
  do {                                                                                     \
    const cudaError_t troupe_err_ = (call);                                                \
    if (troupe_err_ != cudaSuccess) ::troupe::cuda::throw_cuda_error(troupe_err_, #call, __FILE__, __LINE__); \
  } while (0)

#define TROUPE_CUBLAS_CHECK(call)                                                          \
  do {                                                                                     \
    const cublasStatus_t troupe_st_ = (call);                                              \
    if (troupe_st_ != CUBLAS_STATUS_SUCCESS)                                               \
      ::troupe::cuda::throw_cublas_error(troupe_st_, #call, __FILE__, __LINE__);           \
  } while (0)

// After every kernel launch: a bad launch configuration shows up here, at the launch's line,
// not at the next synchronization.
#define TROUPE_CUDA_CHECK_LAUNCH() TROUPE_CUDA_CHECK(cudaGetLastError())
