#pragma once
// gpt-oss's Hugging Face checkpoints store each layer's experts fused, unlike any other family:
//
//   mlp.experts.gate_up_proj       [E, hidden, 2·inter]  (input × output; gate and up interleaved:
//   mlp.experts.gate_up_proj_bias  [E, 2·inter]           output 2j is gate j, 2j + 1 is up j)
//   mlp.experts.down_proj          [E, inter, hidden]    (input × output)
//   mlp.experts.down_proj_bias     [E, hidden]
//
// or, as OpenAI released them, quantized to MXFP4 in output × input order:
//
//   mlp.experts.gate_up_proj_blocks  U8 [E, 2·inter, hidden / 32, 16]  (two FP4 values a byte,
//   mlp.experts.gate_up_proj_scales  U8 [E, 2·inter, hidden / 32]       element 2i in the low nibble)
//   mlp.experts.down_proj_blocks / _scales likewise, [E, hidden, inter / 32, ...]
//
// split_gpt_oss_experts rewrites them into the names and layouts every other mixture of experts
// has: experts.E.{gate,up,down}_proj.weight as [rows, cols] matrices (the MXFP4 ones as GGML's
// MXFP4 blocks, the scale byte first and element i in the low nibble of byte i, i + 16 in its high
// nibble), and the stacked biases experts.{gate,up,down}_proj.bias [E, rows] that GGUF files have.
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
void split_gpt_oss_experts(const ModelSpec& spec, std::map<std::string, TensorView>& tensors,
                           std::vector<std::shared_ptr<const std::vector<std::byte>>>& owned);

}  // namespace troupe
