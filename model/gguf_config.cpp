#include <algorithm>
#include <array>
#include <cmath>
#include <utility>

#include "common/error.hpp"
#include "model/config_readers.hpp"
#include "model/gguf_gemma_configs.hpp"
#include "model/gguf_window_pattern.hpp"
#include "model/gguf_token_roles.hpp"
#include "model/model_family.hpp"

namespace troupe {

using gguf_readers::per_layer_flags;
using gguf_readers::read_gemma2;
using gguf_readers::read_gemma3;
using gguf_readers::read_gemma3n;
using gguf_readers::read_gemma4;
using gguf_readers::read_window_pattern;
using gguf_readers::set_gemma_scales;

namespace {

constexpr int64_t kTokenTypeControl = 3;  // tokenizer.ggml.token_type


// StarCoder2, Phi-2, StableLM, GPT-2, StarCoder 1, GPT-NeoX: LayerNorms with biases. StableLM's q/k norms are one LayerNorm per
// head ([head_dim, heads]), and a layer without ffn_norm (`first`: the first layer's "blk.N.") runs
// attention and the MLP side by side on its input norm (StableLM 2 12B), as llama.cpp's graph does.
void read_biased_norm_family(const GgufFile& gguf, const std::string& arch, const std::string& first, ModelSpec& spec) {
  spec.norm_bias = true;
  // GPT-NeoX's parallel block, each sublayer on its norm (ffn_norm, always there), by a key of its own.
  // Falcon's: attention and the MLP side by side always (llama.cpp's graph), on two norms where the
  // file has attn_norm_2 (40B's and 180B's new_decoder_architecture).
  if (spec.arch == Architecture::Falcon) spec.parallel_mlp_norm = gguf.find_tensor(first + "attn_norm_2.weight") != nullptr;
  if (spec.arch == Architecture::GptNeoX) {
    spec.parallel_block = spec.parallel_mlp_norm = gguf.get_bool(arch + ".use_parallel_residual").value_or(true);
  }
  if (spec.arch == Architecture::StableLm) {
    spec.qk_norm_per_head = spec.qk_norm;
    spec.parallel_block = gguf.find_tensor(first + "ffn_norm.weight") == nullptr;
  }
}

// Llama 4 as llama.cpp reads it (nothing of this is in the file but a sliding_window of 0, which
// turns chunking off): the layers with RoPE, all but every fourth, attend within chunks of 8,192
// positions (by attention.sliding_window_pattern, every fourth whole when absent); the others, without
// RoPE, have their queries scaled by 1 + 0.1 · ln(1 + floor((p + 1) / 8192)); q and k are RMS-normed
// without a weight but in the 128-expert model (Maverick); the experts, chosen by the sigmoid of
// their router logits, unnormalized, take the token's row times it, beside a shared expert as wide.
void read_llama4(const GgufFile& gguf, const std::string& arch, ModelSpec& spec) {
  const std::optional<int64_t> window = gguf.get_int(arch + ".attention.sliding_window");
  if (window && *window == 0) {
    spec.layer_rope.clear();
  } else {
    read_window_pattern(gguf, arch, 8192, 4, spec);
    spec.layer_chunk = std::move(spec.layer_window);
    spec.layer_window.clear();
    spec.layer_rope.resize(static_cast<std::size_t>(spec.num_layers));
    for (int64_t i = 0; i < spec.num_layers; ++i) spec.layer_rope[static_cast<std::size_t>(i)] = (i + 1) % 4 != 0;
    spec.attention_temperature = {0.1, 8192, /*offset=*/1, /*nope_layers_only=*/true};
  }
  MoeSpec& moe = *spec.moe;
  spec.qk_norm_weightless = moe.num_experts != 128;
  moe.sigmoid_scores = true;
  moe.normalize_top_k = false;
  moe.weights_on_input = true;
  moe.shared_intermediate_size = moe.intermediate_size;
}

// LongRoPE (Phi-3) as llama.cpp's converter stores it: the two factor sets as the tensors
// rope_factors_short/long.weight, the original context, and the attention factor it computed.
void read_longrope(const GgufFile& gguf, const std::string& arch, ModelSpec& spec) {
  const TensorView* shorter = gguf.find_tensor("rope_factors_short.weight");
  const TensorView* longer = gguf.find_tensor("rope_factors_long.weight");
  if (shorter == nullptr && longer == nullptr) return;
  const std::string source = gguf.path().string();
  if (shorter == nullptr || longer == nullptr) throw ModelError(source + ": only one of rope_factors_short/long.weight");
  spec.rope.type = "longrope";
  for (const float f : tensor_to_f32(*shorter)) spec.rope.short_factors.push_back(f);
  for (const float f : tensor_to_f32(*longer)) spec.rope.long_factors.push_back(f);
  spec.rope.original_max_position = gguf.get_int(arch + ".rope.scaling.original_context_length").value_or(0);
  if (spec.rope.original_max_position <= 0) {
    throw ModelError(source + ": longrope factors without " + arch + ".rope.scaling.original_context_length");
  }
  spec.rope.factor = static_cast<double>(spec.max_position) / static_cast<double>(spec.rope.original_max_position);
  if (auto f = gguf.get_float(arch + ".rope.scaling.attn_factor")) spec.rope.attention_factor = *f;
  spec.limit_context(spec.max_position);  // picks the factor set for the context served
}

// The value of integer metadata key arch.key, which must be there and positive.
int64_t required_positive(const GgufFile& gguf, const std::string& arch, const std::string& key) {
  const std::optional<int64_t> v = gguf.get_int(arch + "." + key);
  if (!v || *v <= 0) throw ModelError(gguf.path().string() + ": missing or non-positive metadata key " + arch + "." + key);
  return *v;
}

// Latent attention as llama.cpp's converter writes it (deepseek2): the latent and q widths, a q/k
// head's dimensions (key_length_mla; key_length is the cache row, kv_lora_rank + rope's), the value
// head's, and RoPE's (rope.dimension_count) on paired dimensions as llama.cpp rotates them (its
// NORM mode). Under YaRN llama.cpp cancels RoPE's own attention factor and scales the softmax by
// (1 + 0.1 · mscale_all_dim · ln factor)², mscale_all_dim being rope.scaling.yarn_log_multiplier
// / 0.1 (the converter stores 0.1 · mscale_all_dim there).
void read_mla(const GgufFile& gguf, const std::string& arch, ModelSpec& spec) {
  const std::string source = gguf.path().string();
  const auto required = [&](const std::string& key) { return required_positive(gguf, arch, key); };
  MlaSpec mla;
  mla.q_lora_rank = gguf.get_int(arch + ".attention.q_lora_rank").value_or(0);
  mla.kv_lora_rank = required("attention.kv_lora_rank");
  mla.rope_dim = required("rope.dimension_count");
  // Files converted before llama.cpp split kv_b give the decompressed heads as key/value_length.
  const bool split = gguf.get_int(arch + ".attention.key_length_mla").has_value();
  const int64_t qk = split ? required("attention.key_length_mla") : required("attention.key_length");
  mla.v_head_dim = split ? required("attention.value_length_mla") : required("attention.value_length");
  mla.nope_dim = qk - mla.rope_dim;
  if (mla.nope_dim <= 0) throw ModelError(source + ": a q/k head of " + std::to_string(qk) + " dimensions, " +
                                           std::to_string(mla.rope_dim) + " of them rotated");
  mla.rope_pairs = true;
  spec.num_kv_heads = 1;
  spec.head_dim = mla.kv_lora_rank + mla.rope_dim;
  spec.rotary_dim = mla.rope_dim;
  double scale = 1.0 / std::sqrt(static_cast<double>(mla.qk_dim()));
  if (spec.rope.type == "yarn") {
    if (gguf.get_float(arch + ".rope.scaling.attn_factor").value_or(1.0) != 1.0) {
      throw ModelError(source + ": " + arch + ".rope.scaling.attn_factor other than 1 is not supported");
    }
    spec.rope.attention_factor = 1.0;
    const double log_mul = gguf.get_float(arch + ".rope.scaling.yarn_log_multiplier").value_or(0.0) / 0.1;
    const double m = spec.rope.factor > 1.0 ? 1.0 + 0.1 * log_mul * std::log(spec.rope.factor) : 1.0;
    scale *= m * m;
  }
  spec.attention_scale = scale;
  spec.mla = mla;
}

// A hybrid's attention.head_count_kv per layer, as llama.cpp's converters write it for LFM2 and
// Granite 4.0-H: 0 where the layer is `other` (a convolution, a Mamba-2 layer) instead of attention.
void read_mixers_from_kv_heads(const GgufFile& gguf, const std::string& arch, ModelSpec& spec, Mixer other) {
  const std::string source = gguf.path().string();
  const std::string kv_key = arch + ".attention.head_count_kv";
  const std::optional<std::vector<int64_t>> per_layer = gguf.get_int_array(kv_key);
  if (!per_layer || static_cast<int64_t>(per_layer->size()) != spec.num_layers) {
    throw ModelError(source + ": " + kv_key + " must list each of the " + std::to_string(spec.num_layers) +
                     " layers' key/value heads (0 for a layer without attention)");
  }
  for (const int64_t heads : *per_layer) {
    spec.layer_mixer.push_back(heads == 0 ? other : Mixer::Attention);
    if (heads == 0) continue;
    if (spec.num_kv_heads != 0 && spec.num_kv_heads != heads) {
      throw ModelError(source + ": " + kv_key + " differs between attention layers, which troupe does not run");
    }
    spec.num_kv_heads = heads;
  }
}

// LFM2: the convolution layers by their 0 KV heads; shortconv.l_cache the convolution's taps.
// llama.cpp reads a sliding window for the attention layers of some LFM2 files, which
// transformers' LFM2 has not: refused.
void read_lfm2(const GgufFile& gguf, const std::string& arch, ModelSpec& spec) {
  const std::string source = gguf.path().string();
  read_mixers_from_kv_heads(gguf, arch, spec, Mixer::ShortConv);
  const std::optional<int64_t> taps = gguf.get_int(arch + ".shortconv.l_cache");
  if (!taps) throw ModelError(source + ": missing metadata key " + arch + ".shortconv.l_cache");
  const auto conv = std::find(spec.layer_mixer.begin(), spec.layer_mixer.end(), Mixer::ShortConv);
  if (conv != spec.layer_mixer.end()) {
    const std::string bias = "blk." + std::to_string(conv - spec.layer_mixer.begin()) + ".shortconv.conv.bias";
    spec.short_conv = ShortConvSpec{*taps, gguf.find_tensor(bias) != nullptr};
  }
  if (gguf.get_int(arch + ".attention.sliding_window").value_or(0) > 0) {
    throw ModelError(source + ": " + arch + ".attention.sliding_window: LFM2 with sliding-window attention is not supported");
  }
}

// Granite 4.0-H (llama.cpp's granitehybrid): the Mamba-2 layers by their 0 KV heads, their sizes
// as ssm.* (time_step_rank is the number of heads, inner_size all their dimensions), the dense
// MLP's width (expert_shared_feed_forward_length; with experts, feed_forward_length is theirs), and
// RoPE only where rope.scaling.finetuned says (llama.cpp's converter sets it for the hybrids that
// rotate, none of Granite 4.0-H's).
// The Mamba-2 layers' sizes as llama.cpp names them (ssm.time_step_rank is the number of heads,
// ssm.inner_size all their dimensions), when some layer runs one (the first tells whether the
// convolution has a bias and the gated norm is there).
void read_mamba2_sizes(const GgufFile& gguf, const std::string& arch, ModelSpec& spec) {
  const std::string source = gguf.path().string();
  const auto required = [&](const std::string& key) { return required_positive(gguf, arch, key); };
  int64_t layer = 0;
  while (layer < spec.num_layers && !spec.runs_mamba(layer)) ++layer;
  if (layer == spec.num_layers) return;
  const std::string first = "blk." + std::to_string(layer) + ".";
  Mamba2Spec m;
  m.heads = required("ssm.time_step_rank");
  const int64_t inner = required("ssm.inner_size");
  if (inner % m.heads != 0) throw ModelError(source + ": " + arch + ".ssm.inner_size is not a multiple of its heads");
  m.head_dim = inner / m.heads;
  m.state = required("ssm.state_size");
  m.groups = required("ssm.group_count");
  m.conv_kernel = required("ssm.conv_kernel");
  m.conv_bias = gguf.find_tensor(first + "ssm_conv1d.bias") != nullptr;
  m.gated_norm = gguf.find_tensor(first + "ssm_norm.weight") != nullptr;  // optional in Falcon-H1's files
  spec.mamba = m;
}

void read_granite_hybrid(const GgufFile& gguf, const std::string& arch, ModelSpec& spec) {
  read_mixers_from_kv_heads(gguf, arch, spec, Mixer::Mamba2);
  if (auto shared = gguf.get_int(arch + ".expert_shared_feed_forward_length")) spec.intermediate_size = *shared;
  read_mamba2_sizes(gguf, arch, spec);
  if (!gguf.get_bool(arch + ".rope.scaling.finetuned").value_or(false)) {
    spec.layer_rope.assign(static_cast<std::size_t>(spec.num_layers), false);
  }
}

// Nemotron-H (llama.cpp's nemotron_h and nemotron_h_moe): a layer's kind by its per-layer
// attention.head_count_kv and feed_forward_length, as llama.cpp tells them — neither: Mamba-2; KV
// heads alone: attention; a width: an MLP (experts in a file with expert_count) whose layer has no
// mixer. The arrays may go on into the multi-token-prediction layers, which are not read. The dense
// MLPs' width is the largest in feed_forward_length (the experts' in a MoE file: moe.intermediate_size
// comes from expert_feed_forward_length). No RoPE, relu² MLPs without a gate.
void read_nemotron_h(const GgufFile& gguf, const std::string& arch, ModelSpec& spec) {
  const std::string source = gguf.path().string();
  const auto per_layer = [&](const std::string& key) {
    const std::optional<std::vector<int64_t>> values = gguf.get_int_array(arch + "." + key);
    if (!values || static_cast<int64_t>(values->size()) < spec.num_layers) {
      throw ModelError(source + ": " + arch + "." + key + " must list each of the " + std::to_string(spec.num_layers) + " layers'");
    }
    return *values;
  };
  const std::vector<int64_t> kv_heads = per_layer("attention.head_count_kv"), ffn = per_layer("feed_forward_length");
  for (int64_t i = 0; i < spec.num_layers; ++i) {
    const auto at = static_cast<std::size_t>(i);
    spec.layer_mlp.push_back(ffn[at] > 0);
    spec.layer_mixer.push_back(ffn[at] > 0 ? Mixer::None : kv_heads[at] > 0 ? Mixer::Attention : Mixer::Mamba2);
    spec.intermediate_size = std::max(spec.intermediate_size, ffn[at]);
    if (spec.layer_mixer.back() != Mixer::Attention) continue;
    if (spec.num_kv_heads != 0 && spec.num_kv_heads != kv_heads[at]) {
      throw ModelError(source + ": " + arch + ".attention.head_count_kv differs between attention layers, which troupe does not run");
    }
    spec.num_kv_heads = kv_heads[at];
  }
  read_mamba2_sizes(gguf, arch, spec);
  spec.layer_rope.assign(static_cast<std::size_t>(spec.num_layers), false);
  spec.gated_mlp = false;
}

// Qwen3.5: which layers are delta nets (attention.recurrent_layers, or all but every
// full_attention_interval-th), their sizes as llama.cpp names them (ssm.group_count key heads,
// ssm.time_step_rank value heads, ssm.state_size each head's dimension, ssm.inner_size all value
// dimensions), the value heads in llama.cpp's tiled order (Qwen3.5's; Qwen3-Next's as Hugging Face
// groups them), and the attention's output gate.
void read_qwen35(const GgufFile& gguf, const std::string& arch, ModelSpec& spec) {
  const std::string source = gguf.path().string();
  const auto required = [&](const std::string& key) { return required_positive(gguf, arch, key); };
  spec.layer_mixer.assign(static_cast<std::size_t>(spec.num_layers), Mixer::Attention);
  const std::string recurrent_key = arch + ".attention.recurrent_layers";
  if (const GgufValue* v = gguf.find(recurrent_key); v != nullptr) {
    if (v->type != GgufValueType::ARRAY || v->element_type != GgufValueType::BOOL) {
      throw ModelError(source + ": " + recurrent_key + " is not an array of booleans");
    }
    const auto& recurrent = std::get<std::vector<bool>>(v->value);  // may go on into the MTP layers
    if (static_cast<int64_t>(recurrent.size()) < spec.num_layers) {
      throw ModelError(source + ": " + recurrent_key + " lists " + std::to_string(recurrent.size()) + " of " +
                       std::to_string(spec.num_layers) + " layers");
    }
    for (std::size_t i = 0; i < spec.layer_mixer.size(); ++i) {
      if (recurrent[i]) spec.layer_mixer[i] = Mixer::GatedDeltaNet;
    }
  } else {
    const int64_t interval = gguf.get_int(arch + ".full_attention_interval").value_or(4);
    if (interval <= 0) throw ModelError(source + ": " + arch + ".full_attention_interval must be positive");
    for (int64_t i = 0; i < spec.num_layers; ++i) {
      if ((i + 1) % interval != 0) spec.layer_mixer[static_cast<std::size_t>(i)] = Mixer::GatedDeltaNet;
    }
  }
  if (spec.has_mixer(Mixer::GatedDeltaNet)) {
    DeltaNetSpec d;
    d.conv_kernel = required("ssm.conv_kernel");
    d.k_heads = required("ssm.group_count");
    d.v_heads = required("ssm.time_step_rank");
    d.k_dim = required("ssm.state_size");
    d.v_dim = required("ssm.inner_size") / d.v_heads;
    d.tiled_heads = arch != "qwen3next";  // llama.cpp's converter tiles Qwen3.5's value heads, not Qwen3-Next's
    spec.delta_net = d;
  }
  spec.attention_output_gate = true;
}

}  // namespace

ModelSpec spec_from_gguf(const GgufFile& gguf) {
  const std::string source = gguf.path().string();
  auto fail = [&](const std::string& msg) -> void { throw ModelError(source + ": " + msg); };
  const std::string arch = gguf.get_string("general.architecture").value_or("");
  const ModelFamily* family = family_for_gguf_architecture(arch);
  if (family == nullptr) {
    fail("general.architecture \"" + arch + "\" is not supported (supported: " + supported_gguf_architectures() + ")");
  }
  // llama.cpp converts Mixtral as "llama" with experts.
  if (family->arch == Architecture::Llama && gguf.get_int(arch + ".expert_count").value_or(0) > 0) {
    family = &family_of(Architecture::Mixtral);
  }
  ModelSpec spec;
  spec.arch = family->arch;
  auto required = [&](const std::string& key) -> int64_t {
    auto v = gguf.get_int(arch + "." + key);
    if (!v) fail("missing metadata key " + arch + "." + key);
    return *v;
  };
  spec.num_layers = required("block_count");
  // GLM-4.5's files carry its multi-token-prediction layers after the model's own (llama.cpp's
  // converter counts them in block_count); troupe runs only the model's.
  const int64_t nextn = gguf.get_int(arch + ".nextn_predict_layers").value_or(0);
  if (nextn < 0 || nextn >= spec.num_layers) fail(arch + ".nextn_predict_layers is " + std::to_string(nextn));
  spec.num_layers -= nextn;
  spec.hidden_size = required("embedding_length");
  const bool nemotron = family->arch == Architecture::NemotronH;
  const GgufValue* ffn_key = gguf.find(arch + ".feed_forward_length");
  if (nemotron) {
    read_nemotron_h(gguf, arch, spec);  // its feed_forward_length lists each layer's
  } else if ((family->arch == Architecture::Gemma4 || family->arch == Architecture::Gemma3n) && ffn_key != nullptr &&
             ffn_key->type == GgufValueType::ARRAY) {
    spec.intermediate_size = gguf.get_int_array(arch + ".feed_forward_length")->front();  // the rest: read_gemma4, read_gemma3n
  } else {
    // A mixture of experts with no dense layer may not give one (Qwen3.5's): its experts' width then.
    const std::optional<int64_t> dense_ffn = gguf.get_int(arch + ".feed_forward_length");
    spec.intermediate_size = dense_ffn || !family->mixture_of_experts ? required("feed_forward_length")
                                                                       : required("expert_feed_forward_length");
  }
  spec.num_heads = required("attention.head_count");
  // Checked before they divide anything below (ModelSpec's own validation comes later).
  const std::array<std::pair<const char*, int64_t>, 4> dimensions{{{"block_count", spec.num_layers},
                                                                    {"embedding_length", spec.hidden_size},
                                                                    {"feed_forward_length", spec.intermediate_size},
                                                                    {"attention.head_count", spec.num_heads}}};
  for (const auto& [key, value] : dimensions) {
    if (value <= 0) fail(arch + "." + key + " is " + std::to_string(value) + ": it must be positive");
  }
  if (family->arch == Architecture::Lfm2 || family->arch == Architecture::Lfm2Moe) {
    read_lfm2(gguf, arch, spec);
  } else if (family->arch == Architecture::GraniteHybrid) {
    read_granite_hybrid(gguf, arch, spec);
  } else if (!nemotron && family->arch != Architecture::Gemma4) {  // Gemma 4's by layer: read_gemma4
    if (family->gated_delta_net) read_qwen35(gguf, arch, spec);
    spec.num_kv_heads = gguf.get_int(arch + ".attention.head_count_kv").value_or(spec.num_heads);
  }
  spec.head_dim = gguf.get_int(arch + ".attention.key_length").value_or(spec.hidden_size / spec.num_heads);
  spec.max_position = required("context_length");
  // Nemotron-H's converter writes its RMSNorms' epsilon as layer_norm_epsilon, which llama.cpp then reads.
  const double layer_norm_eps = gguf.get_float(arch + ".attention.layer_norm_epsilon").value_or(1e-6);
  spec.rms_eps = gguf.get_float(arch + ".attention.layer_norm_rms_epsilon").value_or(nemotron ? layer_norm_eps : 1e-6);
  spec.rope.theta = gguf.get_float(arch + ".rope.freq_base").value_or(10000.0);
  if (auto type = gguf.get_string(arch + ".rope.scaling.type"); type && *type != "none") {
    if (*type != "linear" && *type != "yarn") {
      fail("rope scaling type \"" + *type + "\" is not supported (supported: linear, yarn)");
    }
    spec.rope.type = *type;
    spec.rope.factor = gguf.get_float(arch + ".rope.scaling.factor").value_or(1.0);
    if (*type == "yarn") {
      // llama.cpp's converter writes the original context and, when the config had them, the
      // YaRN band and attention factor.
      spec.rope.original_max_position = gguf.get_int(arch + ".rope.scaling.original_context_length").value_or(0);
      if (spec.rope.original_max_position <= 0) fail("yarn rope scaling without " + arch + ".rope.scaling.original_context_length");
      spec.rope.beta_fast = gguf.get_float(arch + ".rope.scaling.yarn_beta_fast").value_or(32.0);
      spec.rope.beta_slow = gguf.get_float(arch + ".rope.scaling.yarn_beta_slow").value_or(1.0);
      if (auto f = gguf.get_float(arch + ".rope.scaling.attn_factor")) spec.rope.attention_factor = *f;
      // llama.cpp's reading of yarn_log_multiplier as mscale_all_dim (mscale 1): the factor on
      // cos/sin is then mscale's over mscale_all_dim's, times attn_factor (Ministral 3: 1). Latent
      // attention reads it its own way (read_mla).
      if (const double log_mul = gguf.get_float(arch + ".rope.scaling.yarn_log_multiplier").value_or(0.0);
          log_mul != 0.0 && !family->latent_attention && spec.rope.factor > 1.0) {
        const double ln = std::log(spec.rope.factor);
        spec.rope.attention_factor = spec.rope.attention_factor.value_or(1.0) * (0.1 * ln + 1.0) / (0.1 * log_mul * ln + 1.0);
      }
      spec.rope.truncate = family->yarn_truncate;
      spec.max_position = std::max(spec.max_position, static_cast<int64_t>(static_cast<double>(spec.rope.original_max_position) * spec.rope.factor));
    }
  }

  // llama3-style scaling is stored as per-frequency divisors rather than as parameters.
  if (const TensorView* freqs = gguf.find_tensor("rope_freqs.weight")) {
    spec.rope.freq_divisors = tensor_to_f32(*freqs);
    spec.rope.type = "llama3";
  }
  read_longrope(gguf, arch, spec);
  // Partial rotary (Phi-4-mini: 96 of 128), as llama.cpp's NEOX rope reads n_rot.
  if (auto dims = gguf.get_int(arch + ".rope.dimension_count"); dims && *dims != spec.head_dim) spec.rotary_dim = *dims;

  const TensorView* embd = gguf.find_tensor("token_embd.weight");
  if (!embd) fail("missing tensor token_embd.weight");
  const auto* tokens = gguf.get_string_array("tokenizer.ggml.tokens");
  spec.vocab_size = gguf.get_int(arch + ".vocab_size").value_or(embd->shape.front());

  // The attention's features, as the first layer that attends has them.
  int64_t attending = 0;
  while (attending + 1 < spec.num_layers && spec.mixer(attending) != Mixer::Attention) ++attending;
  const std::string first = "blk." + std::to_string(attending) + ".";
  // q's bias alone, or q|k|v's fused (Phi-2's older files).
  spec.attention_bias = gguf.find_tensor(first + "attn_q.bias") != nullptr || gguf.find_tensor(first + "attn_qkv.bias") != nullptr;
  spec.output_bias = gguf.find_tensor(first + "attn_output.bias") != nullptr;
  // Biases on the dense MLP (StarCoder2, Phi-2; a Llama with mlp_bias) and on the vocabulary projection (Phi-2).
  spec.mlp_bias = gguf.find_tensor(first + "ffn_up.bias") != nullptr;
  spec.lm_head_bias = gguf.find_tensor("output.bias") != nullptr;
  spec.attention_sinks = family->attention_sinks;
  if (spec.attention_sinks && gguf.find_tensor(first + "attn_sinks.weight") == nullptr) {
    fail(arch + " model lacks " + first + "attn_sinks.weight");
  }
  spec.qk_norm = gguf.find_tensor(first + "attn_q_norm.weight") != nullptr;
  if (family->qk_norm && !spec.qk_norm) fail(arch + " model lacks " + first + "attn_q_norm.weight");
  spec.qk_norm_after_rope = family->qk_norm_after_rope;
  spec.qk_norm_whole = family->qk_norm_whole;
  spec.input_norms = family->input_norms;
  spec.layer_norm = family->layer_norm;
  spec.parallel_block = family->parallel_block;
  if (family->layer_norm) spec.rms_eps = gguf.get_float(arch + ".attention.layer_norm_epsilon").value_or(1e-5);
  if (family->norm_bias) read_biased_norm_family(gguf, arch, first, spec);
  spec.learned_positions = family->learned_positions;  // position_embd.weight
  spec.norm_without_weights = family->norm_without_weights;
  // q, k and v clamped after their projections (OLMo's clip_qkv, as llama.cpp's converter writes it).
  spec.clip_qkv = gguf.get_float(arch + ".attention.clamp_kqv").value_or(0.0);
  spec.tie_word_embeddings = gguf.find_tensor("output.weight") == nullptr;
  spec.activation = family->activation;
  spec.gated_mlp = family->gated_mlp;
  spec.sandwich_norms = family->sandwich_norms;
  if (family->arch == Architecture::Gemma) set_gemma_scales(spec, /*is_27b=*/false);  // Gemma 1: norms hold their + 1
  if (family->arch == Architecture::Gemma2) read_gemma2(gguf, arch, spec);
  if (family->arch == Architecture::Gemma3) read_gemma3(gguf, arch, spec);
  if (family->arch == Architecture::Gemma4) read_gemma4(gguf, arch, spec);
  if (family->arch == Architecture::Gemma3n) read_gemma3n(gguf, arch, spec);
  if (family->arch == Architecture::Granite || family->arch == Architecture::GraniteHybrid ||
      family->arch == Architecture::GraniteMoe || family->arch == Architecture::GraniteSwa) {
    // As llama.cpp's converter names Granite's multipliers (absent: none, as llama.cpp reads them).
    spec.embedding_multiplier = gguf.get_float(arch + ".embedding_scale").value_or(1.0);
    spec.residual_multiplier = gguf.get_float(arch + ".residual_scale").value_or(1.0);
    if (auto a = gguf.get_float(arch + ".attention.scale")) spec.attention_scale = *a;
    spec.logit_scale = gguf.get_float(arch + ".logit_scale").value_or(1.0);
  }
  if (family->arch == Architecture::Cohere || family->arch == Architecture::Cohere2) {
    // llama.cpp multiplies Cohere's logits by logit_scale (Granite's it divides by).
    if (auto scale = gguf.get_float(arch + ".logit_scale"); scale && *scale > 0.0) spec.logit_scale = 1.0 / *scale;
  }
  if (family->arch == Architecture::Cohere2 && gguf.get_int(arch + ".attention.sliding_window").value_or(0) <= 0) {
    fail("cohere2 model without " + arch + ".attention.sliding_window");
  }
  if (family->arch == Architecture::SmolLM3) {
    // No RoPE in every fourth layer: llama.cpp's fixed step for smollm3 files (the converter
    // writes no key for it).
    spec.layer_rope.resize(static_cast<std::size_t>(spec.num_layers));
    for (int64_t i = 0; i < spec.num_layers; ++i) spec.layer_rope[static_cast<std::size_t>(i)] = (i + 1) % 4 != 0;
  }
  if (family->latent_attention) read_mla(gguf, arch, spec);
  if (family->arch == Architecture::FalconH1) {  // a Mamba-2 layer beside every attention layer; multipliers folded
    spec.mamba_beside_attention = true;
    read_mamba2_sizes(gguf, arch, spec);
  }
  if (const double beta = gguf.get_float(arch + ".attention.temperature_scale").value_or(0.0); beta != 0.0) {
    // Ministral 3's Llama 4 temperature; its period is YaRN's original context (llama.cpp's
    // n_ctx_orig_yarn), or, in deepseek2 files (Mistral Large 3), attention.temperature_length.
    const std::optional<int64_t> length = family->latent_attention ? gguf.get_int(arch + ".attention.temperature_length")
                                                                   : std::nullopt;
    spec.attention_temperature = {beta, length.value_or(gguf.get_int(arch + ".rope.scaling.original_context_length").value_or(0))};
  }
  if (family->mixture_of_experts || (family->optional_experts && gguf.get_int(arch + ".expert_count").value_or(0) > 0)) {
    // Every layer's MLP is the experts, but for leading_dense_block_count dense ones (GLM-4.5).
    MoeSpec moe;
    moe.num_experts = required("expert_count");
    moe.experts_per_token = required("expert_used_count");
    // Granite's experts are feed_forward_length wide (its dense MLP is the shared expert).
    const bool granite = family->arch == Architecture::GraniteHybrid || family->arch == Architecture::GraniteMoe ||
                         family->arch == Architecture::GraniteSwa;
    moe.intermediate_size = granite ? required("feed_forward_length")
                                    : gguf.get_int(arch + ".expert_feed_forward_length").value_or(spec.intermediate_size);
    // llama.cpp's graphs renormalize for llama (Mixtral) and qwen3moe, not for olmoe, qwen2moe and
    // deepseek2 (whose converter writes the key when the config renormalizes).
    moe.normalize_top_k = gguf.get_bool(arch + ".expert_weights_norm")
                              .value_or(family->arch != Architecture::Olmoe && family->arch != Architecture::Qwen2Moe &&
                                        family->arch != Architecture::DeepseekV2);
    moe.biases = family->expert_biases;
    const int64_t first_sparse = gguf.get_int(arch + ".leading_dense_block_count").value_or(0);
    // The first layer with experts tells which tensors they have (Nemotron-H's first layers have no MLP).
    int64_t probe = first_sparse;
    while (probe + 1 < spec.num_layers && !spec.has_mlp(probe)) ++probe;
    const std::string expert_layer = "blk." + std::to_string(probe) + ".";
    moe.selection_bias = gguf.find_tensor(expert_layer + "exp_probs_b.bias") != nullptr;
    // DeepSeek-V3's routing (GLM-4.5): gating function 2 is the sigmoid (1 the softmax). Without the
    // key (GLM-4.7-Flash's files; llama.cpp tells them by their sizes), a selection bias means
    // DeepSeek-V3's sigmoid routing — but for ERNIE 4.5's, whose bias is on softmax probabilities.
    const bool ernie = family->arch == Architecture::Ernie45Moe;
    const int64_t gating = gguf.get_int(arch + ".expert_gating_func").value_or(moe.selection_bias && !ernie ? 2 : 1);
    if (gating != 1 && gating != 2) fail(arch + ".expert_gating_func " + std::to_string(gating) + " is not supported (1 softmax, 2 sigmoid)");
    moe.sigmoid_scores = gating == 2;
    moe.groups = gguf.get_int(arch + ".expert_group_count").value_or(1);
    moe.groups_chosen = gguf.get_int(arch + ".expert_group_used_count").value_or(moe.groups);
    // DeepSeek-V2's groups by their best expert (transformers' reading); Mistral Small 4's by their two best.
    if (!moe.sigmoid_scores && arch != "mistral4") moe.group_top = 1;
    moe.weights_scale = gguf.get_float(arch + ".expert_weights_scale").value_or(1.0);
    moe.latent_size = gguf.get_int(arch + ".moe_latent_size").value_or(0);  // Nemotron 3 Super's
    moe.shared_intermediate_size =
        gguf.get_int(arch + ".expert_shared_feed_forward_length")
            .value_or(gguf.get_int(arch + ".expert_shared_count").value_or(0) * moe.intermediate_size);
    // ERNIE 4.5's files give the step between MoE layers too (interleave_moe_layer_step).
    const int64_t step = gguf.get_int(arch + ".interleave_moe_layer_step").value_or(1);
    if (step <= 0) fail(arch + ".interleave_moe_layer_step must be positive");
    if (first_sparse > 0 || step > 1) {
      moe.sparse_layers.assign(static_cast<std::size_t>(spec.num_layers), false);
      for (int64_t i = first_sparse; i < spec.num_layers; ++i) moe.sparse_layers[static_cast<std::size_t>(i)] = (i + 1) % step == 0;
    }
    moe.shared_gate = gguf.find_tensor(expert_layer + "ffn_gate_inp_shexp.weight") != nullptr;
    spec.moe = moe;
  }
  if (family->arch == Architecture::Llama4) read_llama4(gguf, arch, spec);  // after the experts
  if (auto window = gguf.get_int(arch + ".attention.sliding_window");
      window && *window > 0 && spec.layer_window.empty() && family->arch != Architecture::Llama4) {
    // Layers by the family's pattern (OLMo 3 as olmo2, Cohere 2, EXAONE 4's 32B), or all of them.
    if (family->window_period > 0) {
      read_window_pattern(gguf, arch, *window, family->window_period, spec);
    } else {
      spec.layer_window.assign(static_cast<std::size_t>(spec.num_layers), *window);
    }
  }
  if (family->rope_on_sliding_only && !spec.layer_window.empty()) spec.rope_on_sliding_layers_only();
  // Granite's sliding-window releases: the layers that turn, as llama.cpp reads attention.rope_pattern
  // (true: RoPE); one base for all (llama.cpp's converter writes no per-layer base).
  if (family->arch == Architecture::GraniteSwa) {
    if (auto rope = per_layer_flags(gguf, arch + ".attention.rope_pattern", spec.num_layers)) spec.layer_rope = std::move(*rope);
  }

  if (auto bos = gguf.get_int("tokenizer.ggml.bos_token_id")) spec.bos_token_id = static_cast<int32_t>(*bos);
  if (auto eos = gguf.get_int("tokenizer.ggml.eos_token_id")) spec.eos_token_ids.push_back(static_cast<int32_t>(*eos));
  if (auto eot = gguf.get_int("tokenizer.ggml.eot_token_id")) spec.eos_token_ids.push_back(static_cast<int32_t>(*eot));
  // End of message (GLM-4.5's <|observation|>, after a tool call): llama.cpp ends generation there too.
  if (auto eom = gguf.get_int("tokenizer.ggml.eom_token_id")) spec.eos_token_ids.push_back(static_cast<int32_t>(*eom));
  // GGUF files record a single eos id (SmolLM2's is <|endoftext|>), yet chat models finish turns
  // with other tokens: llama.cpp ends generation on every token of its end-of-generation texts.
  // As the tokenizer (gguf_tokenizer.cpp), troupe takes the texts alone for SentencePiece
  // vocabularies and only control tokens' for byte-level ones.
  if (tokens) {
    const bool sentencepiece = gguf.get_string("tokenizer.ggml.model").value_or("") != "gpt2";
    const auto types = gguf.get_int_array("tokenizer.ggml.token_type");
    std::optional<int32_t> end_id;
    bool has_return = false, has_call = false;
    for (std::size_t id = 0; id < tokens->size(); ++id) {
      const bool control = types && id < types->size() && (*types)[id] == kTokenTypeControl;
      const std::string& text = (*tokens)[id];
      if ((sentencepiece || control) && gguf_end_of_generation_text(text)) {
        spec.eos_token_ids.push_back(static_cast<int32_t>(id));
        if (text == "<|end|>") end_id = static_cast<int32_t>(id);
        has_return = has_return || text == "<|return|>";
        has_call = has_call || text == "<|call|>";
      }
    }
    // gpt-oss's harmony format ends a message with <|end|> and goes on with the next (its analysis,
    // then its final answer); a reply ends with <|return|> or <|call|>. llama.cpp drops <|end|> from
    // its end-of-generation tokens when both of those are there, as here.
    if (end_id && has_return && has_call) std::erase(spec.eos_token_ids, *end_id);
  }
  std::sort(spec.eos_token_ids.begin(), spec.eos_token_ids.end());
  spec.eos_token_ids.erase(std::unique(spec.eos_token_ids.begin(), spec.eos_token_ids.end()), spec.eos_token_ids.end());
  spec.name = gguf.get_string("general.name").value_or("");
  spec.validate(source);
  return spec;
}

}  // namespace troupe
