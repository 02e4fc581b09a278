#pragma once
// config.json reader of Gemma 4's language model (Gemma4TextConfig's keys and defaults): the
// full-attention layers' own head size and key/value heads, their values taken from the keys'
// projection (attention_k_eq_v), the experts beside a dense MLP (enable_moe_block), and what troupe
// does not run yet, refused by name.
// spec_from_hf_config (hf_config.cpp) calls it after the common fields.
#include <boost/json.hpp>

#include "model/config_view.hpp"
#include "model/model_spec.hpp"

namespace troupe::config_json {

// What Gemma4TextConfig fills in when a config leaves it out, added before reading.
json::object with_gemma4_defaults(json::object config);
void read_gemma4(const ConfigView& cfg, ModelSpec& spec);

// Gemma 4 E2B/E4B's sharing: the last `shared` layers attend over the keys and values of the last
// earlier layer of their kind (sliding or full: the same window), and with `double_wide` their MLPs
// are twice intermediate_size wide (ModelSpec::layer_kv_source, layer_intermediate). For config.json
// and GGUF alike.
void share_kv_layers(ModelSpec& spec, int64_t shared, bool double_wide);

}  // namespace troupe::config_json
