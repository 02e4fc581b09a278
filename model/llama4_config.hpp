#pragma once
// config.json reader of Llama 4's language model (Llama4TextConfig's keys and defaults): its layers
// without RoPE and their attention temperature, the chunked attention of the others, the weightless
// q/k norms, and its experts (the router's sigmoid on each expert's input) beside a shared expert,
// in the layers moe_layers (or interleave_moe_layer_step) names, dense MLPs of intermediate_size_mlp
// in the rest. spec_from_hf_config (hf_config.cpp) calls it after the common fields, the experts
// and the windows.
#include <boost/json.hpp>

#include "model/config_view.hpp"
#include "model/model_spec.hpp"

namespace troupe::config_json {

// What Llama4TextConfig fills in when a config leaves it out, added before reading.
json::object with_llama4_defaults(json::object config);
void read_llama4(const ConfigView& cfg, ModelSpec& spec);

}  // namespace troupe::config_json
