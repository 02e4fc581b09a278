#include "gpu/cpu/mamba2.hpp"

#include <cmath>

#include "gpu/cpu/cpu_kernels.hpp"
#include "gpu/cpu/short_conv.hpp"

namespace troupe::cpu {

int64_t mamba2_state_floats(const Mamba2Spec& spec) {
  return (spec.conv_kernel - 1) * spec.conv_width() + spec.heads * spec.head_dim * spec.state;
}

void mamba2(const float* proj, const StepBatch& batch, const Mamba2Spec& spec, const Mamba2Weights& w, float eps,
            SequenceStates& states, int64_t layer, float* out, std::vector<float>& scratch, ThreadPool* pool) {
  const int64_t tokens = batch.total_tokens();
  const int64_t inner = spec.inner(), cw = spec.conv_width(), heads = spec.heads;
  const int64_t dp = spec.head_dim, dn = spec.state, groups = spec.groups;
  const int64_t stride = inner + cw + heads;  // z, xBC, dt
  scratch.resize(static_cast<std::size_t>(tokens * cw));
  causal_conv(proj + inner, stride, cw, w.taps.data(), w.conv_bias.empty() ? nullptr : w.conv_bias.data(),
              spec.conv_kernel, /*silu=*/true, batch, states, layer, scratch.data(), cw, pool);
  const int64_t matrices = (spec.conv_kernel - 1) * cw;  // where the heads' H start in the layer's state
  const std::vector<int64_t> first_token = batch.first_token_rows();
  // Each (sequence, head) runs its tokens in order; pairs are independent. y goes to `out`, before
  // the norm.
  const auto scan = [&](int64_t begin, int64_t end) {
    for (int64_t item = begin; item < end; ++item) {
      const SequenceStep& s = batch.sequences[static_cast<std::size_t>(item / heads)];
      const int64_t h = item % heads, g = spec.group_of(h);
      const float* before = s.num_cached == 0 ? nullptr : states.current(layer, s.state_slot) + matrices + h * dp * dn;
      float* H = states.next(layer, s.state_slot) + matrices + h * dp * dn;
      const float a = w.decay[static_cast<std::size_t>(h)], d = w.skip[static_cast<std::size_t>(h)];
      const auto n = static_cast<int64_t>(s.tokens.size());
      for (int64_t t = 0; t < n; ++t) {
        const int64_t row = first_token[static_cast<std::size_t>(item / heads)] + t;
        const float* conv = scratch.data() + row * cw;
        const float* x = conv + h * dp;
        const float* B = conv + inner + g * dn;
        const float* C = conv + inner + groups * dn + g * dn;
        const float dt = softplus(proj[row * stride + inner + cw + h] + w.dt_bias[static_cast<std::size_t>(h)]);
        const float decay = std::exp(dt * a);
        float* y = out + row * inner + h * dp;
        // H ← e^(Δ A) H + Δ x ⊗ B;  y = H C + D x.
        for (int64_t p = 0; p < dp; ++p) {
          const float* src = t > 0 ? H + p * dn : before ? before + p * dn : nullptr;
          float* dst = H + p * dn;
          const float dx = dt * x[p];
          float sum = 0.0f;
          for (int64_t j = 0; j < dn; ++j) {
            dst[j] = (src ? decay * src[j] : 0.0f) + dx * B[j];
            sum += dst[j] * C[j];
          }
          y[p] = sum + d * x[p];
        }
      }
    }
  };
  // Then y ⊙ SiLU(z), RMS-normalized over each group's inner / groups values, times the norm's weight
  // (when the layer has the norm).
  const int64_t group_width = inner / groups;
  const auto gate_and_norm = [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const float* z = proj + row * stride;
      float* y = out + row * inner;
      for (int64_t i = 0; i < inner; ++i) y[i] *= activate(z[i], Activation::Silu);
      if (w.norm.empty()) continue;  // no gated norm (Falcon-H1's mamba_rms_norm false)
      for (int64_t g = 0; g < groups; ++g) {
        float* v = y + g * group_width;
        float square = 0.0f;
        for (int64_t i = 0; i < group_width; ++i) square += v[i] * v[i];
        const float inv = 1.0f / std::sqrt(square / static_cast<float>(group_width) + eps);
        for (int64_t i = 0; i < group_width; ++i) v[i] *= inv * w.norm[static_cast<std::size_t>(g * group_width + i)];
      }
    }
  };
  const auto items = static_cast<int64_t>(batch.sequences.size()) * heads;
  if (pool == nullptr) {
    scan(0, items);
    gate_and_norm(0, tokens);
  } else {
    pool->parallel_for(items, scan);
    pool->parallel_for(tokens, gate_and_norm);
  }
}

}  // namespace troupe::cpu
