#pragma once
// The shape of a decoder-only transformer, whatever file it came from. Everything a backend needs
// to size buffers and run the forward pass; nothing about where the weights live. How a family's
// layers differ from Llama's (norms, activation, attention pattern) is said here as features;
// model_family.hpp says which family has which, and decoder_layout.hpp which tensors each layer
// reads.
#include <array>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace troupe {

enum class Architecture { Llama, Qwen2, Qwen3, Mistral, Gemma2, Gemma3, Granite, IQuestCoder, Phi3, SmolLM3, Mixtral, Qwen3Moe, Olmo2, Olmo3, Olmoe, Cohere, Cohere2, Glm4, Exaone4, GptOss, Glm4Moe, Qwen2Moe, DeepseekV2, Ministral3, MinimaxM2, SeedOss, Lfm2, Lfm2Moe, Qwen35, Qwen35Moe, GraniteHybrid, GraniteMoe, Qwen3Next, Ernie45, Ernie45Moe, NemotronH, FalconH1, Lfm3, Arcee, SolarOpen, Gemma4, Llama4, GraniteSwa, Gemma, Starcoder2, Phi, StableLm, Exaone, InternLm3, Olmo, Helium, HunyuanDense, Apertus, Glm, Dots1, Gpt2, GptBigCode, GptNeoX, Opt, Falcon, Gptj, Gemma3n };

std::string_view architecture_name(Architecture a);

// The MLP's gate activation: SiLU (Llama, Qwen, Mistral), GELU with the tanh approximation
// (Gemma's gelu_pytorch_tanh), or gpt-oss's clamped SwiGLU: gate g clamped to at most 7, up u to
// [−7, 7], and act(g, u) = g·σ(1.702·g)·(u + 1). ReluSquared, max(x, 0)², is Nemotron-H's
// (transformers' relu2), whose MLPs have no gate (ModelSpec::gated_mlp).
//
// Gelu is GELU itself, x·Φ(x) with the normal distribution's Φ (erf: GPT-NeoX's "gelu"); Relu is
// max(x, 0) (OPT's).
//
// Xielu is Apertus's xIELU, whose parameters are learned per layer: x > 0: αp·x² + β·x, else
// (expm1(min(x, ε)) − x)·αn + β·x, with αp = softplus(a_p) and αn = β + softplus(a_n) from the
// layer's stored a_p, a_n (its MLP has no gate). Backends apply it with the layer's parameters before
// the down projection, which then takes Identity (no activation).
enum class Activation { Silu, GeluTanh, Gelu, Relu, SwigluOai, ReluSquared, Xielu, Identity };

// Rotary position embedding. Frequencies follow Hugging Face's half-split ("neox") rotation:
// dimension i of the first half pairs with i + head_dim/2.
struct RopeSpec {
  double theta = 10000.0;
  // default | linear | llama3 | yarn | dynamic | longrope | proportional (Hugging Face's rope_type names)
  std::string type = "default";
  // proportional (LFM3's full-attention layers): only the first ⌊proportion · head_dim / 2⌋ pairs
  // turn, at the frequencies the whole head would give them (θ^(−2i/head_dim)); the other pairs
  // keep their values.
  double proportion = 1.0;
  double factor = 1.0;               // linear, llama3, yarn, dynamic; longrope: max / original context
  double low_freq_factor = 1.0;      // llama3
  double high_freq_factor = 4.0;     // llama3
  int64_t original_max_position = 0; // llama3, yarn, dynamic, longrope: the context the model was trained on
  // YaRN: the band of rotation counts over the original context between which frequencies go from
  // interpolated to kept, the correction dimensions rounded outwards (truncate), and the factor on
  // cos/sin (given, or from mscale / mscale_all_dim, or 0.1 ln(factor) + 1).
  double beta_fast = 32.0;
  double beta_slow = 1.0;
  bool truncate = true;
  // YaRN, longrope: the factor on cos/sin, when the config gives it.
  std::optional<double> attention_factor;
  double mscale = 0.0;
  double mscale_all_dim = 0.0;
  // Per-frequency divisors, as GGUF stores llama3 scaling (tensor rope_freqs.weight); when
  // present they replace the formula above. head_dim/2 entries.
  std::vector<float> freq_divisors;
  // LongRoPE (Phi-3): per-frequency divisors for contexts up to the original one and beyond it
  // (head_dim/2 each), and which set is in use. One set serves every position, chosen by the
  // longest context served (use_long_factors: it exceeds original_max_position), as vLLM and
  // llama.cpp choose: switching sets as a sequence grows would invalidate its cached keys.
  std::vector<double> short_factors, long_factors;
  bool use_long_factors = false;
};

