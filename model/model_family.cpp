#include "model/model_family.hpp"

#include <algorithm>
#include <array>

namespace troupe {
namespace {

// Two rename lists, one after the other.
template <std::size_t N, std::size_t M>
constexpr std::array<TensorRename, N + M> joined(const std::array<TensorRename, N>& a, const std::array<TensorRename, M>& b) {
  std::array<TensorRename, N + M> out{};
  for (std::size_t i = 0; i < N; ++i) out[i] = a[i];
  for (std::size_t i = 0; i < M; ++i) out[N + i] = b[i];
  return out;
}

constexpr std::array<std::string_view, 1> kLlamaTypes{"llama"};
constexpr std::array<std::string_view, 1> kLlamaGguf{"llama"};
// qwen2_vl_text, qwen2_5_vl_text: Qwen2-VL's and Qwen2.5-VL's language models (Qwen2VLForConditionalGeneration,
// Qwen2_5_VLForConditionalGeneration hold them beside a vision tower), whose multimodal RoPE is
// Qwen2's for text.
constexpr std::array<std::string_view, 3> kQwen2Types{"qwen2", "qwen2_vl_text", "qwen2_5_vl_text"};
constexpr std::array<std::string_view, 2> kQwen2Wrappers{"qwen2_vl", "qwen2_5_vl"};
// qwen2vl: Qwen2-VL's and Qwen2.5-VL's language models as llama.cpp converts them (Qwen2's tensors; their
// multimodal RoPE sections, rope.dimension_sections, turn a text token as plain RoPE does).
constexpr std::array<std::string_view, 2> kQwen2Gguf{"qwen2", "qwen2vl"};
// qwen3_vl_text: Qwen3-VL's language model (Qwen3VLForConditionalGeneration, qwen3_vl, holds it
// beside its vision tower; GGUF qwen3vl). Its interleaved multimodal RoPE gives every dimension
// the same position for text, which is Qwen3's RoPE.
constexpr std::array<std::string_view, 2> kQwen3Types{"qwen3", "qwen3_vl_text"};
constexpr std::array<std::string_view, 1> kQwen3Wrappers{"qwen3_vl"};
constexpr std::array<std::string_view, 2> kQwen3Gguf{"qwen3", "qwen3vl"};
// ministral: Ministral-8B-Instruct-2410, Mistral's layers with sliding and full attention by layer_types.
constexpr std::array<std::string_view, 2> kMistralTypes{"mistral", "ministral"};
// Mistral3ForConditionalGeneration: a language model beside Pixtral's vision tower; its text_config
// says which (mistral: Mistral Small 3.1 and 3.2; ministral3: Ministral 3).
constexpr std::array<std::string_view, 1> kMistralWrappers{"mistral3"};
constexpr std::array<std::string_view, 1> kMinistral3Types{"ministral3"};
constexpr std::array<std::string_view, 1> kMinistral3Gguf{"mistral3"};
// gemma3_text: Gemma3ForCausalLM; gemma3: Gemma3ForConditionalGeneration, whose text part is read.
constexpr std::array<std::string_view, 1> kGemma3Types{"gemma3_text"};
constexpr std::array<std::string_view, 1> kGemma3Wrappers{"gemma3"};
constexpr std::array<std::string_view, 1> kGemma3Gguf{"gemma3"};
// gemma4_text: Gemma4ForCausalLM; gemma4: Gemma4ForConditionalGeneration, whose text part is read.
constexpr std::array<std::string_view, 1> kGemma4Types{"gemma4_text"};
constexpr std::array<std::string_view, 1> kGemma4Wrappers{"gemma4"};
constexpr std::array<std::string_view, 1> kGemma4Gguf{"gemma4"};
// gemma3n_text: Gemma3nForCausalLM; gemma3n: Gemma3nForConditionalGeneration (the released E2B and
// E4B), whose text part is read.
constexpr std::array<std::string_view, 1> kGemma3nTypes{"gemma3n_text"};
constexpr std::array<std::string_view, 1> kGemma3nWrappers{"gemma3n"};
constexpr std::array<std::string_view, 1> kGemma3nGguf{"gemma3n"};
// Gemma 4's router and experts sit in the layer itself (layers.N.router, layers.N.experts): read
// under the mlp block the others' are.
constexpr std::array<TensorRename, 2> kGemma4Renames{{{".router.", ".mlp.router."}, {".experts.", ".mlp.experts."}}};
// llama4_text: Llama4ForCausalLM; llama4: Llama4ForConditionalGeneration, whose text part is read.
constexpr std::array<std::string_view, 1> kLlama4Types{"llama4_text"};
constexpr std::array<std::string_view, 1> kLlama4Wrappers{"llama4"};
constexpr std::array<std::string_view, 1> kLlama4Gguf{"llama4"};
// Llama 4's MLP block is its feed_forward (the router, experts and shared_expert inside it).
constexpr std::array<TensorRename, 1> kLlama4Renames{{{".feed_forward.", ".mlp."}}};
// StarCoder2's MLP is c_fc → c_proj; Phi-2's attention output is dense, its MLP fc1 → fc2, its last
// norm final_layernorm.
constexpr std::array<std::string_view, 1> kStarcoder2Types{"starcoder2"};
constexpr std::array<std::string_view, 1> kStarcoder2Gguf{"starcoder2"};
constexpr std::array<TensorRename, 2> kStarcoder2Renames{{{".mlp.c_fc.", ".mlp.up_proj."}, {".mlp.c_proj.", ".mlp.down_proj."}}};
constexpr std::array<std::string_view, 1> kPhiTypes{"phi"};
constexpr std::array<std::string_view, 1> kPhiGguf{"phi2"};
constexpr std::array<TensorRename, 4> kPhiRenames{{{".self_attn.dense.", ".self_attn.o_proj."},
                                                   {".mlp.fc1.", ".mlp.up_proj."},
                                                   {".mlp.fc2.", ".mlp.down_proj."},
                                                   {"model.final_layernorm.", "model.norm."}}};
constexpr std::array<std::string_view, 1> kStableLmTypes{"stablelm"};
constexpr std::array<std::string_view, 1> kStableLmGguf{"stablelm"};
// EXAONE 3.0/3.5 and EXAONE Deep: Llama's layers under GPT-2's names and config keys (transformers
// loads them into LlamaForCausalLM so).
constexpr std::array<std::string_view, 1> kExaoneTypes{"exaone"};
constexpr std::array<std::string_view, 1> kExaoneGguf{"exaone"};
// GPT-2's naming of what lies outside attention and the MLP, which GPT-J and EXAONE 3 share.
constexpr std::array<TensorRename, 7> kGpt2OuterRenames{{
    {"^transformer.", ""},
    {"^wte.", "model.embed_tokens."},
    {"^wpe.", "model.embed_positions."},
    {"^ln_f.", "model.norm."},
    {"^h.", "model.layers."},
    {".ln_1.", ".input_layernorm."},
    {".ln_2.", ".post_attention_layernorm."},
}};
constexpr auto kExaoneRenames = joined(kGpt2OuterRenames, std::array<TensorRename, 5>{{
    {".attn.attention.", ".self_attn."},
    {".self_attn.out_proj.", ".self_attn.o_proj."},
    {".mlp.c_fc_0.", ".mlp.gate_proj."},
    {".mlp.c_fc_1.", ".mlp.up_proj."},
    {".mlp.c_proj.", ".mlp.down_proj."},
}});
constexpr std::array<ConfigAlias, 3> kExaoneAliases{{
    {"num_layers", "num_hidden_layers"}, {"layer_norm_epsilon", "rms_norm_eps"}, {"activation_function", "hidden_act"}}};
// GPT-2 and GPTBigCode (StarCoder 1, SantaCoder, WizardCoder, Granite 20B Code): one naming. GPT-2's
// own checkpoints (openai-community/gpt2) drop the "transformer." prefix.
constexpr std::array<std::string_view, 1> kGpt2Types{"gpt2"};
constexpr std::array<std::string_view, 1> kGpt2Gguf{"gpt2"};
constexpr std::array<std::string_view, 1> kGptBigCodeTypes{"gpt_bigcode"};
constexpr std::array<std::string_view, 1> kGptBigCodeGguf{"starcoder"};
constexpr auto kGpt2Renames = joined(kGpt2OuterRenames, std::array<TensorRename, 4>{{
    {".attn.c_attn.", ".self_attn.qkv_proj."},
    {".attn.c_proj.", ".self_attn.o_proj."},
    {".mlp.c_fc.", ".mlp.up_proj."},
    {".mlp.c_proj.", ".mlp.down_proj."},
}});
// GPT2Config's and GPTBigCodeConfig's attribute_map, and their own names for the MLP's width, the
// norms' epsilon and the activation.
constexpr std::array<ConfigAlias, 7> kGpt2Aliases{{{"n_embd", "hidden_size"},
                                                   {"n_layer", "num_hidden_layers"},
                                                   {"n_head", "num_attention_heads"},
                                                   {"n_positions", "max_position_embeddings"},
                                                   {"n_inner", "intermediate_size"},
                                                   {"layer_norm_epsilon", "layer_norm_eps"},
                                                   {"activation_function", "hidden_act"}}};
// GPT-NeoX (Pythia, Dolly v2, RedPajama-INCITE, StableLM-Tuned-Alpha, OpenAssistant's SFT models).
constexpr std::array<std::string_view, 1> kGptNeoXTypes{"gpt_neox"};
constexpr std::array<std::string_view, 1> kGptNeoXGguf{"gptneox"};
constexpr std::array<TensorRename, 8> kGptNeoXRenames{{
    {"^gpt_neox.embed_in.", "model.embed_tokens."},
    {"^gpt_neox.layers.", "model.layers."},
    {"^gpt_neox.final_layer_norm.", "model.norm."},
    {"^embed_out.", "lm_head."},
    {".attention.query_key_value.", ".self_attn.qkv_proj."},
    {".attention.dense.", ".self_attn.o_proj."},
    {".mlp.dense_h_to_4h.", ".mlp.up_proj."},
    {".mlp.dense_4h_to_h.", ".mlp.down_proj."},
}};
// transformers 4's names for RoPE's base and share (transformers 5 moves them into rope_parameters).
constexpr std::array<ConfigAlias, 2> kGptNeoXAliases{{{"rotary_emb_base", "rope_theta"}, {"rotary_pct", "partial_rotary_factor"}}};
// OPT (facebook/opt-125m … 66b, and fine-tunes): its checkpoints name the decoder model.decoder (or,
// saved from OPTModel, decoder).
constexpr std::array<std::string_view, 1> kOptTypes{"opt"};
constexpr std::array<TensorRename, 10> kOptRenames{{
    {"^decoder.", "model.decoder."},
    {"^model.decoder.final_layer_norm.", "model.norm."},
    {"^model.decoder.embed_tokens.", "model.embed_tokens."},
    {"^model.decoder.embed_positions.", "model.embed_positions."},
    {"^model.decoder.layers.", "model.layers."},
    {".self_attn.out_proj.", ".self_attn.o_proj."},
    {".self_attn_layer_norm.", ".input_layernorm."},
    {".final_layer_norm.", ".post_attention_layernorm."},
    {".fc1.", ".mlp.up_proj."},
    {".fc2.", ".mlp.down_proj."},
}};
constexpr std::array<ConfigAlias, 2> kOptAliases{{{"ffn_dim", "intermediate_size"}, {"activation_function", "hidden_act"}}};
// Falcon (7B, 40B, 180B, and Falcon 2 11B): transformers' names, and the RW releases' keys.
constexpr std::array<std::string_view, 1> kFalconTypes{"falcon"};
constexpr std::array<std::string_view, 1> kFalconGguf{"falcon"};
constexpr std::array<TensorRename, 9> kFalconRenames{{
    {"^transformer.word_embeddings.", "model.embed_tokens."},
    {"^transformer.h.", "model.layers."},
    {"^transformer.ln_f.", "model.norm."},
    {".self_attention.query_key_value.", ".self_attn.qkv_proj."},
    {".self_attention.dense.", ".self_attn.o_proj."},
    {".mlp.dense_h_to_4h.", ".mlp.up_proj."},
    {".mlp.dense_4h_to_h.", ".mlp.down_proj."},
    {".ln_attn.", ".input_layernorm."},
    {".ln_mlp.", ".post_attention_layernorm."},
}};
constexpr std::array<ConfigAlias, 7> kFalconAliases{{{"n_layer", "num_hidden_layers"},
                                                     {"n_head", "num_attention_heads"},
                                                     {"n_embed", "hidden_size"},
                                                     {"n_head_kv", "num_kv_heads"},
                                                     {"ffn_hidden_size", "intermediate_size"},
                                                     {"layer_norm_epsilon", "layer_norm_eps"},
                                                     {"activation", "hidden_act"}}};
// GPT-J (6B, and fine-tunes: GPT4All-J, Pygmalion 6B): GPT-2's keys and top-level names.
constexpr std::array<std::string_view, 1> kGptjTypes{"gptj"};
constexpr auto kGptjRenames = joined(kGpt2OuterRenames, std::array<TensorRename, 4>{{
    {".attn.", ".self_attn."},
    {".self_attn.out_proj.", ".self_attn.o_proj."},
    {".mlp.fc_in.", ".mlp.up_proj."},
    {".mlp.fc_out.", ".mlp.down_proj."},
}});
constexpr std::array<std::string_view, 1> kDots1Types{"dots1"};
constexpr std::array<std::string_view, 1> kDots1Gguf{"dots1"};
// GLM-4-9B (its -hf releases), GLM-Edge: llama.cpp converts them, and THUDM's original ChatGLM
// checkpoints of GLM-4-9B, as chatglm.
constexpr std::array<std::string_view, 1> kGlmTypes{"glm"};
constexpr std::array<std::string_view, 1> kGlmGguf{"chatglm"};
// Apertus: its norms before attention and the MLP have names of their own.
constexpr std::array<std::string_view, 1> kApertusTypes{"apertus"};
constexpr std::array<std::string_view, 1> kApertusGguf{"apertus"};
constexpr std::array<TensorRename, 2> kApertusRenames{{{".attention_layernorm.", ".input_layernorm."},
                                                       {".feedforward_layernorm.", ".post_attention_layernorm."}}};
// Hunyuan's dense models name their q/k norms query_layernorm and key_layernorm.
constexpr std::array<std::string_view, 1> kHunyuanDenseTypes{"hunyuan_v1_dense"};
constexpr std::array<std::string_view, 1> kHunyuanDenseGguf{"hunyuan-dense"};
constexpr std::array<TensorRename, 2> kHunyuanRenames{{{".self_attn.query_layernorm.", ".self_attn.q_norm."},
                                                       {".self_attn.key_layernorm.", ".self_attn.k_norm."}}};
constexpr std::array<std::string_view, 1> kOlmoTypes{"olmo"};
constexpr std::array<std::string_view, 1> kOlmoGguf{"olmo"};
constexpr std::array<std::string_view, 1> kHeliumTypes{"helium"};
// InternLM3: Llama's layers; its configs say qkv_bias and bias for attention_bias and mlp_bias.
constexpr std::array<std::string_view, 1> kInternLm3Types{"internlm3"};
constexpr std::array<ConfigAlias, 2> kInternLm3Aliases{{{"qkv_bias", "attention_bias"}, {"bias", "mlp_bias"}}};
constexpr std::array<std::string_view, 1> kGemmaTypes{"gemma"};
constexpr std::array<std::string_view, 1> kGemmaGguf{"gemma"};
constexpr std::array<std::string_view, 1> kGemma2Types{"gemma2"};
constexpr std::array<std::string_view, 1> kGemma2Gguf{"gemma2"};
constexpr std::array<std::string_view, 1> kIQuestTypes{"iquestcoder"};
constexpr std::array<std::string_view, 1> kPhi3Types{"phi3"};
constexpr std::array<std::string_view, 1> kPhi3Gguf{"phi3"};
constexpr std::array<std::string_view, 1> kSmolLM3Types{"smollm3"};
constexpr std::array<std::string_view, 1> kGraniteTypes{"granite"};
constexpr std::array<std::string_view, 1> kGraniteGguf{"granite"};
constexpr std::array<std::string_view, 1> kSmolLM3Gguf{"smollm3"};
constexpr std::array<std::string_view, 1> kMixtralTypes{"mixtral"};
// qwen3_vl_moe_text: Qwen3-VL-MoE's language model (Qwen3VLMoeForConditionalGeneration, qwen3_vl_moe, holds it).
constexpr std::array<std::string_view, 2> kQwen3MoeTypes{"qwen3_moe", "qwen3_vl_moe_text"};
constexpr std::array<std::string_view, 1> kQwen3MoeWrappers{"qwen3_vl_moe"};
constexpr std::array<std::string_view, 2> kQwen3MoeGguf{"qwen3moe", "qwen3vlmoe"};  // and Qwen3-VL-MoE's language model
constexpr std::array<std::string_view, 1> kOlmo2Types{"olmo2"};
constexpr std::array<std::string_view, 1> kOlmo2Gguf{"olmo2"};
constexpr std::array<std::string_view, 1> kOlmo3Types{"olmo3"};
constexpr std::array<std::string_view, 1> kOlmoeTypes{"olmoe"};
constexpr std::array<std::string_view, 1> kOlmoeGguf{"olmoe"};
constexpr std::array<std::string_view, 1> kCohereTypes{"cohere"};
constexpr std::array<std::string_view, 1> kCohereGguf{"command-r"};
constexpr std::array<std::string_view, 1> kCohere2Types{"cohere2"};
constexpr std::array<std::string_view, 1> kCohere2Gguf{"cohere2"};
constexpr std::array<std::string_view, 1> kGlm4Types{"glm4"};
constexpr std::array<std::string_view, 1> kGlm4Gguf{"glm4"};
constexpr std::array<std::string_view, 1> kExaone4Types{"exaone4"};
constexpr std::array<std::string_view, 1> kExaone4Gguf{"exaone4"};
constexpr std::array<std::string_view, 1> kGptOssTypes{"gpt_oss"};
constexpr std::array<std::string_view, 1> kGptOssGguf{"gpt-oss"};
constexpr std::array<std::string_view, 1> kGlm4MoeTypes{"glm4_moe"};
constexpr std::array<std::string_view, 1> kGlm4MoeGguf{"glm4moe"};
constexpr std::array<std::string_view, 1> kQwen2MoeTypes{"qwen2_moe"};
constexpr std::array<std::string_view, 1> kQwen2MoeGguf{"qwen2moe"};
// mistral4: Mistral Small 4's language model (Mistral3ForConditionalGeneration holds it, as Mistral Small 3's).
constexpr std::array<std::string_view, 5> kDeepseekV2Types{"deepseek_v2", "deepseek_v3", "kimi_k2", "glm4_moe_lite", "mistral4"};
// Kimi K2.5 (KimiK25ForConditionalGeneration): Kimi K2's language model beside a vision tower.
constexpr std::array<std::string_view, 1> kDeepseekV2Wrappers{"kimi_k25"};
constexpr std::array<std::string_view, 2> kDeepseekV2Gguf{"deepseek2", "mistral4"};
constexpr std::array<std::string_view, 1> kMinimaxM2Types{"minimax_m2"};
constexpr std::array<std::string_view, 1> kMinimaxM2Gguf{"minimax-m2"};
constexpr std::array<std::string_view, 1> kSeedOssTypes{"seed_oss"};
constexpr std::array<std::string_view, 1> kSeedOssGguf{"seed_oss"};
// Qwen3.5's language model (qwen3_5_text) inside Qwen3_5ForConditionalGeneration (qwen3_5), as released.
constexpr std::array<std::string_view, 1> kQwen35Types{"qwen3_5_text"};
constexpr std::array<std::string_view, 1> kQwen35Wrappers{"qwen3_5"};
constexpr std::array<std::string_view, 1> kQwen35Gguf{"qwen35"};
constexpr std::array<std::string_view, 1> kQwen35MoeTypes{"qwen3_5_moe_text"};
constexpr std::array<std::string_view, 1> kQwen35MoeWrappers{"qwen3_5_moe"};
constexpr std::array<std::string_view, 1> kQwen35MoeGguf{"qwen35moe"};
constexpr std::array<std::string_view, 1> kQwen3NextTypes{"qwen3_next"};
constexpr std::array<std::string_view, 1> kErnie45Types{"ernie4_5"};
constexpr std::array<std::string_view, 1> kErnie45Gguf{"ernie4_5"};
constexpr std::array<std::string_view, 1> kErnie45MoeTypes{"ernie4_5_moe"};
constexpr std::array<std::string_view, 1> kErnie45MoeGguf{"ernie4_5-moe"};
constexpr std::array<std::string_view, 1> kQwen3NextGguf{"qwen3next"};
constexpr std::array<std::string_view, 1> kLfm2Types{"lfm2"};
constexpr std::array<std::string_view, 1> kLfm2Wrappers{"lfm2_vl"};  // LFM2-VL: LFM2 beside a SigLIP 2 tower
constexpr std::array<std::string_view, 1> kLfm2Gguf{"lfm2"};
constexpr std::array<std::string_view, 1> kLfm2MoeTypes{"lfm2_moe"};
constexpr std::array<std::string_view, 1> kGraniteHybridTypes{"granitemoehybrid"};
constexpr std::array<std::string_view, 1> kGraniteHybridGguf{"granitehybrid"};
// Granite 3's mixtures of experts (granitemoe; granitemoeshared adds the shared MLP).
constexpr std::array<std::string_view, 2> kGraniteMoeTypes{"granitemoe", "granitemoeshared"};
constexpr std::array<std::string_view, 1> kGraniteMoeGguf{"granitemoe"};
// Granite's MLPs under the names the other families give them: the dense (or shared) MLP's
// shared_mlp, gate | up fused in input_linear, as mlp.gate_up_proj and mlp.down_proj; the experts
// (block_sparse_moe, each projection one 3-D tensor) as transformers 5 holds them in memory,
// mlp.experts.gate_up_proj and mlp.experts.down_proj, which ModelFiles splits per expert; the
// router's linear layer as mlp.router.
constexpr std::array<TensorRename, 5> kGraniteRenames{{
    {".shared_mlp.input_linear.", ".mlp.gate_up_proj."},
    {".shared_mlp.output_linear.", ".mlp.down_proj."},
    {".block_sparse_moe.input_linear.weight", ".mlp.experts.gate_up_proj"},
    {".block_sparse_moe.output_linear.weight", ".mlp.experts.down_proj"},
    {".block_sparse_moe.router.layer.", ".mlp.router."},
}};
// Granite's experts beside its shared MLP, which keeps the dense MLP's names (no prefix of its own).
constexpr ExpertNames kGraniteExperts{.router = "router", .shared = ""};
constexpr std::array<std::string_view, 1> kLfm2MoeGguf{"lfm2moe"};
constexpr std::array<std::string_view, 1> kSolarOpenTypes{"solar_open"};
constexpr std::array<std::string_view, 1> kArceeTypes{"arcee"};
constexpr std::array<std::string_view, 1> kArceeGguf{"arcee"};
constexpr std::array<std::string_view, 1> kLfm3Types{"lfm3"};
constexpr std::array<std::string_view, 1> kLfm3Wrappers{"lfm3_vl"};  // LFM3-VL: LFM3 beside its vision tower

constexpr std::array<std::string_view, 1> kFalconH1Types{"falcon_h1"};
constexpr std::array<std::string_view, 1> kFalconH1Gguf{"falcon-h1"};
// Falcon-H1's names for the MLP, the norm before it and the final norm.
constexpr std::array<TensorRename, 3> kFalconH1Renames{{
    {".feed_forward.", ".mlp."},
    {".pre_ff_layernorm.", ".post_attention_layernorm."},
    {"model.final_layernorm.", "model.norm."},
}};
constexpr std::array<std::string_view, 1> kNemotronHTypes{"nemotron_h"};
constexpr std::array<std::string_view, 2> kNemotronHGguf{"nemotron_h", "nemotron_h_moe"};
// LFM2's own names for what the other families call input_layernorm, post_attention_layernorm, the
// MLP's projections, o_proj, the q/k norms and the final norm.
constexpr std::array<TensorRename, 9> kLfm2Renames{{
    {".operator_norm.", ".input_layernorm."},
    {".ffn_norm.", ".post_attention_layernorm."},
    {".feed_forward.w1.", ".mlp.gate_proj."},
    {".feed_forward.w3.", ".mlp.up_proj."},
    {".feed_forward.w2.", ".mlp.down_proj."},
    {".self_attn.out_proj.", ".self_attn.o_proj."},
    {".self_attn.q_layernorm.", ".self_attn.q_norm."},
    {".self_attn.k_layernorm.", ".self_attn.k_norm."},
    {"model.embedding_norm.", "model.norm."},
}};

// Granite's sliding-window releases ("swash"): granite_swa (dense) and granitemoe_swa (experts, a
// shared MLP beside them), one GGUF architecture for both.
constexpr std::array<std::string_view, 2> kGraniteSwaTypes{"granite_swa", "granitemoe_swa"};
constexpr std::array<std::string_view, 1> kGraniteSwaGguf{"granite_swa"};
// Granite's names, and the experts and router as transformers 5 holds them (block_sparse_moe.experts.*).
constexpr auto kGraniteSwaRenames = joined(kGraniteRenames, std::array<TensorRename, 2>{{
    {".block_sparse_moe.router.", ".mlp.router."}, {".block_sparse_moe.experts.", ".mlp.experts."}}});
// LFM2's names, and the gate per head as transformers holds it in memory (g_proj) under the
// checkpoints' name (gate_proj).
constexpr auto kLfm3Renames = joined(kLfm2Renames, std::array<TensorRename, 1>{{{".self_attn.g_proj.", ".self_attn.gate_proj."}}});

const std::array<ModelFamily, 62>& families() {
  static const std::array<ModelFamily, 62> all{{
      {.arch = Architecture::Llama, .hf_model_types = kLlamaTypes, .gguf_architectures = kLlamaGguf, .attention_bias_on_output = true,
       .gguf_permuted_qk = true},
      {.arch = Architecture::Qwen2, .hf_model_types = kQwen2Types, .hf_wrapper_types = kQwen2Wrappers,
       .gguf_architectures = kQwen2Gguf, .qkv_bias = true},
      {.arch = Architecture::Qwen3, .hf_model_types = kQwen3Types, .hf_wrapper_types = kQwen3Wrappers,
       .gguf_architectures = kQwen3Gguf, .attention_bias_on_output = true, .qk_norm = true},
      // Llama with an optional sliding window over every layer.
      {.arch = Architecture::Mistral, .hf_model_types = kMistralTypes, .hf_wrapper_types = kMistralWrappers,
       .gguf_architectures = {}, .gguf_permuted_qk = true},
      // Ministral 3 (3B, 8B, 14B): Mistral's layers under YaRN, no window by default, and Llama 4's
      // attention temperature past the original context.
      {.arch = Architecture::Ministral3, .hf_model_types = kMinistral3Types, .gguf_architectures = kMinistral3Gguf,
       .gguf_permuted_qk = true},
      // Gemma (Gemma 1: 2B, 7B; CodeGemma): Llama's layers with (1 + w) RMSNorms, embeddings × √hidden,
      // GELU-tanh, heads of head_dim (256) whatever hidden / heads is, tied embeddings.
      {.arch = Architecture::Gemma, .hf_model_types = kGemmaTypes, .gguf_architectures = kGemmaGguf,
       .gemma_scaling = true, .activation = Activation::GeluTanh},
      // EXAONE 3.0, 3.5, EXAONE Deep: Llama's layers, GPT-2's names (transformer.h.N.attn.attention.*).
      {.arch = Architecture::Exaone, .hf_model_types = kExaoneTypes, .gguf_architectures = kExaoneGguf, .attention_bias_on_output = true,
       .hf_renames = kExaoneRenames, .hf_config_aliases = kExaoneAliases},
      // InternLM3 (8B): Llama's layers and names (llama.cpp converts it as llama).
      {.arch = Architecture::InternLm3, .hf_model_types = kInternLm3Types, .gguf_architectures = {}, .attention_bias_on_output = true,
       .hf_config_aliases = kInternLm3Aliases},
      // dots.llm1 (rednote's 142B-A14B): Qwen3's attention, DeepSeek-V3's experts (GLM-4.5's routing
      // below) beside shared ones, after first_k_dense_replace dense layers.
      {.arch = Architecture::Dots1, .hf_model_types = kDots1Types, .gguf_architectures = kDots1Gguf,
       .attention_bias_on_output = true, .qk_norm = true, .mixture_of_experts = true},
      // GLM-4-9B (glm-4-9b-chat-hf, glm-4-9b-hf), GLM-Edge: GLM-4-0414's layers without its norms on
      // the sublayers' outputs: q/k/v biases (attention_bias, true by default), gate|up fused, RoPE on half
      // of each head in interleaved pairs.
      {.arch = Architecture::Glm, .hf_model_types = kGlmTypes, .gguf_architectures = kGlmGguf,
       .interleaved_qk = true, .fused_projections = true},
      // Apertus (Swiss AI's 8B, 70B): Llama's attention with per-head q/k norms, an MLP without a gate
      // whose xIELU activation has parameters learned per layer.
      {.arch = Architecture::Apertus, .hf_model_types = kApertusTypes, .gguf_architectures = kApertusGguf,
       .attention_bias_on_output = true, .qk_norm = true, .activation = Activation::Xielu, .gated_mlp = false,
       .hf_renames = kApertusRenames},
      // Hunyuan's dense models (0.5B to 7B, Hunyuan-MT-7B): Llama's layers with per-head q/k RMSNorms
      // after RoPE; RoPE's base stretched by NTK's alpha (hf_config).
      {.arch = Architecture::HunyuanDense, .hf_model_types = kHunyuanDenseTypes, .gguf_architectures = kHunyuanDenseGguf,
       .attention_bias_on_output = true, .qk_norm = true, .qk_norm_after_rope = true, .hf_renames = kHunyuanRenames},
      // OLMo 1 (1B, 7B, 1.7-7B): Llama's layers behind LayerNorms without weights, q/k/v clamped (clip_qkv).
      {.arch = Architecture::Olmo, .hf_model_types = kOlmoTypes, .gguf_architectures = kOlmoGguf,
       .attention_bias_on_output = true, .layer_norm = true, .norm_without_weights = true, .gguf_permuted_qk = true},
      // Helium (Kyutai's Helium-1 2B): Llama's layers with RoPE on interleaved pairs (its output
      // projection never has a bias).
      {.arch = Architecture::Helium, .hf_model_types = kHeliumTypes, .gguf_architectures = {}, .interleaved_qk = true},
      // GPT-2: LayerNorms with biases, biases on every projection, learned absolute positions, a GELU-tanh
      // MLP without a gate; its safetensors hold Conv1D weights ([in, out]).
      {.arch = Architecture::Gpt2, .hf_model_types = kGpt2Types, .gguf_architectures = kGpt2Gguf,
       .layer_norm = true, .norm_bias = true, .learned_positions = true,
       .conv1d_weights = true, .activation = Activation::GeluTanh, .gated_mlp = false, .hf_renames = kGpt2Renames,
       .hf_config_aliases = kGpt2Aliases},
      // GPTBigCode (StarCoder 1, SantaCoder): GPT-2's layers with one key/value head (multi_query) and
      // nn.Linear weights.
      {.arch = Architecture::GptBigCode, .hf_model_types = kGptBigCodeTypes, .gguf_architectures = kGptBigCodeGguf,
       .layer_norm = true, .norm_bias = true, .learned_positions = true,
       .activation = Activation::GeluTanh, .gated_mlp = false, .hf_renames = kGpt2Renames, .hf_config_aliases = kGpt2Aliases},
      // GPT-NeoX: LayerNorms with biases, q|k|v fused head by head, RoPE on a quarter of each head, an
      // exact-GELU MLP without a gate, attention and the MLP side by side on norms of their own
      // (use_parallel_residual).
      {.arch = Architecture::GptNeoX, .hf_model_types = kGptNeoXTypes, .gguf_architectures = kGptNeoXGguf,
       .layer_norm = true, .norm_bias = true, .qkv_by_group = true, .activation = Activation::Gelu, .gated_mlp = false,
       .hf_renames = kGptNeoXRenames, .hf_config_aliases = kGptNeoXAliases},
      // OPT: GPT-2's block (biased LayerNorms, biases everywhere, learned positions from row 2 on) with
      // q, k, v apart and a ReLU MLP.
      {.arch = Architecture::Opt, .hf_model_types = kOptTypes, .gguf_architectures = {},
       .layer_norm = true, .norm_bias = true, .learned_positions = true, .activation = Activation::Relu, .gated_mlp = false,
       .hf_renames = kOptRenames, .hf_config_aliases = kOptAliases},
      // Falcon: LayerNorms with biases, q|k|v fused by key/value group, an exact-GELU MLP without a gate,
      // attention and the MLP side by side (on one norm, or two: new_decoder_architecture), RoPE on
      // every dimension.
      {.arch = Architecture::Falcon, .hf_model_types = kFalconTypes, .gguf_architectures = kFalconGguf,
       .layer_norm = true, .norm_bias = true, .parallel_block = true, .qkv_by_group = true, .activation = Activation::Gelu,
       .gated_mlp = false, .hf_renames = kFalconRenames, .hf_config_aliases = kFalconAliases},
      // GPT-J: attention and a GELU-tanh MLP side by side on one biased LayerNorm, RoPE on interleaved
      // pairs of each head's first rotary_dim dimensions, biases on the MLP and the vocabulary projection.
      {.arch = Architecture::Gptj, .hf_model_types = kGptjTypes, .gguf_architectures = {}, .layer_norm = true,
       .norm_bias = true, .parallel_block = true, .interleaved_qk = true, .activation = Activation::GeluTanh, .gated_mlp = false,
       .hf_renames = kGptjRenames, .hf_config_aliases = kGpt2Aliases},
      // StarCoder2 (3B, 7B, 15B): LayerNorms with biases, biases on every projection (use_bias), an
      // MLP without a gate (GELU-tanh), a sliding window over every layer when the config gives one.
      {.arch = Architecture::Starcoder2, .hf_model_types = kStarcoder2Types, .gguf_architectures = kStarcoder2Gguf,
       .layer_norm = true, .norm_bias = true, .activation = Activation::GeluTanh, .gated_mlp = false,
       .hf_renames = kStarcoder2Renames},
      // Phi-2 (and Phi-1, Phi-1.5): LayerNorms with biases, attention and the MLP side by side on one
      // norm, RoPE on part of each head, biases on every projection and on the vocabulary's.
      {.arch = Architecture::Phi, .hf_model_types = kPhiTypes, .gguf_architectures = kPhiGguf,
       .layer_norm = true, .norm_bias = true, .parallel_block = true, .activation = Activation::GeluTanh,
       .gated_mlp = false, .hf_renames = kPhiRenames},
      // StableLM (StableLM 2 1.6B and 12B, StableLM 3B 4E1T, Zephyr): Llama's gated MLP behind
      // LayerNorms with biases, RoPE on a quarter of each head, optional q/k/v biases, per-head q/k
      // LayerNorms and a parallel block (the 12B's).
      {.arch = Architecture::StableLm, .hf_model_types = kStableLmTypes, .gguf_architectures = kStableLmGguf,
       .layer_norm = true, .norm_bias = true},
      // Gemma 2: Gemma 3 without q/k norms and local RoPE, with soft-capped attention and logits.
      {.arch = Architecture::Gemma2, .hf_model_types = kGemma2Types, .gguf_architectures = kGemma2Gguf,
       .sandwich_norms = true, .gemma_scaling = true, .activation = Activation::GeluTanh},
      {.arch = Architecture::Gemma3, .hf_model_types = kGemma3Types, .hf_wrapper_types = kGemma3Wrappers,
       .gguf_architectures = kGemma3Gguf,
       .qk_norm = true, .sandwich_norms = true, .gemma_scaling = true, .window_period = 6,
       .activation = Activation::GeluTanh},
      // Gemma 4: Gemma 3's layers with heads of another size in the full-attention layers, values
      // from the keys' projection there, value norms, a scalar per layer (model/gemma4_config).
      {.arch = Architecture::Gemma4, .hf_model_types = kGemma4Types, .hf_wrapper_types = kGemma4Wrappers,
       .gguf_architectures = kGemma4Gguf,
       .qk_norm = true, .sandwich_norms = true, .gemma_scaling = true, .window_period = 6,
       .activation = Activation::GeluTanh, .expert_names = {.router = "router.proj"}, .hf_renames = kGemma4Renames},
      // Gemma 3n (E2B, E4B): Gemma 3's layers with AltUp's streams around them, LAuReL beside
      // attention, per-layer embeddings, shared keys and values and Gaussian top-k gates
      // (model/gemma3n_config).
      {.arch = Architecture::Gemma3n, .hf_model_types = kGemma3nTypes, .hf_wrapper_types = kGemma3nWrappers,
       .gguf_architectures = kGemma3nGguf,
       .qk_norm = true, .sandwich_norms = true, .gemma_scaling = true, .window_period = 5,
       .activation = Activation::GeluTanh},
      // Llama 4 (Scout 17B-16E, Maverick 17B-128E): Llama's layers with RoPE on interleaved pairs,
      // every fourth layer without RoPE (its queries scaled by an attention temperature past 8,192
      // positions) and the others attending within chunks of 8,192 positions, their q and k
      // RMS-normed without a weight; experts (sigmoid of the top logit scaling the expert's input)
      // beside a shared expert, in every layer or every other one (model/llama4_config).
      {.arch = Architecture::Llama4, .hf_model_types = kLlama4Types, .hf_wrapper_types = kLlama4Wrappers,
       .gguf_architectures = kLlama4Gguf, .attention_bias_on_output = true, .interleaved_qk = true, .mixture_of_experts = true,
       .expert_names = {.router = "router", .shared = "shared_expert"}, .hf_renames = kLlama4Renames},
      // Llama-shaped, with an optional clip_qkv and sliding window.
      {.arch = Architecture::IQuestCoder, .hf_model_types = kIQuestTypes, .gguf_architectures = {},
       .gguf_permuted_qk = true},
      // Phi-3, Phi-3.5, Phi-4: fused projections, LongRoPE, an optional window over every layer.
      {.arch = Architecture::Phi3, .hf_model_types = kPhi3Types, .gguf_architectures = kPhi3Gguf,
       .fused_projections = true},
      // Granite 3: Llama with multipliers on the embeddings, attention scores, layer outputs and logits.
      {.arch = Architecture::Granite, .hf_model_types = kGraniteTypes, .gguf_architectures = kGraniteGguf, .attention_bias_on_output = true,
       .gguf_permuted_qk = true},
      // SmolLM3: Llama with no RoPE in every fourth layer (ModelSpec::layer_rope).
      {.arch = Architecture::SmolLM3, .hf_model_types = kSmolLM3Types, .gguf_architectures = kSmolLM3Gguf, .attention_bias_on_output = true,
       .gguf_permuted_qk = true},
      // Mixtral: Mistral's layers with a mixture of experts for every MLP. llama.cpp converts it as
      // "llama" with llama.expert_count set, which the GGUF reader turns into this family.
      {.arch = Architecture::Mixtral, .hf_model_types = kMixtralTypes, .gguf_architectures = {},
       .gguf_permuted_qk = true, .mixture_of_experts = true, .expert_names = {.block = "block_sparse_moe", .gate = "w1", .up = "w3", .down = "w2"}},
      // Qwen3-MoE (Qwen3-30B-A3B, Qwen3-Coder-30B-A3B, Qwen3-235B-A22B): Qwen3's attention, experts.
      {.arch = Architecture::Qwen3Moe, .hf_model_types = kQwen3MoeTypes, .hf_wrapper_types = kQwen3MoeWrappers, .gguf_architectures = kQwen3MoeGguf, .attention_bias_on_output = true,
       .qk_norm = true, .mixture_of_experts = true},
      // OLMo 2: no norms before attention and the MLP, norms on their outputs; q/k norms over every
      // head at once.
      {.arch = Architecture::Olmo2, .hf_model_types = kOlmo2Types, .gguf_architectures = kOlmo2Gguf, .attention_bias_on_output = true,
       .qk_norm = true, .qk_norm_whole = true, .input_norms = false, .sandwich_norms = true, .window_period = 4},
      // OLMo 3: OLMo 2 with sliding-window layers (layer_types). llama.cpp converts it as "olmo2"
      // with a window pattern, which the GGUF reader reads into the OLMo 2 family.
      {.arch = Architecture::Olmo3, .hf_model_types = kOlmo3Types, .gguf_architectures = {}, .attention_bias_on_output = true,
       .qk_norm = true, .qk_norm_whole = true, .input_norms = false, .sandwich_norms = true},
      // OLMoE: Llama's pre-norm layers, q/k norms over every head at once, a mixture of experts whose
      // probabilities are not renormalized (norm_topk_prob, false by default).
      {.arch = Architecture::Olmoe, .hf_model_types = kOlmoeTypes, .gguf_architectures = kOlmoeGguf, .attention_bias_on_output = true,
       .qk_norm = true, .qk_norm_whole = true, .mixture_of_experts = true},
      // Cohere (Command R, Aya Expanse, Aya 23): LayerNorm, attention and MLP side by side on one
      // norm, logits scaled by logit_scale, RoPE on interleaved pairs.
      {.arch = Architecture::Cohere, .hf_model_types = kCohereTypes, .gguf_architectures = kCohereGguf,
       .layer_norm = true, .parallel_block = true, .interleaved_qk = true},
      // Cohere 2 (Command R7B, Command A): Cohere with sliding-window layers that alone take RoPE.
      {.arch = Architecture::Cohere2, .hf_model_types = kCohere2Types, .gguf_architectures = kCohere2Gguf,
       .layer_norm = true, .parallel_block = true, .interleaved_qk = true, .rope_on_sliding_only = true,
       .window_period = 4},
      // GLM-4-0414 (GLM-4-9B/32B, GLM-Z1): norms before and after attention and the MLP under GLM's
      // names, gate|up fused, partial RoPE (half the head by default) on interleaved pairs.
      {.arch = Architecture::Glm4, .hf_model_types = kGlm4Types, .gguf_architectures = kGlm4Gguf,
       .sandwich_norms = true,
       .norm_names = {.attention_out = "post_self_attn_layernorm", .mlp_in = "post_attention_layernorm",
                      .mlp_out = "post_mlp_layernorm"},
       .interleaved_qk = true, .fused_projections = true},
      // EXAONE 4.0: OLMo 2's norms (none before attention and the MLP, one on each output), per-head
      // q/k norms, and in the 32B model sliding layers three in four with RoPE on those alone.
      {.arch = Architecture::Exaone4, .hf_model_types = kExaone4Types, .gguf_architectures = kExaone4Gguf,
       .qk_norm = true, .input_norms = false, .sandwich_norms = true, .rope_on_sliding_only = true,
       .window_period = 4},
      // gpt-oss (20B, 120B): biases on every attention projection, a sink logit per head, sliding
      // layers (every other one, from layer 0) and YaRN without rounding; experts with biases and a
      // clamped SwiGLU, routed by a biased router (softmax over the top k logits: the renormalized
      // probabilities).
      {.arch = Architecture::GptOss, .hf_model_types = kGptOssTypes, .gguf_architectures = kGptOssGguf,
       .output_bias = true, .attention_sinks = true, .yarn_truncate = false, .window_period = 2,
       .activation = Activation::SwigluOai, .mixture_of_experts = true, .expert_biases = true,
       .expert_names = {.router = "router"}},
      // GLM-4.5, GLM-4.5-Air, GLM-4.6: Llama's pre-norm layers with q/k/v biases, partial RoPE (half
      // the head by default, on halves as NEOX, not GLM-4's pairs), optional per-head q/k norms
      // (use_qk_norm); after the first dense layers (first_k_dense_replace) a mixture of experts
      // routed as DeepSeek-V3 (sigmoid scores, a selection bias, groups) with shared experts.
      {.arch = Architecture::Glm4Moe, .hf_model_types = kGlm4MoeTypes, .gguf_architectures = kGlm4MoeGguf,
       .mixture_of_experts = true},
      // Qwen1.5-MoE, Qwen2-57B-A14B: Qwen2's attention; experts (softmax, not renormalized by
      // default) beside one shared expert whose output a sigmoid gate scales.
      {.arch = Architecture::Qwen2Moe, .hf_model_types = kQwen2MoeTypes, .gguf_architectures = kQwen2MoeGguf,
       .qkv_bias = true, .mixture_of_experts = true, .expert_names = {.shared = "shared_expert"}},
      // DeepSeek-V2, V2-Lite, V3, R1, Kimi K2, GLM-4.7-Flash, Mistral Small 4: latent attention
      // (MlaSpec); after the first dense layers (first_k_dense_replace) experts beside shared ones,
      // routed by softmax (V2; Mistral Small 4, its groups by their two best) or as DeepSeek-V3
      // (sigmoid scores, a selection bias, groups: V3 and GLM-4.7-Flash).
      {.arch = Architecture::DeepseekV2, .hf_model_types = kDeepseekV2Types, .hf_wrapper_types = kDeepseekV2Wrappers,
       .gguf_architectures = kDeepseekV2Gguf,
       .latent_attention = true, .mixture_of_experts = true},
      // Seed-OSS (ByteDance Seed-OSS-36B): Llama's layers with q/k/v biases (attention_bias, true by
      // default) and an optional output bias (attention_out_bias).
      {.arch = Architecture::SeedOss, .hf_model_types = kSeedOssTypes, .gguf_architectures = kSeedOssGguf},
      // MiniMax-M2 (M2, M2.1): q/k norms over every head at once (OLMo 2's), RoPE on part of each head
      // (rotary_dim), every MLP experts under Mixtral's names, chosen by sigmoid scores plus a
      // selection bias (DeepSeek-V3's, without groups or scale; kept in the block, not the router)
      // and renormalized.
      {.arch = Architecture::MinimaxM2, .hf_model_types = kMinimaxM2Types, .gguf_architectures = kMinimaxM2Gguf,
       .qk_norm = true, .qk_norm_whole = true, .mixture_of_experts = true,
       .expert_names = {.block = "block_sparse_moe", .gate = "w1", .up = "w3", .down = "w2",
                        .selection_bias = "e_score_correction_bias"}},
      // LFM2 (Liquid AI's LFM2 and LFM2.5, 350M to 2.6B): most layers mix tokens by a short
      // convolution (ModelSpec::short_conv) instead of attention; the attention layers have per-head
      // q/k norms. Pre-norm, SwiGLU, tied embeddings; its own tensor names (kLfm2Renames), and
      // llama.cpp calls its final norm token_embd_norm.
      {.arch = Architecture::Lfm2, .hf_model_types = kLfm2Types, .hf_wrapper_types = kLfm2Wrappers, .gguf_architectures = kLfm2Gguf,
       .qk_norm = true, .hf_renames = kLfm2Renames, .gguf_final_norm = "token_embd_norm.weight"},
      // LFM2's mixture of experts (LFM2-8B-A1B): LFM2's layers, every MLP after the
      // first num_dense_layers experts chosen by sigmoid scores plus a selection bias (expert_bias, in
      // the block), renormalized; the experts under LFM2's w1/w3/w2 names.
      {.arch = Architecture::Lfm2Moe, .hf_model_types = kLfm2MoeTypes, .gguf_architectures = kLfm2MoeGguf,
       .qk_norm = true, .mixture_of_experts = true,
       .expert_names = {.block = "feed_forward", .gate = "w1", .up = "w3", .down = "w2", .selection_bias = "expert_bias"},
       .hf_renames = kLfm2Renames, .gguf_final_norm = "token_embd_norm.weight"},
      // Solar Open (Upstage's Solar-Open-100B): Llama's attention (RoPE on the whole head, no q/k
      // norms) with GLM-4.5's experts (DeepSeek-V3's routing beside a shared expert) in every layer.
      {.arch = Architecture::SolarOpen, .hf_model_types = kSolarOpenTypes, .gguf_architectures = {},
       .mixture_of_experts = true},
      // Arcee's AFM (AFM-4.5B): Llama's layers with a relu² MLP without a gate (up, down).
      {.arch = Architecture::Arcee, .hf_model_types = kArceeTypes, .gguf_architectures = kArceeGguf, .attention_bias_on_output = true,
       .gguf_permuted_qk = true, .activation = Activation::ReluSquared, .gated_mlp = false},
      // LFM3 (Liquid AI's LFM3-1.7B): LFM2's convolutions and names around attention layers that
      // slide (window 256, RoPE base 10,000) or see everything (proportional RoPE on half of each
      // head), each head's output scaled by a sigmoid gate (g_proj); norms on the mixer's and the
      // MLP's outputs too (post_operator_norm, post_ffn_norm); the MLP as wide as intermediate_size.
      {.arch = Architecture::Lfm3, .hf_model_types = kLfm3Types, .hf_wrapper_types = kLfm3Wrappers, .gguf_architectures = {},
       .qk_norm = true,
       .sandwich_norms = true,
       .norm_names = {.attention_out = "post_operator_norm", .mlp_in = "post_attention_layernorm", .mlp_out = "post_ffn_norm"},
       .hf_renames = kLfm3Renames, .gguf_final_norm = "token_embd_norm.weight"},
      // Granite 4.0-H (H-Micro, H-1B, H-350M: dense): Mamba-2 layers (ModelSpec::mamba) around a few
      // attention layers, which take no RoPE (position_embedding_type absent); Granite's
      // multipliers; the MLP as one fused gate | up projection (kGraniteHybridRenames).
      // With num_local_experts > 0 (H-Tiny, H-Small) the MLP is experts (softmax over the top k
      // logits) beside the dense one, which then acts as a shared expert (kGraniteExperts).
      {.arch = Architecture::GraniteHybrid, .hf_model_types = kGraniteHybridTypes, .gguf_architectures = kGraniteHybridGguf,
       .gguf_permuted_qk = true, .optional_experts = true, .expert_names = kGraniteExperts, .hf_renames = kGraniteRenames},
      // Granite 3's mixtures of experts (granite-3.x-1b-a400m, 3b-a800m): Granite 3's layers, every
      // MLP experts (softmax over the top k logits), beside a shared MLP when shared_intermediate_size
      // is set (granitemoeshared).
      {.arch = Architecture::GraniteMoe, .hf_model_types = kGraniteMoeTypes, .gguf_architectures = kGraniteMoeGguf, .attention_bias_on_output = true,
       .gguf_permuted_qk = true, .mixture_of_experts = true, .expert_names = kGraniteExperts, .hf_renames = kGraniteRenames},
      // Granite's sliding-window releases (granite-swash): Granite 3's layers and multipliers, sliding
      // layers by layer_types (all but every fourth from layer 0 by default), a sink logit per head,
      // a RoPE base per layer (0: none; layer_rope_theta); granitemoe_swa's MLPs experts (softmax over
      // the top k logits) beside a shared MLP.
      {.arch = Architecture::GraniteSwa, .hf_model_types = kGraniteSwaTypes, .gguf_architectures = kGraniteSwaGguf, .attention_bias_on_output = true,
       .attention_sinks = true, .gguf_permuted_qk = true, .window_period = 4, .optional_experts = true,
       .expert_names = kGraniteExperts,
       .hf_renames = kGraniteSwaRenames},
      // Qwen3.5 (0.8B to 27B dense): three in four layers a gated delta net (ModelSpec::delta_net),
      // every fourth full attention with per-head q/k norms, an output gate and RoPE on a quarter of
      // each head; (1 + w) RMSNorms.
      {.arch = Architecture::Qwen35, .hf_model_types = kQwen35Types, .hf_wrapper_types = kQwen35Wrappers,
       .gguf_architectures = kQwen35Gguf, .qk_norm = true, .unit_offset_norms = true, .gated_delta_net = true},
      // Qwen3.5's mixtures of experts (35B-A3B, 122B-A10B, 397B-A17B): Qwen3.5's layers, every MLP
      // experts (softmax, renormalized) beside a shared expert scaled by its sigmoid gate, as
      // Qwen2-MoE's; its safetensors keep each projection's experts in one 3-D tensor, as
      // transformers 5 holds them (ModelFiles splits them per expert).
      // ERNIE 4.5 (Baidu's 0.3B): Llama's layers with RoPE on interleaved pairs (GLM-4's layout), in
      // every format (llama.cpp's converter keeps the rows as they are).
      {.arch = Architecture::Ernie45, .hf_model_types = kErnie45Types, .gguf_architectures = kErnie45Gguf,
       .interleaved_qk = true},
      // ERNIE 4.5's mixtures of experts (21B-A3B, 300B-A47B): its layers, the MLPs from
      // moe_layer_start_index on (every moe_layer_interval-th) experts chosen by their softmax
      // probabilities plus a selection bias (moe_statics), renormalized, beside ungated shared experts.
      {.arch = Architecture::Ernie45Moe, .hf_model_types = kErnie45MoeTypes, .gguf_architectures = kErnie45MoeGguf,
       .interleaved_qk = true, .mixture_of_experts = true,
       .expert_names = {.selection_bias = "moe_statics.e_score_correction_bias"}},
      // Qwen3-Next (80B-A3B): Qwen3.5's mixture of experts before it, its delta nets' projections
      // fused per key head (in_proj_qkvz, in_proj_ba; qwen3_next_projections puts them in Qwen3.5's
      // order), dense MLPs in mlp_only_layers, renormalization as norm_topk_prob says.
      {.arch = Architecture::Qwen3Next, .hf_model_types = kQwen3NextTypes, .gguf_architectures = kQwen3NextGguf,
       .qk_norm = true, .unit_offset_norms = true, .gated_delta_net = true, .mixture_of_experts = true,
       .expert_names = {.shared = "shared_expert"}},
      // Falcon-H1 (TII's 0.5B to 34B, Falcon-H1R): every layer runs attention (with RoPE) and a Mamba-2
      // layer side by side on its input norm and adds both outputs (ModelSpec::mamba_beside_attention),
      // then a SwiGLU MLP; µP multipliers on most projections (ModelSpec::multipliers), which
      // llama.cpp's converter folds into the GGUF's weights.
      {.arch = Architecture::FalconH1, .hf_model_types = kFalconH1Types, .gguf_architectures = kFalconH1Gguf,
       .hf_renames = kFalconH1Renames},
      // Nemotron-H (Nemotron Nano 2, Nemotron-H 8B to 56B; Nemotron 3 Nano 30B-A3B with experts): layers
      // of one sublayer each behind one RMSNorm — Mamba-2, attention without RoPE, or an MLP
      // (relu², no gate) — by hybrid_override_pattern; the MLP layers of the MoE releases experts
      // routed as DeepSeek-V3's beside an ungated shared expert. Its checkpoints' names
      // (backbone.layers.N.mixer.*) depend on the layer's kind: nemotron_h_names.
      {.arch = Architecture::NemotronH, .hf_model_types = kNemotronHTypes, .gguf_architectures = kNemotronHGguf,
       .gguf_permuted_qk = true, .activation = Activation::ReluSquared, .gated_mlp = false, .optional_experts = true},
      {.arch = Architecture::Qwen35Moe, .hf_model_types = kQwen35MoeTypes, .hf_wrapper_types = kQwen35MoeWrappers,
       .gguf_architectures = kQwen35MoeGguf, .qk_norm = true,
       .unit_offset_norms = true, .gated_delta_net = true, .mixture_of_experts = true,
       .expert_names = {.shared = "shared_expert"}},
  }};
  return all;
}

std::string join(auto member) {
  std::string out;
  for (const ModelFamily& f : families()) {
    for (const std::string_view name : f.*member) {
      if (!out.empty()) out += ", ";
      out += name;
    }
  }
  return out;
}

}  // namespace

std::string shared_expert_prefix(const ExpertNames& names, const std::string& layer) {
  const std::string block = "model.layers." + layer + "." + std::string(names.block) + ".";
  return names.shared.empty() ? block : block + std::string(names.shared) + ".";
}

const ModelFamily& family_of(Architecture arch) {
  for (const ModelFamily& f : families()) {
    if (f.arch == arch) return f;
  }
  return families().front();  // unreachable: every Architecture has a row
}

bool is_wrapper_model_type(const ModelFamily& family, std::string_view model_type) {
  return std::find(family.hf_wrapper_types.begin(), family.hf_wrapper_types.end(), model_type) !=
         family.hf_wrapper_types.end();
}

const ModelFamily* family_for_model_type(std::string_view model_type) {
  for (const ModelFamily& f : families()) {
    for (const std::string_view t : f.hf_model_types) {
      if (t == model_type) return &f;
    }
    if (is_wrapper_model_type(f, model_type)) return &f;
  }
  return nullptr;
}

const ModelFamily* family_for_gguf_architecture(std::string_view architecture) {
  for (const ModelFamily& f : families()) {
    for (const std::string_view a : f.gguf_architectures) {
      if (a == architecture) return &f;
    }
  }
  return nullptr;
}

std::string supported_model_types() {
  const std::string wrappers = join(&ModelFamily::hf_wrapper_types);
  return join(&ModelFamily::hf_model_types) + (wrappers.empty() ? "" : ", " + wrappers);
}
std::string supported_gguf_architectures() { return join(&ModelFamily::gguf_architectures); }

}  // namespace troupe
