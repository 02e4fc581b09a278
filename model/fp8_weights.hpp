#pragma once
// FP8 checkpoints (DeepSeek-V3/R1, Kimi K2, Qwen3's and GLM-4.5's -FP8 releases, Mistral's):
// config.json says {"quantization_config": {"quant_method": "fp8", "weight_block_size": [R, C]}},
// and each quantized weight W [rows, cols] is stored as F8_E4M3 values beside
// W_scale_inv [ceil(rows / R), ceil(cols / C)] (float32 or bfloat16): a weight is its e4m3 number
// times the scale of its R×C block (transformers' and vLLM's reading; the name says it is the
// inverse of the scale that quantized it). With "weight_block_size": null the scale is one number
// for the whole weight (per-tensor FP8); a one-element scale is read so whatever the config says
// (absent, transformers means 128×128 blocks and vLLM one scale per weight: the scale's shape
// tells). A static activation_scale beside a weight is not used: the activations stay float or
// int8 as for any weight.
//
// convert_fp8_weights replaces each such weight by GGML's Q8_0 blocks of those values (int8 per
// weight and a float16 scale per 32, as ggml's quantize_row_q8_0 rounds: 1.06 bytes a weight, which
// the CPU backend multiplies as it does a GGUF's Q8_0), or by float32 where a row is not whole
// 32-weight blocks, and drops the scales. Q8_0's rounding is the cost: at most half a step of
// max|block| / 127 a weight.
#include <cstddef>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "model/tensor.hpp"

namespace troupe {

struct Fp8Blocks {
  int64_t rows = 128, cols = 128;  // weight_block_size
  bool per_tensor = false;         // weight_block_size null: one scale per weight
};

// The FP8 block layout config.json declares; nullopt when the model is not quantized so (or is
// gpt-oss's mxfp4). Throws ModelError for another quantization method (compressed-tensors, GPTQ,
// AWQ, bitsandbytes, ...).
std::optional<Fp8Blocks> read_fp8_quantization(const std::filesystem::path& config_json);

// One e4m3 ("fn": no infinities, 448 the largest) byte as a float; NaN for S.1111.111.
float fp8_e4m3_to_float(std::uint8_t byte);

// Every F8_E4M3 tensor of `tensors` with its _scale_inv, converted as above; the new bytes are kept
// alive by `owned`. Throws ModelError naming a weight whose scales are missing or mis-shaped.
void convert_fp8_weights(const Fp8Blocks& blocks, std::map<std::string, TensorView>& tensors,
                         std::vector<std::shared_ptr<const std::vector<std::byte>>>& owned);

}  // namespace troupe
