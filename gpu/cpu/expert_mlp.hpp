#pragma once
// A mixture-of-experts MLP on the CPU (Mixtral, Qwen3-MoE; ModelSpec::moe): the router picks each
// token's experts (route_tokens, below), then each expert that some token chose runs once over
// the rows of the tokens that chose it — a small gated MLP of its own (gate|up, act, down) — and
// its output rows are added, weighted, into the tokens' outputs. A decode step reads only the
// chosen experts' weights: Qwen3-30B-A3B's 8 of 128.
//
// Under tensor parallelism every rank holds a slice of every expert's intermediate columns (as
// vLLM splits experts), so its output is a partial sum that the caller all-reduces, as for a dense
// MLP; the router is replicated, so the ranks route alike.
#include <cstdint>
#include <vector>

#include "gpu/cpu/cpu_weight.hpp"
#include "gpu/cpu/quantized_activations.hpp"
#include "gpu/cpu/thread_pool.hpp"
#include "model/decoder_layout.hpp"
#include "model/model_spec.hpp"

namespace troupe::cpu {

// The tokens one expert runs on, and the weight of its output in each.
struct ExpertRoute {
  std::vector<int32_t> tokens;
  std::vector<float> weights;
};

// From router logits [tokens, experts], as MoeSpec describes: each row's scores (softmax over the
// row, or each logit's sigmoid), the `experts_per_token` best by score plus `selection_bias`
// (null: none) within the best groups (the lower index first on a tie), weighted by their scores,
// renormalized to sum to 1 when `normalize_top_k`, times `weights_scale` and the expert's own
// `expert_scale` (null: none; Gemma 4's per_expert_scale). Computed in double.
// routes[e] lists the tokens that chose expert e, in token order (resized to `experts`).
void route_tokens(const float* logits, int64_t tokens, int64_t experts, const MoeSpec& moe, const float* selection_bias,
                  std::vector<ExpertRoute>& routes, const float* expert_scale = nullptr);

class ExpertMlp {
 public:
  ExpertMlp() = default;
  // The layer's router and experts (`names`, decoder_layout's), each expert cut to the
  // intermediate columns `columns` (a tensor-parallel rank's; all of them otherwise), and the
  // shared experts' MLP (if any) to the same share of its columns. The router is widened to
  // float32: the choice of experts is made in exact arithmetic. With biases (gpt-oss),
  // `down_biases` says whether this rank adds the down projections' (one rank of a group does: the
  // ranks' outputs are summed).
  ExpertMlp(const ModelFiles& model, const LayerLayout& names, const MoeSpec& moe, int64_t hidden, IndexRange columns,
            CpuWeight::Mode mode, bool down_biases = true);

  // out[tokens, hidden] = Σ over each token's experts of weight · expert(xn) (expert(weight · xn) with
  // MoeSpec::weights_on_input), added to out when
  // `accumulate`. xn holds the normed input rows [tokens, hidden]; the router reads `router_rows`
  // when given (Gemma 4's router has its own input norm), else xn.
  void forward(const float* xn, int64_t tokens, float* out, bool accumulate, Activation act, ThreadPool* pool,
               const float* router_rows = nullptr);

  int64_t bytes() const;

 private:
  int64_t hidden_ = 0, inter_ = 0, shared_inter_ = 0;
  MoeSpec routing_;                   // how tokens choose experts (its sizes are the whole model's)
  bool gated_ = true;                 // act(gate) · up; false: act(up), no gate rows (Nemotron-H's)
  CpuWeight router_;                  // [experts, hidden], float32
  std::vector<CpuWeight> gate_up_;    // per expert [2 inter, hidden]: gate rows then up rows (ungated: [inter, hidden])
  std::vector<CpuWeight> down_;       // per expert [hidden (latent), inter]
  // Biases, empty without: the router's [experts]; per expert its gate then up [2 inter] (this
  // rank's columns) and its down [hidden].
  std::vector<float> router_bias_, gate_up_bias_, down_bias_;
  std::vector<float> selection_bias_;  // [experts]; empty without (MoeSpec::selection_bias)
  std::vector<float> expert_scales_;   // [experts]; empty without (MoeSpec::dense_beside)
  // The shared experts' MLP, this rank's shared_inter_ columns; empty without.
  CpuWeight shared_gate_up_, shared_down_;
  std::vector<float> shared_expert_gate_;  // [hidden]; empty without (MoeSpec::shared_gate)
  std::vector<float> shared_out_;          // scratch for the gated shared output
  // Experts in a latent space (MoeSpec::latent_size; empty without): the rows' down-projection
  // [latent, hidden] before them, the weighted sum's up-projection [hidden, latent] after; scratch.
  CpuWeight latent_down_, latent_up_;
  std::vector<float> latent_in_, latent_sum_;

  // Scratch, grown as needed.
  std::vector<float> logits_, rows_, gate_up_out_, act_, expert_out_;
  std::vector<ExpertRoute> routes_;
  QuantizedActivations quantized_;
};

}  // namespace troupe::cpu
