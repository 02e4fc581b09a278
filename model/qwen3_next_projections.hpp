#pragma once
// Qwen3-Next's gated delta nets project a token through two fused matrices whose rows go key head
// by key head (r = value heads / key heads, the value heads each key head serves):
//
//   linear_attn.in_proj_qkvz [K · (2 dk + 2 r dv), hidden]  per key head h: q_h (dk rows), k_h (dk),
//                                                             v of its r value heads (r dv), z of them
//   linear_attn.in_proj_ba   [K · 2r, hidden]                per key head h: b of its r value heads,
//                                                             then a of them
//
// Qwen3.5 holds the same projections apart (in_proj_qkv: every q, every k, every v; in_proj_z;
// in_proj_b; in_proj_a), which is what the backends read (decoder_layout). llama.cpp's qwen3next
// GGUF has qkv and z apart already (attn_qkv, attn_gate) and ba fused (ssm_ba, as above).
// split_qwen3_next_projections rewrites the fused ones into Qwen3.5's, the value heads in the same
// (grouped) order: copies of the rows in the new order (rows are whole blocks in any dtype).
#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "model/model_spec.hpp"
#include "model/tensor.hpp"

namespace troupe {

// Replaces the fused tensors in `tensors` with the split ones; the new tensors' bytes are kept
// alive by buffers appended to `owned`. Throws ModelError on shapes that do not match `spec`.
void split_qwen3_next_projections(const ModelSpec& spec, std::map<std::string, TensorView>& tensors,
                                  std::vector<std::shared_ptr<const std::vector<std::byte>>>& owned);

}  // namespace troupe
