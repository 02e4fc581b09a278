#include "model/biased_norm_configs.hpp"

namespace troupe::config_json {

void read_biased_norm_family(const ConfigView& cfg, ModelSpec& spec) {
  spec.norm_bias = true;
  switch (spec.arch) {
    case Architecture::Starcoder2: {
      spec.rms_eps = cfg.number("norm_epsilon").value_or(1e-5);
      // Starcoder2Config's use_bias, true by default: q, k, v, o and both MLP projections.
      const bool bias = cfg.boolean("use_bias").value_or(true);
      spec.attention_bias = spec.output_bias = spec.mlp_bias = bias;
      break;
    }
    case Architecture::Phi:
      // PhiForCausalLM: nn.Linear's default bias on every projection and on lm_head.
      spec.attention_bias = spec.output_bias = spec.mlp_bias = spec.lm_head_bias = true;
      if (cfg.boolean("qk_layernorm").value_or(false)) {
        cfg.fail("qk_layernorm = true (LayerNorms over each head's q and k) is not supported for phi");
      }
      break;
    case Architecture::StableLm:
      spec.attention_bias = cfg.boolean("use_qkv_bias").value_or(false);
      spec.output_bias = false;
      // StableLM 2 12B: each head's q and k through a LayerNorm of its own (no bias), and attention
      // and the MLP side by side on the input norm (no post_attention_layernorm then).
      spec.qk_norm = spec.qk_norm_per_head = cfg.boolean("qk_layernorm").value_or(false);
      spec.parallel_block = cfg.boolean("use_parallel_residual").value_or(false);
      break;
    default:
      cfg.fail("not a family with biased LayerNorms");
  }
}

}  // namespace troupe::config_json
