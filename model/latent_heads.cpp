#include "model/latent_heads.hpp"

namespace troupe {

std::string latent_head_name(const std::string& stacked, int64_t head) {
  const std::string suffix = ".weight";
  const std::string base = stacked.ends_with(suffix) ? stacked.substr(0, stacked.size() - suffix.size()) : stacked;
  return base + "." + std::to_string(head) + suffix;
}

void split_latent_heads(const ModelSpec& spec, const std::function<bool(const std::string&)>& has,
                        const std::function<void(const std::string&, const RowParts&)>& split) {
  if (!spec.mla) return;
  const int64_t n = spec.mla->nope_dim, v = spec.mla->v_head_dim, c = spec.mla->kv_lora_rank;
  for (const LayerLayout& layer : decoder_layout(spec).layers) {
    RowParts keys, values, both;
    for (int64_t h = 0; h < spec.num_heads; ++h) {
      both.emplace_back(latent_head_name(layer.kv_b, h), n);
      both.emplace_back(latent_head_name(layer.v_b, h), v);
      keys.emplace_back(latent_head_name(layer.k_b, h), c);
      values.emplace_back(latent_head_name(layer.v_b, h), v);
    }
    if (has(layer.kv_b)) {
      split(layer.kv_b, both);
    } else {
      if (has(layer.k_b)) split(layer.k_b, keys);
      if (has(layer.v_b)) split(layer.v_b, values);
    }
  }
}

}  // namespace troupe
