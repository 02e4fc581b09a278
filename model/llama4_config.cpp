#include "model/llama4_config.hpp"

#include <algorithm>
#include <string>

namespace troupe::config_json {

json::object with_llama4_defaults(json::object config) {
  const json::object defaults{{"intermediate_size", 8192},       {"intermediate_size_mlp", 16384},
                              {"num_local_experts", 16},         {"num_experts_per_tok", 1},
                              {"rms_norm_eps", 1e-5},            {"rope_theta", 500000.0},
                              {"max_position_embeddings", 131072}, {"attention_chunk_size", 8192},
                              {"bos_token_id", 1},               {"eos_token_id", 2}};
  for (const auto& [key, value] : defaults) {
    if (!config.contains(key)) config[key] = value;
  }
  return config;
}

void read_llama4(const ConfigView& cfg, ModelSpec& spec) {
  const auto layers = static_cast<std::size_t>(spec.num_layers);
  // The experts are intermediate_size wide (as the shared expert), the dense MLPs intermediate_size_mlp.
  MoeSpec& moe = *spec.moe;
  moe.intermediate_size = cfg.integer("intermediate_size");
  spec.intermediate_size = cfg.integer("intermediate_size_mlp");
  moe.shared_intermediate_size = moe.intermediate_size;
  // Llama4Router: the top k logits' sigmoids, unnormalized, each multiplying its expert's input.
  moe.sigmoid_scores = true;
  moe.normalize_top_k = false;
  moe.weights_on_input = true;
  moe.sparse_layers.assign(layers, false);
  if (const auto sparse = cfg.layer_indices("moe_layers", spec.num_layers)) {
    for (const int64_t i : *sparse) moe.sparse_layers[static_cast<std::size_t>(i)] = true;
  } else {  // every step-th layer, from layer step - 1 (Maverick: every other one; Scout: all)
    const int64_t step = cfg.optional_integer("interleave_moe_layer_step").value_or(1);
    if (step <= 0) cfg.fail("interleave_moe_layer_step must be positive");
    for (int64_t i = step - 1; i < spec.num_layers; i += step) moe.sparse_layers[static_cast<std::size_t>(i)] = true;
  }

  // The layers with RoPE attend within chunks (layer_types "chunked_attention", as transformers 5
  // saves it; else every layer with RoPE when attention_chunk_size is not null).
  const std::optional<int64_t> chunk = cfg.optional_integer("attention_chunk_size");
  if (chunk && *chunk <= 0) cfg.fail("attention_chunk_size must be positive");
  spec.layer_chunk.assign(layers, 0);
  if (const json::value* types = cfg.find("layer_types"); types != nullptr && types->is_array()) {
    for (std::size_t i = 0; i < layers; ++i) {  // read_windows checked the list's length and names
      const json::value& type = types->as_array()[i];
      if (!type.is_string() || type.as_string() != "chunked_attention") continue;
      if (!chunk) cfg.fail("layer_types names chunked_attention without an attention_chunk_size");
      spec.layer_chunk[i] = *chunk;
    }
  } else if (chunk) {
    for (std::size_t i = 0; i < layers; ++i) spec.layer_chunk[i] = spec.uses_rope(static_cast<int64_t>(i)) ? *chunk : 0;
  }
  if (std::all_of(spec.layer_chunk.begin(), spec.layer_chunk.end(), [](int64_t c) { return c == 0; })) spec.layer_chunk.clear();

  spec.qk_norm_weightless = cfg.boolean("use_qk_norm").value_or(true);  // Maverick's config: false
  if (cfg.boolean("attn_temperature_tuning").value_or(true)) {
    // Queries of the layers without RoPE × 1 + attn_scale · ln(1 + floor((p + 1) / floor_scale)).
    const double scale = cfg.number("attn_scale").value_or(0.1);
    const int64_t floor_scale = cfg.optional_integer("floor_scale").value_or(8192);
    if (scale != 0.0) spec.attention_temperature = {scale, floor_scale, /*offset=*/1, /*nope_layers_only=*/true};
  }
}

}  // namespace troupe::config_json
