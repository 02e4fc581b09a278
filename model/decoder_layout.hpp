#pragma once
// The one description of a model's layers that every backend walks: which tensors (by their
// Hugging Face names, which ModelFiles serves for GGUF files too) each layer reads, in the order of
// the forward pass, with the features that vary per layer. A layer runs as
//
//   x = embedding[token] [+ position_embedding[position]]
//   h = [attention_norm](x) → q, k, v (+ bias) [→ clip] [→ q/k norm] → [RoPE(layer's)] → paged
//       attention (layer's window and scale, [sinks]) → o (+ bias)
//       (latent attention, ModelSpec::mla: q and the latent from their projections, attention over
//        the latent, then each head's value projection → o)
//       (a short-convolution layer, ModelSpec::short_conv: B, C, x' = conv_in x; the causal
//        depthwise convolution of B ⊙ x' over the sequence's positions, times C → conv_out;
//        a gated delta net, ModelSpec::delta_net: its projections, convolution and per-head state
//        → the gated norm → out)
//   x += [attention_out_norm](h)
//   h = [mlp_norm](x) → act(gate) · up → down
//       (a mixture of experts: Σ over the token's chosen experts e of p_e · down_e(act(gate_e) · up_e),
//        chosen by the router; ModelSpec::moe; with biases on the router and each projection when
//        their names are given; plus the shared experts' dense MLP on every token when named)
//   x += [mlp_out_norm](h)
//   [x += per_layer_norm(per_layer_out(gelu(per_layer_gate x) ⊙ the layer's per-layer input))]
//   [x ×= layer_scalar]
//
// Gemma 3n's layers (ModelSpec::altup_streams) run the above on the active stream's prediction, with
// LAuReL's n + laurel_norm(laurel_right(laurel_left n)) of the attention's normed input n added to x
// after attention (the sum × 1/√2), and the per-layer step taking the corrected active stream
// × altup_output_scale and adding to the other streams (model_spec.hpp says how the streams go).
//
// where a bracketed step is there when its tensor name is not empty. With ModelSpec::norm_bias every
// norm named "….weight" here has its bias beside it, "….bias" (torch's nn.LayerNorm); with
// ModelSpec::norm_without_weights (OLMo 1) the norms are named but have no tensors. A layer without a mixer
// (Mixer::None) is its MLP block alone, and a layer without an MLP (LayerLayout::mlp false) its
// mixer block alone (Nemotron-H's); an MLP without a gate (ModelSpec::gated_mlp false) is
// act(up) → down, its gate names empty.
#include <cstdint>
#include <string>
#include <vector>

#include "model/model_spec.hpp"