// Inverse frequencies (radians per position) for the rotary_dims/2 rotation pairs, with scaling
// (`head_dim` here is the number of dimensions rotated).
// Dynamic NTK uses the base for the longest context the scaling reaches
// (original_max_position × factor), fixed for every position, as vLLM does: keys already in the
// cache must not change with the sequence's length.
std::vector<double> rope_inverse_frequencies(const RopeSpec& rope, int64_t head_dim);
// The factor RoPE multiplies cos and sin by (YaRN; 1 otherwise). Both q and k are rotated, so
// attention logits grow by its square.
double rope_attention_factor(const RopeSpec& rope);

// A mixture-of-experts MLP (Mixtral, Qwen3-MoE): `num_experts` gated FFNs of `intermediate_size`
// columns each and a router, a [num_experts, hidden] matrix. A token's router logits go through a
// softmax over all experts; the `experts_per_token` most probable run on it, and their outputs
// are summed weighted by those probabilities — renormalized to sum to 1 when `normalize_top_k`
// (Mixtral always; Qwen3-MoE's norm_topk_prob).
//
// DeepSeek-V3's routing, as GLM-4.5 runs it: each logit's sigmoid is its score (`sigmoid_scores`);
// a per-expert bias (`selection_bias`, e_score_correction_bias) is added to the scores for choosing
// only; the experts come from the `groups_chosen` of `groups` equal groups whose `group_top` (two)
// best biased scores sum highest (DeepSeek-V2's group_limited_greedy: softmax scores, a group's
// best alone); the chosen scores (unbiased), renormalized when `normalize_top_k`, times
// `weights_scale` (routed_scaling_factor) weigh the outputs. `shared_intermediate_size` > 0: a
// dense gated MLP of that width (n_shared_experts × moe_intermediate_size; Qwen2-MoE's
// shared_expert_intermediate_size) runs on every token beside them, its output added unweighted,
// or, with `shared_gate` (Qwen2-MoE), times the sigmoid of the token's product with a [hidden] gate.
struct MoeSpec {
  int64_t num_experts = 0;
  int64_t experts_per_token = 0;
  int64_t intermediate_size = 0;
  bool normalize_top_k = true;
  bool sigmoid_scores = false;
  bool selection_bias = false;
  int64_t groups = 1, groups_chosen = 1, group_top = 2;
  double weights_scale = 1.0;
  int64_t shared_intermediate_size = 0;
  bool shared_gate = false;
  // The router and every expert projection carry biases (gpt-oss): the router's [num_experts], each
  // expert's gate and up [intermediate_size] and down [hidden].
  bool biases = false;
  // > 0: the experts work in a latent space of this width (Nemotron 3 Super's moe_latent_size): a
  // token's normed row goes through a down-projection [latent, hidden] before them (the router
  // reads the row itself), their weighted sum through an up-projection [hidden, latent] after; the
  // shared experts read the row itself.
  int64_t latent_size = 0;
  // Gemma 4's layers: a dense MLP of ModelSpec::intermediate_size beside the experts, each behind
  // its own input norm and with its own output norm, their outputs summed before the layer's MLP
  // output norm; the router reads the residual stream through an RMSNorm of its own weight (times
  // hidden^-½); each chosen expert's weight is then multiplied by that expert's scale.
  bool dense_beside = false;
  // Each chosen expert reads the token's row times its weight, and their outputs are summed as
  // they come (Llama 4's: the router's sigmoid scales the expert's input, not its output).
  bool weights_on_input = false;
  // Per layer, whether its MLP is the experts (true) or a dense MLP of ModelSpec::intermediate_size
  // (Qwen3-MoE's mlp_only_layers and decoder_sparse_step); empty: every layer's is.
  std::vector<bool> sparse_layers;
};

