#include "model/model_spec.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <utility>

#include "common/error.hpp"

namespace troupe {

std::string_view architecture_name(Architecture a) {
  switch (a) {
    case Architecture::Starcoder2: return "starcoder2";
    case Architecture::Exaone: return "exaone";
    case Architecture::Olmo: return "olmo";
    case Architecture::Helium: return "helium";
    case Architecture::Apertus: return "apertus";
    case Architecture::Glm: return "glm";
    case Architecture::Dots1: return "dots1";
    case Architecture::Gpt2: return "gpt2";
    case Architecture::GptBigCode: return "gpt_bigcode";
    case Architecture::GptNeoX: return "gpt_neox";
    case Architecture::Opt: return "opt";
    case Architecture::Falcon: return "falcon";
    case Architecture::Gptj: return "gptj";
    case Architecture::HunyuanDense: return "hunyuan_v1_dense";
    case Architecture::InternLm3: return "internlm3";
    case Architecture::Phi: return "phi";
    case Architecture::StableLm: return "stablelm";
    case Architecture::Llama: return "llama";
    case Architecture::Qwen2: return "qwen2";
    case Architecture::Qwen3: return "qwen3";
    case Architecture::Mistral: return "mistral";
    case Architecture::Ministral3: return "ministral3";
    case Architecture::MinimaxM2: return "minimax_m2";
    case Architecture::SeedOss: return "seed_oss";
    case Architecture::Lfm2: return "lfm2";
    case Architecture::Lfm2Moe: return "lfm2_moe";
    case Architecture::GraniteHybrid: return "granitemoehybrid";
    case Architecture::GraniteMoe: return "granitemoe";
    case Architecture::GraniteSwa: return "granite_swa";
    case Architecture::Qwen35: return "qwen3_5";
    case Architecture::Qwen35Moe: return "qwen3_5_moe";
    case Architecture::Qwen3Next: return "qwen3_next";
    case Architecture::Ernie45: return "ernie4_5";
    case Architecture::Ernie45Moe: return "ernie4_5_moe";
    case Architecture::NemotronH: return "nemotron_h";
    case Architecture::FalconH1: return "falcon_h1";
    case Architecture::Lfm3: return "lfm3";
    case Architecture::Arcee: return "arcee";
    case Architecture::SolarOpen: return "solar_open";
    case Architecture::Gemma4: return "gemma4";
    case Architecture::Gemma3n: return "gemma3n";
    case Architecture::Llama4: return "llama4";
    case Architecture::Gemma: return "gemma";
    case Architecture::Gemma2: return "gemma2";
    case Architecture::Gemma3: return "gemma3";
    case Architecture::Granite: return "granite";
    case Architecture::IQuestCoder: return "iquestcoder";
    case Architecture::Phi3: return "phi3";
    case Architecture::SmolLM3: return "smollm3";
    case Architecture::Mixtral: return "mixtral";
    case Architecture::Qwen3Moe: return "qwen3_moe";
    case Architecture::Olmo2: return "olmo2";
    case Architecture::Olmo3: return "olmo3";
    case Architecture::Olmoe: return "olmoe";
    case Architecture::Cohere: return "cohere";
    case Architecture::Cohere2: return "cohere2";
    case Architecture::Glm4: return "glm4";
    case Architecture::Exaone4: return "exaone4";
    case Architecture::GptOss: return "gpt_oss";
    case Architecture::Glm4Moe: return "glm4_moe";
    case Architecture::Qwen2Moe: return "qwen2_moe";
    case Architecture::DeepseekV2: return "deepseek_v2";
  }
  return "?";
}

namespace {

void validate_rope(const RopeSpec& rope, int64_t head_dim, const std::string& source, const char* which) {
  const std::string what = std::string(which) + " rope scaling";
  if (rope.type != "default" && rope.type != "linear" && rope.type != "llama3" && rope.type != "yarn" &&
      rope.type != "dynamic" && rope.type != "longrope" && rope.type != "proportional") {
    throw ModelError(source + ": " + what + " type '" + rope.type +
                     "' is not supported (supported: default, linear, llama3, yarn, dynamic, longrope, proportional)");
  }
  if (rope.type == "proportional" && !(rope.proportion > 0.0 && rope.proportion <= 1.0)) {
    throw ModelError(source + ": " + what + "'s partial_rotary_factor must be in (0, 1]");
  }
  if (!(rope.theta > 0.0)) throw ModelError(source + ": rope theta must be positive");
  if (rope.type != "default" && !(rope.factor > 0.0)) throw ModelError(source + ": " + what + " factor must be positive");
  if ((rope.type == "yarn" || rope.type == "dynamic" || rope.type == "llama3" || rope.type == "longrope") &&
      rope.freq_divisors.empty() && rope.original_max_position <= 0) {
    throw ModelError(source + ": " + what + " " + rope.type + " needs original_max_position_embeddings");
  }
  if (!rope.freq_divisors.empty() && static_cast<int64_t>(rope.freq_divisors.size()) != head_dim / 2) {
    throw ModelError(source + ": rope frequency factors have " + std::to_string(rope.freq_divisors.size()) +
                     " entries, expected head_dim/2 = " + std::to_string(head_dim / 2));
  }
  if (rope.type == "longrope") {
    for (const auto* factors : {&rope.short_factors, &rope.long_factors}) {
      if (static_cast<int64_t>(factors->size()) != head_dim / 2) {
        throw ModelError(source + ": " + what + " longrope has " + std::to_string(factors->size()) +
                         " factors in a set, expected head_dim/2 = " + std::to_string(head_dim / 2));
      }
      if (std::any_of(factors->begin(), factors->end(), [](double f) { return !(f > 0.0); })) {
        throw ModelError(source + ": " + what + " longrope factors must be positive");
      }
    }
  }
}

// YaRN's attention factor from the paper: 0.1 · mscale · ln(scale) + 1 (1 for no scaling).
double yarn_mscale(double scale, double mscale) { return scale <= 1.0 ? 1.0 : 0.1 * mscale * std::log(scale) + 1.0; }

}  // namespace

void ModelSpec::rope_on_sliding_layers_only() {
  layer_rope.assign(static_cast<std::size_t>(num_layers), false);
  for (int64_t i = 0; i < num_layers; ++i) layer_rope[static_cast<std::size_t>(i)] = window(i) > 0;
}

int64_t ModelSpec::rope_dims(bool local) const {
  for (int64_t i = 0; i < num_layers; ++i) {
    if ((window(i) > 0 && local_rope) == local) return rotary_dims_of(i);
  }
  return rotary_dims();
}

double ModelSpec::attention_scale_of(int64_t layer) const {
  const double base = attention_scale > 0.0 ? attention_scale : 1.0 / std::sqrt(static_cast<double>(head_dim_of(layer)));
  // Latent attention: RoPE's factor scales only the rotated dimensions, which the backend does.
  if (mla) return base;
  const double m = rope_attention_factor(rope_of(layer));
  return base * m * m;
}

void ModelSpec::limit_context(int64_t max_model_len) {
  max_position = std::min(max_position, max_model_len);
  if (rope.type == "longrope") rope.use_long_factors = max_position > rope.original_max_position;
  // Positions run to max_position - 1; below `original` the temperature is exactly 1.
  if (attention_temperature.active() && max_position - 1 + attention_temperature.offset < attention_temperature.original) {
    attention_temperature = {};
  }
}

double ModelSpec::gate_cutoff(int64_t layer) const {
  return layer_gate_cutoff.empty() ? std::nan("") : layer_gate_cutoff[static_cast<std::size_t>(layer)];
}

int64_t ModelSpec::attention_layers() const {
  if (layer_mixer.empty()) return num_layers;
  return std::count(layer_mixer.begin(), layer_mixer.end(), Mixer::Attention);
}

bool ModelSpec::has_mixer(Mixer m) const {
  return m == Mixer::Attention ? attention_layers() > 0 : std::find(layer_mixer.begin(), layer_mixer.end(), m) != layer_mixer.end();
}

void ModelSpec::validate(const std::string& source) const {
  auto require = [&](int64_t v, const char* what) {
    if (v <= 0) throw ModelError(source + ": " + what + " must be positive (got " + std::to_string(v) + ")");
  };
  require(num_layers, "number of layers");
  require(hidden_size, "hidden size");
  require(intermediate_size, "intermediate size");
  require(num_heads, "number of attention heads");
  require(num_kv_heads, "number of key/value heads");
  require(head_dim, "head dimension");
  require(vocab_size, "vocabulary size");
  require(max_position, "maximum position");
  if (num_heads % num_kv_heads != 0) {
    throw ModelError(source + ": " + std::to_string(num_heads) + " attention heads are not a multiple of " +
                     std::to_string(num_kv_heads) + " key/value heads");
  }
  if (head_dim % 2 != 0) throw ModelError(source + ": head dimension must be even for RoPE");
  if (rotary_dim < 0 || rotary_dim > head_dim || rotary_dim % 2 != 0) {
    throw ModelError(source + ": " + std::to_string(rotary_dim) + " rotary dimensions of a head of " +
                     std::to_string(head_dim) + " (an even number, at most the head's)");
  }
  const std::pair<const std::vector<int64_t>*, const char*> per_layer_lists[] = {
      {&layer_head_dim, "head sizes"}, {&layer_kv_heads, "key/value heads"},
      {&layer_kv_source, "key/value sources"}, {&layer_intermediate, "MLP widths"}};
  for (const auto& [list, what] : per_layer_lists) {
    if (!list->empty() && static_cast<int64_t>(list->size()) != num_layers) {
      throw ModelError(source + ": per-layer " + what + " for " + std::to_string(list->size()) + " of " +
                       std::to_string(num_layers) + " layers");
    }
  }
  for (int64_t i = 0; i < num_layers && varied_heads(); ++i) {
    const int64_t d = head_dim_of(i), kv = kv_heads_of(i);
    if (d <= 0 || d % 2 != 0 || kv <= 0 || num_heads % kv != 0) {
      throw ModelError(source + ": layer " + std::to_string(i) + " has " + std::to_string(kv) + " key/value heads of " +
                       std::to_string(d) + " (an even head size, and a divisor of the " + std::to_string(num_heads) +
                       " attention heads)");
    }
  }
  for (int64_t i = 0; i < num_layers && !layer_kv_source.empty(); ++i) {
    const int64_t from = kv_source(i);
    if (from < 0 || from > i || (from < i && (!stores_kv(from) || window(from) != window(i) ||
                                              head_dim_of(from) != head_dim_of(i) || kv_heads_of(from) != kv_heads_of(i)))) {
      throw ModelError(source + ": layer " + std::to_string(i) + " cannot attend over layer " + std::to_string(from) +
                       "'s keys and values (an earlier layer of its kind, keeping its own)");
    }
  }
  if (per_layer_input_size < 0) throw ModelError(source + ": negative per-layer input size");
  if (per_layer_vocab < 0 || per_layer_vocab > vocab_size) {
    throw ModelError(source + ": a per-layer embeddings' table of " + std::to_string(per_layer_vocab) + " rows for a vocabulary of " +
                     std::to_string(vocab_size));
  }
  if (altup_streams == 1 || altup_streams < 0) {
    throw ModelError(source + ": " + std::to_string(altup_streams) + " AltUp streams (at least 2 when there are any)");
  }
  if (laurel_rank < 0) throw ModelError(source + ": negative LAuReL rank");
  if (!layer_gate_cutoff.empty() && static_cast<int64_t>(layer_gate_cutoff.size()) != num_layers) {
    throw ModelError(source + ": gate sparsity for " + std::to_string(layer_gate_cutoff.size()) + " of " +
                     std::to_string(num_layers) + " layers");
  }
  validate_rope(rope, rope_dims(false), source, "the");
  if (local_rope) validate_rope(*local_rope, rope_dims(true), source, "the sliding-window layers'");
  if (!layer_window.empty() && static_cast<int64_t>(layer_window.size()) != num_layers) {
    throw ModelError(source + ": " + std::to_string(layer_window.size()) + " layer attention types for " +
                     std::to_string(num_layers) + " layers");
  }
  if (std::any_of(layer_window.begin(), layer_window.end(), [](int64_t w) { return w < 0; })) {
    throw ModelError(source + ": a sliding window must be positive");
  }
  if (!layer_chunk.empty() && static_cast<int64_t>(layer_chunk.size()) != num_layers) {
    throw ModelError(source + ": " + std::to_string(layer_chunk.size()) + " attention chunk sizes for " +
                     std::to_string(num_layers) + " layers");
  }
  for (int64_t i = 0; i < static_cast<int64_t>(layer_chunk.size()); ++i) {
    if (chunk(i) < 0 || (chunk(i) > 0 && window(i) > 0)) {
      throw ModelError(source + ": layer " + std::to_string(i) + " has a negative attention chunk, or a chunk and a sliding window");
    }
  }
  if (clip_qkv < 0.0) throw ModelError(source + ": clip_qkv must be positive");
  if (attention_temperature.active() && (attention_temperature.original <= 0 || !(attention_temperature.beta > 0.0))) {
    throw ModelError(source + ": an attention temperature needs a positive beta and original context (got " +
                     std::to_string(attention_temperature.beta) + ", " + std::to_string(attention_temperature.original) + ")");
  }
  if (attention_softcap < 0.0 || final_logit_softcap < 0.0) throw ModelError(source + ": soft-capping must be positive");
  if (!(residual_multiplier > 0.0) || !(logit_scale > 0.0) || !(embedding_multiplier > 0.0)) {
    throw ModelError(source + ": residual, logit and embedding multipliers must be positive");
  }
  // The backends scale a layer's output in its projection, before any norm on it: no family has
  // both (Granite has no sandwich norms).
  if (residual_multiplier != 1.0 && sandwich_norms) {
    throw ModelError(source + ": a residual multiplier with norms on the layer outputs is not supported");
  }
  if (!input_norms && !sandwich_norms) {
    throw ModelError(source + ": a model without input norms needs norms on its layer outputs");
  }
  if (parallel_block && (!input_norms || sandwich_norms)) {
    throw ModelError(source + ": a parallel attention and MLP block reads one input norm, and no output norms");
  }
  if (position_offset < 0 || (position_offset > 0 && !learned_positions)) {
    throw ModelError(source + ": a position offset belongs to a learned position table");
  }
  if (parallel_mlp_norm && !parallel_block) throw ModelError(source + ": an MLP norm of a parallel block without the block");
  if (qk_norm_whole && !qk_norm) throw ModelError(source + ": whole-projection q/k norms without q/k norms");
  if (norm_bias && (!layer_norm || sandwich_norms || !input_norms)) {
    throw ModelError(source + ": norm biases belong to the LayerNorms before attention and the MLP");
  }
  if (qk_norm_after_rope && (!qk_norm || qk_norm_whole || qk_norm_per_head)) {
    throw ModelError(source + ": q/k norms after RoPE are per-head RMSNorms");
  }
  if (norm_without_weights && (!layer_norm || norm_bias)) throw ModelError(source + ": norms without weights are LayerNorms without a bias");
  if (qk_norm_per_head && (!qk_norm || qk_norm_whole || !layer_norm)) {
    throw ModelError(source + ": per-head q/k norm weights are LayerNorms over each head");
  }
  if (!layer_rope.empty() && static_cast<int64_t>(layer_rope.size()) != num_layers) {
    throw ModelError(source + ": " + std::to_string(layer_rope.size()) + " per-layer RoPE flags for " +
                     std::to_string(num_layers) + " layers");
  }
  if (!layer_mixer.empty() && static_cast<int64_t>(layer_mixer.size()) != num_layers) {
    throw ModelError(source + ": " + std::to_string(layer_mixer.size()) + " layer types for " +
                     std::to_string(num_layers) + " layers");
  }
  if (!layer_mlp.empty() && static_cast<int64_t>(layer_mlp.size()) != num_layers) {
    throw ModelError(source + ": " + std::to_string(layer_mlp.size()) + " per-layer MLP flags for " +
                     std::to_string(num_layers) + " layers");
  }
  for (int64_t i = 0; i < num_layers; ++i) {
    if (mixer(i) == Mixer::None && !has_mlp(i)) throw ModelError(source + ": layer " + std::to_string(i) + " has neither a mixer nor an MLP");
  }
  if (activation == Activation::ReluSquared && gated_mlp) {
    throw ModelError(source + ": relu² is the activation of MLPs without a gate");
  }
  if (!gated_mlp && activation == Activation::SwigluOai) throw ModelError(source + ": the clamped SwiGLU needs a gate");
  if (activation == Activation::Xielu && (gated_mlp || moe)) throw ModelError(source + ": xIELU is the activation of dense MLPs without a gate");
  if (activation == Activation::Identity) throw ModelError(source + ": an MLP needs an activation");
  if (has_mixer(Mixer::ShortConv) != short_conv.has_value()) {
    throw ModelError(source + ": short-convolution layers need their kernel size (conv_L_cache), and it only them");
  }
  if (has_mixer(Mixer::GatedDeltaNet) != delta_net.has_value()) {
    throw ModelError(source + ": linear-attention layers need their sizes (linear_*), and they only them");
  }
  if (delta_net) {
    require(delta_net->k_heads, "number of linear-attention key heads");
    require(delta_net->v_heads, "number of linear-attention value heads");
    require(delta_net->k_dim, "linear-attention key head dimension");
    require(delta_net->v_dim, "linear-attention value head dimension");
    if (delta_net->v_heads % delta_net->k_heads != 0) {
      throw ModelError(source + ": " + std::to_string(delta_net->v_heads) + " linear-attention value heads are not a multiple of " +
                       std::to_string(delta_net->k_heads) + " key heads");
    }
    if (delta_net->conv_kernel < 2) throw ModelError(source + ": a linear-attention convolution needs at least 2 taps");
  }
  if ((has_mixer(Mixer::Mamba2) || mamba_beside_attention) != mamba.has_value()) {
    throw ModelError(source + ": Mamba-2 layers need their sizes (mamba_*), and they only them");
  }
  if (mamba) {
    require(mamba->heads, "number of Mamba-2 heads");
    require(mamba->head_dim, "Mamba-2 head dimension");
    require(mamba->state, "Mamba-2 state size");
    require(mamba->groups, "number of Mamba-2 groups");
    if (mamba->heads % mamba->groups != 0) {
      throw ModelError(source + ": " + std::to_string(mamba->heads) + " Mamba-2 heads are not a multiple of " +
                       std::to_string(mamba->groups) + " groups");
    }
    if (mamba->conv_kernel < 2) throw ModelError(source + ": a Mamba-2 convolution needs at least 2 taps");
  }
  if (attention_head_gate && (attention_output_gate || mla)) {
    throw ModelError(source + ": a per-head attention gate with an output gate or latent attention is not supported");
  }
  if (attention_output_gate && (attention_bias || mla)) {
    throw ModelError(source + ": an attention output gate with attention biases or latent attention is not supported");
  }
  if (short_conv && short_conv->kernel < 2) {
    throw ModelError(source + ": a short convolution of " + std::to_string(short_conv->kernel) +
                     " taps (conv_L_cache must be at least 2)");
  }
  if (attention_layers() == 0) throw ModelError(source + ": no layer attends (every layer type is a convolution)");
  if (mla) {
    require(mla->kv_lora_rank, "latent (kv_lora_rank) width");
    require(mla->nope_dim, "q/k head dimensions without RoPE (qk_nope_head_dim)");
    require(mla->rope_dim, "q/k head dimensions with RoPE (qk_rope_head_dim)");
    require(mla->v_head_dim, "value head dimension");
    if (mla->q_lora_rank < 0) throw ModelError(source + ": q_lora_rank must not be negative");
    if (num_kv_heads != 1 || head_dim != mla->kv_lora_rank + mla->rope_dim || rotary_dims() != mla->rope_dim) {
      throw ModelError(source + ": latent attention's cache is one head of kv_lora_rank + qk_rope_head_dim");
    }
    if (!layer_window.empty() || !layer_chunk.empty() || attention_sinks || qk_norm || attention_bias) {
      throw ModelError(source + ": latent attention with windows, sinks, q/k norms or biases is not supported");
    }
  }
  if (moe) {
    require(moe->num_experts, "number of experts");
    require(moe->experts_per_token, "number of experts per token");
    require(moe->intermediate_size, "expert intermediate size");
    if (moe->experts_per_token > moe->num_experts) {
      throw ModelError(source + ": " + std::to_string(moe->experts_per_token) + " experts per token of " +
                       std::to_string(moe->num_experts) + " experts");
    }
    if (moe->groups <= 0 || moe->group_top <= 0 || moe->num_experts % moe->groups != 0 || moe->groups_chosen <= 0 ||
        moe->groups_chosen > moe->groups || moe->experts_per_token > moe->groups_chosen * (moe->num_experts / moe->groups)) {
      throw ModelError(source + ": " + std::to_string(moe->num_experts) + " experts in " + std::to_string(moe->groups) +
                       " groups, " + std::to_string(moe->groups_chosen) + " chosen, cannot give " +
                       std::to_string(moe->experts_per_token) + " experts per token");
    }
    if (moe->shared_intermediate_size < 0 || moe->latent_size < 0) throw ModelError(source + ": negative shared expert or latent size");
    if (!moe->sparse_layers.empty() && static_cast<int64_t>(moe->sparse_layers.size()) != num_layers) {
      throw ModelError(source + ": " + std::to_string(moe->sparse_layers.size()) + " per-layer expert flags for " +
                       std::to_string(num_layers) + " layers");
    }
  }
}

double rope_attention_factor(const RopeSpec& r) {
  if (r.type == "longrope") {
    // Phi-3's: sqrt(1 + ln(scale) / ln(original)) for a scale of max / original context, in use
    // with both factor sets (transformers, vLLM and llama.cpp alike).
    if (r.attention_factor) return *r.attention_factor;
    if (r.factor <= 1.0) return 1.0;
    return std::sqrt(1.0 + std::log(r.factor) / std::log(static_cast<double>(r.original_max_position)));
  }
  if (r.type != "yarn") return 1.0;
  if (r.attention_factor) return *r.attention_factor;
  if (r.mscale != 0.0 && r.mscale_all_dim != 0.0) return yarn_mscale(r.factor, r.mscale) / yarn_mscale(r.factor, r.mscale_all_dim);
  return yarn_mscale(r.factor, 1.0);
}

std::vector<double> rope_inverse_frequencies(const RopeSpec& r, int64_t head_dim) {
  const int64_t half = head_dim / 2;
  const auto d = static_cast<double>(head_dim);
  double theta = r.theta;
  if (r.type == "dynamic" && r.freq_divisors.empty()) {
    // The base Hugging Face's dynamic NTK reaches at a sequence of original × factor positions.
    const double longest = static_cast<double>(r.original_max_position) * r.factor;
    theta *= std::pow(r.factor * longest / static_cast<double>(r.original_max_position) - (r.factor - 1.0), d / (d - 2.0));
  }
  std::vector<double> inv(static_cast<std::size_t>(half));
  for (int64_t i = 0; i < half; ++i) inv[i] = 1.0 / std::pow(theta, static_cast<double>(2 * i) / d);
  if (!r.freq_divisors.empty()) {
    for (int64_t i = 0; i < half; ++i) inv[i] /= r.freq_divisors[i];
    return inv;
  }
  if (r.type == "proportional") {
    const auto turning = static_cast<int64_t>(std::floor(r.proportion * d / 2.0));
    for (int64_t i = 0; i < half; ++i) inv[i] = i < turning ? inv[i] / r.factor : 0.0;
  } else if (r.type == "longrope") {
    const std::vector<double>& factors = r.use_long_factors ? r.long_factors : r.short_factors;
    for (int64_t i = 0; i < half; ++i) inv[i] /= factors[static_cast<std::size_t>(i)];
  } else if (r.type == "linear") {
    for (double& f : inv) f /= r.factor;
  } else if (r.type == "llama3") {
    // Long wavelengths (beyond the original context / low_freq_factor) are slowed by `factor`,
    // short ones (below original / high_freq_factor) kept, and the band between interpolated.
    const double old_ctx = static_cast<double>(r.original_max_position);
    const double low_wavelen = old_ctx / r.low_freq_factor;
    const double high_wavelen = old_ctx / r.high_freq_factor;
    for (double& f : inv) {
      const double wavelen = 2.0 * std::numbers::pi / f;
      if (wavelen > low_wavelen) {
        f /= r.factor;
      } else if (wavelen >= high_wavelen) {
        const double smooth = (old_ctx / wavelen - r.low_freq_factor) / (r.high_freq_factor - r.low_freq_factor);
        f = (1.0 - smooth) * f / r.factor + smooth * f;
      }
    }
  } else if (r.type == "yarn") {
    // Dimensions that turn fewer than beta_slow times over the original context are interpolated
    // (divided by factor), those that turn more than beta_fast times kept, with a linear ramp
    // between the two correction dimensions.
    const double original = static_cast<double>(r.original_max_position);
    const auto correction_dim = [&](double rotations) {
      return d * std::log(original / (rotations * 2.0 * std::numbers::pi)) / (2.0 * std::log(r.theta));
    };
    double low = correction_dim(r.beta_fast), high = correction_dim(r.beta_slow);
    if (r.truncate) {
      low = std::floor(low);
      high = std::ceil(high);
    }
    low = std::max(low, 0.0);
    high = std::min(high, d - 1.0);
    if (low == high) high += 0.001;  // no empty ramp
    for (int64_t i = 0; i < half; ++i) {
      // Hugging Face computes the ramp in float32; the difference is far below the tests' bounds.
      const double ramp = std::clamp((static_cast<double>(i) - low) / (high - low), 0.0, 1.0);
      const double keep = 1.0 - ramp;  // the share of the original (extrapolated) frequency
      inv[i] = inv[i] / r.factor * (1.0 - keep) + inv[i] * keep;
    }
  }
  return inv;
}

}  // namespace troupe
