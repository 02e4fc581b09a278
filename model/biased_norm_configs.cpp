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
    case Architecture::Gpt2:
    case Architecture::GptBigCode:
      spec.attention_bias = spec.output_bias = spec.mlp_bias = true;
      spec.tie_word_embeddings = cfg.boolean("tie_word_embeddings").value_or(true);  // PretrainedConfig's
      if (!cfg.boolean("scale_attn_weights").value_or(true)) spec.attention_scale = 1.0;
      if (cfg.boolean("scale_attn_by_inverse_layer_idx").value_or(false)) {
        cfg.fail("scale_attn_by_inverse_layer_idx = true (scores divided by the layer's number) is not supported");
      }
      if (cfg.boolean("add_cross_attention").value_or(false)) cfg.fail("add_cross_attention = true is not supported");
      if (spec.arch == Architecture::GptBigCode) {
        spec.num_kv_heads = cfg.boolean("multi_query").value_or(true) ? 1 : spec.num_heads;
      }
      break;
    case Architecture::Opt: {
      // OPTConfig's switches: enable_bias (every projection), layer_norm_elementwise_affine (the norms'
      // weights and biases); 350m's post-norm layers and its embeddings' own width are refused.
      const bool bias = cfg.boolean("enable_bias").value_or(true);
      spec.attention_bias = spec.output_bias = spec.mlp_bias = bias;
      spec.position_offset = 2;  // OPTLearnedPositionalEmbedding's offset
      spec.tie_word_embeddings = cfg.boolean("tie_word_embeddings").value_or(true);
      if (!cfg.boolean("layer_norm_elementwise_affine").value_or(true)) {
        spec.norm_bias = false;
        spec.norm_without_weights = true;
      }
      if (!cfg.boolean("do_layer_norm_before").value_or(true)) {
        cfg.fail("do_layer_norm_before = false (OPT-350m's norms after each sublayer) is not supported");
      }
      if (cfg.boolean("_remove_final_layer_norm").value_or(false)) cfg.fail("_remove_final_layer_norm = true is not supported");
      if (const auto width = cfg.optional_integer("word_embed_proj_dim"); width && *width != spec.hidden_size) {
        cfg.fail("word_embed_proj_dim " + std::to_string(*width) + " other than hidden_size (OPT-350m's projected embeddings) is not supported");
      }
      break;
    }
    case Architecture::Falcon: {
      // FalconConfig's: bias (every projection, false when absent), one key/value head with
      // multi_query (true) unless new_decoder_architecture, whose layers read two norms
      // (num_ln_in_parallel_attn, 2) and always run attention and the MLP side by side (parallel_attn,
      // true, otherwise).
      if (cfg.boolean("alibi").value_or(false)) cfg.fail("alibi = true (Falcon-RW's ALiBi positions) is not supported");
      if (cfg.boolean("apply_residual_connection_post_layernorm").value_or(false)) {
        cfg.fail("apply_residual_connection_post_layernorm = true is not supported");
      }
      const bool bias = cfg.boolean("bias").value_or(false);
      spec.attention_bias = spec.output_bias = spec.mlp_bias = bias;
      const bool new_layers = cfg.boolean("new_decoder_architecture").value_or(false);
      spec.num_kv_heads = new_layers || !cfg.boolean("multi_query").value_or(true)
                              ? cfg.optional_integer("num_kv_heads").value_or(spec.num_heads)
                              : 1;
      spec.parallel_block = new_layers || cfg.boolean("parallel_attn").value_or(true);
      spec.parallel_mlp_norm = new_layers && cfg.optional_integer("num_ln_in_parallel_attn").value_or(2) == 2;
      spec.tie_word_embeddings = cfg.boolean("tie_word_embeddings").value_or(true);
      break;
    }
    case Architecture::Gptj:
      // GPTJForCausalLM: no attention biases, biases on the MLP and on lm_head; rotary_dim: hf_config.
      spec.attention_bias = spec.output_bias = false;
      spec.mlp_bias = spec.lm_head_bias = true;
      spec.parallel_block = true;
      break;
    case Architecture::GptNeoX:
      spec.attention_bias = spec.output_bias = cfg.boolean("attention_bias").value_or(true);
      spec.mlp_bias = true;
      spec.parallel_block = spec.parallel_mlp_norm = cfg.boolean("use_parallel_residual").value_or(true);
      break;
    default:
      cfg.fail("not a family with biased LayerNorms");
  }
}

json::object with_biased_family_defaults(json::object config, Architecture arch) {
  if (arch != Architecture::Gpt2 && arch != Architecture::GptBigCode && arch != Architecture::Falcon && arch != Architecture::Gptj) {
    return config;
  }
  const json::value* inner = config.if_contains("intermediate_size");
  const json::value* hidden = config.if_contains("hidden_size");
  if ((inner == nullptr || inner->is_null()) && hidden != nullptr && hidden->is_int64()) {
    config["intermediate_size"] = 4 * hidden->as_int64();
  }
  if (arch == Architecture::Falcon && !config.contains("max_position_embeddings")) config["max_position_embeddings"] = 2048;
  return config;
}

}  // namespace troupe::config_json
