// CpuBackend's weights: each layer's tensors (decoder_layout's names) loaded for this backend's
// shard, as CpuWeights (GGUF blocks kept, or float32) and float32 vectors. cpu_backend.cpp runs them.
#include <cmath>

#include "common/error.hpp"
#include "gpu/cpu/cpu_backend.hpp"
#include "model/decoder_layout.hpp"

namespace troupe {

namespace {

void append(std::vector<float>& dst, const std::vector<float>& src) { dst.insert(dst.end(), src.begin(), src.end()); }

int64_t float_bytes(const std::vector<float>& v) { return static_cast<int64_t>(v.size() * sizeof(float)); }

// `n` floats of tensor `name` whatever its stored shape (llama.cpp's GGUF gives a Mamba-2 layer's A
// and D a trailing 1 and its norm a row per group).
std::vector<float> load_flat(const ModelFiles& model, const std::string& name, int64_t n) {
  const std::vector<int64_t> shape = model.tensor(name).shape;
  int64_t count = 1;
  for (const int64_t d : shape) count *= d;
  if (count != n) throw ModelError(name + ": " + std::to_string(count) + " values where " + std::to_string(n) + " were expected");
  return model.load_f32(name, shape);
}

// A recurrent layer's per-head decay A = −exp(A_log): from A_log, or from llama.cpp's GGUF, which
// stores A itself (served as `decay`); `load` reads either tensor with the layer's shape check.
template <typename Load>
std::vector<float> load_decay(const ModelFiles& model, const std::string& a_log, const std::string& decay, Load load) {
  if (model.find(a_log) == nullptr) return load(decay);
  std::vector<float> a = load(a_log);
  for (float& x : a) x = -std::exp(x);
  return a;
}

}  // namespace

std::vector<float> CpuBackend::load_norm(const ModelFiles& model, const std::string& name, int64_t size, bool bias) const {
  if (spec_.norm_without_weights && model.find(name) == nullptr) return std::vector<float>(static_cast<std::size_t>(size), 1.0f);
  std::vector<float> w = model.load_f32(name, {size});
  if (spec_.norm_weight_offset != 0.0) {
    for (float& v : w) v += static_cast<float>(spec_.norm_weight_offset);
  }
  if (bias) {
    const std::string stem = name.ends_with(".weight") ? name.substr(0, name.size() - 7) : name;
    append(w, model.load_f32(stem + ".bias", {size}));
  }
  return w;
}

void CpuBackend::load_weights(const ModelFiles& model) {
  if (shard_.size > 1 && spec_.qk_norm_whole) {
    // The norm's mean square runs over every head, which no rank holds alone.
    throw ConfigError("q/k norms over every head at once (" + std::string(architecture_name(spec_.arch)) +
                      ") do not split across ranks yet");
  }
  if (shard_.size > 1 && spec_.mla) {
    throw ConfigError("latent attention (" + std::string(architecture_name(spec_.arch)) + ") does not split across ranks yet");
  }
  if (shard_.size > 1 && !spec_.layer_gate_cutoff.empty()) {
    // The cutoff is the mean and spread of the whole gate, which no rank holds alone.
    throw ConfigError("Gaussian top-k MLP gates (" + std::string(architecture_name(spec_.arch)) + ") do not split across ranks yet");
  }
  if (shard_.size > 1 && spec_.has_sequence_state()) {
    throw ConfigError("recurrent layers (" + std::string(architecture_name(spec_.arch)) +
                      ") do not split across ranks yet; a data-parallel engine per core group (--data-parallel-size) does");
  }
  const int64_t h = spec_.hidden_size;
  using Parts = std::vector<cpu::CpuWeight::Part>;
  using Rows = std::vector<IndexRange>;
  const DecoderLayout layout = decoder_layout(spec_);
  // The shard's rows (the whole model's when there is one rank).
  const Rows vocab_rows{shard_.vocab};
  embed_ = cpu::CpuWeight::load(model, Parts{{layout.embedding, {spec_.vocab_size, h}, vocab_rows}}, weight_mode_);
  final_norm_ = load_norm(model, layout.final_norm, h, spec_.norm_bias);
  if (!layout.position_embedding.empty()) {  // GPT-2's: every rank holds the whole table
    const TensorView& table = model.tensor(layout.position_embedding);
    const int64_t positions = table.shape.empty() ? 0 : table.shape.front();
    if (positions < spec_.max_position + spec_.position_offset) {
      throw ModelError(model.path().string() + ": " + layout.position_embedding + " has " + std::to_string(positions) +
                       " rows, fewer than the " + std::to_string(spec_.max_position) + " positions the model serves after " +
                       std::to_string(spec_.position_offset) + " leading ones");
    }
    position_embed_ = cpu::CpuWeight::load(model, Parts{{layout.position_embedding, {positions, h}}}, weight_mode_);
  }
  if (!layout.lm_head.empty()) {
    lm_head_ = cpu::CpuWeight::load(model, Parts{{layout.lm_head, {spec_.vocab_size, h}, vocab_rows}}, weight_mode_);
  }
  if (!layout.lm_head_bias.empty()) {
    lm_head_bias_ = select_rows(model.load_f32(layout.lm_head_bias, {spec_.vocab_size}), 1, vocab_rows, 0, 1);
  }
  if (!layout.per_layer_embedding.empty()) {  // Gemma 4 E2B/E4B, Gemma 3n
    if (shard_.size > 1) throw ConfigError("per-layer embeddings (Gemma 4 E2B/E4B, Gemma 3n) do not split across ranks yet");
    const int64_t width = spec_.num_layers * spec_.per_layer_input_size;
    const int64_t table_rows = spec_.per_layer_vocab > 0 ? spec_.per_layer_vocab : spec_.vocab_size;
    per_layer_embedding_ = cpu::EmbeddingRows(model, layout.per_layer_embedding, table_rows, width);
    per_layer_projection_ = cpu::CpuWeight::load(model, Parts{{layout.per_layer_projection, {width, h}}}, weight_mode_);
    per_layer_projection_norm_ = load_norm(model, layout.per_layer_projection_norm, spec_.per_layer_input_size);
    weight_bytes_ += per_layer_embedding_.bytes() + per_layer_projection_.bytes() + float_bytes(per_layer_projection_norm_);
  }
  for (const auto* names : {&layout.altup_in, &layout.altup_out}) {  // Gemma 3n's stream projections
    auto& weights = names == &layout.altup_in ? altup_in_ : altup_out_;
    for (const std::string& name : *names) {
      weights.push_back(cpu::CpuWeight::load(model, Parts{{name, {h, h}}}, weight_mode_));
      weight_bytes_ += weights.back().bytes();
    }
  }
  layers_.resize(layout.layers.size());
  std::vector<int64_t> state_floats(layout.layers.size(), 0);
  for (std::size_t i = 0; i < layout.layers.size(); ++i) {
    const LayerLayout& names = layout.layers[i];
    Layer& L = layers_[i];
    if (!names.attention_norm.empty()) L.attention_norm = load_norm(model, names.attention_norm, h, spec_.norm_bias);
    L.mixer = names.mixer;
    L.index = static_cast<int64_t>(i);
    L.head_dim = spec_.head_dim_of(L.index);
    L.kv_heads = spec_.varied_heads() ? spec_.kv_heads_of(L.index) : kv_heads_;  // no ranks then
    L.kv_source = names.kv_source;
    // Widths that differ per layer come with one rank (Gemma 4's; refused with more).
    L.intermediate = spec_.layer_intermediate.empty() ? intermediate_ : spec_.intermediate_of(L.index);
    if (names.mixer == Mixer::ShortConv) {
      load_short_conv(model, names, L);
      state_floats[i] = (spec_.short_conv->kernel - 1) * h;
    } else if (names.mixer == Mixer::GatedDeltaNet) {
      load_delta_net(model, names, L);
      state_floats[i] = cpu::delta_net_state_floats(*spec_.delta_net);
    } else if (names.mixer == Mixer::Mamba2) {
      load_mamba2(model, names, L, L.qkv, L.o);
    } else if (names.mixer == Mixer::Attention) {
      load_attention(model, names, L);
      L.mamba_beside = spec_.mamba_beside_attention;
      if (L.mamba_beside) load_mamba2(model, names, L, L.beside_in, L.beside_out);
    }
    if (spec_.runs_mamba(static_cast<int64_t>(i))) state_floats[i] = cpu::mamba2_state_floats(*spec_.mamba);
    if (!names.attention_out_norm.empty()) L.attention_out_norm = load_norm(model, names.attention_out_norm, h);
    if (!names.mlp_norm.empty()) L.mlp_norm = load_norm(model, names.mlp_norm, h, spec_.norm_bias);
    if (!names.router.empty()) {
      L.experts = std::make_unique<cpu::ExpertMlp>(model, names, *spec_.moe, h, shard_.expert_intermediate, weight_mode_,
                                                   /*down_biases=*/shard_.rank == 0);
      weight_bytes_ += L.experts->bytes();
    }
    if (!names.router_norm.empty()) {  // Gemma 4: the router's norm, the experts' and the dense MLP's
      L.router_norm = load_norm(model, names.router_norm, h);
      for (float& w : L.router_norm) w /= std::sqrt(static_cast<float>(h));
      L.experts_norm = load_norm(model, names.experts_norm, h);
      L.experts_out_norm = load_norm(model, names.experts_out_norm, h);
      L.dense_out_norm = load_norm(model, names.dense_out_norm, h);
    }
    if (names.mlp && !names.up.empty()) {  // gate rows then up rows, or up's alone (an MLP without a gate)
      const ModelSpec::Multipliers& mu = spec_.multipliers;
      const int64_t width = spec_.intermediate_of(L.index);
      const IndexRange columns = spec_.layer_intermediate.empty() ? shard_.intermediate : IndexRange{0, width};
      Parts first;
      if (!names.gate.empty()) first.push_back({names.gate, {width, h}, {columns}, {}, static_cast<float>(mu.gate)});
      first.push_back({names.up, {width, h}, {columns}});
      L.gate_up = cpu::CpuWeight::load(model, first, weight_mode_);
      L.down = cpu::CpuWeight::load(model, Parts{{names.down, {h, width}, {}, columns, static_cast<float>(mu.down)}},
                                    weight_mode_);
      if (!names.activation_params.empty()) {  // Apertus's xIELU: αp = softplus(a_p), αn = β + softplus(a_n)
        const auto scalar = [&](const char* param) { return load_flat(model, names.activation_params + param, 1).front(); };
        L.xielu.beta = scalar("beta");
        L.xielu.eps = scalar("eps");
        L.xielu.alpha_p = cpu::softplus(scalar("alpha_p"));
        L.xielu.alpha_n = L.xielu.beta + cpu::softplus(scalar("alpha_n"));
      }
      if (!names.up_bias.empty()) {  // this rank's columns (gate's, then up's), as the rows above; down's added once
        if (!names.gate_bias.empty()) L.gate_up_bias = select_rows(model.load_f32(names.gate_bias, {width}), 1, {columns}, 0, 1);
        append(L.gate_up_bias, select_rows(model.load_f32(names.up_bias, {width}), 1, {columns}, 0, 1));
        L.down_bias = model.load_f32(names.down_bias, {h});
      }
    }
    L.mlp = names.mlp;
    if (!names.layer_scalar.empty()) L.out_scale = load_flat(model, names.layer_scalar, 1).front();
    if (!names.per_layer_norm.empty()) {
      const int64_t p = spec_.per_layer_input_size;
      L.per_layer_gate = cpu::CpuWeight::load(model, Parts{{names.per_layer_gate, {p, h}}}, weight_mode_);
      L.per_layer_out = cpu::CpuWeight::load(model, Parts{{names.per_layer_out, {h, p}}}, weight_mode_);
      L.per_layer_norm = load_norm(model, names.per_layer_norm, h);
      weight_bytes_ += L.per_layer_gate.bytes() + L.per_layer_out.bytes() + float_bytes(L.per_layer_norm);
    }
    if (!names.altup_router.empty()) {  // Gemma 3n's AltUp and LAuReL
      const int64_t n = spec_.altup_streams;
      L.altup.router_norm = load_norm(model, names.altup_router_norm, h);
      L.altup.router = model.load_f32(names.altup_router, {n, h});
      L.altup.predict = model.load_f32(names.altup_predict, {n * n, n});
      L.altup.correct = model.load_f32(names.altup_correct, {n, n});
      L.altup.output_scale = model.load_f32(names.altup_output_scale, {h});
      for (const auto* v : {&L.altup.router_norm, &L.altup.router, &L.altup.predict, &L.altup.correct, &L.altup.output_scale}) {
        weight_bytes_ += float_bytes(*v);
      }
    }
    if (!names.laurel_left.empty()) {
      const int64_t r = spec_.laurel_rank;
      L.laurel_left = cpu::CpuWeight::load(model, Parts{{names.laurel_left, {r, h}}}, weight_mode_);
      L.laurel_right = cpu::CpuWeight::load(model, Parts{{names.laurel_right, {h, r}}}, weight_mode_);
      L.laurel_norm = load_norm(model, names.laurel_norm, h);
      weight_bytes_ += L.laurel_left.bytes() + L.laurel_right.bytes() + float_bytes(L.laurel_norm);
    }
    L.gate_cutoff = static_cast<float>(spec_.gate_cutoff(L.index));
    if (!names.mlp_out_norm.empty()) L.mlp_out_norm = load_norm(model, names.mlp_out_norm, h);
    L.parallel_mlp = names.parallel_mlp;
    const auto layer = static_cast<int64_t>(i);
    L.inv_freq = !names.rope ? nullptr : names.window > 0 && spec_.local_rope ? &local_inv_freq_ : &inv_freq_;
    L.attention = cpu::AttentionOptions{static_cast<float>(spec_.attention_scale_of(layer)), names.window,
                                        static_cast<float>(spec_.attention_softcap), L.sinks.empty() ? nullptr : L.sinks.data(),
                                        names.chunk};
    for (const auto* v : {&L.attention_norm, &L.qkv_bias, &L.o_bias, &L.sinks, &L.q_norm, &L.k_norm, &L.gate_up_bias, &L.down_bias,
                          &L.attention_out_norm, &L.mlp_norm, &L.mlp_out_norm, &L.router_norm, &L.experts_norm,
                          &L.experts_out_norm, &L.dense_out_norm}) {
      weight_bytes_ += float_bytes(*v);
    }
    for (const auto* w : {&L.qkv, &L.o, &L.beside_in, &L.beside_out, &L.gate_up, &L.down}) weight_bytes_ += w->bytes();
  }
  weight_bytes_ += embed_.bytes() + position_embed_.bytes() + float_bytes(final_norm_) + lm_head_.bytes() +
                   float_bytes(lm_head_bias_);
  if (spec_.has_sequence_state()) states_ = std::make_unique<cpu::SequenceStates>(state_floats);
}

std::vector<float> CpuBackend::load_taps(const ModelFiles& model, const std::string& name, int64_t channels,
                                         int64_t kernel) const {
  const bool conv1d = model.tensor(name).shape.size() == 3;
  return model.load_f32(name, conv1d ? std::vector<int64_t>{channels, 1, kernel} : std::vector<int64_t>{channels, kernel});
}

void CpuBackend::load_delta_net(const ModelFiles& model, const LayerLayout& names, Layer& L) {
  const DeltaNetSpec& d = *spec_.delta_net;
  const int64_t h = spec_.hidden_size, cw = d.conv_width(), vw = d.value_width(), heads = d.v_heads;
  using Parts = std::vector<cpu::CpuWeight::Part>;
  // One product gives every input of the layer: q, k, v, then z, b and a.
  L.qkv = cpu::CpuWeight::load(model,
                               Parts{{names.delta.qkv, {cw, h}}, {names.delta.z, {vw, h}}, {names.delta.b, {heads, h}},
                                     {names.delta.a, {heads, h}}},
                               weight_mode_);
  L.o = cpu::CpuWeight::load(model, Parts{{names.delta.out, {h, vw}}}, weight_mode_);
  L.delta.taps = load_taps(model, names.delta.conv, cw, d.conv_kernel);
  L.delta.decay = load_decay(model, names.delta.a_log, names.delta.decay,
                             [&](const std::string& name) { return model.load_f32(name, {heads}); });
  L.delta.dt_bias = model.load_f32(names.delta.dt_bias, {heads});
  L.delta.norm = model.load_f32(names.delta.norm, {d.v_dim});
  for (const auto* v : {&L.delta.taps, &L.delta.decay, &L.delta.dt_bias, &L.delta.norm}) weight_bytes_ += float_bytes(*v);
}

void CpuBackend::load_mamba2(const ModelFiles& model, const LayerLayout& names, Layer& L, cpu::CpuWeight& in,
                             cpu::CpuWeight& out) {
  const Mamba2Spec& m = *spec_.mamba;
  const int64_t h = spec_.hidden_size, inner = m.inner(), cw = m.conv_width(), heads = m.heads;
  using Parts = std::vector<cpu::CpuWeight::Part>;
  const std::vector<int64_t> in_shape{inner + cw + heads, h};
  const ModelSpec::Multipliers& mu = spec_.multipliers;
  Parts in_parts{{names.mamba.in, in_shape}};
  if (mu.mamba_in != std::array<double, 5>{1.0, 1.0, 1.0, 1.0, 1.0}) {
    // Falcon-H1's multipliers, one per run of in_proj's rows: z, x, B, C, then Δ.
    const int64_t bc = m.groups * m.state;
    const std::array<int64_t, 6> edges{0, inner, 2 * inner, 2 * inner + bc, 2 * inner + 2 * bc, inner + cw + heads};
    in_parts.clear();
    for (std::size_t r = 0; r < 5; ++r) {
      in_parts.push_back({names.mamba.in, in_shape, {{edges[r], edges[r + 1]}}, {}, static_cast<float>(mu.mamba_in[r])});
    }
  }
  in = cpu::CpuWeight::load(model, in_parts, weight_mode_);
  out = cpu::CpuWeight::load(model, Parts{{names.mamba.out, {h, inner}, {}, {}, static_cast<float>(mu.mamba_out)}},
                             weight_mode_);
  L.mamba.taps = load_taps(model, names.mamba.conv, cw, m.conv_kernel);
  if (!names.mamba.conv_bias.empty()) L.mamba.conv_bias = load_flat(model, names.mamba.conv_bias, cw);
  L.mamba.decay = load_decay(model, names.mamba.a_log, names.mamba.decay,
                             [&](const std::string& name) { return load_flat(model, name, heads); });
  L.mamba.dt_bias = load_flat(model, names.mamba.dt_bias, heads);
  L.mamba.skip = load_flat(model, names.mamba.d, heads);
  if (!names.mamba.norm.empty()) L.mamba.norm = load_flat(model, names.mamba.norm, inner);
  for (const auto* v : {&L.mamba.taps, &L.mamba.conv_bias, &L.mamba.decay, &L.mamba.dt_bias, &L.mamba.skip, &L.mamba.norm}) {
    weight_bytes_ += float_bytes(*v);
  }
}

void CpuBackend::load_short_conv(const ModelFiles& model, const LayerLayout& names, Layer& L) {
  const int64_t h = spec_.hidden_size, kernel = spec_.short_conv->kernel;
  using Parts = std::vector<cpu::CpuWeight::Part>;
  L.qkv = cpu::CpuWeight::load(model, Parts{{names.conv_in, {3 * h, h}}}, weight_mode_);
  L.o = cpu::CpuWeight::load(model, Parts{{names.conv_out, {h, h}}}, weight_mode_);
  L.conv_taps = load_taps(model, names.conv, h, kernel);
  if (!names.conv_bias.empty()) {
    L.qkv_bias = model.load_f32(names.conv_in_bias, {3 * h});
    L.conv_bias = model.load_f32(names.conv_bias, {h});
    L.o_bias = model.load_f32(names.conv_out_bias, {h});
  }
  weight_bytes_ += float_bytes(L.conv_taps) + float_bytes(L.conv_bias);
}

void CpuBackend::load_attention(const ModelFiles& model, const LayerLayout& names, Layer& L) {
  const int64_t h = spec_.hidden_size, d = L.head_dim, qw = spec_.num_heads * d, kvw = spec_.kv_heads_of(L.index) * d;
  using Parts = std::vector<cpu::CpuWeight::Part>;
  using Rows = std::vector<IndexRange>;
  // The shard's rows of each stacked part (the whole model's when there is one rank).
  // Heads that differ per layer come with one rank (refused with more): every row is this rank's.
  const Rows q_rows = shard_.q_rows(d), kv_rows = spec_.varied_heads() ? Rows{{0, kvw}} : shard_.kv_rows(d);
  const IndexRange q_cols = q_rows.front();
  // A bias, sliced like the rows it belongs to (a vector is rows of one element).
  const auto slice = [](const std::vector<float>& v, const Rows& rows) { return select_rows(v, 1, rows, 0, 1); };
  // The attention's output width: its heads' values (latent attention's are not the cache's rows).
  int64_t attention_width = qw;
  if (spec_.mla) {
    L.latent = std::make_unique<cpu::LatentAttention>(model, names, weight_mode_);
    attention_width = L.latent->output_width();
    weight_bytes_ += L.latent->bytes();
  } else if (spec_.attention_output_gate) {
    // q_proj holds each head's d queries and then its d gate values: the queries go first in
    // qkv, the gates after v.
    Rows queries, gates;
    for (int64_t head = shard_.q_heads.begin; head < shard_.q_heads.end; ++head) {
      queries.push_back({2 * head * d, 2 * head * d + d});
      gates.push_back({2 * head * d + d, 2 * head * d + 2 * d});
    }
    L.qkv = cpu::CpuWeight::load(model,
                                 Parts{{names.q, {2 * qw, h}, queries}, {names.k, {kvw, h}, kv_rows},
                                       {names.v, {kvw, h}, kv_rows}, {names.q, {2 * qw, h}, gates}},
                                 weight_mode_);
  } else {
    const ModelSpec::Multipliers& mu = spec_.multipliers;  // Falcon-H1's; 1 for the others
    // Without a v_proj (Gemma 4's full layers) the values are the keys' projection: k's rows twice.
    const std::string& values = names.v.empty() ? names.k : names.v;
    Parts parts{{names.q, {qw, h}, q_rows, {}, static_cast<float>(mu.q)}};
    if (!names.k.empty()) {  // none in a layer attending over another's keys and values (Gemma 4)
      parts.push_back({names.k, {kvw, h}, kv_rows, {}, static_cast<float>(mu.k)});
      parts.push_back({values, {kvw, h}, kv_rows, {}, static_cast<float>(mu.v)});
    }
    // LFM3's gate per head: its rows after v, one per local query head.
    if (!names.head_gate.empty()) parts.push_back({names.head_gate, {spec_.num_heads, h}, {shard_.q_heads}});
    L.qkv = cpu::CpuWeight::load(model, parts, weight_mode_);
  }
  if (!names.q_bias.empty()) {
    L.qkv_bias = slice(model.load_f32(names.q_bias, {qw}), q_rows);
    append(L.qkv_bias, slice(model.load_f32(names.k_bias, {kvw}), kv_rows));
    append(L.qkv_bias, slice(model.load_f32(names.v_bias, {kvw}), kv_rows));
  }
  L.value_norm = spec_.value_norm;
  if (!names.q_norm.empty() && spec_.qk_norm_per_head) {  // each head's own (StableLM 2 12B): this rank's heads
    L.q_norm = slice(model.load_f32(names.q_norm, {spec_.num_heads, d}), q_rows);
    if (!names.k_norm.empty()) L.k_norm = slice(model.load_f32(names.k_norm, {spec_.kv_heads_of(L.index), d}), kv_rows);
  } else if (!names.q_norm.empty()) {  // per head, or over the whole projection (OLMo 2)
    L.q_norm = load_norm(model, names.q_norm, spec_.qk_norm_whole ? qw : d);
    if (!names.k_norm.empty()) L.k_norm = load_norm(model, names.k_norm, spec_.qk_norm_whole ? kvw : d);
  }
  L.o = cpu::CpuWeight::load(
      model, Parts{{names.o, {h, attention_width}, {}, spec_.mla ? IndexRange{} : q_cols, static_cast<float>(spec_.multipliers.o)}},
      weight_mode_);
  if (!names.o_bias.empty()) L.o_bias = model.load_f32(names.o_bias, {h});  // added once, after the ranks' sum
  if (!names.sinks.empty()) {
    L.sinks = select_rows(model.load_f32(names.sinks, {spec_.num_heads}), 1, {shard_.q_heads}, 0, 1);
  }
}

}  // namespace troupe
