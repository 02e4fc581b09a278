#include "model/gguf_gemma_configs.hpp"

#include <algorithm>
#include <cmath>

#include "common/error.hpp"
#include "model/gemma4_config.hpp"
#include "model/gguf_window_pattern.hpp"
#include "model/model_family.hpp"

namespace troupe::gguf_readers {

namespace {

// Gemma 3's and Gemma 3n's sliding layers (attention.sliding_window, required; which layers by
// read_window_pattern) and their RoPE base, rope.freq_base_swa (10,000 when absent).
void read_sliding_layers_with_local_rope(const GgufFile& gguf, const std::string& arch, ModelSpec& spec) {
  const int64_t window = gguf.get_int(arch + ".attention.sliding_window").value_or(0);
  if (window <= 0) throw ModelError(gguf.path().string() + ": " + arch + " model without " + arch + ".attention.sliding_window");
  read_window_pattern(gguf, arch, window, family_of(spec.arch).window_period, spec);
  spec.local_rope = RopeSpec{};
  spec.local_rope->theta = gguf.get_float(arch + ".rope.freq_base_swa").value_or(10'000.0);
}

}  // namespace

void set_gemma_scales(ModelSpec& spec, bool is_27b) {
  spec.embedding_multiplier = std::sqrt(static_cast<double>(spec.hidden_size));
  spec.attention_scale = 1.0 / std::sqrt(static_cast<double>(is_27b ? spec.hidden_size / spec.num_heads : spec.head_dim));
}

// Gemma 2 as llama.cpp reads it: even layers slide (from layer 0) over attention.sliding_window
// positions, one RoPE for all, the query scaled by 1/sqrt(head_dim) (27B: hidden/heads, 144),
// embeddings by sqrt(hidden), soft-capped attention scores and logits. The norm weights carry
// their + 1 already.
void read_gemma2(const GgufFile& gguf, const std::string& arch, ModelSpec& spec) {
  const std::string source = gguf.path().string();
  const int64_t window = gguf.get_int(arch + ".attention.sliding_window").value_or(4096);
  if (window <= 0) throw ModelError(source + ": " + arch + ".attention.sliding_window must be positive");
  spec.layer_window.assign(static_cast<std::size_t>(spec.num_layers), 0);
  for (int64_t i = 0; i < spec.num_layers; i += 2) spec.layer_window[static_cast<std::size_t>(i)] = window;
  set_gemma_scales(spec, /*is_27b=*/spec.num_layers == 46);
  spec.attention_softcap = gguf.get_float(arch + ".attn_logit_softcapping").value_or(0.0);
  spec.final_logit_softcap = gguf.get_float(arch + ".final_logit_softcapping").value_or(0.0);
}

// Gemma 3's attention pattern, as llama.cpp reads it: sliding-window layers with the global ones
// given by attention.sliding_window_pattern (every sixth when absent); the sliding layers' RoPE base
// rope.freq_base_swa (10,000 when absent) without scaling. The query is scaled by 1/sqrt(head_dim)
// (query_pre_attn_scalar = head_dim for the released sizes but 27B, whose 168 = hidden/heads is
// what llama.cpp uses there) and the embeddings by sqrt(hidden). The norm weights carry their + 1
// already.
void read_gemma3(const GgufFile& gguf, const std::string& arch, ModelSpec& spec) {
  const std::string source = gguf.path().string();
  read_sliding_layers_with_local_rope(gguf, arch, spec);
  set_gemma_scales(spec, /*is_27b=*/spec.num_layers == 62);
  if (gguf.get_float(arch + ".final_logit_softcapping").value_or(0.0) != 0.0) {
    throw ModelError(source + ": " + arch + ".final_logit_softcapping is not supported");
  }
}

// Gemma 4 as llama.cpp's converter writes it: sliding layers by attention.sliding_window_pattern,
// their heads key_length_swa wide and the full layers' key_length, the key/value heads per layer
// (head_count_kv, an array when they differ); the full layers' proportional RoPE as per-frequency
// divisors (rope_freqs.weight: 1, or 1e30 for the pairs that do not turn), the sliding layers' RoPE
// base rope.freq_base_swa; no query scale (q and k are RMS-normed), embeddings × sqrt(hidden);
// values from the keys' projection where a full layer has no attn_v; the experts beside the dense
// MLPs when expert_count is given.
void read_gemma4(const GgufFile& gguf, const std::string& arch, ModelSpec& spec) {
  const std::string source = gguf.path().string();
  const int64_t window = gguf.get_int(arch + ".attention.sliding_window").value_or(0);
  if (window <= 0) throw ModelError(source + ": gemma4 model without " + arch + ".attention.sliding_window");
  read_window_pattern(gguf, arch, window, family_of(spec.arch).window_period, spec);
  const int64_t full_dim = spec.head_dim;  // key_length
  spec.head_dim = gguf.get_int(arch + ".attention.key_length_swa").value_or(full_dim);
  spec.rotary_dim = 0;  // each layer turns its own heads (rope.dimension_count is the full layers')
  std::vector<int64_t> kv_heads;
  const std::string kv_key = arch + ".attention.head_count_kv";
  if (const GgufValue* v = gguf.find(kv_key); v != nullptr && v->type == GgufValueType::ARRAY) {
    kv_heads = *gguf.get_int_array(kv_key);
    if (static_cast<int64_t>(kv_heads.size()) != spec.num_layers) {
      throw ModelError(source + ": " + kv_key + " has " + std::to_string(kv_heads.size()) + " entries for " +
                       std::to_string(spec.num_layers) + " layers");
    }
  } else {
    kv_heads.assign(static_cast<std::size_t>(spec.num_layers), gguf.get_int(kv_key).value_or(spec.num_heads));
  }
  spec.layer_head_dim.resize(static_cast<std::size_t>(spec.num_layers));
  spec.layer_kv_heads = kv_heads;
  spec.num_kv_heads = kv_heads.front();
  std::optional<int64_t> full_layer;
  for (int64_t i = 0; i < spec.num_layers; ++i) {
    const bool sliding = spec.window(i) > 0;
    spec.layer_head_dim[static_cast<std::size_t>(i)] = sliding ? spec.head_dim : full_dim;
    if (sliding) spec.num_kv_heads = kv_heads[static_cast<std::size_t>(i)];
    if (!sliding && !full_layer) full_layer = i;
  }
  spec.rope.type = "default";  // its divisors (rope_freqs.weight) make it proportional
  spec.local_rope = RopeSpec{};
  spec.local_rope->theta = gguf.get_float(arch + ".rope.freq_base_swa").value_or(10'000.0);
  spec.embedding_multiplier = std::sqrt(static_cast<double>(spec.hidden_size));
  spec.attention_scale = 1.0;
  spec.final_logit_softcap = gguf.get_float(arch + ".final_logit_softcapping").value_or(0.0);
  spec.value_norm = true;
  spec.layer_scalar = gguf.find_tensor("blk.0.layer_output_scale.weight") != nullptr;
  spec.values_from_keys = full_layer && gguf.find_tensor("blk." + std::to_string(*full_layer) + ".attn_v.weight") == nullptr;
  // E2B/E4B: per-layer embeddings, the last shared_kv_layers layers attending over earlier layers' keys
  // and values, their MLPs' widths listed per layer (double-wide).
  spec.per_layer_input_size = gguf.get_int(arch + ".embedding_length_per_layer_input").value_or(0);
  if (const int64_t shared = gguf.get_int(arch + ".attention.shared_kv_layers").value_or(0); shared > 0) {
    if (shared >= spec.num_layers) throw ModelError(source + ": " + arch + ".attention.shared_kv_layers must be below block_count");
    config_json::share_kv_layers(spec, shared, /*double_wide=*/false);
  }
  if (const GgufValue* ffn = gguf.find(arch + ".feed_forward_length"); ffn != nullptr && ffn->type == GgufValueType::ARRAY) {
    spec.layer_intermediate = *gguf.get_int_array(arch + ".feed_forward_length");
  }
  if (const int64_t experts = gguf.get_int(arch + ".expert_count").value_or(0); experts > 0) {
    MoeSpec moe;
    moe.num_experts = experts;
    moe.experts_per_token = gguf.get_int(arch + ".expert_used_count").value_or(0);
    moe.intermediate_size = gguf.get_int(arch + ".expert_feed_forward_length").value_or(0);
    moe.dense_beside = true;
    spec.moe = moe;
  }
}

// Gemma 3n as llama.cpp's converter writes it: sliding layers by attention.sliding_window_pattern
// (every fifth global when absent, as llama.cpp), their RoPE base rope.freq_base_swa; norms that
// scale by w, no query scale, value norms, embeddings × sqrt(hidden); AltUp's streams
// (altup.num_inputs), LAuReL's rank (blk.0.laurel_l's rows), the per-layer embeddings (its table
// padded to the vocabulary with zero rows, which the ids past the released table read, as llama.cpp
// reads them), the layers sharing keys and values, the MLPs' widths per layer and their gates'
// Gaussian top-k (activation_sparsity_scale: the multiplier per layer, −∞ for a whole gate).
void read_gemma3n(const GgufFile& gguf, const std::string& arch, ModelSpec& spec) {
  const std::string source = gguf.path().string();
  read_sliding_layers_with_local_rope(gguf, arch, spec);
  spec.embedding_multiplier = std::sqrt(static_cast<double>(spec.hidden_size));
  spec.attention_scale = 1.0;
  spec.value_norm = true;
  spec.final_logit_softcap = gguf.get_float(arch + ".final_logit_softcapping").value_or(0.0);
  if (const GgufValue* ffn = gguf.find(arch + ".feed_forward_length"); ffn != nullptr && ffn->type == GgufValueType::ARRAY) {
    std::vector<int64_t> widths = *gguf.get_int_array(arch + ".feed_forward_length");
    if (std::any_of(widths.begin(), widths.end(), [&](int64_t w) { return w != widths.front(); })) {
      spec.layer_intermediate = std::move(widths);
    }
  }
  spec.per_layer_input_size = gguf.get_int(arch + ".embedding_length_per_layer_input").value_or(0);
  if (spec.per_layer_input_size <= 0) throw ModelError(source + ": gemma3n model without " + arch + ".embedding_length_per_layer_input");
  spec.altup_streams = gguf.get_int(arch + ".altup.num_inputs").value_or(4);
  if (gguf.get_int(arch + ".altup.active_idx").value_or(0) != 0) {
    throw ModelError(source + ": " + arch + ".altup.active_idx other than 0 is not supported");
  }
  const TensorView* laurel = gguf.find_tensor("blk.0.laurel_l.weight");
  if (laurel == nullptr || laurel->shape.size() != 2) throw ModelError(source + ": gemma3n model without blk.0.laurel_l.weight");
  spec.laurel_rank = laurel->shape.front();
  if (const int64_t shared = gguf.get_int(arch + ".attention.shared_kv_layers").value_or(0); shared > 0) {
    if (shared >= spec.num_layers) throw ModelError(source + ": " + arch + ".attention.shared_kv_layers must be below block_count");
    config_json::share_kv_layers(spec, shared, /*double_wide=*/false);
  }
  if (const auto scales = gguf.get_float_array(arch + ".activation_sparsity_scale")) {
    if (static_cast<int64_t>(scales->size()) != spec.num_layers) {
      throw ModelError(source + ": " + arch + ".activation_sparsity_scale has " + std::to_string(scales->size()) +
                       " entries for " + std::to_string(spec.num_layers) + " layers");
    }
    for (const double k : *scales) spec.layer_gate_cutoff.push_back(std::isfinite(k) ? k : std::nan(""));
  }
}

}  // namespace troupe::gguf_readers
