#include "gpu/cpu/expert_mlp.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>

#include "common/error.hpp"
#include "gpu/cpu/cpu_kernels.hpp"
#include "gpu/cpu/mlp_down.hpp"
#include "model/model_files.hpp"

namespace troupe::cpu {

namespace {

// The first `k` of `order` by `key`, best first (the lower index first on a tie).
void best_first(std::vector<int32_t>& order, int64_t k, const std::vector<double>& key) {
  std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](int32_t a, int32_t b) {
    const double ka = key[static_cast<std::size_t>(a)], kb = key[static_cast<std::size_t>(b)];
    return ka > kb || (ka == kb && a < b);
  });
}

}  // namespace

void route_tokens(const float* logits, int64_t tokens, int64_t experts, const MoeSpec& moe, const float* selection_bias,
                  std::vector<ExpertRoute>& routes, const float* expert_scale) {
  routes.resize(static_cast<std::size_t>(experts));
  for (ExpertRoute& r : routes) {
    r.tokens.clear();
    r.weights.clear();
  }
  const int64_t top_k = moe.experts_per_token, groups = moe.groups, per_group = experts / groups;
  std::vector<double> scores(static_cast<std::size_t>(experts)), choice(scores.size()), group_score(static_cast<std::size_t>(groups));
  std::vector<int32_t> order(static_cast<std::size_t>(experts)), group_order(static_cast<std::size_t>(groups));
  for (int64_t t = 0; t < tokens; ++t) {
    const float* row = logits + t * experts;
    if (moe.sigmoid_scores) {
      for (int64_t e = 0; e < experts; ++e) scores[static_cast<std::size_t>(e)] = 1.0 / (1.0 + std::exp(-static_cast<double>(row[e])));
    } else {
      const float max = *std::max_element(row, row + experts);
      double sum = 0.0;
      for (int64_t e = 0; e < experts; ++e) sum += scores[static_cast<std::size_t>(e)] = std::exp(static_cast<double>(row[e] - max));
      for (double& p : scores) p /= sum;
    }
    for (int64_t e = 0; e < experts; ++e) {
      choice[static_cast<std::size_t>(e)] = scores[static_cast<std::size_t>(e)] + (selection_bias ? selection_bias[e] : 0.0f);
    }
    if (groups > 1) {  // a group's score: its group_top best choices; the experts of the others drop out
      const int64_t top = std::min(moe.group_top, per_group);
      for (int64_t g = 0; g < groups; ++g) {
        std::vector<double> in(choice.begin() + g * per_group, choice.begin() + (g + 1) * per_group);
        std::partial_sort(in.begin(), in.begin() + top, in.end(), std::greater<>());
        group_score[static_cast<std::size_t>(g)] = std::accumulate(in.begin(), in.begin() + top, 0.0);
      }
      std::iota(group_order.begin(), group_order.end(), 0);
      best_first(group_order, moe.groups_chosen, group_score);
      std::vector<bool> kept(static_cast<std::size_t>(groups), false);
      for (int64_t j = 0; j < moe.groups_chosen; ++j) kept[static_cast<std::size_t>(group_order[static_cast<std::size_t>(j)])] = true;
      for (int64_t e = 0; e < experts; ++e) {
        if (!kept[static_cast<std::size_t>(e / per_group)]) choice[static_cast<std::size_t>(e)] = -HUGE_VAL;
      }
    }
    std::iota(order.begin(), order.end(), 0);
    best_first(order, top_k, choice);
    double chosen = 0.0;
    for (int64_t j = 0; j < top_k; ++j) chosen += scores[static_cast<std::size_t>(order[static_cast<std::size_t>(j)])];
    const double scale = (moe.normalize_top_k ? 1.0 / chosen : 1.0) * moe.weights_scale;
    for (int64_t j = 0; j < top_k; ++j) {
      const int32_t e = order[static_cast<std::size_t>(j)];
      ExpertRoute& r = routes[static_cast<std::size_t>(e)];
      r.tokens.push_back(static_cast<int32_t>(t));
      r.weights.push_back(static_cast<float>(scores[static_cast<std::size_t>(e)] * scale * (expert_scale ? expert_scale[e] : 1.0f)));
    }
  }
}

