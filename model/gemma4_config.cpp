#include "model/gemma4_config.hpp"

#include <string>

namespace troupe::config_json {

json::object with_gemma4_defaults(json::object config) {
  const json::object defaults{{"vocab_size", 262144},        {"hidden_activation", "gelu_pytorch_tanh"},
                              {"head_dim", 256},             {"global_head_dim", 512},
                              {"rms_norm_eps", 1e-6},        {"sliding_window", 512},
                              {"tie_word_embeddings", true}, {"max_position_embeddings", 131072},
                              {"bos_token_id", 2},           {"eos_token_id", 1}};
  for (const auto& [key, value] : defaults) {
    if (!config.contains(key)) config[key] = value;
  }
  if (!config.contains("rope_parameters")) {  // sliding layers: base 10,000; full: proportional on a quarter
    config["rope_parameters"] = json::object{
        {"sliding_attention", json::object{{"rope_type", "default"}, {"rope_theta", 10000.0}}},
        {"full_attention", json::object{{"rope_type", "proportional"}, {"partial_rotary_factor", 0.25}, {"rope_theta", 1000000.0}}}};
  }
  return config;
}

void read_gemma4(const ConfigView& cfg, ModelSpec& spec) {
  if (cfg.optional_integer("hidden_size_per_layer_input").value_or(0) > 0 && cfg.boolean("enable_moe_block").value_or(false)) {
    cfg.fail("per-layer embeddings with experts are not supported");
  }
  if (cfg.string("use_bidirectional_attention").value_or("") == "all") {
    cfg.fail("use_bidirectional_attention \"all\" (attention without a causal mask) is not supported");
  }
  // Norms scale by w itself (not 1 + w as Gemma 3's), and q·k is not scaled: q and k are RMS-normed.
  spec.norm_weight_offset = 0.0;
  spec.attention_scale = 1.0;
  spec.value_norm = true;
  spec.layer_scalar = true;
  spec.values_from_keys = cfg.boolean("attention_k_eq_v").value_or(false);
  if (cfg.boolean("enable_moe_block").value_or(false)) {
    // Gemma 4 26B-A4B: in every layer the experts beside a dense MLP (MoeSpec::dense_beside),
    // chosen by softmax probabilities, the top ones renormalized.
    MoeSpec moe;
    moe.num_experts = cfg.integer("num_experts");
    moe.experts_per_token = cfg.integer("top_k_experts");
    moe.intermediate_size = cfg.integer("moe_intermediate_size");
    moe.normalize_top_k = true;
    moe.dense_beside = true;
    spec.moe = moe;
  }

  // The full-attention layers' heads: per_layer_config as transformers 5 saves it ({"5": {"head_dim":
  // 512, "num_key_value_heads": 4}}), else global_head_dim and, only with attention_k_eq_v,
  // num_global_key_value_heads (Gemma4TextConfig's rule).
  spec.layer_head_dim.assign(static_cast<std::size_t>(spec.num_layers), spec.head_dim);
  spec.layer_kv_heads.assign(static_cast<std::size_t>(spec.num_layers), spec.num_kv_heads);
  if (const json::value* per_layer = cfg.find("per_layer_config"); per_layer != nullptr && per_layer->is_object()) {
    for (const auto& [key, value] : per_layer->as_object()) {
      std::size_t layer = 0;
      try {
        layer = std::stoul(std::string(key));
      } catch (const std::exception&) {
        cfg.fail("per_layer_config key \"" + std::string(key) + "\" is not a layer index");
      }
      if (layer >= spec.layer_head_dim.size() || !value.is_object()) {
        cfg.fail("per_layer_config entry \"" + std::string(key) + "\" is not an object for one of the layers");
      }
      const ConfigView entry(value.as_object(), cfg.source() + " per_layer_config " + std::string(key));
      spec.layer_head_dim[layer] = entry.optional_integer("head_dim").value_or(spec.head_dim);
      spec.layer_kv_heads[layer] = entry.optional_integer("num_key_value_heads").value_or(spec.num_kv_heads);
    }
  } else {
    const int64_t global_dim = cfg.optional_integer("global_head_dim").value_or(512);
    const auto global_kv = spec.values_from_keys ? cfg.optional_integer("num_global_key_value_heads") : std::nullopt;
    for (int64_t i = 0; i < spec.num_layers; ++i) {
      if (spec.window(i) > 0) continue;
      spec.layer_head_dim[static_cast<std::size_t>(i)] = global_dim;
      if (global_kv) spec.layer_kv_heads[static_cast<std::size_t>(i)] = *global_kv;
    }
  }
  // Gemma 4 E2B/E4B: per-layer embeddings, and the last num_kv_shared_layers layers attending over the
  // keys and values of the last earlier layer of their kind (Gemma4TextConfig.kv_sharing_modes), their
  // MLPs twice as wide with use_double_wide_mlp.
  spec.per_layer_input_size = cfg.optional_integer("hidden_size_per_layer_input").value_or(0);
  if (spec.per_layer_input_size > 0 && cfg.optional_integer("vocab_size_per_layer_input").value_or(spec.vocab_size) != spec.vocab_size) {
    cfg.fail("vocab_size_per_layer_input other than vocab_size is not supported");
  }
  const int64_t shared = cfg.optional_integer("num_kv_shared_layers").value_or(0);
  if (shared < 0 || shared >= spec.num_layers) cfg.fail("num_kv_shared_layers must be below num_hidden_layers");
  if (shared > 0) share_kv_layers(spec, shared, cfg.boolean("use_double_wide_mlp").value_or(false));
}

void share_kv_layers(ModelSpec& spec, int64_t shared, bool double_wide) {
  const int64_t first = spec.num_layers - shared;
  spec.layer_kv_source.resize(static_cast<std::size_t>(spec.num_layers));
  for (int64_t i = 0; i < spec.num_layers; ++i) {
    int64_t from = i;
    if (i >= first) {
      for (from = first - 1; from >= 0 && spec.window(from) != spec.window(i); --from) {
      }
      if (from < 0) throw ModelError(spec.name + ": a layer sharing keys and values has no earlier layer of its kind");
    }
    spec.layer_kv_source[static_cast<std::size_t>(i)] = from;
  }
  if (double_wide) {
    spec.layer_intermediate.assign(static_cast<std::size_t>(spec.num_layers), spec.intermediate_size);
    for (int64_t i = first; i < spec.num_layers; ++i) spec.layer_intermediate[static_cast<std::size_t>(i)] *= 2;
  }
}

}  // namespace troupe::config_json