// Multi-head latent attention (DeepSeek-V2/V3, GLM-4.7-Flash): a token's keys and values for every
// head come from one latent vector c = RMSNorm(x W_kv_a[:C]) of `kv_lora_rank` (C) values, head h's
// key being [c W_uk_h, k_rope] and its value c W_uv_h, where W_uk_h [nope_dim, C] and W_uv_h
// [v_head_dim, C] are head h's rows of kv_b_proj and k_rope (`rope_dim` values, rotated) is the last
// part of x W_kv_a, one for all heads. A query head is [q_nope (nope_dim), q_rope (rope_dim)], from
// q_proj, or q_b_proj(RMSNorm(q_a_proj x)) when q_lora_rank > 0.
//
// Since q_nope · (W_uk_h c) = (W_uk_hᵀ q_nope) · c, attention runs as multi-query attention over
// the latent ("absorbed"): one KV head of C + rope_dim values, [c, k_rope], which is all the cache
// keeps per token and layer; a query head becomes [W_uk_hᵀ q_nope, q_rope], and its output, a
// weighted sum of latents (the key rows' first C values), goes through W_uv_h. ModelSpec then has
// num_kv_heads 1 and head_dim C + rope_dim (the cache row); the values are the keys' rows, so the
// cache holds one plane, not two. The softmax scale stays 1/sqrt(nope_dim + rope_dim) (times
// YaRN's mscale_all_dim factor squared), ModelSpec::attention_scale.
struct MlaSpec {
  int64_t q_lora_rank = 0;  // 0: q from one projection (DeepSeek-V2-Lite)
  int64_t kv_lora_rank = 0;
  int64_t nope_dim = 0;     // a q/k head's dimensions without RoPE (first)
  int64_t rope_dim = 0;     // and with it (last)
  int64_t v_head_dim = 0;
  // The rotated dimensions pair up as (0, 1), (2, 3), … (DeepSeek's layout, GGUF's too); false:
  // dimension i pairs with i + rope_dim/2 (transformers' rope_interleave = false).
  bool rope_pairs = true;
  int64_t qk_dim() const { return nope_dim + rope_dim; }
};

// What mixes a layer's tokens: attention over the paged KV cache, LFM2's short convolution,
// Qwen3.5's gated delta net, a Mamba-2 state space layer (Granite 4.0-H), or nothing: a layer that
// is its MLP alone (Nemotron-H's, whose layers are one sublayer each: ModelSpec::layer_mlp).
enum class Mixer { Attention, ShortConv, GatedDeltaNet, Mamba2, None };

// LFM2's short convolution, which stands in for attention in some layers: a token's row x goes
// through in_proj into three [hidden] parts B, C, x' (in that order); B ⊙ x' of this and the
// previous kernel − 1 positions goes through a causal depthwise convolution (per channel,
// `kernel` taps, the oldest first); C ⊙ that goes through out_proj. No attention, no KV cache: a
// sequence's state is its last kernel − 1 rows of B ⊙ x', which the backend keeps per sequence
// (SequenceStep::state_slot), so the layer's cost per token does not grow with the context.
struct ShortConvSpec {
  int64_t kernel = 3;  // conv_L_cache
  bool bias = false;   // in_proj, out_proj and the convolution carry biases
};

// Qwen3.5's (and Qwen3-Next's) gated delta net, "linear attention", in the layers layer_mixer marks.
// in_proj_qkv gives q and k (k_heads heads of k_dim) and v (v_heads of v_dim), which go through a
// causal depthwise convolution of `conv_kernel` taps and SiLU; in_proj_z a gate per value;
// in_proj_b and in_proj_a a β input and a decay input per value head. Value head h (whose q and k
// are key head h / (v_heads / k_heads)) keeps a state S [k_dim, v_dim] per sequence: with q and k
// L2-normalized (ε 1e-6) and q divided by √k_dim, β = σ(b) and g = −exp(A_log) · softplus(a + dt_bias),
//   S ← e^g S;   S ← S + k ⊗ β (v − Sᵀk);   o = Sᵀq
// then o through an RMSNorm over its v_dim values (its weights as stored: no (1 + w)) times SiLU(z),
// and out_proj. The state (and the convolution's last kernel − 1 inputs) is the layer's whole
// memory of the sequence: it has no KV cache.
struct DeltaNetSpec {
  int64_t k_heads = 0, v_heads = 0, k_dim = 0, v_dim = 0;
  int64_t conv_kernel = 4;
  // Value head h reads key head h % k_heads: llama.cpp's converter reorders the value heads so
  // (tiled), where Hugging Face's checkpoints group them by key head (h / (v_heads / k_heads)).
  bool tiled_heads = false;
  int64_t key_head_of(int64_t h) const { return tiled_heads ? h % k_heads : h / (v_heads / k_heads); }
  int64_t key_width() const { return k_heads * k_dim; }
  int64_t value_width() const { return v_heads * v_dim; }
  int64_t conv_width() const { return 2 * key_width() + value_width(); }  // q, k and v: what the convolution sees
};

