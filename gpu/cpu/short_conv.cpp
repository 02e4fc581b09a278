#include "gpu/cpu/short_conv.hpp"

#include <algorithm>

#include "gpu/cpu/cpu_kernels.hpp"

namespace troupe::cpu {

void causal_conv(const float* in, int64_t in_stride, int64_t channels, const float* taps, const float* bias,
                 int64_t kernel, bool silu, const StepBatch& batch, SequenceStates& states, int64_t layer, float* out,
                 int64_t out_stride, ThreadPool* pool) {
  const int64_t history = kernel - 1;  // rows kept per sequence
  const std::vector<int64_t> first_token = batch.first_token_rows();
  // Channels are independent: each chunk of them runs every sequence's tokens in order.
  const auto run = [&](int64_t begin, int64_t end) {
    std::vector<float> window(static_cast<std::size_t>(kernel));  // one channel's last `kernel` inputs
    for (std::size_t i = 0; i < batch.sequences.size(); ++i) {
      const SequenceStep& s = batch.sequences[i];
      const auto n = static_cast<int64_t>(s.tokens.size());
      const float* before = s.num_cached == 0 ? nullptr : states.current(layer, s.state_slot);
      float* after = states.next(layer, s.state_slot);
      for (int64_t c = begin; c < end; ++c) {
        for (int64_t k = 0; k < history; ++k) {
          window[static_cast<std::size_t>(k)] = before ? before[k * channels + c] : 0.0f;
        }
        const float* w = taps + c * kernel;
        for (int64_t t = 0; t < n; ++t) {
          const int64_t row = first_token[i] + t;
          window[static_cast<std::size_t>(history)] = in[row * in_stride + c];
          float sum = bias ? bias[c] : 0.0f;
          for (int64_t k = 0; k < kernel; ++k) sum += w[k] * window[static_cast<std::size_t>(k)];
          out[row * out_stride + c] = silu ? activate(sum, Activation::Silu) : sum;
          std::copy(window.begin() + 1, window.end(), window.begin());
        }
        for (int64_t k = 0; k < history; ++k) after[k * channels + c] = window[static_cast<std::size_t>(k)];
      }
    }
  };
  if (pool == nullptr) {
    run(0, channels);
  } else {
    pool->parallel_for(channels, run);
  }
}

void short_conv(const float* bcx, const StepBatch& batch, const float* taps, const float* bias, int64_t kernel,
                int64_t width, SequenceStates& states, int64_t layer, float* out, std::vector<float>& scratch,
                ThreadPool* pool) {
  const int64_t tokens = batch.total_tokens();
  scratch.resize(static_cast<std::size_t>(tokens * width));
  for (int64_t t = 0; t < tokens; ++t) {
    const float* row = bcx + t * 3 * width;
    for (int64_t c = 0; c < width; ++c) scratch[static_cast<std::size_t>(t * width + c)] = row[c] * row[2 * width + c];
  }
  causal_conv(scratch.data(), width, width, taps, bias, kernel, /*silu=*/false, batch, states, layer, out, width, pool);
  for (int64_t t = 0; t < tokens; ++t) {
    const float* c = bcx + t * 3 * width + width;
    for (int64_t i = 0; i < width; ++i) out[t * width + i] *= c[i];
  }
}

}  // namespace troupe::cpu
