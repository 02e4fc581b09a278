// Embedding gather and the RMSNorm family: the residual add fused with the norm that follows it,
// a float32 norm in place (Gemma's norms on sublayer outputs), and the per-head norm of q and k.
#include <algorithm>

#include "gpu/cuda/device_math.cuh"

namespace troupe::cuda {

namespace {

// Threads for a one-block-per-row norm: about four elements each, in whole warps, 128..1024. A
// decode step's norm is one row, so its time is the latency of each thread's loads one after the
// other: 256 threads over a 3584-wide row took 14 us per norm on an H100, about twice what four
// loads per thread take.
unsigned norm_threads(int64_t dim) {
  const int64_t warps = (dim / 4 + 31) / 32;
  return static_cast<unsigned>(32 * std::clamp<int64_t>(warps, 4, 32));
}

template <typename T>
__global__ void embedding_gather_kernel(const T* __restrict__ table, const int32_t* __restrict__ ids,
                                        float* __restrict__ out, int64_t tokens, int64_t dim, float multiplier,
                                        int64_t first_id, int64_t held) {
  const int64_t n = tokens * dim;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t t = i / dim, c = i % dim;
    const int64_t row = static_cast<int64_t>(ids[t]) - first_id;
    out[i] = row >= 0 && row < held ? to_float(table[row * dim + c]) * multiplier : 0.0f;
  }
}

// One block per row, in place: sum of squares, then the scaled row.
__global__ void rms_norm_in_place_kernel(float* __restrict__ x, const float* __restrict__ weight, int64_t dim,
                                         float eps) {
  __shared__ float scratch[32];
  float* row = x + blockIdx.x * dim;
  float sum = 0.0f;
  for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) sum += row[i] * row[i];
  sum = block_sum(sum, scratch);
  const float inv = rsqrtf(sum / static_cast<float>(dim) + eps);
  for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) row[i] = row[i] * inv * weight[i];
}

// One block per output row. The first pass adds the delta and sums squares; the second rereads
// the (now updated, L1/L2-resident) residual row to scale it.
template <typename T>
__global__ void add_rms_norm_kernel(float* __restrict__ residual, const float* __restrict__ delta,
                                    const float* __restrict__ weight, T* __restrict__ out,
                                    const int32_t* __restrict__ rows_index, int64_t dim, float eps) {
  __shared__ float scratch[32];
  const int64_t r = blockIdx.x;
  const int64_t src = rows_index ? rows_index[r] : r;
  float* x = residual + src * dim;
  float sum = 0.0f;
  if (delta) {
    const float* d = delta + src * dim;
    for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) {
      const float v = x[i] + d[i];
      x[i] = v;
      sum += v * v;
    }
  } else {
    for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) sum += x[i] * x[i];
  }
  sum = block_sum(sum, scratch);
  const float inv = rsqrtf(sum / static_cast<float>(dim) + eps);
  T* o = out + r * dim;
  for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) o[i] = from_float<T>(x[i] * inv * weight[i]);
}

// One warp per (token, head); lane l holds dims l, l + 32, ... (head_dim <= 256).
__global__ void head_rms_norm_kernel(float* __restrict__ x, const float* __restrict__ weight, int64_t tokens,
                                     int64_t heads, int64_t head_dim, int64_t row_stride, float eps) {
  const int64_t item = (blockIdx.x * int64_t{blockDim.x} + threadIdx.x) / 32;
  const int lane = threadIdx.x & 31;
  if (item >= tokens * heads) return;  // whole warps leave together: item is uniform per warp
  float* v = x + (item / heads) * row_stride + (item % heads) * head_dim;
  float vals[kMaxHeadDim / 32];
  float sum = 0.0f;
#pragma unroll
  for (int j = 0; j < kMaxHeadDim / 32; ++j) {
    const int64_t i = lane + 32 * j;
    vals[j] = i < head_dim ? v[i] : 0.0f;
    sum += vals[j] * vals[j];
  }
  sum = warp_sum(sum);
  const float inv = rsqrtf(sum / static_cast<float>(head_dim) + eps);
#pragma unroll
  for (int j = 0; j < kMaxHeadDim / 32; ++j) {
    const int64_t i = lane + 32 * j;
    if (i < head_dim) v[i] = vals[j] * inv * weight[i];
  }
}

}  // namespace

void embedding_gather(const void* table, StorageType type, const int32_t* ids, float* out, int64_t tokens,
                      int64_t dim, float multiplier, int64_t first_id, int64_t held, Stream stream) {
  if (tokens * dim == 0) return;
  TROUPE_DISPATCH_STORAGE(type, embedding_gather_kernel<<<grid_for(tokens * dim, 256), 256, 0, stream>>>(
                                    static_cast<const Storage*>(table), ids, out, tokens, dim, multiplier, first_id, held));
  TROUPE_CUDA_CHECK_LAUNCH();
}

void rms_norm_in_place(float* x, const float* weight, int64_t rows, int64_t dim, float eps, Stream stream) {
  if (rows == 0) return;
  rms_norm_in_place_kernel<<<static_cast<unsigned>(rows), norm_threads(dim), 0, stream>>>(x, weight, dim, eps);
  TROUPE_CUDA_CHECK_LAUNCH();
}

void add_rms_norm(float* residual, const float* delta, const float* weight, void* out, StorageType type,
                  const int32_t* rows_index, int64_t rows, int64_t dim, float eps, Stream stream) {
  if (rows == 0) return;
  TROUPE_DISPATCH_STORAGE(type, add_rms_norm_kernel<<<static_cast<unsigned>(rows), norm_threads(dim), 0, stream>>>(
                                    residual, delta, weight, static_cast<Storage*>(out), rows_index, dim, eps));
  TROUPE_CUDA_CHECK_LAUNCH();
}

void head_rms_norm(float* x, const float* weight, int64_t tokens, int64_t heads, int64_t head_dim,
                   int64_t row_stride, float eps, Stream stream) {
  if (head_dim > kMaxHeadDim) throw std::invalid_argument("head_rms_norm: head_dim above kMaxHeadDim");
  const int64_t threads = tokens * heads * 32;
  if (threads == 0) return;
  head_rms_norm_kernel<<<static_cast<unsigned>((threads + 127) / 128), 128, 0, stream>>>(x, weight, tokens, heads,
                                                                                        head_dim, row_stride, eps);
  TROUPE_CUDA_CHECK_LAUNCH();
}

}  // namespace troupe::cuda