// A Mamba-2 layer (state space duality), in the layers layer_mixer marks: in_proj gives each token
// z [inner], xBC [inner + 2 groups · state] and dt [heads] (inner = heads · head_dim); xBC goes
// through a causal depthwise convolution of `conv_kernel` taps (with its bias when conv_bias) and
// SiLU, and splits into x (heads of head_dim), B and C (groups of `state`; head h reads group
// h / (heads / groups)). Head h keeps a state H [head_dim, state] per sequence: with
// Δ = softplus(dt + dt_bias) and A = −exp(A_log),
//   H ← e^(Δ A) H + Δ x ⊗ B;   y = H C + D x
// then y ⊙ SiLU(z) through an RMSNorm over each group's inner / groups values (the gate before the
// norm), and out_proj. The state (and the convolution's last kernel − 1 inputs) is the layer's
// whole memory of the sequence: it has no KV cache.
struct Mamba2Spec {
  int64_t heads = 0, head_dim = 0, state = 0, groups = 1;
  int64_t conv_kernel = 4;
  bool conv_bias = true;
  bool gated_norm = true;  // false: y ⊙ SiLU(z) goes to out_proj without the norm (Falcon-H1's mamba_rms_norm false)
  int64_t inner() const { return heads * head_dim; }
  int64_t conv_width() const { return inner() + 2 * groups * state; }  // x, B and C: what the convolution sees
  int64_t group_of(int64_t h) const { return h / (heads / groups); }
};

