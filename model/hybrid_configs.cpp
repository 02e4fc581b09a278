#include "model/hybrid_configs.hpp"

#include <algorithm>
#include <array>
#include <vector>

namespace troupe::config_json {

namespace {

// A hybrid's layer_types into spec.layer_mixer: each "full_attention" (or, with `sliding`,
// "sliding_attention": LFM3's, which read_windows gives their window) or the family's other type
// `name`, read as `mixer` (legacy names as current_layer_type reads them). False when the config
// lists none.
bool read_layer_types(const ConfigView& cfg, ModelSpec& spec, std::string_view family, std::string_view name, Mixer mixer,
                      bool sliding = false) {
  const json::value* types = cfg.find("layer_types");
  if (types == nullptr || !types->is_array()) return false;
  if (static_cast<int64_t>(types->as_array().size()) != spec.num_layers) {
    cfg.fail("layer_types lists " + std::to_string(types->as_array().size()) + " layers, num_hidden_layers is " +
             std::to_string(spec.num_layers));
  }
  spec.layer_mixer.assign(static_cast<std::size_t>(spec.num_layers), Mixer::Attention);
  for (std::size_t i = 0; i < spec.layer_mixer.size(); ++i) {
    const json::value& t = types->as_array()[i];
    const std::string_view type = current_layer_type(t.is_string() ? std::string_view(t.as_string()) : std::string_view());
    if (type != name && type != "full_attention" && (!sliding || type != "sliding_attention")) {
      cfg.fail("layer_types holds " + json::serialize(t) + " (" + std::string(family) + "'s are \"" + std::string(name) +
               "\" and \"full_attention\"" + (sliding ? " and \"sliding_attention\")" : ")"));
    }
    if (type == name) spec.layer_mixer[i] = mixer;
  }
  return true;
}

// Granite 4.0-H (GraniteMoeHybridConfig): which layers are Mamba-2 (layer_types "mamba", or
// transformers' "linear_attention"; the others "attention" / "full_attention"; none listed: all), their sizes
// (mamba_d_head "auto": mamba_expand · hidden / mamba_n_heads), the dense MLP's width
// (shared_intermediate_size), RoPE only with position_embedding_type "rope". Its experts, when
// num_local_experts > 0 (H-Tiny, H-Small): read_moe.
// A Mamba-2 layer's Δ is clamped to time_step_limit, (0, ∞) by default: no other is run. Its ∞ is
// written as Python's json writes it, a bare Infinity (read as null), or as transformers 5 does,
// {"__float__": "Infinity"}.
void read_time_step_limit(const ConfigView& cfg, std::string_view key) {
  const json::value* limit = cfg.find(key);
  if (limit == nullptr) return;
  const auto infinite = [](const json::value& v) {
    if (v.is_null()) return true;
    const json::object* o = v.if_object();
    const json::value* f = o != nullptr && o->size() == 1 ? o->if_contains("__float__") : nullptr;
    return f != nullptr && f->is_string() && f->as_string() == "Infinity";
  };
  const bool unbounded = limit->is_array() && limit->as_array().size() == 2 && limit->as_array()[0].is_number() &&
                         limit->as_array()[0].to_number<double>() == 0.0 && infinite(limit->as_array()[1]);
  if (!unbounded) cfg.fail(std::string(key) + " other than [0.0, Infinity] is not supported");
}

// The Mamba-2 layers' sizes under the mamba_* keys Granite 4.0-H's and Falcon-H1's configs share
// (their defaults when absent): `inner` values wide (`what` names where that comes from) in
// mamba_n_heads heads of mamba_d_head ("auto": inner / heads).
Mamba2Spec read_mamba_keys(const ConfigView& cfg, int64_t inner, const std::string& what) {
  Mamba2Spec m;
  m.heads = cfg.optional_integer("mamba_n_heads").value_or(128);
  const json::value* d_head = cfg.find("mamba_d_head");
  m.head_dim = d_head != nullptr && d_head->is_number() ? cfg.integer("mamba_d_head") : (m.heads > 0 ? inner / m.heads : 0);
  if (m.heads * m.head_dim != inner) cfg.fail("mamba_n_heads × mamba_d_head must be " + what);
  m.state = cfg.optional_integer("mamba_d_state").value_or(256);
  m.groups = cfg.optional_integer("mamba_n_groups").value_or(1);
  m.conv_kernel = cfg.optional_integer("mamba_d_conv").value_or(4);
  m.conv_bias = cfg.boolean("mamba_conv_bias").value_or(true);
  if (cfg.boolean("mamba_proj_bias").value_or(false)) cfg.fail("mamba_proj_bias = true is not supported");
  read_time_step_limit(cfg, "time_step_limit");
  return m;
}

}  // namespace

// A layer type under its current name: transformers reads the legacy "mamba" and "attention" (Granite
// 4.0-H's released configs) as "linear_attention" and "full_attention", for every family.
std::string_view current_layer_type(std::string_view type) {
  if (type == "mamba") return "linear_attention";
  if (type == "attention") return "full_attention";
  return type;
}

// LFM2: which layers convolve (layer_types, or the attention layers as full_attn_idxs; neither:
// all attend, Lfm2Config's default), the convolution's size, and the MLP's width, which
// Lfm2MLP derives from block_ff_dim (intermediate_size) as Llama's reference code did: 2/3 of it,
// times block_ffn_dim_multiplier and rounded up to block_multiple_of when a multiplier is given
// (with `width_rule`: LFM2-MoE's dense layers take intermediate_size as it is).

void read_lfm2(const ConfigView& cfg, ModelSpec& spec, bool width_rule, bool sliding_layers) {
  int64_t ff = cfg.present("block_ff_dim") ? cfg.integer("block_ff_dim") : cfg.integer("intermediate_size");
  if (width_rule && cfg.boolean("block_auto_adjust_ff_dim").value_or(true)) {
    ff = static_cast<int64_t>(2.0 * static_cast<double>(ff) / 3.0);
    const bool multiplied = !cfg.present("block_ffn_dim_multiplier") || cfg.find("block_ffn_dim_multiplier") != nullptr;
    if (multiplied) {
      ff = static_cast<int64_t>(cfg.number("block_ffn_dim_multiplier").value_or(1.0) * static_cast<double>(ff));
      const int64_t multiple = cfg.optional_integer("block_multiple_of").value_or(256);
      if (multiple <= 0) cfg.fail("block_multiple_of must be positive");
      ff = multiple * ((ff + multiple - 1) / multiple);
    }
  }
  spec.intermediate_size = ff;
  spec.rms_eps = cfg.number("norm_eps").value_or(1e-5);
  if (!read_layer_types(cfg, spec, sliding_layers ? "LFM3" : "LFM2", "conv", Mixer::ShortConv, sliding_layers)) {
    spec.layer_mixer.assign(static_cast<std::size_t>(spec.num_layers), Mixer::Attention);
    if (const json::value* attending = cfg.find("full_attn_idxs"); attending != nullptr && attending->is_array()) {
      std::fill(spec.layer_mixer.begin(), spec.layer_mixer.end(), Mixer::ShortConv);
      for (const json::value& i : attending->as_array()) {
        if (!i.is_number() || i.to_number<int64_t>() < 0 || i.to_number<int64_t>() >= spec.num_layers) {
          cfg.fail("full_attn_idxs holds " + json::serialize(i) + ", not a layer index");
        }
        spec.layer_mixer[static_cast<std::size_t>(i.to_number<int64_t>())] = Mixer::Attention;
      }
    }
  }
  if (spec.has_mixer(Mixer::ShortConv)) {
    spec.short_conv = ShortConvSpec{cfg.optional_integer("conv_L_cache").value_or(3), cfg.boolean("conv_bias").value_or(false)};
  }
}

void read_granite_hybrid(const ConfigView& cfg, ModelSpec& spec) {
  spec.intermediate_size = cfg.optional_integer("shared_intermediate_size").value_or(1024);
  if (!read_layer_types(cfg, spec, "Granite 4.0-H", "linear_attention", Mixer::Mamba2)) {
    spec.layer_mixer.assign(static_cast<std::size_t>(spec.num_layers), Mixer::Mamba2);  // GraniteMoeHybridConfig's default
  }
  const Mamba2Spec m = read_mamba_keys(cfg, cfg.optional_integer("mamba_expand").value_or(2) * spec.hidden_size,
                                       "mamba_expand × hidden_size");
  if (spec.has_mixer(Mixer::Mamba2)) spec.mamba = m;
  if (cfg.string("position_embedding_type").value_or("") != "rope") {
    spec.layer_rope.assign(static_cast<std::size_t>(spec.num_layers), false);
  }
  if (cfg.string("hidden_act").value_or("silu") != "silu") cfg.fail("hidden_act other than silu is not supported");
}

// Nemotron-H (NemotronHConfig's names and defaults): each layer is one sublayer behind one RMSNorm,
// by hybrid_override_pattern ('M' Mamba-2, '*' attention, '-' an MLP, 'E' experts) or
// layers_block_type (transformers 5's spelling, "linear_attention", "full_attention", "mlp",
// "moe"); the Mamba-2 layers' sizes (mamba_num_heads × mamba_head_dim, not expand × hidden); no
// RoPE; relu² MLPs without a gate; experts routed as DeepSeek-V3's (sigmoid scores, the selection
// bias, groups, routed_scaling_factor) beside one ungated shared expert.
void read_nemotron_h(const ConfigView& cfg, ModelSpec& spec) {
  std::vector<char> kinds;  // the pattern's letters
  if (const auto pattern = cfg.string("hybrid_override_pattern")) {
    kinds.assign(pattern->begin(), pattern->end());
  } else {
    const json::value* types = cfg.find("layers_block_type") ? cfg.find("layers_block_type") : cfg.find("layer_types");
    if (types == nullptr || !types->is_array()) cfg.fail("neither hybrid_override_pattern nor layers_block_type");
    for (const json::value& t : types->as_array()) {
      const std::string_view type = current_layer_type(t.is_string() ? std::string_view(t.as_string()) : std::string_view());
      kinds.push_back(type == "linear_attention" ? 'M' : type == "full_attention" ? '*' : type == "mlp" ? '-' : type == "moe" ? 'E' : '?');
      if (kinds.back() == '?') cfg.fail("layers_block_type holds " + json::serialize(t) + " (Nemotron-H's are \"mamba\", \"attention\", \"mlp\" and \"moe\")");
    }
  }
  spec.num_layers = static_cast<int64_t>(kinds.size());
  for (const char k : kinds) {
    if (k != 'M' && k != '*' && k != '-' && k != 'E') {
      cfg.fail(std::string("hybrid_override_pattern holds '") + k + "' (Nemotron-H's are M, *, - and E)");
    }
    spec.layer_mixer.push_back(k == 'M' ? Mixer::Mamba2 : k == '*' ? Mixer::Attention : Mixer::None);
    spec.layer_mlp.push_back(k == '-' || k == 'E');
  }
  spec.rms_eps = cfg.number("layer_norm_epsilon").value_or(1e-5);
  spec.head_dim = cfg.optional_integer("head_dim").value_or(cfg.optional_integer("attention_head_dim").value_or(128));
  spec.attention_bias = false;  // NemotronHAttention's projections have none, whatever attention_bias says
  spec.layer_rope.assign(static_cast<std::size_t>(spec.num_layers), false);
  if (cfg.string("mlp_hidden_act").value_or("relu2") != "relu2") cfg.fail("mlp_hidden_act other than relu2 is not supported");
  spec.activation = Activation::ReluSquared;
  spec.gated_mlp = false;
  Mamba2Spec m;
  m.heads = cfg.optional_integer("mamba_num_heads").value_or(128);
  m.head_dim = cfg.optional_integer("mamba_head_dim").value_or(64);
  m.state = cfg.optional_integer("ssm_state_size").value_or(128);
  // Each size under its name, or the legacy mamba_* one that NemotronHConfig still reads.
  const auto either = [&](std::string_view name, std::string_view legacy) {
    return cfg.present(name) ? cfg.optional_integer(name) : cfg.optional_integer(legacy);
  };
  m.groups = either("n_groups", "mamba_n_groups").value_or(8);
  m.conv_kernel = either("conv_kernel", "mamba_d_conv").value_or(4);
  m.conv_bias = cfg.boolean(cfg.present("use_conv_bias") ? "use_conv_bias" : "mamba_conv_bias").value_or(true);
  if (cfg.string("mamba_hidden_act").value_or("silu") != "silu") cfg.fail("mamba_hidden_act other than silu is not supported");
  if (cfg.boolean("mamba_proj_bias").value_or(false) || cfg.boolean("use_bias").value_or(false)) {
    cfg.fail("mamba_proj_bias / use_bias = true (biases on the Mamba-2 projections) is not supported");
  }
  read_time_step_limit(cfg, cfg.present("time_step_limit") ? "time_step_limit" : "mamba_dt_limit");
  if (spec.has_mixer(Mixer::Mamba2)) spec.mamba = m;
  if (std::find(kinds.begin(), kinds.end(), 'E') == kinds.end()) return;
  MoeSpec moe;
  moe.latent_size = cfg.optional_integer("moe_latent_size").value_or(0);  // Nemotron 3 Super's; null: none
  moe.num_experts = cfg.optional_integer("n_routed_experts").value_or(8);
  moe.experts_per_token = cfg.optional_integer("num_experts_per_tok").value_or(2);
  moe.intermediate_size = cfg.optional_integer("moe_intermediate_size").value_or(7688);
  moe.shared_intermediate_size = cfg.optional_integer("moe_shared_expert_intermediate_size").value_or(7688);
  moe.sigmoid_scores = true;
  moe.selection_bias = true;
  moe.groups = cfg.optional_integer("n_group").value_or(1);
  moe.groups_chosen = cfg.optional_integer("topk_group").value_or(1);
  moe.normalize_top_k = cfg.boolean("norm_topk_prob").value_or(true);
  moe.weights_scale = cfg.number("routed_scaling_factor").value_or(1.0);
  for (const char k : kinds) moe.sparse_layers.push_back(k == 'E');
  spec.moe = std::move(moe);
}

// Falcon-H1 (FalconH1Config's names and defaults): a Mamba-2 layer beside every attention layer,
// mamba_d_ssm wide (expand × hidden when null) in mamba_n_heads heads ("auto": of d_ssm / heads),
// its gated norm only with mamba_rms_norm (the gate before the norm, as llama.cpp runs it: the
// norm before the gate is refused); the µP multipliers (ModelSpec::Multipliers), the embedding's
// and the logits' (lm_head_multiplier).
void read_falcon_h1(const ConfigView& cfg, ModelSpec& spec) {
  spec.mamba_beside_attention = true;
  spec.rms_eps = cfg.number("rms_norm_eps").value_or(1e-5);
  const int64_t inner = cfg.find("mamba_d_ssm") != nullptr ? cfg.integer("mamba_d_ssm")
                                                            : cfg.optional_integer("mamba_expand").value_or(2) * spec.hidden_size;
  Mamba2Spec m = read_mamba_keys(cfg, inner, "mamba_d_ssm");
  m.gated_norm = cfg.boolean("mamba_rms_norm").value_or(false);
  if (m.gated_norm && cfg.boolean("mamba_norm_before_gate").value_or(true)) {
    cfg.fail("mamba_rms_norm with mamba_norm_before_gate (the norm before the gate) is not supported");
  }
  if (cfg.boolean("projectors_bias").value_or(false)) cfg.fail("projectors_bias = true (biases on the projections) is not supported");
  spec.mamba = m;
  // A list of `n` numbers under `key` (absent: ones).
  const auto numbers = [&](std::string_view key, std::size_t n) {
    std::vector<double> out(n, 1.0);
    const json::value* v = cfg.find(key);
    if (v == nullptr) return out;
    if (!v->is_array() || v->as_array().size() != n) cfg.fail(std::string(key) + " must list " + std::to_string(n) + " numbers");
    for (std::size_t i = 0; i < n; ++i) out[i] = v->as_array()[i].to_number<double>();
    return out;
  };
  ModelSpec::Multipliers& mu = spec.multipliers;
  const double in = cfg.number("attention_in_multiplier").value_or(1.0);
  mu.q = in;
  mu.k = in * cfg.number("key_multiplier").value_or(1.0);
  mu.v = in;
  mu.o = cfg.number("attention_out_multiplier").value_or(1.0);
  const std::vector<double> ssm = numbers("ssm_multipliers", 5);
  const double ssm_in = cfg.number("ssm_in_multiplier").value_or(1.0);
  for (std::size_t i = 0; i < 5; ++i) mu.mamba_in[i] = ssm_in * ssm[i];
  mu.mamba_out = cfg.number("ssm_out_multiplier").value_or(1.0);
  const std::vector<double> mlp = numbers("mlp_multipliers", 2);
  mu.gate = mlp[0];
  mu.down = mlp[1];
  spec.embedding_multiplier = cfg.number("embedding_multiplier").value_or(1.0);
  spec.logit_scale = 1.0 / cfg.number("lm_head_multiplier").value_or(1.0);
}

// Qwen3.5: which layers are gated delta nets (layer_types "linear_attention", or all but every
// full_attention_interval-th, 4 by default, as Qwen3_5TextConfig fills them in), their sizes
// (Qwen3_5TextConfig's defaults when absent), and the full attention's output gate.
void read_qwen35(const ConfigView& cfg, ModelSpec& spec) {
  if (!read_layer_types(cfg, spec, "Qwen3.5", "linear_attention", Mixer::GatedDeltaNet)) {
    spec.layer_mixer.assign(static_cast<std::size_t>(spec.num_layers), Mixer::Attention);
    const int64_t interval = cfg.optional_integer("full_attention_interval").value_or(4);
    if (interval <= 0) cfg.fail("full_attention_interval must be positive");
    for (int64_t i = 0; i < spec.num_layers; ++i) {
      if ((i + 1) % interval != 0) spec.layer_mixer[static_cast<std::size_t>(i)] = Mixer::GatedDeltaNet;
    }
  }
  if (spec.has_mixer(Mixer::GatedDeltaNet)) {
    spec.delta_net = DeltaNetSpec{cfg.optional_integer("linear_num_key_heads").value_or(16),
                                  cfg.optional_integer("linear_num_value_heads").value_or(32),
                                  cfg.optional_integer("linear_key_head_dim").value_or(128),
                                  cfg.optional_integer("linear_value_head_dim").value_or(128),
                                  cfg.optional_integer("linear_conv_kernel_dim").value_or(4)};
  }
  if (!cfg.boolean("attn_output_gate").value_or(true)) cfg.fail("attn_output_gate = false is not supported");
  spec.attention_output_gate = true;
  if (cfg.string("hidden_act").value_or("silu") != "silu") cfg.fail("hidden_act other than silu is not supported");
}

}  // namespace troupe::config_json
