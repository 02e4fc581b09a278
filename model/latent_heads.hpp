#pragma once
// Latent attention's per-head up-projections of the latent (ModelSpec::mla, MlaSpec), as float32,
// from either storage: Hugging Face's kv_b_proj ([heads (nope + v), kv_lora_rank]: each head's
// nope_dim key rows, then its v_head_dim value rows) or llama.cpp's split of it, k_b ([heads,
// kv_lora_rank, nope]: each head's key rows transposed) and v_b ([heads, v, kv_lora_rank]).
#include <vector>

#include "model/decoder_layout.hpp"
#include "model/model_files.hpp"

namespace troupe {

struct LatentHeads {
  // [heads, nope_dim, kv_lora_rank]: head h's W_uk_h, so that q_nope · W_uk_h is its query in the
  // latent's space (q_nope · k_nope = q_nope · (W_uk_h c) = (q_nope W_uk_h) · c).
  std::vector<float> uk;
  // [heads, v_head_dim, kv_lora_rank]: head h's W_uv_h, its value W_uv_h c.
  std::vector<float> uv;
};

// Throws ModelError naming the tensor when neither form is in the model.
LatentHeads load_latent_heads(const ModelFiles& model, const LayerLayout& layer);

}  // namespace troupe
