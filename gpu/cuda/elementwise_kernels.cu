// Element-wise kernels: bias add, clamp, half-split RoPE, gate products, KV-cache store and the
// random fill used for weights in benchmarks. Each thread handles elements i, i + stride, ...
// of a flat index space, so consecutive threads touch consecutive addresses.
#include "gpu/cuda/device_math.cuh"

namespace troupe::cuda {

namespace {

#define TROUPE_GRID_STRIDE(i, n) \
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < (n); i += int64_t{gridDim.x} * blockDim.x)

__global__ void add_bias_kernel(float* __restrict__ x, const float* __restrict__ bias, int64_t rows, int64_t width) {
  TROUPE_GRID_STRIDE(i, rows * width) x[i] += bias[i % width];
}

// One thread per (token, head, pair i < head_dim/2).
__global__ void rope_kernel(float* __restrict__ x, int64_t tokens, int64_t heads, int64_t head_dim,
                            int64_t rotary_dim, int64_t row_stride, const int32_t* __restrict__ positions,
                            const double* __restrict__ inv_freq) {
  const int64_t half = rotary_dim / 2;
  TROUPE_GRID_STRIDE(item, tokens * heads * half) {
    const int64_t i = item % half;
    const int64_t th = item / half;
    const int64_t t = th / heads, h = th % heads;
    double s, c;
    sincos(static_cast<double>(positions[t]) * inv_freq[i], &s, &c);
    const float cf = static_cast<float>(c), sf = static_cast<float>(s);
    float* v = x + t * row_stride + h * head_dim;
    const float a = v[i], b = v[i + half];
    v[i] = a * cf - b * sf;
    v[i + half] = b * cf + a * sf;
  }
}

__global__ void clamp_kernel(float* __restrict__ x, int64_t rows, int64_t width, int64_t row_stride, float limit) {
  TROUPE_GRID_STRIDE(i, rows * width) {
    float* v = x + (i / width) * row_stride + i % width;
    *v = fminf(fmaxf(*v, -limit), limit);
  }
}

__global__ void softcap_kernel(float* __restrict__ x, int64_t n, float cap) {
  TROUPE_GRID_STRIDE(i, n) { x[i] = cap * tanhf(x[i] / cap); }
}

// cpu::activate's two gate activations.
template <Activation kAct>
__device__ __forceinline__ float activate(float x) {
  if constexpr (kAct == Activation::GeluTanh) {
    return x / (1.0f + expf(-1.5957691216057308f * (x + 0.044715f * x * x * x)));  // = 0.5x(1 + tanh(...))
  } else {
    return x / (1.0f + expf(-x));
  }
}

template <typename T, Activation kAct>
__global__ void gated_activation_kernel(const float* __restrict__ gate_up, T* __restrict__ out, int64_t rows,
                                        int64_t inter) {
  TROUPE_GRID_STRIDE(idx, rows * inter) {
    const int64_t r = idx / inter, i = idx % inter;
    const float g = gate_up[r * 2 * inter + i];
    const float u = gate_up[r * 2 * inter + inter + i];
    out[idx] = from_float<T>(activate<kAct>(g) * u);
  }
}

template <typename T>
__global__ void kv_store_kernel(T* __restrict__ keys, T* __restrict__ values, const int32_t* __restrict__ slots,
                                int64_t tokens, int64_t width, const float* __restrict__ k,
                                const float* __restrict__ v, int64_t row_stride) {
  TROUPE_GRID_STRIDE(idx, tokens * width) {
    const int64_t t = idx / width, i = idx % width;
    const int64_t dst = static_cast<int64_t>(slots[t]) * width + i;
    keys[dst] = from_float<T>(k[t * row_stride + i]);
    values[dst] = from_float<T>(v[t * row_stride + i]);
  }
}

// splitmix64 of (seed, index): a counter-based uniform in [-1, 1).
__device__ __forceinline__ float hash_uniform(uint64_t seed, uint64_t index) {
  uint64_t z = seed * 0x9e3779b97f4a7c15ull + index + 0x632be59bd9b4e019ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  return static_cast<float>(z >> 40) * 0x1p-23f - 1.0f;
}

template <typename T>
__global__ void fill_random_kernel(T* __restrict__ dst, int64_t n, uint64_t seed, float offset, float scale) {
  TROUPE_GRID_STRIDE(i, n) dst[i] = from_float<T>(offset + scale * hash_uniform(seed, static_cast<uint64_t>(i)));
}

#undef TROUPE_GRID_STRIDE

constexpr int kThreads = 256;

}  // namespace

