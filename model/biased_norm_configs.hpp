#pragma once
// config.json reader of the families whose LayerNorms carry biases (torch's nn.LayerNorm): StarCoder2,
// Phi (Phi-1, Phi-1.5, Phi-2), StableLM, GPT-2, GPTBigCode and GPT-NeoX. What differs among them is which projections carry
// biases and a few switches; each family's defaults are its transformers config class's.
// spec_from_hf_config (hf_config.cpp) calls it after the common fields.
#include "model/config_view.hpp"
#include "model/model_spec.hpp"

namespace troupe::config_json {

// StarCoder2: norm_epsilon, use_bias (every projection, the MLP's too). Phi: biases everywhere, the
// vocabulary projection's too; qk_layernorm refused. StableLM: use_qkv_bias (q, k, v), qk_layernorm
// (a LayerNorm per head), use_parallel_residual (attention and the MLP on one norm). GPT-2 and
// GPTBigCode: biases on every projection, tied embeddings by default (learned positions: the family's); GPTBigCode's
// multi_query (one key/value head, by default). GPT-NeoX: attention_bias (q, k, v and the output's),
// use_parallel_residual (attention and the MLP side by side, each on its own norm; by default).
void read_biased_norm_family(const ConfigView& cfg, ModelSpec& spec);

// What GPT2Config, GPTBigCodeConfig, GPTJConfig and FalconConfig fill in: the MLP 4 × hidden wide when n_inner
// (ffn_hidden_size) is null or absent, and Falcon's context of 2,048 (its 7B config gives none).
// Called on the config once its aliases are read (n_embd as hidden_size); other families' unchanged.
json::object with_biased_family_defaults(json::object config, Architecture arch);

}  // namespace troupe::config_json
