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
#include <functional>
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
using RowParts = std::vector<std::pair<std::string, int64_t>>;
void split_latent_heads(const ModelSpec& spec, const std::function<bool(const std::string&)>& has,
                        const std::function<void(const std::string&, const RowParts&)>& split);

}  // namespace troupe
