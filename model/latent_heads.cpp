#include "model/latent_heads.hpp"

#include <algorithm>

namespace troupe {

LatentHeads load_latent_heads(const ModelFiles& model, const LayerLayout& layer) {
  const ModelSpec& spec = model.spec();
  const MlaSpec& mla = spec.mla.value();
  const int64_t heads = spec.num_heads, n = mla.nope_dim, v = mla.v_head_dim, c = mla.kv_lora_rank;
  LatentHeads out;
  if (model.find(layer.kv_b) != nullptr) {
    const std::vector<float> kv_b = model.load_f32(layer.kv_b, {heads * (n + v), c});
    out.uk.reserve(static_cast<std::size_t>(heads * n * c));
    out.uv.reserve(static_cast<std::size_t>(heads * v * c));
    for (int64_t h = 0; h < heads; ++h) {
      const auto head = kv_b.begin() + h * (n + v) * c;
      out.uk.insert(out.uk.end(), head, head + n * c);
      out.uv.insert(out.uv.end(), head + n * c, head + (n + v) * c);
    }
    return out;
  }
  const std::vector<float> k_b = model.load_f32(layer.k_b, {heads, c, n});
  out.uk.resize(k_b.size());
  for (int64_t h = 0; h < heads; ++h) {
    for (int64_t i = 0; i < c; ++i) {
      for (int64_t j = 0; j < n; ++j) out.uk[static_cast<std::size_t>((h * n + j) * c + i)] = k_b[static_cast<std::size_t>((h * c + i) * n + j)];
    }
  }
  out.uv = model.load_f32(layer.v_b, {heads, v, c});
  return out;
}

}  // namespace troupe