struct ModelSpec {
  Architecture arch = Architecture::Llama;
  int64_t num_layers = 0;
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_heads = 0;
  int64_t num_kv_heads = 0;
  int64_t head_dim = 0;
  // Dimensions of a head that RoPE rotates, the first ones (partial rotary: Phi-4-mini's 96 of
  // 128); 0: all of them. The rest pass through.
  int64_t rotary_dim = 0;
  int64_t vocab_size = 0;
  int64_t max_position = 0;  // the longest context the model serves (after RoPE scaling)
  RopeSpec rope;
  double rms_eps = 1e-6;
  bool attention_bias = false;  // q/k/v projections carry biases (Qwen2)
  bool output_bias = false;     // the attention's output projection carries one too (gpt-oss)
  // A learned logit per query head ("sink") joins each softmax's denominator, so a row's weights
  // over its keys sum to less than 1 (gpt-oss): out = Σ e^(s_p − m) v_p / (Σ e^(s_p − m) + e^(sink − m)).
  bool attention_sinks = false;
  bool qk_norm = false;         // per-head RMSNorm on q and k before RoPE (Qwen3, Gemma 3)
  // The q/k norms come after RoPE rather than before it (Hunyuan's query_layernorm, key_layernorm).
  bool qk_norm_after_rope = false;
  // Per-head RMSNorms without a weight on q and k in the layers that apply RoPE (Llama 4's
  // use_qk_norm, its L2Norm; transformers applies it after RoPE, which keeps each head's norm).
  bool qk_norm_weightless = false;
  // The q/k RMSNorms span a token's whole q (and k) projection, every head at once, rather than
  // each head: weights of [heads · head_dim] (OLMo 2, OLMoE).
  bool qk_norm_whole = false;
  // RMSNorms before attention and the MLP (pre-norm, Llama's). False: the sublayers read the
  // residual stream itself and only their outputs are normed (OLMo 2: sandwich_norms' second half).
  bool input_norms = true;
  // Mean-centred LayerNorm (a weight, no bias) wherever the others take an RMSNorm (Cohere);
  // rms_eps is its epsilon.
  bool layer_norm = false;
  // The layer norms (before attention and the MLP, and the final one) carry a bias beside their
  // weight, added after the scaling (torch's nn.LayerNorm: StarCoder2, Phi-2, StableLM).
  bool norm_bias = false;
  // The LayerNorms have no weight (nor bias) at all: the normalized values themselves (OLMo 1's
  // non-parametric LayerNorm, its epsilon fixed at 1e-5).
  bool norm_without_weights = false;
  // The q and k norms are LayerNorms (layer_norm), one per head, each with its own weights:
  // [heads · head_dim] and [kv_heads · head_dim] (StableLM 2 12B's qk_layernorm).
  bool qk_norm_per_head = false;
  // Attention and the MLP both read the layer's one input norm, and their outputs join the
  // residual stream together: x += attention(n) + mlp(n), n = norm(x) (Cohere).
  bool parallel_block = false;
  // In a parallel block the MLP reads a norm of its own of the layer's input (GPT-NeoX's
  // use_parallel_residual): x += attention(n₁(x)) + mlp(n₂(x)).
  bool parallel_mlp_norm = false;
  // Absolute position embeddings, a learned row per position ([max_position, hidden]), are added to
  // the token embeddings, and no layer applies RoPE (GPT-2, StarCoder 1). max_position is then a
  // hard limit: the table has no row beyond it.
  bool learned_positions = false;
  // Rows of the position table before position 0's: position p reads row p + position_offset (OPT's 2).
  int64_t position_offset = 0;
  bool tie_word_embeddings = false;
  Activation activation = Activation::Silu;
  // RMSNorms on the attention output and on the MLP output, before each joins the residual
  // stream, beside the usual ones before them (Gemma 2 and 3).
  bool sandwich_norms = false;
  // Added to every RMSNorm weight when it is loaded: Gemma's checkpoints store w for a norm that
  // scales by (1 + w). GGUF files have the 1 added by llama.cpp's converter already (0 there).
  double norm_weight_offset = 0.0;
  double embedding_multiplier = 1.0;  // embeddings are scaled by this (Gemma: sqrt(hidden_size); Granite's own)
  // Multiplier of q·k before the softmax; 0 means 1/sqrt(head_dim) (Gemma 3:
  // query_pre_attn_scalar^-0.5).
  double attention_scale = 0.0;
  // q, k and v are clamped to [-clip_qkv, clip_qkv] after their projection; 0: no clamp.
  double clip_qkv = 0.0;
  // Gemma 2's soft-capping: attention scores (after scaling) and final logits become
  // cap · tanh(x / cap); 0: none.
  double attention_softcap = 0.0;
  double final_logit_softcap = 0.0;
  // Granite's: each layer's attention and MLP outputs are multiplied by residual_multiplier before
  // they join the residual stream, and the logits divided by logit_scale.
  double residual_multiplier = 1.0;
  double logit_scale = 1.0;
  // Llama 4's attention temperature: after RoPE, each query row at position p is multiplied by
  // 1 + beta · ln(1 + floor((p + offset) / original)), which is 1 while p + offset < `original`.
  // Llama 4 (attn_temperature_tuning: beta attn_scale, original floor_scale, offset 1) scales the
  // queries of its layers without RoPE alone (`nope_layers_only`); Ministral 3 (transformers'
  // llama_4_scaling_beta, GGUF attention.temperature_scale: original is rope_parameters'
  // original_max_position_embeddings, offset 0) every layer's. beta 0: none.
  struct AttentionTemperature {
    double beta = 0.0;
    int64_t original = 0;
    int64_t offset = 0;
    bool nope_layers_only = false;
    bool active() const { return beta != 0.0; }
    float at(int64_t position) const {
      return static_cast<float>(1.0 + beta * std::log1p(static_cast<double>((position + offset) / original)));
    }
  };
  AttentionTemperature attention_temperature;
  // Sliding-window attention: per layer, the number of most recent positions (its own included) a
  // query attends to; 0 for a layer that sees the whole context. Empty: every layer is global.
  std::vector<int64_t> layer_window;
  // Chunked attention (Llama 4's layers with RoPE): per layer, the chunk size C whose query at
  // position p sees the positions from floor(p / C) · C to p alone; 0 for a layer without. Empty:
  // none. Not a window: the first query of each chunk sees itself alone.
  std::vector<int64_t> layer_chunk;
  // The RoPE of sliding-window layers when it is not `rope` (Gemma 3: base 10,000, unscaled).
  std::optional<RopeSpec> local_rope;
  // Per layer, whether it applies RoPE; empty: every layer does. SmolLM3 leaves it out of every
  // fourth layer (NoPE: those layers see positions only through the causal mask).
  std::vector<bool> layer_rope;
  // Set for mixture-of-experts models; absent for dense ones.
  std::optional<MoeSpec> moe;
  // Set for latent attention (DeepSeek-V2/V3); num_kv_heads and head_dim then describe the cache.
  std::optional<MlaSpec> mla;
  // Per layer, what mixes its tokens; empty: attention in every layer. Layers without attention
  // hold no KV cache.
  std::vector<Mixer> layer_mixer;
  std::optional<ShortConvSpec> short_conv;  // set when some layer is a ShortConv
  std::optional<DeltaNetSpec> delta_net;    // set when some layer is a GatedDeltaNet
  std::optional<Mamba2Spec> mamba;          // set when some layer is a Mamba2
  // Per layer, whether it has an MLP (or experts) after its mixer; empty: every layer does.
  // Nemotron-H's layers are one sublayer each: a mixer without an MLP, or an MLP whose mixer is
  // Mixer::None.
  std::vector<bool> layer_mlp;
  // The MLPs (dense, experts and shared experts) are act(gate) · up → down; false: act(up) → down,
  // with no gate projection (Nemotron-H's relu² MLPs).
  bool gated_mlp = true;
  // The dense MLP's projections carry biases: gate and up [intermediate], down [hidden] (StarCoder2,
  // Phi-2).
  bool mlp_bias = false;
  // The vocabulary projection carries a bias, [vocab] (Phi-2).
  bool lm_head_bias = false;
  // Each head's attention output is multiplied by σ of the head's row of g_proj times the layer's
  // normed input (LFM3: one gate value per head, g_proj [heads, hidden]).
  bool attention_head_gate = false;
  // Every attention layer runs a Mamba-2 layer (ModelSpec::mamba) beside it on the same normed
  // input, and both outputs join the residual stream (Falcon-H1); each has its own state and cache.
  bool mamba_beside_attention = false;
  // Falcon-H1's µP multipliers, which its safetensors leave to the forward pass (llama.cpp's
  // converter folds them into the weights it writes): the q, k and v rows × attention_in (k also
  // × key), o × attention_out, Mamba-2 in_proj's five row runs (z, x, B, C, Δ) × ssm_in × each of
  // ssm_multipliers, out_proj × ssm_out, gate × mlp_multipliers[0], down × mlp_multipliers[1].
  // Backends fold them in as they load the weights (1 where a model has none).
  struct Multipliers {
    double q = 1.0, k = 1.0, v = 1.0, o = 1.0;
    std::array<double, 5> mamba_in{1.0, 1.0, 1.0, 1.0, 1.0};
    double mamba_out = 1.0, gate = 1.0, down = 1.0;
  };
  Multipliers multipliers;
  // Per layer, its head dimension and key/value heads where they are not head_dim and num_kv_heads
  // (Gemma 4's full-attention layers: heads of 512 over fewer key/value heads than its sliding
  // layers' 256); empty: every layer's are those. The KV cache of each layer is sized by its own.
  std::vector<int64_t> layer_head_dim, layer_kv_heads;
  // Gemma 4's attention_k_eq_v: the full-attention layers (window 0) have no v_proj; their values
  // are k_proj's output before k's norm and RoPE.
  bool values_from_keys = false;
  // Each head's values go through an RMSNorm without a weight (Gemma 4's v_norm).
  bool value_norm = false;
  // Each layer ends by multiplying the residual stream by its own scalar, a tensor of the
  // checkpoint (Gemma 4's layer_scalar).
  bool layer_scalar = false;
  // Per-layer embeddings (Gemma 4 E2B/E4B's hidden_size_per_layer_input, P; 0: none). Each token
  // gets, for every layer, P values: (RMSNorm(x0 W_proj / sqrt(hidden)) + E[token] · sqrt(P)) / sqrt(2),
  // x0 the scaled embedding, W_proj [layers · P, hidden], E [vocab, layers · P]; after its MLP block
  // layer i adds RMSNorm(W_out (gelu(W_gate x) ⊙ its P values)) to the stream, W_gate [P, hidden],
  // W_out [hidden, P].
  int64_t per_layer_input_size = 0;
  // Rows of the per-layer embeddings' table when it has fewer than the vocabulary (Gemma 3n's
  // vocab_size_per_layer_input: the ids past it, its audio and image tokens, read row 0, as
  // transformers does); 0: the table has a row for every id.
  int64_t per_layer_vocab = 0;
  // Gemma 3n's alternating updates (AltUp; 0: none): the residual stream is `altup_streams` streams
  // of the hidden size. The first (the active one) is the embeddings, each other one a projection of
  // them scaled to their RMS. Each layer first predicts every stream as itself plus a mix of all of
  // them, s_c + Σ_a P[c][a] s_a, P from the active stream through its router (tanh(W_router
  // RMSNorm(s_0) / hidden) → W_pred [streams², streams]); runs its attention and MLP on the active
  // prediction; then corrects every prediction by the layer's change to the active one times 1 + its
  // correction coefficient (W_corr [streams, streams] over the router of the layer's output), and
  // adds its per-layer input's step (of the corrected active stream × correct_output_scale) to every
  // stream but the active one. At the end the streams but the first are projected back, scaled to
  // the first's RMS, and all averaged.
  int64_t altup_streams = 0;
  // Gemma 3n's LAuReL (learned augmented residual layer; 0: none), of this rank: beside attention,
  // n + RMSNorm(W_right W_left n) of the layer's normed input n, added to the stream after attention
  // and the sum scaled by 1/√2.
  int64_t laurel_rank = 0;
  // Per layer, the MLP's gate kept above mean + k · std of its values, less that cutoff, and 0 below
  // (Gemma 3n's Gaussian top-k: k the standard normal's quantile of activation_sparsity_pattern's
  // fraction, 1.645 for 95 %); NaN or empty: the whole gate.
  std::vector<double> layer_gate_cutoff;
  // Per layer, the layer whose keys and values it attends over: itself, or the last earlier layer of
  // its kind that keeps its own (Gemma 4 E2B/E4B's num_kv_shared_layers: those layers project no k
  // and v and hold no cache). Empty: every layer its own.
  std::vector<int64_t> layer_kv_source;
  // Per layer, its MLP's width where it is not intermediate_size (Gemma 4's double-wide MLPs in the
  // layers that share keys and values); empty: every layer's is.
  std::vector<int64_t> layer_intermediate;
  // q_proj gives each head's queries followed by as many gate values: the attention's output is
  // multiplied by σ(gate) before o_proj (Qwen3.5, Qwen3-Next).
  bool attention_output_gate = false;
  std::optional<int32_t> bos_token_id;
  std::vector<int32_t> eos_token_ids;  // any of them ends generation
  std::string name;                    // a human-readable model name, for logs and /v1/models

