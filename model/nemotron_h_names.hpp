#pragma once
// Nemotron-H's checkpoints name a layer's one sublayer `mixer` whatever it is
// (backbone.layers.N.mixer.in_proj for Mamba-2, .mixer.q_proj for attention, .mixer.up_proj for an
// MLP, .mixer.gate / .mixer.experts.E / .mixer.shared_experts for experts) and its one norm
// `norm`. Their names under decoder_layout's depend on the layer's kind, which a fixed rename
// cannot tell: this reads it from the spec.
#include <string>

#include "model/model_spec.hpp"

namespace troupe {

// The decoder_layout name of a Nemotron-H checkpoint tensor (released: backbone.*; saved by
// transformers 5: model.*): backbone.embeddings → model.embed_tokens, backbone.norm_f →
// model.norm, layers.N.norm → model.layers.N.input_layernorm, layers.N.mixer.X →
// model.layers.N.<mamba | self_attn | mlp>.X by spec.mixer(N). Other names come back as they are.
std::string nemotron_h_name(const std::string& name, const ModelSpec& spec);

}  // namespace troupe