namespace troupe {

struct LayerLayout {
  std::string attention_norm;      // RMSNorm before attention; empty without (OLMo 2)
  // projection weights (latent attention: q alone, or none, and o); v empty when the values are
  // k's projection (ModelSpec::values_from_keys)
  std::string q, k, v, o;
  // What mixes the layer's tokens. A ShortConv layer has no q, k, v, o (nor attention features) but
  // in_proj [3 hidden, hidden], the taps [hidden, 1, kernel] (GGUF: [hidden, kernel]), out_proj
  // [hidden, hidden], and their biases when ShortConvSpec::bias (empty otherwise).
  Mixer mixer = Mixer::Attention;
  std::string conv_in, conv, conv_out;
  std::string conv_in_bias, conv_bias, conv_out_bias;
  // A GatedDeltaNet layer (ModelSpec::delta_net) instead of attention: in_proj_qkv [2 key width +
  // value width, hidden], in_proj_z [value width, hidden], in_proj_b and in_proj_a [v_heads, hidden],
  // the convolution's taps [conv width, 1, kernel], A_log and dt_bias [v_heads], the gated norm
  // [v_dim] and out_proj [hidden, value width]. llama.cpp's GGUF stores −exp(A_log) itself, which
  // ModelFiles serves as `decay` (linear_attn.A); a model has one of the two.
  struct DeltaNet {
    std::string qkv, z, b, a, conv, a_log, decay, dt_bias, norm, out;
  };
  DeltaNet delta;
  // A Mamba2 layer (ModelSpec::mamba) instead of attention, or beside it (Falcon-H1): in_proj [inner + conv width + heads,
  // hidden], the convolution's taps [conv width, 1, kernel] (GGUF: [conv width, kernel]) and bias,
  // dt_bias, A_log and D [heads], the gated norm [inner] (empty without) and out_proj [hidden, inner]. llama.cpp's
  // GGUF stores −exp(A_log), which ModelFiles serves as `decay` (mamba.A); a model has one of the two.
  struct Mamba {
    std::string in, conv, conv_bias, dt_bias, a_log, decay, d, norm, out;
  };
  Mamba mamba;
  // Latent attention (ModelSpec::mla), instead of k and v (and of q with a q_lora_rank):
  //   q = q_b(RMSNorm_{q_a_norm}(q_a x)), or q x;  [c, k_rope] = kv_a x, c ← RMSNorm_{kv_a_norm}(c)
  // and the heads' up-projections of the latent, kv_b ([heads (nope + v), kv_lora_rank], Hugging
  // Face's kv_b_proj) or as llama.cpp stores them split, k_b ([heads, kv_lora_rank, nope], each
  // head's W_uk transposed) and v_b ([heads, v, kv_lora_rank]); model/latent_heads.hpp reads either.
  std::string q_a, q_a_norm, q_b;
  std::string kv_a, kv_a_norm;
  std::string kv_b, k_b, v_b;
  std::string q_bias, k_bias, v_bias;  // empty without attention biases
  std::string o_bias;              // empty without an output-projection bias
  std::string sinks;               // [heads] sink logits; empty without (ModelSpec::attention_sinks)
  std::string head_gate;           // [heads, hidden], a gate per head; empty without (ModelSpec::attention_head_gate)
  std::string q_norm, k_norm;      // per-head (or whole-projection) RMSNorms; empty without them
  std::string attention_out_norm;  // on the attention output (sandwich norms); empty without
  std::string mlp_norm;            // RMSNorm before the MLP; empty without (OLMo 2)
  bool mlp = true;                  // the layer has an MLP block (dense or experts)
  std::string gate, up, down;      // a dense MLP's; empty in a mixture-of-experts layer (gate: ungated)
  std::string gate_bias, up_bias, down_bias;  // their biases (ModelSpec::mlp_bias); empty without
  // The xIELU activation's parameters (Activation::Xielu): "<prefix>alpha_p", "alpha_n", "beta", "eps",
  // scalars; empty without. GGUF files hold them as per-layer metadata arrays, which ModelFiles serves
  // under these names.
  std::string activation_params;
  std::string router;              // [experts, hidden]; empty in a dense layer
  std::string router_bias;         // [experts]; empty without (MoeSpec::biases)
  std::string selection_bias;      // [experts], added for choosing only; empty without (MoeSpec::selection_bias)
  // The experts' latent projections, [latent, hidden] and [hidden, latent]; empty without (MoeSpec::latent_size).
  std::string latent_down, latent_up;
  // The shared experts' dense gated MLP (MoeSpec::shared_intermediate_size); empty without.
  std::string shared_gate, shared_up, shared_down;
  std::string shared_expert_gate;  // [hidden] (GGUF) or [1, hidden]; empty without (MoeSpec::shared_gate)
  // A dense MLP beside the experts (MoeSpec::dense_beside, Gemma 4): gate, up and down name it, and
  // mlp_norm its input norm; the experts' own input and output norms, the dense MLP's output norm,
  // the router's input norm [hidden] and the experts' scales [experts]. Empty without.
  std::string experts_norm, experts_out_norm, dense_out_norm, router_norm, expert_scales;
  // Every expert's biases stacked: [experts, intermediate] for gate and up, [experts, hidden] for
  // down; empty without.
  std::string gate_biases, up_biases, down_biases;
  struct Expert {
    std::string gate, up, down;
  };
  std::vector<Expert> experts;     // a mixture-of-experts layer's, in expert order
  std::string mlp_out_norm;        // on the MLP output (sandwich norms); empty without
  // Cohere's parallel block: the MLP reads the attention's normed input (mlp_norm empty), or its own
  // norm of the layer's input (GPT-NeoX's, mlp_norm), and both outputs join x.
  bool parallel_mlp = false;
  int64_t window = 0;              // sliding window (positions seen, own included); 0: global
  int64_t chunk = 0;               // attention within chunks of this many positions (Llama 4); 0: none
  bool rope = true;                // q and k rotated by position (false: a NoPE layer, SmolLM3)
  std::string layer_scalar;        // [1], the stream × it at the layer's end; empty without (ModelSpec::layer_scalar)
  // Per-layer embeddings (ModelSpec::per_layer_input_size, P): the gate [P, hidden], the projection
  // [hidden, P] and the norm [hidden] of the layer's step after its MLP; empty without.
  std::string per_layer_gate, per_layer_out, per_layer_norm;
  // Gemma 3n's AltUp (ModelSpec::altup_streams, N): the router's norm [hidden] and projection [N,
  // hidden], the prediction coefficients [N², N], the correction coefficients [N, N], the corrected
  // active stream's scale [hidden]; and LAuReL (ModelSpec::laurel_rank, r): left [r, hidden], right
  // [hidden, r], its norm [hidden]. Empty without.
  std::string altup_router_norm, altup_router, altup_predict, altup_correct, altup_output_scale;
  std::string laurel_left, laurel_right, laurel_norm;
  // The layer attends over this earlier layer's keys and values (k, v and k_norm then empty:
  // ModelSpec::layer_kv_source); its own index otherwise.
  int64_t kv_source = 0;
};

struct DecoderLayout {
  std::string embedding;   // [vocab, hidden]
  // Learned absolute positions (ModelSpec::learned_positions): [positions, hidden], row p (+ the spec's
  // position_offset) added to the embedding of the token at position p; empty without.
  std::string position_embedding;
  // Per-layer embeddings (ModelSpec::per_layer_input_size, P): the table [vocab, layers · P], the
  // embeddings' projection [layers · P, hidden] and the norm [P] over each layer's part of it;
  // empty without.
  std::string per_layer_embedding, per_layer_projection, per_layer_projection_norm;
  // Gemma 3n's AltUp: each stream's but the active one's projection [hidden, hidden] from the
  // embeddings (altup_in) and back before the final norm (altup_out); empty without.
  std::vector<std::string> altup_in, altup_out;
  std::string final_norm;  // [hidden]
  std::string lm_head;     // [vocab, hidden]; empty when tied to the embedding
  std::string lm_head_bias;  // [vocab]; empty without (ModelSpec::lm_head_bias)
  std::vector<LayerLayout> layers;
};

DecoderLayout decoder_layout(const ModelSpec& spec);

}  // namespace troupe
