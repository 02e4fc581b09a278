#include "gpu/cpu/expert_mlp.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "gpu/cpu/cpu_kernels.hpp"
#include "model/model_files.hpp"

namespace troupe::cpu {

void route_tokens(const float* logits, int64_t tokens, int64_t experts, int64_t top_k, bool normalize,
                  std::vector<ExpertRoute>& routes) {
  routes.resize(static_cast<std::size_t>(experts));
  for (ExpertRoute& r : routes) {
    r.tokens.clear();
    r.weights.clear();
  }
  std::vector<double> probs(static_cast<std::size_t>(experts));
  std::vector<int32_t> order(static_cast<std::size_t>(experts));
  for (int64_t t = 0; t < tokens; ++t) {
    const float* row = logits + t * experts;
    const float max = *std::max_element(row, row + experts);
    double sum = 0.0;
    for (int64_t e = 0; e < experts; ++e) sum += probs[static_cast<std::size_t>(e)] = std::exp(static_cast<double>(row[e] - max));
    for (double& p : probs) p /= sum;
    std::iota(order.begin(), order.end(), 0);
    std::partial_sort(order.begin(), order.begin() + top_k, order.end(), [&](int32_t a, int32_t b) {
      return probs[static_cast<std::size_t>(a)] > probs[static_cast<std::size_t>(b)] ||
             (probs[static_cast<std::size_t>(a)] == probs[static_cast<std::size_t>(b)] && a < b);
    });
    double chosen = 0.0;
    for (int64_t j = 0; j < top_k; ++j) chosen += probs[static_cast<std::size_t>(order[static_cast<std::size_t>(j)])];
    const double scale = normalize ? 1.0 / chosen : 1.0;
    for (int64_t j = 0; j < top_k; ++j) {
      const int32_t e = order[static_cast<std::size_t>(j)];
      ExpertRoute& r = routes[static_cast<std::size_t>(e)];
      r.tokens.push_back(static_cast<int32_t>(t));
      r.weights.push_back(static_cast<float>(probs[static_cast<std::size_t>(e)] * scale));
    }
  }
}

ExpertMlp::ExpertMlp(const ModelFiles& model, const LayerLayout& names, const MoeSpec& moe, int64_t hidden,
                     IndexRange columns, CpuWeight::Mode mode, bool down_biases)
    : hidden_(hidden), inter_(columns.size()), top_k_(moe.experts_per_token), normalize_(moe.normalize_top_k) {
  using Parts = std::vector<CpuWeight::Part>;
  const int64_t n = moe.num_experts, full = moe.intermediate_size;
  router_ = CpuWeight::load(model, Parts{{names.router, {n, hidden}}}, CpuWeight::Mode{false, false});
  const std::vector<IndexRange> rows{columns};
  for (const LayerLayout::Expert& e : names.experts) {
    gate_up_.push_back(CpuWeight::load(model, Parts{{e.gate, {full, hidden}, rows}, {e.up, {full, hidden}, rows}}, mode));
    down_.push_back(CpuWeight::load(model, Parts{{e.down, {hidden, full}, {}, columns}}, mode));
  }
  if (!names.router_bias.empty()) {
    router_bias_ = model.load_f32(names.router_bias, {n});
    const std::vector<float> gate = model.load_f32(names.gate_biases, {n, full});
    const std::vector<float> up = model.load_f32(names.up_biases, {n, full});
    for (int64_t e = 0; e < n; ++e) {
      gate_up_bias_.insert(gate_up_bias_.end(), gate.begin() + e * full + columns.begin, gate.begin() + e * full + columns.end);
      gate_up_bias_.insert(gate_up_bias_.end(), up.begin() + e * full + columns.begin, up.begin() + e * full + columns.end);
    }
    if (down_biases) down_bias_ = model.load_f32(names.down_biases, {n, hidden});
  }
}

int64_t ExpertMlp::bytes() const {
  int64_t total = router_.bytes() +
                  static_cast<int64_t>((router_bias_.size() + gate_up_bias_.size() + down_bias_.size()) * sizeof(float));
  for (const CpuWeight& w : gate_up_) total += w.bytes();
  for (const CpuWeight& w : down_) total += w.bytes();
  return total;
}

void ExpertMlp::forward(const float* xn, int64_t tokens, float* out, bool accumulate, Activation act, ThreadPool* pool) {
  const int64_t experts = router_.rows(), h = hidden_;
  logits_.resize(static_cast<std::size_t>(tokens * experts));
  router_.matmul(xn, logits_.data(), tokens, /*accumulate=*/false, pool);
  if (!router_bias_.empty()) {
    for (int64_t t = 0; t < tokens; ++t) add(logits_.data() + t * experts, router_bias_.data(), experts);
  }
  route_tokens(logits_.data(), tokens, experts, top_k_, normalize_, routes_);
  if (!accumulate) std::fill_n(out, tokens * h, 0.0f);
  for (int64_t e = 0; e < experts; ++e) {
    const ExpertRoute& route = routes_[static_cast<std::size_t>(e)];
    const auto n = static_cast<int64_t>(route.tokens.size());
    if (n == 0) continue;  // its weights are not read
    rows_.resize(static_cast<std::size_t>(n * h));
    for (int64_t j = 0; j < n; ++j) std::copy_n(xn + route.tokens[static_cast<std::size_t>(j)] * h, h, rows_.data() + j * h);
    gate_up_out_.resize(static_cast<std::size_t>(n * 2 * inter_));
    gate_up_[static_cast<std::size_t>(e)].matmul(rows_.data(), gate_up_out_.data(), n, /*accumulate=*/false, pool);
    if (!gate_up_bias_.empty()) {
      const float* bias = gate_up_bias_.data() + e * 2 * inter_;
      for (int64_t j = 0; j < n; ++j) add(gate_up_out_.data() + j * 2 * inter_, bias, 2 * inter_);
    }
    expert_out_.resize(static_cast<std::size_t>(n * h));
    const CpuWeight& down = down_[static_cast<std::size_t>(e)];
    if (down.takes_quantized()) {  // act(gate)·up and quantization in one pass
      gated_activation_quantize(gate_up_out_.data(), n, inter_, act, quantized_, pool);
      down.matmul(quantized_, expert_out_.data(), /*accumulate=*/false, pool);
    } else {
      act_.resize(static_cast<std::size_t>(n * inter_));
      gated_activation(gate_up_out_.data(), act_.data(), n, inter_, act, pool);
      down.matmul(act_.data(), expert_out_.data(), n, /*accumulate=*/false, pool);
    }
    if (!down_bias_.empty()) {
      for (int64_t j = 0; j < n; ++j) add(expert_out_.data() + j * h, down_bias_.data() + e * h, h);
    }
    for (int64_t j = 0; j < n; ++j) {
      float* dst = out + route.tokens[static_cast<std::size_t>(j)] * h;
      const float* src = expert_out_.data() + j * h;
      const float w = route.weights[static_cast<std::size_t>(j)];
      for (int64_t i = 0; i < h; ++i) dst[i] += w * src[i];
    }
  }
}

}  // namespace troupe::cpu
