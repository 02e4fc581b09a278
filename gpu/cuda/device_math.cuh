#pragma once
// Device-side helpers shared by the kernels: conversions between float and the 16-bit storage
// types, warp and block reductions, and the dispatch from StorageType to a template argument.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cmath>

#include "gpu/cuda/cuda_check.cuh"
#include "gpu/cuda/cuda_kernels.hpp"

namespace troupe::cuda {

__device__ __forceinline__ float to_float(__nv_bfloat16 v) { return __bfloat162float(v); }
__device__ __forceinline__ float to_float(__half v) { return __half2float(v); }
__device__ __forceinline__ float to_float(float v) { return v; }

template <typename T>
__device__ __forceinline__ T from_float(float v);
template <>
__device__ __forceinline__ __nv_bfloat16 from_float<__nv_bfloat16>(float v) { return __float2bfloat16_rn(v); }
// fp16 saturates at its largest finite value (65504) instead of overflowing to inf: activations
// of models with large MLP outputs (silu·up, or a norm's input) would otherwise turn into inf and
// then NaN in the next GEMM. NaN stays NaN. bf16 has float32's range and needs none of this.
template <>
__device__ __forceinline__ __half from_float<__half>(float v) {
  constexpr float kMaxHalf = 65504.0f;
  return __float2half_rn(isnan(v) ? v : fminf(fmaxf(v, -kMaxHalf), kMaxHalf));
}
template <>
__device__ __forceinline__ float from_float<float>(float v) { return v; }

__device__ __forceinline__ float warp_sum(float v) {
  for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}

__device__ __forceinline__ float warp_max(float v) {
  for (int offset = 16; offset > 0; offset >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, offset));
  return v;
}

// Sum over the whole block (blockDim.x a multiple of 32, at most 1024); every thread gets the
// result. `scratch` holds 32 floats of shared memory; the call ends with the block synchronized.
__device__ __forceinline__ float block_sum(float v, float* scratch) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  v = warp_sum(v);
  __syncthreads();  // scratch may still be read by a previous call
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  v = lane < warps ? scratch[lane] : 0.0f;
  return warp_sum(v);
}

__device__ __forceinline__ float block_max(float v, float* scratch) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  v = warp_max(v);
  __syncthreads();
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  v = lane < warps ? scratch[lane] : -INFINITY;
  return warp_max(v);
}

inline unsigned grid_for(int64_t n, int threads) {
  const int64_t blocks = (n + threads - 1) / threads;
  return static_cast<unsigned>(blocks < 65535 * 32 ? blocks : 65535 * 32);
}

}  // namespace troupe::cuda

// Runs `body` with `Storage` bound to the device type of a StorageType value.
#define TROUPE_DISPATCH_STORAGE(type, ...)          \
  do {                                              \
    if ((type) == ::troupe::cuda::StorageType::BF16) { \
      using Storage = __nv_bfloat16;                \
      __VA_ARGS__;                                  \
    } else {                                        \
      using Storage = __half;                       \
      __VA_ARGS__;                                  \
    }                                               \
  } while (0)
