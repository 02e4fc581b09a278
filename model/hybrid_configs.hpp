#pragma once
// config.json readers of the hybrid families, whose layers mix tokens otherwise than by attention
// (or beside it): which layers do what, and each mixer's sizes, under each family's keys and
// defaults. spec_from_hf_config (hf_config.cpp) calls them after the common fields.
#include <string_view>

#include "model/config_view.hpp"
#include "model/model_spec.hpp"

namespace troupe::config_json {

// A layer type under its current name: transformers reads the legacy "mamba" and "attention"
// (Granite 4.0-H's released configs) as "linear_attention" and "full_attention", for every family.
std::string_view current_layer_type(std::string_view type);

// LFM2's and LFM3's (`sliding_layers`: LFM3's layer types include sliding attention); `width_rule`:
// the MLP's width derived from block_ff_dim as LFM2's is.
void read_lfm2(const ConfigView& cfg, ModelSpec& spec, bool width_rule, bool sliding_layers = false);
void read_granite_hybrid(const ConfigView& cfg, ModelSpec& spec);
void read_nemotron_h(const ConfigView& cfg, ModelSpec& spec);
void read_falcon_h1(const ConfigView& cfg, ModelSpec& spec);
void read_qwen35(const ConfigView& cfg, ModelSpec& spec);

}  // namespace troupe::config_json
