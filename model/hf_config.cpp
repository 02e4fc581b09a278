#include <boost/json.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include "common/error.hpp"
#include "model/config_readers.hpp"
#include "model/config_view.hpp"
#include "model/gemma3n_config.hpp"
#include "model/gemma4_config.hpp"
#include "model/hybrid_configs.hpp"
#include "model/biased_norm_configs.hpp"
#include "model/llama4_config.hpp"
#include "model/model_family.hpp"

namespace troupe {

namespace json = boost::json;
using namespace config_json;

namespace {

std::vector<int32_t> token_ids(const json::value* v) {
  std::vector<int32_t> ids;
  if (!v) return ids;
  if (v->is_array()) {
    for (const auto& x : v->as_array()) ids.push_back(x.to_number<int32_t>());
  } else {
    ids.push_back(v->to_number<int32_t>());
  }
  return ids;
}

// One RoPE from its parameters: `params` holds rope_type (or type) and the scaling fields, with
// `theta` as the base unless params carries its own rope_theta. `max_position` is the config's
// max_position_embeddings, the original context of dynamic scaling without an explicit one.
RopeSpec read_rope_parameters(const json::object* params, double theta, int64_t max_position, const std::string& where) {
  RopeSpec rope;
  rope.theta = theta;
  if (params == nullptr) return rope;
  ConfigView s(*params, where);
  if (auto t = s.number("rope_theta")) rope.theta = *t;
  rope.type = s.string("rope_type").value_or(s.string("type").value_or("default"));
  if (rope.type == "su") rope.type = "longrope";  // Phi-3's first configs' name for it
  // Qwen2-VL's multimodal RoPE (mrope_section: its sections of the head) gives a text token the same
  // position in each section: plain RoPE.
  if (rope.type == "mrope" && s.find("mrope_section") != nullptr) rope.type = "default";
  if (rope.type == "default") return rope;
  if (rope.type != "linear" && rope.type != "llama3" && rope.type != "yarn" && rope.type != "dynamic" &&
      rope.type != "longrope" && rope.type != "proportional") {
    s.fail("rope scaling type \"" + rope.type +
           "\" is not supported (supported: default, linear, llama3, yarn, dynamic, longrope, proportional)");
  }
  rope.factor = s.number("factor").value_or(1.0);
  if (rope.type == "proportional") {
    rope.proportion = s.number("partial_rotary_factor").value_or(1.0);
    return rope;
  }
  rope.original_max_position = s.optional_integer("original_max_position_embeddings").value_or(0);
  if (rope.type == "llama3") {
    rope.low_freq_factor = s.number("low_freq_factor").value_or(1.0);
    rope.high_freq_factor = s.number("high_freq_factor").value_or(4.0);
    rope.original_max_position = s.integer("original_max_position_embeddings");
  } else if (rope.type == "yarn") {
    if (rope.original_max_position == 0) rope.original_max_position = max_position;
    if (!s.number("factor")) rope.factor = static_cast<double>(max_position) / static_cast<double>(rope.original_max_position);
    rope.beta_fast = s.number("beta_fast").value_or(32.0);
    rope.beta_slow = s.number("beta_slow").value_or(1.0);
    rope.truncate = s.boolean("truncate").value_or(true);
    rope.attention_factor = s.number("attention_factor");
    rope.mscale = s.number("mscale").value_or(0.0);
    rope.mscale_all_dim = s.number("mscale_all_dim").value_or(0.0);
  } else if (rope.type == "dynamic") {
    // Hugging Face's dynamic NTK scales from max_position_embeddings, the context it was trained on.
    rope.original_max_position = max_position;
  } else if (rope.type == "longrope") {
    const auto factors = [&](std::string_view key) {
      std::vector<double> out;
      const json::value* v = s.find(key);
      if (v == nullptr || !v->is_array()) s.fail("longrope without a \"" + std::string(key) + "\" list");
      for (const auto& x : v->as_array()) {
        if (!x.is_number()) s.fail("\"" + std::string(key) + "\" holds a non-number");
        out.push_back(x.to_number<double>());
      }
      return out;
    };
    rope.short_factors = factors("short_factor");
    rope.long_factors = factors("long_factor");
    rope.attention_factor = s.number("attention_factor");
    // The original context and the scale come from the config's top level (read_ropes) unless
    // given here.
  }
  return rope;
}

const json::object* object_field(const ConfigView& cfg, std::string_view key) {
  const json::value* v = cfg.find(key);
  return v != nullptr && v->is_object() ? &v->as_object() : nullptr;
}

// transformers 4 writes rope_theta + rope_scaling at the top level; transformers 5 writes
// rope_parameters holding rope_type, rope_theta and the scaling fields — for models with two kinds
// of layers (Gemma 3), one such object per layer type.
void read_ropes(const ConfigView& cfg, ModelSpec& spec, double default_theta, std::optional<double> default_local_theta) {
  const double theta = cfg.number("rope_theta").value_or(default_theta);
  const int64_t max_position = spec.max_position;
  const json::object* params = object_field(cfg, "rope_parameters");
  const json::object* full = params;
  const json::object* sliding = nullptr;
  if (params != nullptr && (params->contains("full_attention") || params->contains("sliding_attention"))) {
    ConfigView p(*params, cfg.source() + " rope_parameters");
    full = object_field(p, "full_attention");
    sliding = object_field(p, "sliding_attention");
  }
  if (full == nullptr) full = object_field(cfg, "rope_scaling");
  spec.rope = read_rope_parameters(full, theta, max_position, cfg.source() + " rope parameters");
  if (spec.rope.type == "longrope") {
    // Phi-3 keeps original_max_position_embeddings at the top level; the scale is the ratio of
    // the two contexts, as transformers computes it.
    if (auto original = cfg.optional_integer("original_max_position_embeddings")) {
      spec.rope.original_max_position = *original;
      spec.rope.factor = static_cast<double>(max_position) / static_cast<double>(*original);
    } else if (spec.rope.original_max_position <= 0) {
      cfg.fail("longrope without original_max_position_embeddings");
    }
    spec.limit_context(max_position);  // picks the factor set for the context served
  }
  if (default_local_theta) {
    const double local_theta = cfg.number("rope_local_base_freq").value_or(*default_local_theta);
    spec.local_rope = read_rope_parameters(sliding, local_theta, max_position, cfg.source() + " sliding-window rope parameters");
  }
}

// Hunyuan's NTK-aware RoPE: its configs label it "dynamic" beside a fixed `alpha`, which stretches
// the base to θ · alpha^(d / (d − 2)) for every position (transformers' ntk_alpha; llama.cpp's
// converter writes that base).
void read_ntk_alpha(const ConfigView& cfg, ModelSpec& spec) {
  const json::object* params = object_field(cfg, "rope_parameters");
  if (params == nullptr) params = object_field(cfg, "rope_scaling");
  if (params == nullptr || spec.rope.type != "dynamic") return;
  const auto alpha = ConfigView(*params, cfg.source() + " rope parameters").number("alpha");
  if (!alpha) return;
  const auto d = static_cast<double>(spec.head_dim);
  spec.rope.theta *= std::pow(*alpha, d / (d - 2.0));
  spec.rope.type = "default";
  spec.rope.factor = 1.0;
}

// Ministral 3's Llama 4 attention temperature: llama_4_scaling_beta beside YaRN's fields, whose
// original_max_position_embeddings is its period (transformers' get_llama_4_attn_scale).
void read_attention_temperature(const ConfigView& cfg, ModelSpec& spec) {
  const json::object* params = object_field(cfg, "rope_parameters");
  if (params == nullptr) params = object_field(cfg, "rope_scaling");
  if (params == nullptr) return;
  const ConfigView p(*params, cfg.source() + " rope parameters");
  const double beta = p.number("llama_4_scaling_beta").value_or(0.0);
  if (beta == 0.0) return;
  const auto original = p.optional_integer("original_max_position_embeddings");
  if (!original) p.fail("llama_4_scaling_beta without original_max_position_embeddings");
  spec.attention_temperature = {beta, *original};
}

// The longest context the model serves: RoPE scaling that stretches the trained context extends it
// (vLLM's rule), as Qwen2.5's YaRN turns 32,768 positions into 131,072.
int64_t served_context(int64_t max_position, const RopeSpec& rope) {
  const auto stretched = [&](int64_t original) {
    return static_cast<int64_t>(static_cast<double>(original) * rope.factor);
  };
  if (rope.type == "yarn") return std::max(max_position, stretched(rope.original_max_position));
  if (rope.type == "dynamic") return std::max(max_position, stretched(rope.original_max_position));
  return max_position;
}

Activation activation(const ConfigView& cfg, Activation fallback) {
  const auto name = cfg.string("hidden_activation") ? cfg.string("hidden_activation") : cfg.string("hidden_act");
  if (!name) return fallback;
  if (*name == "silu" || *name == "swish") return Activation::Silu;
  if (*name == "relu2") return Activation::ReluSquared;  // Arcee's, on an MLP without a gate
  if (*name == "xielu") return Activation::Xielu;        // Apertus's, its parameters per layer
  if (*name == "gelu") return Activation::Gelu;          // erf's (GPT-NeoX's)
  if (*name == "relu") return Activation::Relu;          // OPT's
  if (*name == "gelu_pytorch_tanh" || *name == "gelu_tanh" || *name == "gelu_new" || *name == "gelu_fast") {
    return Activation::GeluTanh;
  }
  cfg.fail("hidden activation \"" + *name + "\" is not supported (supported: silu, gelu, gelu_pytorch_tanh, relu; relu2 and xielu for MLPs without a gate)");
}

// Which layers slide: layer_types when the config lists them (transformers 5 writes it for every
// family that has the notion), else each family's own fields.
void read_windows(const ConfigView& cfg, ModelSpec& spec, const ModelFamily& family) {
  std::optional<int64_t> window = cfg.optional_integer("sliding_window");
  // Gemma2Config's, MistralConfig's and Cohere2Config's default when the key is absent (null: no window).
  if (!window && !cfg.present("sliding_window") &&
      (family.arch == Architecture::Gemma2 || family.arch == Architecture::Mistral ||
       family.arch == Architecture::Cohere2)) {
    window = 4096;
  }
  if (!window && !cfg.present("sliding_window") && family.arch == Architecture::GraniteSwa) window = 128;  // GraniteSWAConfig's
  std::vector<bool> sliding(static_cast<std::size_t>(spec.num_layers), false);
  if (const json::value* types = cfg.find("layer_types"); types != nullptr && types->is_array()) {
    const auto& list = types->as_array();
    if (static_cast<int64_t>(list.size()) != spec.num_layers) {
      cfg.fail("layer_types lists " + std::to_string(list.size()) + " layers, num_hidden_layers is " +
               std::to_string(spec.num_layers));
    }
    for (std::size_t i = 0; i < list.size(); ++i) {
      const std::string_view type = current_layer_type(list[i].is_string() ? std::string_view(list[i].as_string()) : std::string_view());
      if (type == "sliding_attention") {
        sliding[i] = true;
      } else if (type == "chunked_attention" && family.arch == Architecture::Llama4) {  // read_llama4
      } else if (type != "full_attention" && spec.mixer(static_cast<int64_t>(i)) == Mixer::Attention) {  // "conv", "linear_attention": read_lfm2, ...
        cfg.fail("layer type \"" + std::string(type) + "\" is not supported (supported: full_attention, sliding_attention)");
      }
    }
  } else if (family.arch == Architecture::Gemma2) {
    for (int64_t i = 0; i < spec.num_layers; ++i) sliding[static_cast<std::size_t>(i)] = i % 2 == 0;  // from layer 0
  } else if (family.arch == Architecture::GraniteSwa) {
    for (int64_t i = 0; i < spec.num_layers; ++i) sliding[static_cast<std::size_t>(i)] = i % 4 != 0;  // layer 0 full
  } else if (const json::value* letters_value = cfg.find("sliding_window_pattern");
             window && family.arch == Architecture::Exaone4 && letters_value != nullptr && letters_value->is_string()) {
    // EXAONE 4's pattern as letters, repeated: "LLLG" (L: local, sliding; G: global).
    const std::string letters(letters_value->as_string());
    if (letters.empty() || letters.find_first_not_of("LG") != std::string::npos) {
      cfg.fail("sliding_window_pattern \"" + letters + "\" is not a string of L and G");
    }
    for (int64_t i = 0; i < spec.num_layers; ++i) {
      sliding[static_cast<std::size_t>(i)] = letters[static_cast<std::size_t>(i) % letters.size()] == 'L';
    }
  } else if (window && (family.arch == Architecture::Gemma3 || family.arch == Architecture::Gemma4 || family.arch == Architecture::Cohere2 ||
                        family.arch == Architecture::Exaone4 || family.arch == Architecture::GptOss)) {
    // Every pattern-th layer global (the family's period when absent: Gemma 3 6, Cohere 2 and EXAONE 4
    // 4, gpt-oss 2).
    const int64_t pattern = cfg.optional_integer("sliding_window_pattern").value_or(family.window_period);
    if (pattern <= 0) cfg.fail("sliding_window_pattern must be positive");
    for (int64_t i = 0; i < spec.num_layers; ++i) sliding[static_cast<std::size_t>(i)] = (i + 1) % pattern != 0;
  } else if (family.arch == Architecture::Qwen2 || family.arch == Architecture::IQuestCoder) {
    // Qwen2's switch, which IQuest-Coder took over: layers from max_window_layers on slide when
    // use_sliding_window is set.
    if (cfg.boolean("use_sliding_window").value_or(false)) {
      const int64_t first = cfg.optional_integer("max_window_layers").value_or(spec.num_layers);
      for (int64_t i = first; i < spec.num_layers; ++i) sliding[static_cast<std::size_t>(i)] = true;
    }
  } else if (window && (family.arch == Architecture::Mistral || family.arch == Architecture::Ministral3 ||
                        family.arch == Architecture::Mixtral || family.arch == Architecture::Phi3 ||
                        family.arch == Architecture::Starcoder2)) {
    sliding.assign(sliding.size(), true);  // one window over every layer
  }
  if (std::none_of(sliding.begin(), sliding.end(), [](bool b) { return b; })) return;
  if (!window || *window <= 0) cfg.fail("sliding-window layers without a positive sliding_window");
  spec.layer_window.assign(static_cast<std::size_t>(spec.num_layers), 0);
  for (std::size_t i = 0; i < sliding.size(); ++i) spec.layer_window[i] = sliding[i] ? *window : 0;
}

// Granite's sliding-window releases: layer_rope_theta, a RoPE base per layer (0: none, as NoPE),
// read as the full layers' base (`rope`), the sliding layers' (`local_rope`, the same scaling) and
// which layers turn (layer_rope). Bases that differ within one kind of layer are refused.
void read_layer_rope_theta(const ConfigView& cfg, ModelSpec& spec) {
  const json::value* list = cfg.find("layer_rope_theta");
  if (list == nullptr || !list->is_array()) return;  // rope_parameters' base everywhere
  const json::array& thetas = list->as_array();
  if (static_cast<int64_t>(thetas.size()) != spec.num_layers) {
    cfg.fail("layer_rope_theta lists " + std::to_string(thetas.size()) + " layers, num_hidden_layers is " +
             std::to_string(spec.num_layers));
  }
  std::optional<double> full, sliding;
  spec.layer_rope.assign(thetas.size(), true);
  for (std::size_t i = 0; i < thetas.size(); ++i) {
    if (!thetas[i].is_number()) cfg.fail("layer_rope_theta holds a non-number");
    const double theta = thetas[i].to_number<double>();
    spec.layer_rope[i] = theta != 0.0;
    if (theta == 0.0) continue;
    std::optional<double>& kind = spec.window(static_cast<int64_t>(i)) > 0 ? sliding : full;
    if (kind && *kind != theta) {
      cfg.fail("layer_rope_theta gives layers of one kind (sliding or full) different RoPE bases, which is not supported");
    }
    kind = theta;
  }
  if (full) spec.rope.theta = *full;
  if (sliding && *sliding != spec.rope.theta) {
    spec.local_rope = spec.rope;
    spec.local_rope->theta = *sliding;
  }
  if (std::all_of(spec.layer_rope.begin(), spec.layer_rope.end(), [](bool b) { return b; })) spec.layer_rope.clear();
}

// SmolLM3's and Llama 4's layers without RoPE: no_rope_layers (1: the layer rotates, 0: it does not), else one
// in every no_rope_layer_interval layers (4), as SmolLM3Config fills the list in.
void read_no_rope_layers(const ConfigView& cfg, ModelSpec& spec) {
  spec.layer_rope.assign(static_cast<std::size_t>(spec.num_layers), true);
  // An empty list is none given (Llama4TextConfig's rule; Llama 4's released configs may hold []).
  if (const json::value* list = cfg.find("no_rope_layers"); list != nullptr && list->is_array() && !list->as_array().empty()) {
    if (static_cast<int64_t>(list->as_array().size()) != spec.num_layers) {
      cfg.fail("no_rope_layers lists " + std::to_string(list->as_array().size()) + " layers, num_hidden_layers is " +
               std::to_string(spec.num_layers));
    }
    for (std::size_t i = 0; i < spec.layer_rope.size(); ++i) {
      const json::value& flag = list->as_array()[i];
      if (!flag.is_number()) cfg.fail("no_rope_layers holds a non-number");
      spec.layer_rope[i] = flag.to_number<int64_t>() != 0;
    }
    return;
  }
  const int64_t interval = cfg.optional_integer("no_rope_layer_interval").value_or(4);
  if (interval <= 0) cfg.fail("no_rope_layer_interval must be positive");
  for (int64_t i = 0; i < spec.num_layers; ++i) spec.layer_rope[static_cast<std::size_t>(i)] = (i + 1) % interval != 0;
}

// The layers before first_k_dense_replace dense, the rest experts (GLM-4.7-Flash lists them as
// mlp_layer_types instead).
void read_dense_lead(const ConfigView& cfg, int64_t default_dense, ModelSpec& spec, MoeSpec& moe) {
  moe.sparse_layers.assign(static_cast<std::size_t>(spec.num_layers), false);
  if (const json::value* types = cfg.find("mlp_layer_types"); types != nullptr && types->is_array()) {
    const json::array& list = types->as_array();
    if (static_cast<int64_t>(list.size()) != spec.num_layers) cfg.fail("mlp_layer_types does not list every layer");
    for (std::size_t i = 0; i < list.size(); ++i) {
      if (!list[i].is_string() || (list[i].as_string() != "sparse" && list[i].as_string() != "dense")) {
        cfg.fail("mlp_layer_types holds something other than \"dense\" and \"sparse\"");
      }
      moe.sparse_layers[i] = list[i].as_string() == "sparse";
    }
    return;
  }
  const int64_t dense = cfg.optional_integer("first_k_dense_replace").value_or(default_dense);
  if (dense < 0) cfg.fail("first_k_dense_replace must not be negative");
  for (int64_t i = dense; i < spec.num_layers; ++i) moe.sparse_layers[static_cast<std::size_t>(i)] = true;
}

// DeepSeek's routing, with each config class's defaults: V2 (and V2-Lite) by softmax scores, from
// the best groups by their best expert (topk_method group_limited_greedy) or from all (greedy);
// V3, Kimi K2 and GLM-4.7-Flash as DeepSeek-V3 (noaux_tc: sigmoid scores, a selection bias, groups
// by their two best). Shared experts beside them, n_shared_experts times an expert's width.
void read_deepseek_routing(const ConfigView& cfg, ModelSpec& spec, MoeSpec& moe) {
  const std::string type = cfg.string("model_type").value_or("");
  const bool v2 = type == "deepseek_v2", glm = type == "glm4_moe_lite";
  if (type == "mistral4") {
    // Mistral4TopkRouter: softmax scores, the groups by their two best (DeepSeek-V3's choice without
    // a bias), renormalized unless norm_topk_prob is false, times routed_scaling_factor (1).
    moe.sigmoid_scores = false;
    moe.groups = cfg.optional_integer("n_group").value_or(1);
    moe.groups_chosen = cfg.optional_integer("topk_group").value_or(1);
    moe.group_top = 2;
    moe.normalize_top_k = cfg.boolean("norm_topk_prob").value_or(true);
    moe.weights_scale = cfg.number("routed_scaling_factor").value_or(1.0);
    moe.shared_intermediate_size = cfg.optional_integer("n_shared_experts").value_or(1) * moe.intermediate_size;
    read_dense_lead(cfg, 0, spec, moe);
    return;
  }
  const std::string method = cfg.string("topk_method").value_or(v2 ? "greedy" : "noaux_tc");
  if (cfg.optional_integer("moe_layer_freq").value_or(1) != 1) cfg.fail("moe_layer_freq other than 1 is not supported");
  if (method == "greedy" || method == "group_limited_greedy") {
    if (cfg.string("scoring_func").value_or("softmax") != "softmax") cfg.fail(method + " routing takes softmax scores");
    moe.sigmoid_scores = false;
    moe.groups = method == "greedy" ? 1 : cfg.integer("n_group");
    moe.groups_chosen = method == "greedy" ? 1 : cfg.integer("topk_group");
    moe.group_top = 1;
  } else if (method == "noaux_tc") {
    if (cfg.string("scoring_func").value_or("sigmoid") != "sigmoid") cfg.fail("noaux_tc routing takes sigmoid scores");
    moe.sigmoid_scores = true;
    moe.selection_bias = true;
    moe.groups = cfg.optional_integer("n_group").value_or(glm ? 1 : 8);
    moe.groups_chosen = cfg.optional_integer("topk_group").value_or(glm ? 1 : 4);
  } else {
    cfg.fail("topk_method \"" + method + "\" is not supported (supported: greedy, group_limited_greedy, noaux_tc)");
  }
  moe.normalize_top_k = cfg.boolean("norm_topk_prob").value_or(!v2);
  moe.weights_scale = cfg.number("routed_scaling_factor").value_or(v2 ? 1.0 : glm ? 1.8 : 2.5);
  moe.shared_intermediate_size = cfg.optional_integer("n_shared_experts").value_or(v2 ? 2 : 1) * moe.intermediate_size;
  read_dense_lead(cfg, v2 ? 0 : glm ? 1 : 3, spec, moe);
}

// Latent attention (DeepSeek-V2/V3, GLM-4.7-Flash; MlaSpec): its sizes, the cache's geometry in
// ModelSpec's terms (one KV head of kv_lora_rank + qk_rope_head_dim), and the softmax scale,
// 1/sqrt(qk_nope_head_dim + qk_rope_head_dim) times, under YaRN, the square of its factor for
// mscale_all_dim (transformers' yarn_apply_mscale, DeepSeek's own code).
void read_mla(const ConfigView& cfg, ModelSpec& spec) {
  MlaSpec mla;
  mla.q_lora_rank = cfg.optional_integer("q_lora_rank").value_or(0);  // null: V2-Lite's one q projection
  mla.kv_lora_rank = cfg.integer("kv_lora_rank");
  mla.nope_dim = cfg.integer("qk_nope_head_dim");
  mla.rope_dim = cfg.integer("qk_rope_head_dim");
  mla.v_head_dim = cfg.integer("v_head_dim");
  mla.rope_pairs = cfg.boolean("rope_interleave").value_or(true);  // DeepSeek-V2's code always pairs
  std::optional<double> rotary = cfg.number("partial_rotary_factor");
  if (const json::object* params = object_field(cfg, "rope_parameters"); params != nullptr && !rotary) {
    rotary = ConfigView(*params, cfg.source()).number("partial_rotary_factor");
  }
  // Mistral4Config writes the rotated part of a q/k head as a factor, which is what MlaSpec says already.
  const double rotated = static_cast<double>(mla.rope_dim) / static_cast<double>(mla.qk_dim());
  if (rotary.value_or(1.0) != 1.0 && std::abs(*rotary - rotated) > 1e-9) {
    cfg.fail("partial_rotary_factor other than 1 (or qk_rope_head_dim's share of a head) with latent attention is not supported");
  }
  if (cfg.boolean("attention_bias").value_or(false)) cfg.fail("attention_bias = true with latent attention is not supported");
  spec.num_kv_heads = 1;
  spec.head_dim = mla.kv_lora_rank + mla.rope_dim;
  spec.rotary_dim = mla.rope_dim;
  double scale = 1.0 / std::sqrt(static_cast<double>(mla.qk_dim()));
  if (spec.rope.type != "default" && spec.rope.mscale_all_dim != 0.0 && spec.rope.factor > 1.0) {
    const double m = 0.1 * spec.rope.mscale_all_dim * std::log(spec.rope.factor) + 1.0;
    scale *= m * m;
  }
  spec.attention_scale = scale;
  spec.mla = mla;
}

// ERNIE 4.5's experts (Ernie4_5_MoeConfig's names and defaults): moe_num_experts, moe_k of them
// chosen by softmax probabilities plus the selection bias, renormalized; moe_num_shared_experts
// shared ones beside them (one MLP of that many times moe_intermediate_size, ungated); the MoE
// layers every moe_layer_interval-th from moe_layer_start_index to moe_layer_end_index (-1: the last).
void read_ernie_moe(const ConfigView& cfg, const ModelSpec& spec, MoeSpec& moe) {
  moe.num_experts = cfg.optional_integer("moe_num_experts").value_or(64);
  moe.experts_per_token = cfg.optional_integer("moe_k").value_or(6);
  moe.intermediate_size = cfg.optional_integer("moe_intermediate_size").value_or(1536);
  moe.normalize_top_k = true;
  moe.selection_bias = true;
  moe.shared_intermediate_size = cfg.optional_integer("moe_num_shared_experts").value_or(2) * moe.intermediate_size;
  const int64_t start = cfg.optional_integer("moe_layer_start_index").value_or(1);
  int64_t end = cfg.optional_integer("moe_layer_end_index").value_or(-1);
  if (end == -1) end = spec.num_layers - 1;
  const int64_t interval = cfg.optional_integer("moe_layer_interval").value_or(1);
  if (interval <= 0 || start < 0) cfg.fail("moe_layer_interval must be positive and moe_layer_start_index not negative");
  moe.sparse_layers.assign(static_cast<std::size_t>(spec.num_layers), false);
  for (int64_t i = start; i <= end && i < spec.num_layers; ++i) {
    moe.sparse_layers[static_cast<std::size_t>(i)] = (i + 1) % interval == 0;
  }
}

// A mixture of experts: MixtralConfig's num_local_experts (Qwen3MoeConfig's num_experts),
// num_experts_per_tok and, for Qwen3-MoE, moe_intermediate_size, norm_topk_prob, and the dense
// layers (mlp_only_layers, or all but every decoder_sparse_step-th).
void read_moe(const ConfigView& cfg, ModelSpec& spec, const ModelFamily& family) {
  MoeSpec moe;
  if (family.arch == Architecture::Ernie45Moe) {
    read_ernie_moe(cfg, spec, moe);
    spec.moe = std::move(moe);
    return;
  }
  // Granite's configs default to 8 experts, 2 per token.
  const bool granite = family.arch == Architecture::GraniteMoe || family.arch == Architecture::GraniteHybrid ||
                       family.arch == Architecture::GraniteSwa;
  const std::optional<int64_t> experts =
      granite ? cfg.optional_integer("num_local_experts").value_or(8) : cfg.optional_integer("num_local_experts");
  const auto routed = cfg.optional_integer("n_routed_experts");  // DeepSeek's and GLM-4.5's name
  moe.num_experts = experts ? *experts : routed ? *routed : cfg.integer("num_experts");
  moe.experts_per_token = granite ? cfg.optional_integer("num_experts_per_tok").value_or(2) : cfg.integer("num_experts_per_tok");
  moe.intermediate_size = cfg.optional_integer("moe_intermediate_size").value_or(spec.intermediate_size);
  // Mixtral renormalizes the chosen experts' probabilities always (gpt-oss's softmax over the top k
  // logits is the same); Qwen3MoeConfig's default is not to.
  // Qwen3-VL-MoE's text config names no norm_topk_prob: Qwen3VLMoeTextTopKRouter renormalizes always.
  const bool qwen3_vl = cfg.string("model_type").value_or("") == "qwen3_vl_moe_text";
  moe.normalize_top_k = family.arch == Architecture::Mixtral || family.arch == Architecture::GptOss || qwen3_vl ||
                        cfg.boolean("norm_topk_prob").value_or(family.arch == Architecture::Glm4Moe || family.arch == Architecture::SolarOpen);
  moe.biases = family.expert_biases;
  if (granite) {
    // GraniteMoeTopKRouter: a softmax over the top k logits (the renormalized probabilities); the
    // experts intermediate_size wide (the hybrid's dense MLP, shared_intermediate_size wide, runs
    // beside them as a shared expert; granitemoeshared's when shared_intermediate_size > 0).
    moe.normalize_top_k = true;
    const bool hybrid = family.arch == Architecture::GraniteHybrid;
    moe.intermediate_size = hybrid ? cfg.optional_integer("intermediate_size").value_or(11008) : spec.intermediate_size;
    moe.shared_intermediate_size = hybrid ? spec.intermediate_size : cfg.optional_integer("shared_intermediate_size").value_or(0);
  }
  if (family.arch == Architecture::Qwen35Moe || family.arch == Architecture::Qwen3Next) {
    // Qwen3_5MoeTopKRouter renormalizes always; Qwen3NextConfig's norm_topk_prob is true by default.
    moe.normalize_top_k = family.arch == Architecture::Qwen35Moe || cfg.boolean("norm_topk_prob").value_or(true);
    moe.shared_intermediate_size = cfg.integer("shared_expert_intermediate_size");
    moe.shared_gate = true;
  }
  if (family.arch == Architecture::Qwen2Moe) {  // one shared expert, gated
    moe.shared_intermediate_size = cfg.integer("shared_expert_intermediate_size");
    moe.shared_gate = true;
  }
  if (family.arch == Architecture::Qwen3Moe || family.arch == Architecture::Qwen2Moe || family.arch == Architecture::Qwen3Next) {
    const int64_t step = cfg.optional_integer("decoder_sparse_step").value_or(1);
    if (step <= 0) cfg.fail("decoder_sparse_step must be positive");
    moe.sparse_layers.assign(static_cast<std::size_t>(spec.num_layers), false);
    for (int64_t i = 0; i < spec.num_layers; ++i) moe.sparse_layers[static_cast<std::size_t>(i)] = (i + 1) % step == 0;
    if (const auto dense = cfg.layer_indices("mlp_only_layers", spec.num_layers)) {
      for (const int64_t i : *dense) moe.sparse_layers[static_cast<std::size_t>(i)] = false;
    }
  }
  if (family.arch == Architecture::DeepseekV2) read_deepseek_routing(cfg, spec, moe);
  if (family.arch == Architecture::MinimaxM2) {  // MiniMaxM2TopKRouter: always so
    if (cfg.string("scoring_func").value_or("sigmoid") != "sigmoid") cfg.fail("MiniMax-M2 routes by sigmoid scores");
    moe.sigmoid_scores = true;
    moe.selection_bias = true;
    moe.normalize_top_k = true;
  }
  if (family.arch == Architecture::Lfm2Moe) {  // Lfm2MoeTopKRouter, Lfm2MoeConfig's defaults
    moe.sigmoid_scores = true;
    moe.selection_bias = cfg.boolean("use_expert_bias").value_or(true);
    moe.normalize_top_k = cfg.boolean("norm_topk_prob").value_or(true);
    moe.weights_scale = cfg.number("routed_scaling_factor").value_or(1.0);
    const int64_t dense = cfg.optional_integer("num_dense_layers").value_or(2);
    if (dense < 0) cfg.fail("num_dense_layers must not be negative");
    moe.sparse_layers.assign(static_cast<std::size_t>(spec.num_layers), false);
    for (int64_t i = dense; i < spec.num_layers; ++i) moe.sparse_layers[static_cast<std::size_t>(i)] = true;
  }
  // Glm4MoeConfig's defaults when absent; dots.llm1 routes as DeepseekV3TopkRouter does too (Dots1Config: no
  // leading dense layers, not renormalized, by default).
  if (family.arch == Architecture::Glm4Moe || family.arch == Architecture::SolarOpen || family.arch == Architecture::Dots1) {
    moe.sigmoid_scores = true;
    moe.selection_bias = true;
    moe.groups = cfg.optional_integer("n_group").value_or(1);
    moe.groups_chosen = cfg.optional_integer("topk_group").value_or(1);
    moe.weights_scale = cfg.number("routed_scaling_factor").value_or(1.0);
    moe.shared_intermediate_size = cfg.optional_integer("n_shared_experts").value_or(1) * moe.intermediate_size;
    read_dense_lead(cfg, family.arch == Architecture::Glm4Moe ? 1 : 0, spec, moe);  // Solar Open's and dots.llm1's: none
  }
  spec.moe = std::move(moe);
}

// Gemma 3's text config leaves out what Gemma3TextConfig defaults (the 4B model's names only its
// sizes): those defaults, filled in before reading.
json::object with_gemma3_defaults(json::object config) {
  const json::object defaults{{"vocab_size", 262208},          {"num_attention_heads", 8},
                              {"num_key_value_heads", 4},       {"head_dim", 256},
                              {"max_position_embeddings", 131072}, {"rms_norm_eps", 1e-6},
                              {"query_pre_attn_scalar", 256},   {"sliding_window", 4096},
                              {"tie_word_embeddings", true},    {"bos_token_id", 2},
                              {"eos_token_id", 1},              {"hidden_activation", "gelu_pytorch_tanh"}};
  for (const auto& [key, value] : defaults) {
    if (!config.contains(key)) config[key] = value;
  }
  return config;
}

// LFM3's config may leave out what Lfm3Config fills in: the two RoPEs (the full-attention layers'
// proportional, base 1,000,000, on half of each head; the sliding layers' default, base 10,000),
// the layer types (every fourth from layer 2 full attention, every fourth from layer 4 sliding,
// the rest convolutions), the window (256) and the convolution's taps (7).
json::object with_lfm3_defaults(json::object config) {
  if (!config.contains("rope_parameters")) {
    config["rope_parameters"] = json::object{
        {"sliding_attention", json::object{{"rope_type", "default"}, {"rope_theta", 10000.0}}},
        {"full_attention", json::object{{"rope_type", "proportional"}, {"rope_theta", 1000000.0}, {"partial_rotary_factor", 0.5}}}};
  }
  if (!config.contains("layer_types")) {
    const json::value* n = config.if_contains("num_hidden_layers");
    const int64_t layers = n != nullptr && n->is_number() ? n->to_number<int64_t>() : 24;
    json::array types;
    for (int64_t i = 0; i < layers; ++i) {
      types.emplace_back(i % 4 == 2 ? "full_attention" : i % 4 == 0 && i > 0 ? "sliding_attention" : "conv");
    }
    config["layer_types"] = std::move(types);
  }
  if (!config.contains("sliding_window")) config["sliding_window"] = 256;
  if (!config.contains("conv_L_cache")) config["conv_L_cache"] = 7;
  return config;
}

}  // namespace

ModelSpec spec_from_hf_config(const json::object& top, const std::string& source) {
  const ConfigView top_view(top, source);
  const std::string model_type = top_view.string("model_type").value_or("");
  if (const json::value* arch = top_view.find("architectures"); arch != nullptr && arch->is_array()) {
    for (const auto& a : arch->as_array()) {
      if (a.is_string() && a.as_string() == "IQuestLoopCoderForCausalLM") {
        top_view.fail("IQuestLoopCoderForCausalLM is not supported: troupe runs each layer once per token, and the "
                      "looped variant runs its layers several times with loop-specific gating and KV caches (use a "
                      "non-looped IQuest-Coder-V1 checkpoint, IQuestCoderForCausalLM)");
      }
    }
  }
  const ModelFamily* family = family_for_model_type(model_type);
  if (family == nullptr) {
    top_view.fail("model_type \"" + model_type + "\" is not supported (supported: " + supported_model_types() + ")");
  }
  // A multimodal wrapper (Gemma3ForConditionalGeneration, Mistral3ForConditionalGeneration): the
  // language model's config is text_config.
  json::object text = top;
  std::string where = source;
  // Qwen2-VL's and Qwen2.5-VL's released configs are flat: the language model's fields at the top.
  const bool flat_wrapper = (model_type == "qwen2_vl" || model_type == "qwen2_5_vl") && top_view.find("text_config") == nullptr;
  if (is_wrapper_model_type(*family, model_type) && !flat_wrapper) {
    const json::value* nested = top_view.find("text_config");
    if (nested == nullptr || !nested->is_object()) top_view.fail(model_type + " config has no text_config");
    text = nested->as_object();
    where = source + " text_config";
    // The text model's own type picks the family (Mistral3ForConditionalGeneration holds Mistral
    // Small 3's or Ministral 3's); one troupe does not know is refused rather than read as another.
    if (const auto text_type = ConfigView(text, where).string("model_type")) {
      family = family_for_model_type(*text_type);
      if (family == nullptr || is_wrapper_model_type(*family, *text_type)) {
        ConfigView(text, where).fail("model_type \"" + *text_type + "\" is not supported as " + model_type +
                                     "'s language model (supported: " + supported_model_types() + ")");
      }
    }
  }
  for (const ConfigAlias& alias : family->hf_config_aliases) {  // EXAONE 3's num_layers, InternLM3's qkv_bias
    if (const auto it = text.find(alias.key); it != text.end() && !text.contains(alias.canonical)) {
      text[alias.canonical] = it->value();
    }
  }
  if (family->norm_bias) text = with_biased_family_defaults(std::move(text), family->arch);
  if (family->arch == Architecture::Gemma3) text = with_gemma3_defaults(std::move(text));
  if (family->arch == Architecture::Lfm3) text = with_lfm3_defaults(std::move(text));
  if (family->arch == Architecture::Gemma4) text = with_gemma4_defaults(std::move(text));
  if (family->arch == Architecture::Gemma3n) text = with_gemma3n_defaults(std::move(text));
  if (family->arch == Architecture::Llama4) text = with_llama4_defaults(std::move(text));
  const ConfigView cfg(text, where);

  ModelSpec spec;
  spec.arch = family->arch;
  spec.hidden_size = cfg.integer("hidden_size");
  const bool lfm2 = family->arch == Architecture::Lfm2 || family->arch == Architecture::Lfm2Moe ||
                    family->arch == Architecture::Lfm3;
  // LFM2's: read_lfm2; Granite 4.0-H's MLP is shared_intermediate_size wide (read_granite_hybrid).
  if (family->arch != Architecture::Lfm2 && family->arch != Architecture::GraniteHybrid) {
    // A mixture of experts without dense layers may not give one (Qwen3.5's): its experts' width.
    spec.intermediate_size = family->mixture_of_experts && !cfg.present("intermediate_size")
                                 ? cfg.integer("moe_intermediate_size")
                                 : cfg.integer("intermediate_size");
  }
  const bool qwen35 = family->arch == Architecture::Qwen35 || family->arch == Architecture::Qwen35Moe ||
                      family->arch == Architecture::Qwen3Next;
  const bool nemotron = family->arch == Architecture::NemotronH;
  // Nemotron-H's layers are its pattern's letters (read_nemotron_h); NemotronHConfig derives the count.
  spec.num_layers = nemotron ? 0 : cfg.integer("num_hidden_layers");
  spec.num_heads = cfg.integer("num_attention_heads");
  spec.num_kv_heads = cfg.optional_integer("num_key_value_heads").value_or(spec.num_heads);
  spec.head_dim = cfg.optional_integer("head_dim").value_or(spec.num_heads > 0 ? spec.hidden_size / spec.num_heads : 0);
  spec.vocab_size = cfg.integer("vocab_size");
  spec.max_position = cfg.integer("max_position_embeddings");
  spec.rms_eps = cfg.number("rms_norm_eps").value_or(family->arch == Architecture::Glm ? 1.5625e-7 : 1e-6);  // GlmConfig's
  if (family->layer_norm) spec.rms_eps = cfg.number("layer_norm_eps").value_or(1e-5);
  // Gemma2Config and CohereConfig tie the embeddings unless told otherwise.
  const bool gemma2 = family->arch == Architecture::Gemma2;
  const bool gemma1 = family->arch == Architecture::Gemma;
  const bool cohere = family->arch == Architecture::Cohere || family->arch == Architecture::Cohere2;
  const bool ernie = family->arch == Architecture::Ernie45 || family->arch == Architecture::Ernie45Moe;
  const bool starcoder2 = family->arch == Architecture::Starcoder2;
  // LFM2's released configs say tie_embedding (Lfm2Config takes it for tie_word_embeddings, true
  // by default); Ernie4_5Config ties them by default too.
  spec.tie_word_embeddings = cfg.boolean(lfm2 && cfg.present("tie_embedding") ? "tie_embedding" : "tie_word_embeddings")
                                 .value_or(top_view.boolean("tie_word_embeddings").value_or(gemma1 || gemma2 || cohere || lfm2 || ernie || starcoder2));
  const bool gemma = family->gemma_scaling;
  const bool gemma3 = gemma && !gemma2 && !gemma1;  // Gemma 3: global base 1,000,000, local layers 10,000
  const double default_theta = gemma3 || lfm2 || family->arch == Architecture::SolarOpen ? 1'000'000.0
                               : family->arch == Architecture::GptOss ? 150'000.0
                               : ernie || family->arch == Architecture::Exaone ? 500'000.0  // Ernie4_5Config's, ExaoneConfig's
                                       : 10'000.0;
  // Gemma 3's and LFM3's sliding layers take their own RoPE (base 10,000 when not given).
  const bool local_rope = gemma3 || family->arch == Architecture::Lfm3;
  read_ropes(cfg, spec, default_theta, local_rope ? std::optional<double>(10'000.0) : std::nullopt);
  if (family->arch == Architecture::HunyuanDense) read_ntk_alpha(cfg, spec);
  spec.max_position = served_context(spec.max_position, spec.rope);

  // Phi-4-mini's partial rotary factor (RoPE on the first 96 of 128 dimensions): at the top level
  // (transformers 4) or in rope_parameters (5).
  std::optional<double> rotary = cfg.number("partial_rotary_factor");
  if (const json::object* params = object_field(cfg, "rope_parameters"); params != nullptr && !rotary) {
    rotary = ConfigView(*params, cfg.source()).number("partial_rotary_factor");
  }
  // Glm4Config's and Glm4MoeConfig's default; Qwen3_5TextConfig's.
  if (!rotary && (family->arch == Architecture::Glm4 || family->arch == Architecture::Glm4Moe || family->arch == Architecture::Glm)) {
    rotary = 0.5;
  }
  if (!rotary && qwen35) rotary = 0.25;
  if (!rotary && family->arch == Architecture::Phi) rotary = 0.5;        // PhiConfig's
  if (!rotary && family->arch == Architecture::StableLm) rotary = 0.25;  // StableLmConfig's
  if (!rotary && family->arch == Architecture::GptNeoX) rotary = 0.25;   // GPTNeoXConfig's rotary_pct
  // MiniMax-M2's released configs give the rotated dimensions as rotary_dim, as GPT-J's do (64 when
  // absent, GPTJConfig's; null: every dimension).
  std::optional<int64_t> dims = cfg.optional_integer("rotary_dim");
  if (family->arch == Architecture::Gptj && !cfg.present("rotary_dim")) dims = 64;
  if (!rotary && dims && (family->arch == Architecture::MinimaxM2 || family->arch == Architecture::Gptj)) {
    rotary = static_cast<double>(*dims) / static_cast<double>(spec.head_dim);
  }
  if (rotary && *rotary != 1.0) {
    if (!(*rotary > 0.0 && *rotary < 1.0)) cfg.fail("partial_rotary_factor must be in (0, 1]");
    spec.rotary_dim = static_cast<int64_t>(static_cast<double>(spec.head_dim) * *rotary);  // transformers' int()
  }
  if (family->activation == Activation::SwigluOai) {
    // gpt-oss's hidden_act names SiLU, but its experts run the clamped SwiGLU at fixed constants.
    if (cfg.number("swiglu_limit").value_or(7.0) != 7.0 || cfg.number("swiglu_alpha").value_or(1.702) != 1.702) {
      cfg.fail("swiglu_limit and swiglu_alpha other than gpt-oss's 7 and 1.702 are not supported");
    }
    spec.activation = Activation::SwigluOai;
  } else if (gemma1 && cfg.string("hidden_act").value_or("") == "gelu" && !cfg.string("hidden_activation")) {
    spec.activation = Activation::GeluTanh;  // Gemma 1's releases say "gelu" and mean the tanh approximation (GemmaConfig)
  } else {
    spec.activation = activation(cfg, family->activation);
  }
  spec.gated_mlp = family->gated_mlp;
  // LlamaConfig's mlp_bias (InternLM3's bias): gate, up and down carry biases, in a dense MLP.
  spec.mlp_bias = cfg.boolean("mlp_bias").value_or(false);
  if (spec.mlp_bias && family->mixture_of_experts) cfg.fail("mlp_bias = true with experts is not supported");
  // ERNIE 4.5's use_bias puts biases on every projection, the MLP's too.
  if (ernie && cfg.boolean("use_bias").value_or(false)) cfg.fail("use_bias = true (biases on the MLPs) is not supported");
  // Gemma 2's soft-capping (Gemma2Config's 50 and 30 when absent; Gemma 3 sets them null).
  spec.attention_softcap = cfg.number("attn_logit_softcapping").value_or(gemma2 ? 50.0 : 0.0);
  spec.final_logit_softcap = cfg.number("final_logit_softcapping").value_or(gemma2 ? 30.0 : 0.0);
  // GptOssConfig's attention_bias defaults to true (biases on q, k, v and the output projection).
  // SeedOssConfig's attention_bias is true by default, its output projection's (attention_out_bias) false.
  const bool seed = family->arch == Architecture::SeedOss;
  // GlmConfig's attention_bias is true by default too (q, k and v).
  const bool glm = family->arch == Architecture::Glm;
  spec.attention_bias = family->qkv_bias || cfg.boolean("attention_bias").value_or(family->output_bias || seed || glm);
  spec.output_bias = seed ? cfg.boolean("attention_out_bias").value_or(false)
                          : (family->output_bias || family->attention_bias_on_output) && spec.attention_bias;
  spec.attention_sinks = family->attention_sinks;
  spec.qk_norm = family->qk_norm || (family->arch == Architecture::Glm4Moe && cfg.boolean("use_qk_norm").value_or(false));
  spec.qk_norm_after_rope = family->qk_norm_after_rope;
  spec.qk_norm_whole = family->qk_norm_whole;
  spec.input_norms = family->input_norms;
  spec.layer_norm = family->layer_norm;
  spec.parallel_block = family->parallel_block;
  spec.learned_positions = family->learned_positions;
  spec.sandwich_norms = family->sandwich_norms;
  if (family->norm_bias) read_biased_norm_family(cfg, spec);
  if (family->norm_without_weights) {  // OlmoLayerNorm: no weights, epsilon 1e-5 whatever the config says
    spec.norm_without_weights = true;
    spec.rms_eps = 1e-5;
  }
  if (gemma) {
    spec.norm_weight_offset = 1.0;
    spec.embedding_multiplier = std::sqrt(static_cast<double>(spec.hidden_size));
    // Gemma 1 scales q·k by 1/√head_dim (it has no query_pre_attn_scalar).
    spec.attention_scale = 1.0 / std::sqrt(cfg.number("query_pre_attn_scalar").value_or(gemma1 ? static_cast<double>(spec.head_dim) : 256.0));
  }
  spec.clip_qkv = cfg.number("clip_qkv").value_or(0.0);
  const bool granite = family->arch == Architecture::Granite || family->arch == Architecture::GraniteHybrid ||
                       family->arch == Architecture::GraniteMoe || family->arch == Architecture::GraniteSwa;
  if (granite) {
    // GraniteConfig's multipliers (its defaults when absent: 1, 1, 1, 1).
    spec.embedding_multiplier = cfg.number("embedding_multiplier").value_or(1.0);
    spec.residual_multiplier = cfg.number("residual_multiplier").value_or(1.0);
    spec.attention_scale = cfg.number("attention_multiplier").value_or(1.0);
    spec.logit_scale = cfg.number("logits_scaling").value_or(1.0);
  }
  if (family->arch == Architecture::SmolLM3 || family->arch == Architecture::Llama4) read_no_rope_layers(cfg, spec);
  if (family->arch == Architecture::GraniteHybrid) read_granite_hybrid(cfg, spec);
  if (nemotron) read_nemotron_h(cfg, spec);
  if (family->arch == Architecture::FalconH1) read_falcon_h1(cfg, spec);
  // Llama 4's temperature as Ministral 3 and Mistral Small 4 take it (rope_parameters' llama_4_scaling_beta).
  if (family->arch == Architecture::Ministral3 || family->arch == Architecture::DeepseekV2) read_attention_temperature(cfg, spec);
  // Lfm2MoeMLP takes intermediate_size as it is.
  if (lfm2) {
    read_lfm2(cfg, spec, /*width_rule=*/family->arch == Architecture::Lfm2, /*sliding_layers=*/family->arch == Architecture::Lfm3);
  }
  if (family->arch == Architecture::Lfm3) {  // Lfm3Config's switches, both on by default
    spec.sandwich_norms = cfg.boolean("use_sandwich_norm").value_or(true);
    spec.attention_head_gate = cfg.boolean("use_attention_gate").value_or(true);
  }
  if (qwen35) read_qwen35(cfg, spec);
  if (family->unit_offset_norms) spec.norm_weight_offset = 1.0;
  if (family->latent_attention) read_mla(cfg, spec);
  // Granite 4.0-H's experts by num_local_experts (8 by default); Nemotron-H's by its pattern (read_nemotron_h).
  // Granite's sliding-window releases: experts in granitemoe_swa alone.
  const bool swa_dense = family->arch == Architecture::GraniteSwa && cfg.string("model_type").value_or("") != "granitemoe_swa";
  if (family->mixture_of_experts ||
      (family->optional_experts && !nemotron && !swa_dense && cfg.optional_integer("num_local_experts").value_or(8) > 0)) {
    read_moe(cfg, spec, *family);
  }
  if (cohere) {
    // Logits × logit_scale (CohereConfig's 0.0625 when absent); ModelSpec divides by its scale.
    spec.logit_scale = 1.0 / cfg.number("logit_scale").value_or(0.0625);
    if (cfg.boolean("use_qk_norm").value_or(false)) {
      cfg.fail("use_qk_norm = true (Command R+'s per-head LayerNorms on q and k) is not supported");
    }
  }
  read_windows(cfg, spec, *family);
  if (family->arch == Architecture::GraniteSwa) read_layer_rope_theta(cfg, spec);
  if (family->rope_on_sliding_only && !spec.layer_window.empty()) spec.rope_on_sliding_layers_only();
  if (family->arch == Architecture::Gemma4) read_gemma4(cfg, spec);  // after the windows: its full layers differ
  if (family->arch == Architecture::Gemma3n) read_gemma3n(cfg, spec);  // after the windows: its shared layers
  if (family->arch == Architecture::Llama4) read_llama4(cfg, spec);  // after the experts and the windows
  if (const json::value* bos = cfg.find("bos_token_id"); bos && bos->is_number()) spec.bos_token_id = bos->to_number<int32_t>();
  spec.eos_token_ids = token_ids(cfg.find("eos_token_id"));
  if (spec.eos_token_ids.empty()) spec.eos_token_ids = token_ids(top_view.find("eos_token_id"));
  spec.name = top_view.string("_name_or_path").value_or("");
  spec.validate(source);
  return spec;
}

namespace {

// Python's json module writes float('inf') and nan as the bare words Infinity, -Infinity and NaN
// (transformers' config of a Mamba-2 hybrid: "time_step_limit": [0.0, Infinity]), which JSON has
// not: outside strings they become null, which no field troupe reads takes for a number.
std::string without_python_floats(std::string text) {
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
      continue;
    }
    for (const std::string_view word : {std::string_view("-Infinity"), std::string_view("Infinity"), std::string_view("NaN")}) {
      if (text.compare(i, word.size(), word) == 0) {
        text.replace(i, word.size(), "null");
        i += 3;
        break;
      }
    }
  }
  return text;
}

}  // namespace

ModelSpec spec_from_hf_config_file(const std::filesystem::path& config_json) {
  std::ifstream in(config_json);
  if (!in) throw ModelError("cannot read " + config_json.string());
  std::stringstream ss;
  ss << in.rdbuf();
  json::value v;
  try {
    v = json::parse(without_python_floats(ss.str()));
  } catch (const std::exception& e) {
    throw ModelError(config_json.string() + ": not valid JSON: " + e.what());
  }
  if (!v.is_object()) throw ModelError(config_json.string() + ": not a JSON object");
  return spec_from_hf_config(v.as_object(), config_json.string());
}

}  // namespace troupe
