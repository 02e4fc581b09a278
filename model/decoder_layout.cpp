#include "model/decoder_layout.hpp"

#include "model/model_family.hpp"

namespace troupe {
namespace {

// An attention layer's tensors (`p`: its "model.layers.N." prefix).
void add_attention(const ModelSpec& spec, const std::string& p, LayerLayout& L) {
  L.o = p + "self_attn.o_proj.weight";
  if (spec.mla) {
    if (spec.mla->q_lora_rank > 0) {
      L.q_a = p + "self_attn.q_a_proj.weight";
      L.q_a_norm = p + "self_attn.q_a_layernorm.weight";
      L.q_b = p + "self_attn.q_b_proj.weight";
    } else {
      L.q = p + "self_attn.q_proj.weight";
    }
    L.kv_a = p + "self_attn.kv_a_proj_with_mqa.weight";
    L.kv_a_norm = p + "self_attn.kv_a_layernorm.weight";
    L.kv_b = p + "self_attn.kv_b_proj.weight";
    L.k_b = p + "self_attn.k_b_proj.weight";
    L.v_b = p + "self_attn.v_b_proj.weight";
  } else {
    L.q = p + "self_attn.q_proj.weight";
    L.k = p + "self_attn.k_proj.weight";
    L.v = p + "self_attn.v_proj.weight";
  }
  if (spec.attention_bias) {
    L.q_bias = p + "self_attn.q_proj.bias";
    L.k_bias = p + "self_attn.k_proj.bias";
    L.v_bias = p + "self_attn.v_proj.bias";
    if (spec.output_bias) L.o_bias = p + "self_attn.o_proj.bias";
  }
  if (spec.attention_sinks) L.sinks = p + "self_attn.sinks";
  if (spec.attention_head_gate) L.head_gate = p + "self_attn.gate_proj.weight";  // LFM3's checkpoints' name
  if (spec.qk_norm) {
    L.q_norm = p + "self_attn.q_norm.weight";
    L.k_norm = p + "self_attn.k_norm.weight";
  }
}

}  // namespace

DecoderLayout decoder_layout(const ModelSpec& spec) {
  DecoderLayout layout;
  layout.embedding = "model.embed_tokens.weight";
  layout.final_norm = "model.norm.weight";
  if (!spec.tie_word_embeddings) layout.lm_head = "lm_head.weight";
  if (spec.lm_head_bias) layout.lm_head_bias = "lm_head.bias";
  if (spec.learned_positions) layout.position_embedding = "model.embed_positions.weight";
  if (spec.per_layer_input_size > 0) {  // Gemma 4 E2B/E4B's names
    layout.per_layer_embedding = "model.embed_tokens_per_layer.weight";
    layout.per_layer_projection = "model.per_layer_model_projection.weight";
    layout.per_layer_projection_norm = "model.per_layer_projection_norm.weight";
  }
  for (int64_t i = 0; i + 1 < spec.altup_streams; ++i) {  // Gemma 3n's names
    layout.altup_in.push_back("model.altup_projections." + std::to_string(i) + ".weight");
    layout.altup_out.push_back("model.altup_unembed_projections." + std::to_string(i) + ".weight");
  }
  layout.layers.reserve(static_cast<std::size_t>(spec.num_layers));
  for (int64_t i = 0; i < spec.num_layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    LayerLayout L;
    L.mixer = spec.mixer(i);
    L.mlp = spec.has_mlp(i);
    L.kv_source = spec.kv_source(i);
    if (spec.input_norms && L.mixer != Mixer::None) L.attention_norm = p + "input_layernorm.weight";
    if (L.mixer == Mixer::None) {
      // The layer is its MLP alone, behind the layer's one norm (Nemotron-H's).
    } else if (L.mixer == Mixer::ShortConv) {
      L.conv_in = p + "conv.in_proj.weight";
      L.conv = p + "conv.conv.weight";
      L.conv_out = p + "conv.out_proj.weight";
      if (spec.short_conv->bias) {
        L.conv_in_bias = p + "conv.in_proj.bias";
        L.conv_bias = p + "conv.conv.bias";
        L.conv_out_bias = p + "conv.out_proj.bias";
      }
    } else if (L.mixer == Mixer::GatedDeltaNet) {
      const std::string d = p + "linear_attn.";
      L.delta = {d + "in_proj_qkv.weight", d + "in_proj_z.weight", d + "in_proj_b.weight", d + "in_proj_a.weight",
                 d + "conv1d.weight", d + "A_log", d + "A", d + "dt_bias", d + "norm.weight", d + "out_proj.weight"};
    } else if (L.mixer != Mixer::Mamba2) {
      add_attention(spec, p, L);
      if (spec.values_are_keys(i)) L.v.clear();  // Gemma 4's full layers: the values are k_proj's
      if (L.kv_source != i) {  // another layer's keys and values: no projections of its own
        L.k.clear();
        L.v.clear();
        L.k_norm.clear();
      }
    }
    if (spec.runs_mamba(i)) {  // the layer's mixer, or beside its attention (Falcon-H1)
      const std::string m = p + "mamba.";
      L.mamba = {m + "in_proj.weight", m + "conv1d.weight", spec.mamba->conv_bias ? m + "conv1d.bias" : std::string(),
                 m + "dt_bias", m + "A_log", m + "A", m + "D", spec.mamba->gated_norm ? m + "norm.weight" : std::string(),
                 m + "out_proj.weight"};
    }
    if (!L.mlp) {
      // A mixer alone (Nemotron-H's): no MLP block.
    } else if (L.mixer == Mixer::None) {
      L.mlp_norm = p + "input_layernorm.weight";
    } else if (spec.sandwich_norms) {
      // The family's names (Gemma's post_attention_layernorm is on the attention output, GLM's before
      // the MLP).
      const NormNames& n = family_of(spec.arch).norm_names;
      L.attention_out_norm = p + std::string(n.attention_out) + ".weight";
      if (spec.input_norms) L.mlp_norm = p + std::string(n.mlp_in) + ".weight";
      L.mlp_out_norm = p + std::string(n.mlp_out) + ".weight";
    } else if (spec.parallel_block) {
      L.parallel_mlp = true;
      if (spec.parallel_mlp_norm) L.mlp_norm = p + "post_attention_layernorm.weight";
    } else {
      L.mlp_norm = p + "post_attention_layernorm.weight";
    }
    if (spec.sparse_mlp(i)) {
      const ExpertNames& n = family_of(spec.arch).expert_names;
      const std::string block = p + std::string(n.block) + ".";
      L.router = block + std::string(n.router) + ".weight";
      if (spec.moe->biases) {
        L.router_bias = block + std::string(n.router) + ".bias";
        L.gate_biases = block + "experts." + std::string(n.gate) + ".bias";
        L.up_biases = block + "experts." + std::string(n.up) + ".bias";
        L.down_biases = block + "experts." + std::string(n.down) + ".bias";
      }
      if (spec.moe->selection_bias) L.selection_bias = block + std::string(n.selection_bias);
      if (spec.moe->latent_size > 0) {  // Nemotron 3 Super's names
        L.latent_down = block + "fc1_latent_proj.weight";
        L.latent_up = block + "fc2_latent_proj.weight";
      }
      if (spec.moe->shared_intermediate_size > 0) {
        const std::string shared = shared_expert_prefix(n, std::to_string(i));
        if (spec.gated_mlp) L.shared_gate = shared + "gate_proj.weight";
        L.shared_up = shared + "up_proj.weight";
        L.shared_down = shared + "down_proj.weight";
        if (spec.moe->shared_gate) L.shared_expert_gate = block + std::string(n.shared_gate) + ".weight";
      }
      if (spec.moe->dense_beside) {  // Gemma 4's names
        L.gate = p + "mlp.gate_proj.weight";
        L.up = p + "mlp.up_proj.weight";
        L.down = p + "mlp.down_proj.weight";
        L.dense_out_norm = p + "post_feedforward_layernorm_1.weight";
        L.experts_norm = p + "pre_feedforward_layernorm_2.weight";
        L.experts_out_norm = p + "post_feedforward_layernorm_2.weight";
        L.router_norm = block + "router.scale";
        L.expert_scales = block + "router.per_expert_scale";
      }
      for (int64_t e = 0; e < spec.moe->num_experts; ++e) {
        const std::string expert = block + "experts." + std::to_string(e) + ".";
        L.experts.push_back({spec.gated_mlp ? expert + std::string(n.gate) + ".weight" : "",
                             expert + std::string(n.up) + ".weight", expert + std::string(n.down) + ".weight"});
      }
    } else if (L.mlp) {
      if (spec.gated_mlp) L.gate = p + "mlp.gate_proj.weight";
      L.up = p + "mlp.up_proj.weight";
      L.down = p + "mlp.down_proj.weight";
      if (spec.activation == Activation::Xielu) L.activation_params = p + "mlp.act_fn.";
      if (spec.mlp_bias) {
        if (spec.gated_mlp) L.gate_bias = p + "mlp.gate_proj.bias";
        L.up_bias = p + "mlp.up_proj.bias";
        L.down_bias = p + "mlp.down_proj.bias";
      }
    }
    L.window = spec.window(i);
    L.chunk = spec.chunk(i);
    L.rope = spec.uses_rope(i);
    if (spec.layer_scalar) L.layer_scalar = p + "layer_scalar";
    if (spec.per_layer_input_size > 0) {
      L.per_layer_gate = p + "per_layer_input_gate.weight";
      L.per_layer_out = p + "per_layer_projection.weight";
      L.per_layer_norm = p + "post_per_layer_input_norm.weight";
    }
    if (spec.altup_streams > 0) {
      L.altup_router_norm = p + "altup.router_norm.weight";
      L.altup_router = p + "altup.modality_router.weight";
      L.altup_predict = p + "altup.prediction_coefs.weight";
      L.altup_correct = p + "altup.correction_coefs.weight";
      L.altup_output_scale = p + "altup.correct_output_scale";
    }
    if (spec.laurel_rank > 0) {
      L.laurel_left = p + "laurel.linear_left.weight";
      L.laurel_right = p + "laurel.linear_right.weight";
      L.laurel_norm = p + "laurel.post_laurel_norm.weight";
    }
    layout.layers.push_back(std::move(L));
  }
  return layout;
}

}  // namespace troupe