void add_bias(float* x, const float* bias, int64_t rows, int64_t width, Stream stream) {
  if (rows * width == 0) return;
  add_bias_kernel<<<grid_for(rows * width, kThreads), kThreads, 0, stream>>>(x, bias, rows, width);
  TROUPE_CUDA_CHECK_LAUNCH();
}

void apply_rope(float* x, int64_t tokens, int64_t heads, int64_t head_dim, int64_t rotary_dim, int64_t row_stride,
                const int32_t* positions, const double* inv_freq, Stream stream) {
  const int64_t n = tokens * heads * (rotary_dim / 2);
  if (n == 0) return;
  rope_kernel<<<grid_for(n, kThreads), kThreads, 0, stream>>>(x, tokens, heads, head_dim, rotary_dim, row_stride,
                                                              positions, inv_freq);
  TROUPE_CUDA_CHECK_LAUNCH();
}

void clamp_rows(float* x, int64_t rows, int64_t width, int64_t row_stride, float limit, Stream stream) {
  if (rows * width == 0) return;
  clamp_kernel<<<grid_for(rows * width, kThreads), kThreads, 0, stream>>>(x, rows, width, row_stride, limit);
  TROUPE_CUDA_CHECK_LAUNCH();
}

void softcap(float* x, int64_t n, float cap, Stream stream) {
  if (n == 0) return;
  softcap_kernel<<<grid_for(n, kThreads), kThreads, 0, stream>>>(x, n, cap);
  TROUPE_CUDA_CHECK_LAUNCH();
}

void gated_activation(const float* gate_up, void* out, StorageType type, int64_t rows, int64_t inter, Activation act,
                      Stream stream) {
  if (rows * inter == 0) return;
  const unsigned blocks = grid_for(rows * inter, kThreads);
  if (act == Activation::GeluTanh) {
    TROUPE_DISPATCH_STORAGE(type, gated_activation_kernel<Storage, Activation::GeluTanh><<<blocks, kThreads, 0, stream>>>(
                                      gate_up, static_cast<Storage*>(out), rows, inter));
  } else {
    TROUPE_DISPATCH_STORAGE(type, gated_activation_kernel<Storage, Activation::Silu><<<blocks, kThreads, 0, stream>>>(
                                      gate_up, static_cast<Storage*>(out), rows, inter));
  }
  TROUPE_CUDA_CHECK_LAUNCH();
}

void kv_store(const DeviceKv& kv, const int32_t* slots, int64_t tokens, const float* k, const float* v,
              int64_t row_stride, Stream stream) {
  const int64_t width = kv.kv_heads * kv.head_dim;
  if (tokens * width == 0) return;
  TROUPE_DISPATCH_STORAGE(kv.type, kv_store_kernel<<<grid_for(tokens * width, kThreads), kThreads, 0, stream>>>(
                                       static_cast<Storage*>(kv.keys), static_cast<Storage*>(kv.values), slots,
                                       tokens, width, k, v, row_stride));
  TROUPE_CUDA_CHECK_LAUNCH();
}

void fill_random(void* dst, StorageType type, int64_t n, uint64_t seed, float offset, float scale, Stream stream) {
  if (n == 0) return;
  TROUPE_DISPATCH_STORAGE(type, fill_random_kernel<<<grid_for(n, kThreads), kThreads, 0, stream>>>(
                                    static_cast<Storage*>(dst), n, seed, offset, scale));
  TROUPE_CUDA_CHECK_LAUNCH();
}

void fill_random_f32(float* dst, int64_t n, uint64_t seed, float offset, float scale, Stream stream) {
  if (n == 0) return;
  fill_random_kernel<<<grid_for(n, kThreads), kThreads, 0, stream>>>(dst, n, seed, offset, scale);
  TROUPE_CUDA_CHECK_LAUNCH();
}

}  // namespace troupe::cuda
