// Logits to token ids on the device: one block per row. Greedy rows take the argmax (lowest id
// on ties). Other rows follow pipeline/sampling's truncated_distribution: weights
// w = exp((x - max) / T) (the top token has w = 1), cut by top-k, then top-p, then min-p, and one
// draw u in [0, 1) picks the token whose cumulative
// weight (in id order) first exceeds u * sum(w), u being the row's draw from the host (the
// sequence's own random stream, so host and device draws agree).
//
// The top-k and top-p cuts are exact thresholds found by radix selection over an order-preserving
// 32-bit key of each logit (4 passes of 8 bits, a 256-bin histogram in shared memory per pass):
// for top-k the key of the k-th largest logit (count histogram), for top-p the key of the token at
// which the best-first cumulative weight reaches top_p (weight histogram). Every token whose key is
// at or above the threshold survives, so ties at a boundary are all kept.
#include "gpu/cuda/device_math.cuh"

namespace troupe::cuda {

namespace {

constexpr int kSampleThreads = 1024;
constexpr float kGreedyTemperature = 1e-5f;

// Monotonic map of float to uint32: a < b (as floats, no NaN) iff key(a) < key(b).
__device__ __forceinline__ uint32_t order_key(float x) {
  const uint32_t u = __float_as_uint(x);
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

struct SampleShared {
  float scratch[32];
  float bins[256];          // per-digit mass (top-p) or count (top-k) of the current pass
  float scan[kSampleThreads];
  uint32_t prefix;          // the threshold key's digits chosen so far
  float remaining;          // count (top-k) or mass (top-p) still to cover inside the chosen prefix
  int32_t index;
};

// Radix-selects the largest key K such that the measure (count or weight) of tokens with key >= K
// among `eligible` ones reaches `target`. measure(i) and eligible(i) are evaluated per token.
template <typename Measure>
__device__ uint32_t select_threshold(const float* x, int64_t vocab, float target, Measure measure,
                                     SampleShared& sh) {
  if (threadIdx.x == 0) {
    sh.prefix = 0;
    sh.remaining = target;
  }
  for (int pass = 0; pass < 4; ++pass) {
    const int shift = 24 - 8 * pass;
    const uint32_t high_mask = pass == 0 ? 0u : (0xffffffffu << (shift + 8));
    for (int b = threadIdx.x; b < 256; b += blockDim.x) sh.bins[b] = 0.0f;
    __syncthreads();
    const uint32_t prefix = sh.prefix;
    for (int64_t i = threadIdx.x; i < vocab; i += blockDim.x) {
      const uint32_t key = order_key(x[i]);
      if ((key & high_mask) != (prefix & high_mask)) continue;
      const float mass = measure(i, key);
      if (mass > 0.0f) atomicAdd(&sh.bins[(key >> shift) & 0xffu], mass);
    }
    __syncthreads();
    if (threadIdx.x == 0) {
      // Walk digits from the highest: the chosen digit is the first at which the mass above plus
      // its own reaches what remains; rounding may leave none, then the lowest non-empty digit.
      float above = 0.0f;
      int chosen = -1, lowest = 0;
      for (int b = 255; b >= 0; --b) {
        if (sh.bins[b] <= 0.0f) continue;
        lowest = b;
        if (above + sh.bins[b] >= sh.remaining) {
          chosen = b;
          break;
        }
        above += sh.bins[b];
      }
      if (chosen < 0) chosen = lowest;
      sh.remaining -= above;
      sh.prefix |= static_cast<uint32_t>(chosen) << shift;
    }
    __syncthreads();
  }
  return sh.prefix;
}

__global__ void __launch_bounds__(kSampleThreads)
    sample_kernel(const float* __restrict__ logits, int64_t vocab, int64_t row_stride,
                  const RowSampling* __restrict__ params, int32_t* __restrict__ tokens, float* __restrict__ logprobs) {
  __shared__ SampleShared sh;
  const int64_t row = blockIdx.x;
  const float* x = logits + row * row_stride;
  const RowSampling p = params[row];

  float local_max = -INFINITY;
  for (int64_t i = threadIdx.x; i < vocab; i += blockDim.x) local_max = fmaxf(local_max, x[i]);
  const float max_logit = block_max(local_max, sh.scratch);

  int32_t chosen;
  if (p.temperature < kGreedyTemperature) {
    // Argmax, lowest id among equals: the first index holding the maximum.
    int32_t first = INT32_MAX;
    for (int64_t i = threadIdx.x; i < vocab; i += blockDim.x) {
      if (x[i] == max_logit) {
        first = static_cast<int32_t>(i);
        break;
      }
    }
    if (threadIdx.x == 0) sh.index = INT32_MAX;
    __syncthreads();
    atomicMin(&sh.index, first);
    __syncthreads();
    chosen = sh.index;
  } else {
    const float inv_t = 1.0f / p.temperature;
    auto weight = [&](int64_t i) { return expf((x[i] - max_logit) * inv_t); };
    uint32_t threshold = 0;
    if (p.top_k > 0 && p.top_k < vocab) {
      threshold = select_threshold(x, vocab, static_cast<float>(p.top_k),
                                   [](int64_t, uint32_t) { return 1.0f; }, sh);
    }
    if (p.top_p < 1.0f) {
      float local = 0.0f;
      for (int64_t i = threadIdx.x; i < vocab; i += blockDim.x) {
        if (order_key(x[i]) >= threshold) local += weight(i);
      }
      const float total = block_sum(local, sh.scratch);
      const uint32_t k_threshold = threshold;
      threshold = select_threshold(
          x, vocab, p.top_p * total,
          [&](int64_t i, uint32_t key) { return key >= k_threshold ? weight(i) : 0.0f; }, sh);
      threshold = max(threshold, k_threshold);
    }
    // w > 0: a weight that underflowed is not a candidate (min_p = 0 would otherwise keep it).
    auto kept = [&](int64_t i, float w) { return order_key(x[i]) >= threshold && w > 0.0f && w >= p.min_p; };

    // Each thread owns a contiguous run of ids; an exclusive scan over the runs' sums finds the
    // run holding the draw, whose owner walks it.
    const int64_t run = (vocab + blockDim.x - 1) / blockDim.x;
    const int64_t begin = threadIdx.x * run, end = min(vocab, begin + run);
    float mine = 0.0f;
    int32_t last_kept = -1;
    for (int64_t i = begin; i < end; ++i) {
      const float w = weight(i);
      if (kept(i, w)) {
        mine += w;
        last_kept = static_cast<int32_t>(i);
      }
    }
    const int tid = static_cast<int>(threadIdx.x), threads = static_cast<int>(blockDim.x);
    sh.scan[tid] = mine;
    __syncthreads();
    for (int offset = 1; offset < threads; offset <<= 1) {  // inclusive Hillis-Steele scan
      const float add = tid >= offset ? sh.scan[tid - offset] : 0.0f;
      __syncthreads();
      sh.scan[tid] += add;
      __syncthreads();
    }
    if (threadIdx.x == 0) sh.index = -1;
    __syncthreads();
    // Run r owns the draws in [scan[r - 1], scan[r]): the runs tile [0, total) without overlap.
    const float target = static_cast<float>(p.u) * sh.scan[threads - 1];
    const float before = tid > 0 ? sh.scan[tid - 1] : 0.0f;
    if (mine > 0.0f && target >= before && target < sh.scan[tid]) {
      float cumulative = before;
      int32_t pick = last_kept;
      for (int64_t i = begin; i < end; ++i) {
        const float w = weight(i);
        if (!kept(i, w)) continue;
        cumulative += w;
        if (target < cumulative) {
          pick = static_cast<int32_t>(i);
          break;
        }
      }
      sh.index = pick;  // one run at most holds the target
    }
    __syncthreads();
    if (sh.index < 0) {
      // Rounding put the target at or past the total: the last kept token owns that sliver.
      __syncthreads();
      atomicMax(&sh.index, last_kept);
      __syncthreads();
    }
    chosen = sh.index;
  }

  if (logprobs != nullptr) {
    float local = 0.0f;
    for (int64_t i = threadIdx.x; i < vocab; i += blockDim.x) local += expf(x[i] - max_logit);
    const float sum = block_sum(local, sh.scratch);
    if (threadIdx.x == 0) logprobs[row] = x[chosen] - max_logit - logf(sum);
  }
  if (threadIdx.x == 0) tokens[row] = chosen;
}

}  // namespace

void sample_rows(const float* logits, int64_t rows, int64_t vocab, int64_t row_stride, const RowSampling* params,
                 int32_t* tokens, float* logprobs, Stream stream) {
  if (rows == 0) return;
  sample_kernel<<<static_cast<unsigned>(rows), kSampleThreads, 0, stream>>>(logits, vocab, row_stride, params, tokens,
                                                                             logprobs);
  TROUPE_CUDA_CHECK_LAUNCH();
}

}  // namespace troupe::cuda
