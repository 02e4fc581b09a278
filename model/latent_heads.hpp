#pragma once
// Latent attention's per-head up-projections of the latent (ModelSpec::mla, MlaSpec), served per
// head. A checkpoint stores them stacked: Hugging Face's kv_b_proj ([heads (nope + v),
// kv_lora_rank]: each head's nope_dim key rows, then its v_head_dim value rows), or llama.cpp's
// split of it, k_b ([heads, kv_lora_rank, nope]: each head's key rows transposed) and v_b ([heads,
// v, kv_lora_rank]). ModelFiles serves every head's part as a row view under latent_head_name(),
// so a backend loads one head's matrix like any weight, in its stored type:
//   latent_head_name(k_b, h):  [kv_lora_rank, nope], W_uk_hᵀ, from k_b;
//   latent_head_name(kv_b, h): [nope, kv_lora_rank], W_uk_h, from kv_b (whichever the model has);
//   latent_head_name(v_b, h):  [v, kv_lora_rank], W_uv_h, from either.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "model/decoder_layout.hpp"

namespace troupe {

// "model.layers.N.self_attn.k_b_proj.weight" → "model.layers.N.self_attn.k_b_proj.H.weight".
std::string latent_head_name(const std::string& stacked, int64_t head);

// The row views of every latent-attention layer's heads: `split(stacked, parts)` is
// ModelFiles::split_rows (consecutive runs of the stacked tensor's rows, named). `has` tells
// whether a tensor is in the model. Nothing for a model without latent attention.
template <typename Has, typename Split>
void split_latent_heads(const ModelSpec& spec, Has&& has, Split&& split) {
  if (!spec.mla) return;
  const int64_t n = spec.mla->nope_dim, v = spec.mla->v_head_dim, c = spec.mla->kv_lora_rank;
  for (const LayerLayout& layer : decoder_layout(spec).layers) {
    std::vector<std::pair<std::string, int64_t>> keys, values, both;
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
