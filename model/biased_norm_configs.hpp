#pragma once
// config.json reader of the families whose LayerNorms carry biases (torch's nn.LayerNorm): StarCoder2,
// Phi (Phi-1, Phi-1.5, Phi-2) and StableLM. What differs among them is which projections carry
// biases and a few switches; each family's defaults are its transformers config class's.
// spec_from_hf_config (hf_config.cpp) calls it after the common fields.
#include "model/config_view.hpp"
#include "model/model_spec.hpp"

namespace troupe::config_json {

// StarCoder2: norm_epsilon, use_bias (every projection, the MLP's too). Phi: biases everywhere, the
// vocabulary projection's too; qk_layernorm refused. StableLM: use_qkv_bias (q, k, v), qk_layernorm
// (a LayerNorm per head), use_parallel_residual (attention and the MLP on one norm).
void read_biased_norm_family(const ConfigView& cfg, ModelSpec& spec);

}  // namespace troupe::config_json