  int64_t q_width() const { return num_heads * head_dim; }
  int64_t rotary_dims() const { return rotary_dim > 0 ? rotary_dim : head_dim; }
  int64_t kv_width() const { return num_kv_heads * head_dim; }
  int64_t head_dim_of(int64_t layer) const {
    return layer_head_dim.empty() ? head_dim : layer_head_dim[static_cast<std::size_t>(layer)];
  }
  int64_t kv_heads_of(int64_t layer) const {
    return layer_kv_heads.empty() ? num_kv_heads : layer_kv_heads[static_cast<std::size_t>(layer)];
  }
  // Whether some layer's heads differ from the others' (ModelSpec::layer_head_dim).
  bool varied_heads() const { return !layer_head_dim.empty() || !layer_kv_heads.empty(); }
  int64_t rotary_dims_of(int64_t layer) const { return rotary_dim > 0 ? rotary_dim : head_dim_of(layer); }
  // The dimensions a RoPE turns, those of the first layer that applies it: `local_rope`'s (local) on
  // the sliding layers, `rope`'s on the others — every layer without a local_rope (Gemma 4's two
  // kinds of layers have heads of different sizes).
  int64_t rope_dims(bool local) const;
  // Whether layer `layer`'s values are its keys' projection (values_from_keys on a full layer).
  bool values_are_keys(int64_t layer) const { return values_from_keys && window(layer) == 0; }
  int64_t kv_source(int64_t layer) const {
    return layer_kv_source.empty() ? layer : layer_kv_source[static_cast<std::size_t>(layer)];
  }
  // Whether layer `layer` attends and keeps keys and values of its own (a KV cache).
  bool stores_kv(int64_t layer) const { return mixer(layer) == Mixer::Attention && kv_source(layer) == layer; }
  // The Gaussian top-k's multiplier k of layer `layer`'s gate, or NaN for the whole gate.
  double gate_cutoff(int64_t layer) const;
  int64_t intermediate_of(int64_t layer) const {
    return layer_intermediate.empty() ? intermediate_size : layer_intermediate[static_cast<std::size_t>(layer)];
  }
  // Planes of the KV cache per layer: keys and values, or the latent alone (MlaSpec).
  int64_t kv_planes() const { return mla ? 1 : 2; }
  int64_t window(int64_t layer) const {
    return layer_window.empty() ? 0 : layer_window[static_cast<std::size_t>(layer)];
  }
  int64_t chunk(int64_t layer) const {
    return layer_chunk.empty() ? 0 : layer_chunk[static_cast<std::size_t>(layer)];
  }
  // Whether the attention temperature scales layer `layer`'s queries.
  bool temperature_in(int64_t layer) const {
    return attention_temperature.active() && (!attention_temperature.nope_layers_only || !uses_rope(layer));
  }
  // The RoPE layer `layer` applies: local_rope on a sliding-window layer when there is one.
  const RopeSpec& rope_of(int64_t layer) const { return window(layer) > 0 && local_rope ? *local_rope : rope; }
  bool uses_rope(int64_t layer) const {
    return !learned_positions && (layer_rope.empty() || layer_rope[static_cast<std::size_t>(layer)]);
  }
  Mixer mixer(int64_t layer) const {
    return layer_mixer.empty() ? Mixer::Attention : layer_mixer[static_cast<std::size_t>(layer)];
  }
  bool has_mlp(int64_t layer) const { return layer_mlp.empty() || layer_mlp[static_cast<std::size_t>(layer)]; }
  // Layers that attend, and so hold a KV cache.
  int64_t attention_layers() const;
  bool has_mixer(Mixer m) const;  // some layer mixes its tokens so
  // Some layer keeps per-sequence state besides the KV cache (a convolution's last inputs, a delta
  // net's state):
  // every step of a sequence then needs its state slot, a sequence's first step (num_cached 0)
  // starts from a zero state, and a prefix-cache hit, which would skip the steps that built the
  // state, cannot serve it.
  bool has_sequence_state() const { return short_conv.has_value() || delta_net.has_value() || mamba.has_value(); }
  // Whether layer `layer` runs a Mamba-2 layer (as its mixer, or beside its attention).
  bool runs_mamba(int64_t layer) const {
    return mixer(layer) == Mixer::Mamba2 || (mamba_beside_attention && mixer(layer) == Mixer::Attention);
  }
  // Whether layer `layer`'s MLP is a mixture of experts.
  bool sparse_mlp(int64_t layer) const {
    return moe && has_mlp(layer) && (moe->sparse_layers.empty() || moe->sparse_layers[static_cast<std::size_t>(layer)]);
  }
  // The multiplier of q·k in layer `layer`, RoPE's attention factor included.
  double attention_scale_of(int64_t layer) const;
  // Only the sliding-window layers apply RoPE: layer_rope from layer_window (Cohere 2, EXAONE 4).
  void rope_on_sliding_layers_only();
  // Serve contexts of at most `max_model_len` tokens (no more than max_position): LongRoPE then
  // uses its short factors when that is within the original context, and an attention temperature
  // that no position served reaches is dropped.
  void limit_context(int64_t max_model_len);

  // Throws ModelError (prefixed with `source`) when sizes are missing or inconsistent.
  void validate(const std::string& source) const;
};

}  // namespace troupe
