#pragma once
// config.json reader of Gemma 3n's language model (Gemma3nTextConfig's keys and defaults): AltUp's
// streams, LAuReL's rank, the per-layer embeddings and their table's rows, the layers sharing keys
// and values, the MLPs' widths per layer and their gates' Gaussian top-k. spec_from_hf_config
// (hf_config.cpp) calls it after the common fields and the windows.
#include <boost/json.hpp>

#include "model/config_view.hpp"
#include "model/model_spec.hpp"

namespace troupe::config_json {

// What Gemma3nTextConfig fills in when a config leaves it out, added before reading.
json::object with_gemma3n_defaults(json::object config);
void read_gemma3n(const ConfigView& cfg, ModelSpec& spec);

// The standard normal distribution's quantile of `p` in (0, 1): the multiplier of the standard
// deviation above the mean that keeps a fraction 1 − p of normally distributed values (Gemma 3n's
// activation_sparsity_pattern, torch's Normal(0, 1).icdf).
double standard_normal_quantile(double p);

}  // namespace troupe::config_json
