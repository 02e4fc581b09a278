#include "model/gemma3n_config.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "model/gemma4_config.hpp"

namespace troupe::config_json {

json::object with_gemma3n_defaults(json::object config) {
  const json::object defaults{{"vocab_size", 262400},
                              {"vocab_size_per_layer_input", 262144},
                              {"hidden_size", 2048},
                              {"intermediate_size", 16384},
                              {"num_hidden_layers", 35},
                              {"num_attention_heads", 8},
                              {"num_key_value_heads", 2},
                              {"head_dim", 256},
                              {"hidden_activation", "gelu_pytorch_tanh"},
                              {"max_position_embeddings", 32768},
                              {"rms_norm_eps", 1e-6},
                              {"tie_word_embeddings", true},
                              {"sliding_window", 512},
                              {"final_logit_softcapping", 30.0},
                              {"hidden_size_per_layer_input", 256},
                              {"altup_num_inputs", 4},
                              {"altup_active_idx", 0},
                              {"altup_correct_scale", true},
                              {"num_kv_shared_layers", 15},
                              {"laurel_rank", 64}};
  for (const auto& [key, value] : defaults) {
    if (!config.contains(key)) config[key] = value;
  }
  // A list of widths, one per layer (as the released configs give them): the first is the model's
  // intermediate_size for the common reader, the list read_gemma3n's.
  if (const auto it = config.find("intermediate_size"); it != config.end() && it->value().is_array()) {
    config["intermediate_size_per_layer"] = it->value();
    const json::array& widths = it->value().as_array();
    config["intermediate_size"] = widths.empty() ? json::value(0) : widths.front();
  }
  return config;
}

double standard_normal_quantile(double p) {
  // Newton's steps on Φ(x) − p, Φ(x) = erfc(−x / √2) / 2, from a start within the basin (the
  // logistic approximation); a dozen give the double's precision for p away from 0 and 1.
  double x = std::log(p / (1.0 - p)) / 1.702;
  for (int i = 0; i < 50; ++i) {
    const double cdf = 0.5 * std::erfc(-x / std::sqrt(2.0));
    const double pdf = std::exp(-0.5 * x * x) / std::sqrt(2.0 * 3.14159265358979323846);
    const double step = (cdf - p) / pdf;
    x -= step;
    if (std::abs(step) < 1e-15) break;
  }
  return x;
}

void read_gemma3n(const ConfigView& cfg, ModelSpec& spec) {
  // Norms scale by w itself (not 1 + w as Gemma 3's), q·k is not scaled (q and k are RMS-normed),
  // and each head's values are RMS-normed without a weight.
  spec.norm_weight_offset = 0.0;
  spec.attention_scale = 1.0;
  spec.value_norm = true;

  if (const json::value* widths = cfg.find("intermediate_size_per_layer"); widths != nullptr) {
    const json::array& list = widths->as_array();
    if (static_cast<int64_t>(list.size()) != spec.num_layers) {
      cfg.fail("intermediate_size lists " + std::to_string(list.size()) + " widths for " + std::to_string(spec.num_layers) +
               " layers");
    }
    std::vector<int64_t> each;
    for (const json::value& w : list) {
      if (!w.is_int64() || w.as_int64() <= 0) cfg.fail("intermediate_size lists a width that is not a positive integer");
      each.push_back(w.as_int64());
    }
    if (std::any_of(each.begin(), each.end(), [&](int64_t w) { return w != each.front(); })) spec.layer_intermediate = each;
  }

  spec.per_layer_input_size = cfg.integer("hidden_size_per_layer_input");
  const int64_t table = cfg.integer("vocab_size_per_layer_input");
  if (table <= 0 || table > spec.vocab_size) {
    cfg.fail("vocab_size_per_layer_input " + std::to_string(table) + " is not within the vocabulary's " +
             std::to_string(spec.vocab_size));
  }
  spec.per_layer_vocab = table < spec.vocab_size ? table : 0;

  spec.altup_streams = cfg.integer("altup_num_inputs");
  if (spec.altup_streams < 2) cfg.fail("altup_num_inputs must be at least 2");
  if (cfg.integer("altup_active_idx") != 0) cfg.fail("altup_active_idx other than 0 is not supported");
  if (!cfg.boolean("altup_correct_scale").value_or(true)) cfg.fail("altup_correct_scale = false is not supported");
  spec.laurel_rank = cfg.integer("laurel_rank");
  if (spec.laurel_rank <= 0) cfg.fail("laurel_rank must be positive");

  // Gemma3nTextConfig's default: the first 10 layers keep 5 % of their gates (when there are more
  // than 10), the rest all of it.
  std::vector<double> fractions;
  if (const json::value* pattern = cfg.find("activation_sparsity_pattern"); pattern != nullptr && !pattern->is_null()) {
    if (pattern->is_number()) {
      fractions.assign(static_cast<std::size_t>(spec.num_layers), pattern->to_number<double>());
    } else if (pattern->is_array()) {
      for (const json::value& f : pattern->as_array()) {
        if (!f.is_number()) cfg.fail("activation_sparsity_pattern lists a value that is not a number");
        fractions.push_back(f.to_number<double>());
      }
    } else {
      cfg.fail("activation_sparsity_pattern is neither a number nor a list");
    }
  } else {
    for (int64_t i = 0; i < spec.num_layers; ++i) fractions.push_back(spec.num_layers > 10 && i < 10 ? 0.95 : 0.0);
  }
  if (static_cast<int64_t>(fractions.size()) != spec.num_layers) {
    cfg.fail("activation_sparsity_pattern lists " + std::to_string(fractions.size()) + " values for " +
             std::to_string(spec.num_layers) + " layers");
  }
  spec.layer_gate_cutoff.clear();
  for (const double f : fractions) {
    if (!(f >= 0.0 && f < 1.0)) cfg.fail("activation_sparsity_pattern values must be in [0, 1)");
    // As torch computes it: the quantile of the fraction in float32, used in float32.
    const auto quantile = static_cast<float>(standard_normal_quantile(static_cast<float>(f)));
    spec.layer_gate_cutoff.push_back(f > 0.0 ? quantile : std::numeric_limits<double>::quiet_NaN());
  }
  if (std::all_of(spec.layer_gate_cutoff.begin(), spec.layer_gate_cutoff.end(), [](double k) { return std::isnan(k); })) {
    spec.layer_gate_cutoff.clear();
  }

  const int64_t shared = cfg.integer("num_kv_shared_layers");
  if (shared < 0 || shared >= spec.num_layers) cfg.fail("num_kv_shared_layers must be below num_hidden_layers");
  if (shared > 0) share_kv_layers(spec, shared, /*double_wide=*/false);
}

}  // namespace troupe::config_json
