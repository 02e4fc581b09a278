#pragma once
// The model families troupe runs, each a few lines saying how it differs from Llama: its names in
// config.json and GGUF metadata, and the features of ModelSpec it turns on. The config readers
// (hf_config.cpp, gguf_config.cpp) start from a family's description and then read sizes and
// options; decoder_layout.hpp turns the result into the tensors each layer reads.
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "model/model_spec.hpp"

namespace troupe {

// How a family's checkpoints name a mixture-of-experts MLP: model.layers.N.<block>.<router> is the
// router, model.layers.N.<block>.experts.E.<gate|up|down>.weight expert E's projections,
// model.layers.N.<block>.<shared>.<gate|up|down>_proj.weight the shared experts' MLP (without
// ".<shared>" when it is empty: shared_expert_prefix) and
// model.layers.N.<block>.<shared_gate>.weight its gate (MoeSpec::shared_gate), and
// model.layers.N.<block>.<selection_bias> the router's selection bias (MoeSpec::selection_bias).
struct ExpertNames {
  std::string_view block = "mlp";
  std::string_view router = "gate";
  std::string_view gate = "gate_proj", up = "up_proj", down = "down_proj";
  std::string_view shared = "shared_experts";
  std::string_view shared_gate = "shared_expert_gate";
  std::string_view selection_bias = "gate.e_score_correction_bias";  // DeepSeek-V3's, in its router
};

// The Hugging Face names (model.layers.N.<name>.weight) of the norms of a family with norms on its
// sublayers' outputs (sandwich_norms): on the attention output, before the MLP, on the MLP output.
// Gemma's (and OLMo's) by default.
struct NormNames {
  std::string_view attention_out = "post_attention_layernorm";
  std::string_view mlp_in = "pre_feedforward_layernorm";
  std::string_view mlp_out = "post_feedforward_layernorm";
};

// A part of a family's checkpoint tensor names and what decoder_layout calls it (LFM2's
// ".feed_forward.w1." is ".mlp.gate_proj."). A `from` that starts with '^' matches only at the start
// of a name (GPT-2's "^h." is its layers, "h." elsewhere is not).
struct TensorRename {
  std::string_view from, to;
};

// A config.json key a family names its own way, and the name the readers know it by.
struct ConfigAlias {
  std::string_view key, canonical;
};

struct ModelFamily {
  Architecture arch;
  // config.json model_type values of this family (the first is its name).
  std::span<const std::string_view> hf_model_types;
  // model_type values of multimodal wrappers (…ForConditionalGeneration) whose language model is
  // of this family: its config is their text_config, its tensors under language_model.
  std::span<const std::string_view> hf_wrapper_types = {};
  // GGUF general.architecture values whose files this family reads. Llama-shaped families that
  // llama.cpp converts as "llama" (Mistral, IQuest-Coder) come back as Llama from a GGUF.
  std::span<const std::string_view> gguf_architectures;
  bool qkv_bias = false;        // q/k/v biases always (Qwen2); otherwise config.json's attention_bias
  bool output_bias = false;     // with attention biases, the output projection has one too (gpt-oss)
  // config.json's attention_bias puts one on the output projection too, as transformers' LlamaAttention
  // does (Llama, EXAONE 3, InternLM3, Granite, Qwen3, OLMo, ...; Qwen2's, Mistral's and GLM-4's do not).
  bool attention_bias_on_output = false;
  bool attention_sinks = false; // a learned logit per head in each softmax's denominator (gpt-oss)
  bool qk_norm = false;         // per-head q/k RMSNorm (Qwen3, Gemma 3)
  bool qk_norm_after_rope = false;  // applied to the rotated q and k (Hunyuan)
  bool qk_norm_whole = false;   // the q/k norms span every head at once (OLMo 2, OLMoE)
  bool input_norms = true;      // false: only the norms on the sublayers' outputs (OLMo 2)
  bool layer_norm = false;      // LayerNorm instead of RMSNorm (Cohere)
  bool norm_bias = false;       // the LayerNorms carry biases (StarCoder2, Phi-2, StableLM)
  bool norm_without_weights = false;  // the LayerNorms have no weights (OLMo 1)
  bool parallel_block = false;  // attention and MLP side by side on one norm (Cohere)
  // Absolute position embeddings instead of RoPE (GPT-2, StarCoder 1: ModelSpec::learned_positions).
  bool learned_positions = false;
  // Its config.json checkpoints store the projections input-major, [in, out] (GPT-2's Conv1D):
  // ModelFiles transposes them at load. llama.cpp's converter writes them transposed already.
  bool conv1d_weights = false;
  // Its config.json checkpoints fuse q, k, v into one matrix whose rows go by key/value group: each
  // group's query heads, then its key head, then its value head (Falcon's query_key_value; GPT-NeoX's,
  // a group per head): ModelFiles regroups them into q | k | v. llama.cpp's converters do it themselves.
  bool qkv_by_group = false;
  bool sandwich_norms = false;  // norms on the attention and MLP outputs (Gemma 3)
  NormNames norm_names = {};
  bool gemma_scaling = false;   // (1 + w) RMSNorm weights and embeddings scaled by sqrt(hidden)
  bool unit_offset_norms = false;  // (1 + w) RMSNorm weights alone (Qwen3.5; GGUF files hold 1 + w)
  // Gated delta net layers (Qwen3.5): llama.cpp names their tensors ssm_* (and attn_qkv, attn_gate).
  bool gated_delta_net = false;
  // llama.cpp's converter permutes this family's q/k rows for its interleaved RoPE.
  bool gguf_permuted_qk = false;
  // The family's own checkpoints keep q/k rows in RoPE's interleaved pair order (Cohere, GLM-4), in
  // every format: ModelFiles un-permutes them as it does llama GGUF's.
  bool interleaved_qk = false;
  // llama.cpp's GGUF of the family stores q, k, v as one matrix (attn_qkv, as Phi-3's qkv_proj;
  // GLM-4 keeps them apart) and gate, up as one (ffn_up, as mlp.gate_up_proj): ModelFiles names them
  // so, and serves their row ranges under the usual names (as any model's fused tensors).
  bool fused_projections = false;
  // With sliding-window layers, only they rotate q and k; the global layers see positions only
  // through the causal mask (Cohere 2, EXAONE 4).
  bool rope_on_sliding_only = false;
  // YaRN's correction band is rounded outwards to whole dimensions (transformers' truncate, true
  // by default); gpt-oss was trained without the rounding, which GGUF files do not record.
  bool yarn_truncate = true;
  // Which layers slide when a checkpoint gives a window but no pattern: every n-th layer is global
  // (Gemma 3: 6; Cohere 2, EXAONE 4 and OLMo 3 as GGUF's olmo2: 4). GGUF reads it when
  // attention.sliding_window_pattern is absent, config.json when sliding_window_pattern is (for the
  // families whose config gives a period); 0: a window covers every layer.
  int64_t window_period = 0;
  Activation activation = Activation::Silu;
  bool gated_mlp = true;            // false: the MLPs are act(up) → down, no gate (Nemotron-H)
  bool latent_attention = false;    // multi-head latent attention (ModelSpec::mla)
  bool mixture_of_experts = false;  // the MLPs are experts (ModelSpec::moe)
  bool optional_experts = false;    // they are when the checkpoint has experts (Granite 4.0-H)
  bool expert_biases = false;       // the router and the experts carry biases (MoeSpec::biases)
  ExpertNames expert_names = {};
  // Parts of its config.json checkpoints' tensor names under decoder_layout's names: each rename in
  // order, once, where a name contains its `from` (EXAONE 3's "transformer.h.N.attn.attention.q_proj"
  // takes two).
  std::span<const TensorRename> hf_renames = {};
  // Its config.json's own names for the keys the readers know under Llama's (transformers' attribute_map:
  // EXAONE 3's num_layers is num_hidden_layers); a key is read under its usual name when both are there.
  std::span<const ConfigAlias> hf_config_aliases = {};
  // The GGUF name of the final norm (llama.cpp's output_norm; LFM2's token_embd_norm).
  std::string_view gguf_final_norm = "output_norm.weight";
};

// "model.layers.<layer>.<block>.<shared>." (no ".<shared>" when the family gives it no name of its own).
std::string shared_expert_prefix(const ExpertNames& names, const std::string& layer);

const ModelFamily& family_of(Architecture arch);
// Whether `model_type` is one of `family`'s multimodal wrappers.
bool is_wrapper_model_type(const ModelFamily& family, std::string_view model_type);
// The family of a config.json model_type / a GGUF general.architecture; nullptr when none.
const ModelFamily* family_for_model_type(std::string_view model_type);
const ModelFamily* family_for_gguf_architecture(std::string_view architecture);
// "llama, qwen2, ...": for error messages that list what is supported.
std::string supported_model_types();
std::string supported_gguf_architectures();

}  // namespace troupe
