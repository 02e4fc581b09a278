#include "gpu/cpu/gated_delta_net.hpp"

#include <algorithm>
#include <cmath>

#include "gpu/cpu/cpu_kernels.hpp"
#include "gpu/cpu/short_conv.hpp"

namespace troupe::cpu {

namespace {

float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

// `n` values of x divided by their L2 norm (rsqrt(Σx² + 1e-6), as transformers' l2norm), times `scale`.
void l2_normalized(const float* x, int64_t n, float scale, float* out) {
  float sum = 0.0f;
  for (int64_t i = 0; i < n; ++i) sum += x[i] * x[i];
  const float f = scale / std::sqrt(sum + 1e-6f);
  for (int64_t i = 0; i < n; ++i) out[i] = x[i] * f;
}

}  // namespace

int64_t delta_net_state_floats(const DeltaNetSpec& spec) {
  return (spec.conv_kernel - 1) * spec.conv_width() + spec.v_heads * spec.k_dim * spec.v_dim;
}

void gated_delta_net(const float* proj, const StepBatch& batch, const DeltaNetSpec& spec, const DeltaNetWeights& w,
                     float eps, SequenceStates& states, int64_t layer, float* out, std::vector<float>& scratch,
                     ThreadPool* pool) {
  const int64_t tokens = batch.total_tokens();
  const int64_t cw = spec.conv_width(), kw = spec.key_width(), vw = spec.value_width();
  const int64_t stride = cw + vw + 2 * spec.v_heads;
  const int64_t dk = spec.k_dim, dv = spec.v_dim, heads = spec.v_heads;
  scratch.resize(static_cast<std::size_t>(tokens * cw));
  causal_conv(proj, stride, cw, w.taps.data(), nullptr, spec.conv_kernel, /*silu=*/true, batch, states, layer,
              scratch.data(), cw, pool);
  const int64_t matrices = (spec.conv_kernel - 1) * cw;  // where the heads' S start in the layer's state
  const std::vector<int64_t> first_token = batch.first_token_rows();
  const float q_scale = 1.0f / std::sqrt(static_cast<float>(dk));
  // Each (sequence, value head) runs its tokens in order; pairs are independent.
  const auto run = [&](int64_t begin, int64_t end) {
    std::vector<float> q(static_cast<std::size_t>(dk)), k(static_cast<std::size_t>(dk));
    std::vector<float> kv(static_cast<std::size_t>(dv)), o(static_cast<std::size_t>(dv));
    for (int64_t item = begin; item < end; ++item) {
      const SequenceStep& s = batch.sequences[static_cast<std::size_t>(item / heads)];
      const int64_t h = item % heads, kh = spec.key_head_of(h);
      const float* before = s.num_cached == 0 ? nullptr : states.current(layer, s.state_slot) + matrices + h * dk * dv;
      float* S = states.next(layer, s.state_slot) + matrices + h * dk * dv;
      const auto n = static_cast<int64_t>(s.tokens.size());
      for (int64_t t = 0; t < n; ++t) {
        const int64_t row = first_token[static_cast<std::size_t>(item / heads)] + t;
        const float* conv = scratch.data() + row * cw;
        l2_normalized(conv + kh * dk, dk, q_scale, q.data());
        l2_normalized(conv + kw + kh * dk, dk, 1.0f, k.data());
        const float* v = conv + 2 * kw + h * dv;
        const float* p = proj + row * stride;
        const float* z = p + cw + h * dv;
        const float beta = sigmoid(p[cw + vw + h]);
        const float decay = std::exp(w.decay[static_cast<std::size_t>(h)] *
                                     softplus(p[cw + vw + heads + h] + w.dt_bias[static_cast<std::size_t>(h)]));
        // S ← e^g S, and what it recalls for k: kv = Sᵀk.
        std::fill(kv.begin(), kv.end(), 0.0f);
        for (int64_t r = 0; r < dk; ++r) {
          const float* src = t > 0 ? S + r * dv : before ? before + r * dv : nullptr;
          float* dst = S + r * dv;
          for (int64_t j = 0; j < dv; ++j) {
            dst[j] = src ? decay * src[j] : 0.0f;
            kv[static_cast<std::size_t>(j)] += dst[j] * k[static_cast<std::size_t>(r)];
          }
        }
        // S ← S + k ⊗ β (v − kv), and o = Sᵀq.
        for (int64_t j = 0; j < dv; ++j) kv[static_cast<std::size_t>(j)] = beta * (v[j] - kv[static_cast<std::size_t>(j)]);
        std::fill(o.begin(), o.end(), 0.0f);
        for (int64_t r = 0; r < dk; ++r) {
          float* dst = S + r * dv;
          const float kr = k[static_cast<std::size_t>(r)], qr = q[static_cast<std::size_t>(r)];
          for (int64_t j = 0; j < dv; ++j) {
            dst[j] += kr * kv[static_cast<std::size_t>(j)];
            o[static_cast<std::size_t>(j)] += dst[j] * qr;
          }
        }
        // The gated RMSNorm over the head's values.
        float square = 0.0f;
        for (const float x : o) square += x * x;
        const float inv = 1.0f / std::sqrt(square / static_cast<float>(dv) + eps);
        float* dst = out + row * vw + h * dv;
        for (int64_t j = 0; j < dv; ++j) {
          dst[j] = o[static_cast<std::size_t>(j)] * inv * w.norm[static_cast<std::size_t>(j)] * activate(z[j], Activation::Silu);
        }
      }
    }
  };
  const auto items = static_cast<int64_t>(batch.sequences.size()) * heads;
  if (pool == nullptr) {
    run(0, items);
  } else {
    pool->parallel_for(items, run);
  }
}

}  // namespace troupe::cpu
