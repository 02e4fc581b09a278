// Causal grouped-query attention over the paged KV cache, for prefill chunks and decode tokens
// alike: one block per (query token, head). Each warp of the block walks a strided subset of the
// visible positions in groups of G positions (warp w takes first + w·G .. first + w·G + G-1, then
// those plus warps·G, ...; first > 0 in a sliding window), keeping an online softmax (running max
// m, sum l, weighted value sum acc); the warps' partial states are merged at the end. Within a
// warp, lane l holds dimensions l, l + 32, ... of q, k, v, so each key row is read as one coalesced
// run. A decode token has one block per head and a short loop: what bounds it is the latency of
// each position's two dependent loads (block table, then key), so a warp can issue a whole group's
// loads before using any. Warps and G per head size: see AttentionShape.
#include "gpu/cuda/device_math.cuh"

namespace troupe::cuda {

namespace {

// Warps per block and positions a warp loads before it reduces any of them (G), by kChunks. On an
// H100 (2026-12-05, troupe-cuda-bench decode at 130 positions): head_dim 64 with 8 warps and G = 4
// took 20 us per layer at one sequence against 39 us with 4 warps and G = 1 (the 0.5B-shaped step
// 1.65 against 2.12 ms; 5 % more tokens/s at 256 sequences); head_dim 128 gained nothing at one
// sequence (41 against 40 us) and the 7B-shaped step lost a third of its tokens/s at 256
// sequences, so the larger heads keep 4 warps and one position at a time (why they lose, whether
// registers and resident blocks, was not profiled).
template <int kChunks>
struct AttentionShape {
  static constexpr int warps = kChunks <= 2 ? 8 : 4;
  static constexpr int in_flight = kChunks <= 2 ? 4 : 1;
};

// kChunks = ceil(head_dim / 32) rounded up to a power of two: registers per lane.
template <typename T, int kChunks, int kAttentionWarps = AttentionShape<kChunks>::warps,
          int G = AttentionShape<kChunks>::in_flight>
__global__ void __launch_bounds__(kAttentionWarps * 32)
    paged_attention_kernel(const T* __restrict__ keys, const T* __restrict__ values, int64_t block_size,
                           int64_t kv_heads, int64_t head_dim, AttentionIndex index, const float* __restrict__ q,
                           int64_t q_stride, int64_t heads, AttentionWindow window, T* __restrict__ out) {
  __shared__ float s_max[kAttentionWarps], s_sum[kAttentionWarps];
  __shared__ float s_acc[kAttentionWarps][kChunks * 32];
  const int64_t t = blockIdx.x / heads, h = blockIdx.x % heads;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int64_t kv_head = h / (heads / kv_heads);
  const int64_t pos = index.positions[t];
  const int32_t* table = index.block_tables + index.table_offsets[index.token_seq[t]];
  const float scale = window.scale;
  const int64_t first = window.window > 0 && pos >= window.window ? pos - window.window + 1 : 0;

  float qv[kChunks], acc[kChunks];
#pragma unroll
  for (int j = 0; j < kChunks; ++j) {
    const int64_t i = lane + 32 * j;
    qv[j] = i < head_dim ? q[t * q_stride + h * head_dim + i] * scale : 0.0f;
    acc[j] = 0.0f;
  }
  float m = -INFINITY, l = 0.0f;
  for (int64_t p0 = first + int64_t{warp} * G; p0 <= pos; p0 += int64_t{kAttentionWarps} * G) {
    // Offsets of the group's key/value rows; -1 past the query's position (uniform per warp, so
    // the warp's shuffles below stay converged). p0 itself is always visible.
    int64_t base[G];
#pragma unroll
    for (int u = 0; u < G; ++u) {
      const int64_t p = p0 + u;
      const int64_t slot = p <= pos ? static_cast<int64_t>(table[p / block_size]) * block_size + p % block_size : -1;
      base[u] = slot < 0 ? -1 : (slot * kv_heads + kv_head) * head_dim;
    }
    float dot[G];
#pragma unroll
    for (int u = 0; u < G; ++u) {
      dot[u] = 0.0f;
#pragma unroll
      for (int j = 0; j < kChunks; ++j) {
        const int64_t i = lane + 32 * j;
        if (base[u] >= 0 && i < head_dim) dot[u] += qv[j] * to_float(keys[base[u] + i]);
      }
    }
    float m_new = m;
#pragma unroll
    for (int u = 0; u < G; ++u) {
      dot[u] = warp_sum(dot[u]);
      if (window.softcap > 0.0f) dot[u] = window.softcap * tanhf(dot[u] / window.softcap);
      if (base[u] >= 0) m_new = fmaxf(m_new, dot[u]);
    }
    const float correction = expf(m - m_new);  // 0 on the first group (m = -inf)
    float weight[G];
    l *= correction;
#pragma unroll
    for (int u = 0; u < G; ++u) {
      weight[u] = base[u] >= 0 ? expf(dot[u] - m_new) : 0.0f;
      l += weight[u];
    }
#pragma unroll
    for (int j = 0; j < kChunks; ++j) {
      const int64_t i = lane + 32 * j;
      float a = acc[j] * correction;
#pragma unroll
      for (int u = 0; u < G; ++u) {
        if (base[u] >= 0 && i < head_dim) a += weight[u] * to_float(values[base[u] + i]);
      }
      acc[j] = a;
    }
    m = m_new;
  }
  if (lane == 0) {
    s_max[warp] = m;
    s_sum[warp] = l;
  }
#pragma unroll
  for (int j = 0; j < kChunks; ++j) s_acc[warp][lane + 32 * j] = acc[j];
  __syncthreads();

  // Merge: a warp that saw no position (fewer visible positions than warps) has m = -inf and
  // contributes nothing.
  float m_all = -INFINITY;
  for (int w = 0; w < kAttentionWarps; ++w) m_all = fmaxf(m_all, s_max[w]);
  float factor[kAttentionWarps];
  float l_all = 0.0f;
#pragma unroll
  for (int w = 0; w < kAttentionWarps; ++w) {
    factor[w] = s_max[w] == -INFINITY ? 0.0f : expf(s_max[w] - m_all);
    l_all += s_sum[w] * factor[w];
  }
  const float inv_l = 1.0f / l_all;
  T* o = out + (t * heads + h) * head_dim;
  for (int64_t i = threadIdx.x; i < head_dim; i += blockDim.x) {
    float v = 0.0f;
#pragma unroll
    for (int w = 0; w < kAttentionWarps; ++w) v += s_acc[w][i] * factor[w];
    o[i] = from_float<T>(v * inv_l);
  }
}

template <typename T, int kChunks>
void launch(const DeviceKv& kv, const AttentionIndex& index, const float* q, int64_t q_stride, int64_t tokens,
            int64_t heads, const AttentionWindow& window, void* out, Stream stream) {
  constexpr int threads = AttentionShape<kChunks>::warps * 32;
  paged_attention_kernel<T, kChunks><<<static_cast<unsigned>(tokens * heads), threads, 0, stream>>>(
      static_cast<const T*>(kv.keys), static_cast<const T*>(kv.values), kv.block_size, kv.kv_heads, kv.head_dim,
      index, q, q_stride, heads, window, static_cast<T*>(out));
}

}  // namespace

void paged_attention(const DeviceKv& kv, const AttentionIndex& index, const float* q, int64_t q_stride,
                     int64_t tokens, int64_t heads, const AttentionWindow& window, void* out, Stream stream) {
  if (kv.head_dim > kMaxHeadDim || kv.head_dim <= 0) {
    throw std::invalid_argument("paged_attention: head_dim must be in 1.." + std::to_string(kMaxHeadDim));
  }
  if (kv.kv_heads <= 0 || heads % kv.kv_heads != 0) {
    throw std::invalid_argument("paged_attention: heads must be a multiple of kv_heads");
  }
  if (tokens * heads == 0) return;
  TROUPE_DISPATCH_STORAGE(kv.type, {
    if (kv.head_dim <= 32) {
      launch<Storage, 1>(kv, index, q, q_stride, tokens, heads, window, out, stream);
    } else if (kv.head_dim <= 64) {
      launch<Storage, 2>(kv, index, q, q_stride, tokens, heads, window, out, stream);
    } else if (kv.head_dim <= 128) {
      launch<Storage, 4>(kv, index, q, q_stride, tokens, heads, window, out, stream);
    } else {
      launch<Storage, 8>(kv, index, q, q_stride, tokens, heads, window, out, stream);
    }
  });
  TROUPE_CUDA_CHECK_LAUNCH();
}

}  // namespace troupe::cuda