ExpertMlp::ExpertMlp(const ModelFiles& model, const LayerLayout& names, const MoeSpec& moe, int64_t hidden,
                     IndexRange columns, CpuWeight::Mode mode, bool down_biases)
    : hidden_(hidden), inter_(columns.size()), routing_(moe) {
  using Parts = std::vector<CpuWeight::Part>;
  const int64_t n = moe.num_experts, full = moe.intermediate_size;
  router_ = CpuWeight::load(model, Parts{{names.router, {n, hidden}}}, CpuWeight::Mode{false, false});
  const std::vector<IndexRange> rows{columns};
  // The experts' rows are `width` wide: the hidden size, or the latent one (Nemotron 3 Super).
  const int64_t width = moe.latent_size > 0 ? moe.latent_size : hidden;
  if (moe.latent_size > 0) {
    latent_down_ = CpuWeight::load(model, Parts{{names.latent_down, {width, hidden}}}, mode);
    latent_up_ = CpuWeight::load(model, Parts{{names.latent_up, {hidden, width}}}, mode);
  }
  // Gate rows then up rows, or the up rows alone for experts without a gate (Nemotron-H's).
  const auto first_projection = [&](const std::string& gate, const std::string& up, int64_t rows_of, int64_t in,
                                    const std::vector<IndexRange>& part) {
    Parts parts;
    if (!gate.empty()) parts.push_back({gate, {rows_of, in}, part});
    parts.push_back({up, {rows_of, in}, part});
    return CpuWeight::load(model, parts, mode);
  };
  gated_ = names.experts.empty() || !names.experts.front().gate.empty();
  for (const LayerLayout::Expert& e : names.experts) {
    gate_up_.push_back(first_projection(e.gate, e.up, full, width, rows));
    down_.push_back(CpuWeight::load(model, Parts{{e.down, {width, full}, {}, columns}}, mode));
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
  if (!names.selection_bias.empty()) selection_bias_ = model.load_f32(names.selection_bias, {n});
  if (!names.expert_scales.empty()) expert_scales_ = model.load_f32(names.expert_scales, {n});
  if (!names.shared_up.empty()) {
    // k times the experts' width (GLM's n_shared_experts; Qwen2-MoE's too, in practice): a rank
    // takes the same share of its columns as of each expert's ([k·begin, k·end)).
    const int64_t shared = moe.shared_intermediate_size;
    const bool whole = columns.begin == 0 && columns.end == full;
    if (shared % full != 0 && !whole) {
      throw ConfigError("a shared expert of " + std::to_string(shared) + " columns does not split as the experts' " +
                        std::to_string(full) + " do across tensor-parallel ranks");
    }
    const int64_t k = shared / full;
    const IndexRange cols = whole ? IndexRange{0, shared} : IndexRange{k * columns.begin, k * columns.end};
    shared_inter_ = cols.size();
    const std::vector<IndexRange> shared_rows{cols};
    shared_gate_up_ = first_projection(names.shared_gate, names.shared_up, shared, hidden, shared_rows);
    shared_down_ = CpuWeight::load(model, Parts{{names.shared_down, {hidden, shared}, {}, cols}}, mode);
    if (!names.shared_expert_gate.empty()) {  // stored [1, hidden] by transformers, [hidden] in GGUF
      const bool flat = model.tensor(names.shared_expert_gate).shape.size() == 1;
      shared_expert_gate_ = model.load_f32(names.shared_expert_gate, flat ? std::vector<int64_t>{hidden}
                                                                         : std::vector<int64_t>{1, hidden});
    }
  }
}

int64_t ExpertMlp::bytes() const {
  int64_t total = router_.bytes() + latent_down_.bytes() + latent_up_.bytes() +
                  static_cast<int64_t>((router_bias_.size() + gate_up_bias_.size() + down_bias_.size() +
                                        selection_bias_.size() + expert_scales_.size()) * sizeof(float));
  if (shared_inter_ > 0) total += shared_gate_up_.bytes() + shared_down_.bytes();
  for (const CpuWeight& w : gate_up_) total += w.bytes();
  for (const CpuWeight& w : down_) total += w.bytes();
  return total;
}

void ExpertMlp::forward(const float* xn, int64_t tokens, float* out, bool accumulate, Activation act, ThreadPool* pool,
                        const float* router_rows) {
  const int64_t experts = router_.rows();
  logits_.resize(static_cast<std::size_t>(tokens * experts));
  router_.matmul(router_rows ? router_rows : xn, logits_.data(), tokens, /*accumulate=*/false, pool);
  if (!router_bias_.empty()) {
    for (int64_t t = 0; t < tokens; ++t) add(logits_.data() + t * experts, router_bias_.data(), experts);
  }
  route_tokens(logits_.data(), tokens, experts, routing_, selection_bias_.empty() ? nullptr : selection_bias_.data(), routes_,
               expert_scales_.empty() ? nullptr : expert_scales_.data());
  // The experts' rows and their weighted sum: the hidden ones, or in the latent space (the rows
  // down-projected first, the sum up-projected into `out` after).
  const bool latent = latent_down_.rows() > 0;
  const int64_t h = latent ? latent_down_.rows() : hidden_;
  const float* in = xn;
  float* sum = out;
  if (latent) {
    latent_in_.resize(static_cast<std::size_t>(tokens * h));
    latent_down_.matmul(xn, latent_in_.data(), tokens, /*accumulate=*/false, pool);
    in = latent_in_.data();
    latent_sum_.assign(static_cast<std::size_t>(tokens * h), 0.0f);
    sum = latent_sum_.data();
  } else if (!accumulate) {
    std::fill_n(out, tokens * h, 0.0f);
  }
  for (int64_t e = 0; e < experts; ++e) {
    const ExpertRoute& route = routes_[static_cast<std::size_t>(e)];
    const auto n = static_cast<int64_t>(route.tokens.size());
    if (n == 0) continue;  // its weights are not read
    rows_.resize(static_cast<std::size_t>(n * h));
    for (int64_t j = 0; j < n; ++j) std::copy_n(in + route.tokens[static_cast<std::size_t>(j)] * h, h, rows_.data() + j * h);
    if (routing_.weights_on_input) {  // Llama 4: the expert reads the row times its weight
      for (int64_t j = 0; j < n; ++j) {
        const float w = route.weights[static_cast<std::size_t>(j)];
        for (float* v = rows_.data() + j * h; v != rows_.data() + (j + 1) * h; ++v) *v *= w;
      }
    }
    gate_up_out_.resize(static_cast<std::size_t>(n * 2 * inter_));
    gate_up_[static_cast<std::size_t>(e)].matmul(rows_.data(), gate_up_out_.data(), n, /*accumulate=*/false, pool);
    if (!gate_up_bias_.empty()) {
      const float* bias = gate_up_bias_.data() + e * 2 * inter_;
      for (int64_t j = 0; j < n; ++j) add(gate_up_out_.data() + j * 2 * inter_, bias, 2 * inter_);
    }
    expert_out_.resize(static_cast<std::size_t>(n * h));
    mlp_down(gate_up_out_.data(), n, inter_, act, gated_, down_[static_cast<std::size_t>(e)], expert_out_.data(),
             /*accumulate=*/false, quantized_, act_, pool);
    if (!down_bias_.empty()) {
      for (int64_t j = 0; j < n; ++j) add(expert_out_.data() + j * h, down_bias_.data() + e * h, h);
    }
    for (int64_t j = 0; j < n; ++j) {
      float* dst = sum + route.tokens[static_cast<std::size_t>(j)] * h;
      const float* src = expert_out_.data() + j * h;
      const float w = routing_.weights_on_input ? 1.0f : route.weights[static_cast<std::size_t>(j)];
      for (int64_t i = 0; i < h; ++i) dst[i] += w * src[i];
    }
  }
  if (latent) latent_up_.matmul(latent_sum_.data(), out, tokens, accumulate, pool);
  if (shared_inter_ > 0) {  // the shared experts, on every token: added unweighted, or times their gate
    const int64_t h = hidden_;
    const bool gated = !shared_expert_gate_.empty();
    float* dst = out;
    if (gated) {
      shared_out_.resize(static_cast<std::size_t>(tokens * h));
      dst = shared_out_.data();
    }
    gate_up_out_.resize(static_cast<std::size_t>(tokens * 2 * shared_inter_));
    shared_gate_up_.matmul(xn, gate_up_out_.data(), tokens, /*accumulate=*/false, pool);
    mlp_down(gate_up_out_.data(), tokens, shared_inter_, act, gated_, shared_down_, dst, /*accumulate=*/!gated, quantized_,
             act_, pool);
    if (gated) {  // σ(x · gate) per token; x is every rank's whole row, so the ranks scale alike
      for (int64_t t = 0; t < tokens; ++t) {
        double dot = 0.0;
        for (int64_t i = 0; i < h; ++i) dot += static_cast<double>(xn[t * h + i]) * shared_expert_gate_[static_cast<std::size_t>(i)];
        const auto g = static_cast<float>(1.0 / (1.0 + std::exp(-dot)));
        for (int64_t i = 0; i < h; ++i) out[t * h + i] += g * dst[t * h + i];
      }
    }
  }
}

}  // namespace troupe::cpu
