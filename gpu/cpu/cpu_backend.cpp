#include "gpu/cpu/cpu_backend.hpp"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <thread>

#include "common/error.hpp"
#include "gpu/cpu/cpu_kernels.hpp"
#include "gpu/cpu/mlp_down.hpp"
#include "gpu/cpu/paged_attention.hpp"
#include "gpu/cpu/short_conv.hpp"
#include "model/decoder_layout.hpp"

namespace troupe {

namespace {

// What --kv-cache-dtype auto stores: the type the model's key projection is stored in, or float16
// (llama.cpp's cache default) for a quantized one.
std::string_view model_float_dtype(const ModelFiles& model) {
  const DecoderLayout layout = decoder_layout(model.spec());
  const auto first = std::find_if(layout.layers.begin(), layout.layers.end(),
                                  [](const LayerLayout& l) { return l.mixer == Mixer::Attention; });
  if (first == layout.layers.end()) return "float16";
  const TensorView* k = model.find(model.spec().mla ? first->kv_a : first->k);
  if (k != nullptr && k->dtype == DType::F32) return "float32";
  if (k != nullptr && k->dtype == DType::BF16) return "bfloat16";
  return "float16";
}

// The FFN's split unit: the block length of the down projections' storage (their input columns
// split only at block boundaries), the dense MLP's and the experts' alike.
int64_t ffn_split_unit(const ModelFiles& model) {
  int64_t unit = 1;
  for (const LayerLayout& layer : decoder_layout(model.spec()).layers) {
    const std::string& down = layer.experts.empty() ? layer.down : layer.experts.front().down;
    if (const TensorView* t = model.find(down)) unit = std::max(unit, dtype_block_elements(t->dtype));
  }
  return unit;
}

}  // namespace

CpuBackend::CpuBackend(const ModelFiles& model, const BackendOptions& options)
    : spec_(model.spec()), label_(options.label), communicator_(options.communicator), block_size_(options.kv_block_size),
      weight_mode_{options.cpu_keep_quantized, options.cpu_int8_activations} {
  const int threads = options.threads > 0 ? options.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  // One setting for the process: a group's ranks all have the same thread count, so they agree.
  openblas_set_num_threads(threads);
  pool_ = std::make_unique<cpu::ThreadPool>(threads, /*pin=*/true, options.cpu_first_core);
  shard_ = communicator_ ? shard_for(spec_, communicator_->rank(), communicator_->size(), ffn_split_unit(model))
                         : shard_for(spec_, 0, 1);
  heads_ = shard_.num_heads();
  kv_heads_ = shard_.num_kv_heads();
  intermediate_ = shard_.intermediate.size();
  if (block_size_ <= 0) throw std::invalid_argument("KV block size must be positive");
  kv_dtype_ = cpu::resolve_kv_dtype(options.kv_cache_dtype, model_float_dtype(model));
  for (int64_t layer = 0; layer < spec_.num_layers; ++layer) {
    if (const std::string why = cpu::kv_dtype_unsupported(kv_dtype_, spec_.head_dim_of(layer)); !why.empty()) {
      throw ConfigError("--kv-cache-dtype " + options.kv_cache_dtype + ": " + why);
    }
  }
  if (communicator_ && spec_.varied_heads()) {
    throw ConfigError("--tensor-parallel-size " + std::to_string(shard_.size) + ": layers whose heads differ in size (" +
                      std::string(architecture_name(spec_.arch)) + ") do not split across ranks yet");
  }
  // From the whole model's geometry, so that every rank of a group has the same number of blocks.
  num_blocks_ = kv_blocks_for(options, spec_, [&](int64_t d) { return cpu::kv_row_bytes(kv_dtype_, d); });
  // Each RoPE over the heads of the layers that apply it (Gemma 4's local and global heads differ).
  inv_freq_ = rope_inverse_frequencies(spec_.rope, spec_.rope_dims(false));
  if (spec_.local_rope) local_inv_freq_ = rope_inverse_frequencies(*spec_.local_rope, spec_.rope_dims(true));
  try {
    load_weights(model);
  } catch (const ConfigError& e) {
    if (!communicator_) throw;
    throw ConfigError("--tensor-parallel-size " + std::to_string(shard_.size) + ": " + e.what());
  }
  for (auto& layer : layers_) {  // zeroed: every stored type decodes all-zero bytes to 0
    if (!spec_.stores_kv(layer.index)) continue;
    const auto cache_bytes = static_cast<std::size_t>(layer_cache_bytes(layer));
    layer.k_cache.assign(cache_bytes, std::byte{0});
    if (spec_.kv_planes() == 2) layer.v_cache.assign(cache_bytes, std::byte{0});
  }
}

int64_t CpuBackend::layer_cache_bytes(const Layer& layer) const {
  return num_blocks_ * block_size_ * layer.kv_heads * cpu::kv_row_bytes(kv_dtype_, layer.head_dim);
}

int64_t CpuBackend::kv_cache_bytes() const {
  int64_t bytes = 0;
  for (const auto& layer : layers_) {
    if (spec_.stores_kv(layer.index)) bytes += spec_.kv_planes() * layer_cache_bytes(layer);
  }
  return bytes;
}

void CpuBackend::all_reduce(float* data, int64_t count) {
  if (shard_.size > 1) communicator_->all_reduce_sum(data, count);
}

void CpuBackend::forward(const StepBatch& batch, StepLogits& out) {
  validate_step(batch, spec_, block_size_, num_blocks_);
  pool_->pin_caller();
  if (states_) states_->reserve(batch);
  const int64_t tokens = batch.total_tokens();
  const int64_t h = spec_.hidden_size;

  std::vector<int32_t> ids, positions;
  ids.reserve(tokens);
  positions.reserve(tokens);
  for (const auto& s : batch.sequences) {
    for (std::size_t j = 0; j < s.tokens.size(); ++j) {
      ids.push_back(s.tokens[j]);
      positions.push_back(static_cast<int32_t>(s.num_cached + static_cast<int64_t>(j)));
    }
  }
  x_.resize(static_cast<std::size_t>(tokens * h));
  // A rank holds a slice of the vocabulary: rows of other slices are zero here and come from
  // their rank in the sum (adding zeros is exact).
  for (int64_t t = 0; t < tokens; ++t) {
    float* row = x_.data() + t * h;
    if (ids[t] >= shard_.vocab.begin && ids[t] < shard_.vocab.end) {
      embed_.row(ids[t] - shard_.vocab.begin, row);
    } else {
      std::fill_n(row, h, 0.0f);
    }
  }
  all_reduce(x_.data(), tokens * h);
  if (spec_.learned_positions) {  // GPT-2: each token's position's row joins its embedding
    std::vector<float> row(static_cast<std::size_t>(h));
    for (int64_t t = 0; t < tokens; ++t) {
      position_embed_.row(positions[static_cast<std::size_t>(t)] + spec_.position_offset, row.data());
      cpu::add(x_.data() + t * h, row.data(), h);
    }
  }
  if (spec_.embedding_multiplier != 1.0) cpu::scale(x_.data(), tokens * h, static_cast<float>(spec_.embedding_multiplier));
  if (spec_.per_layer_input_size > 0) per_layer_inputs(ids);
  if (spec_.altup_streams > 0) altup_expand(tokens);
  step_query_scales(positions);
  for (auto& layer : layers_) {
    if (spec_.altup_streams > 0) {  // Gemma 3n: the layer on the active stream, its step into the others
      run_altup_layer(layer, batch, positions);
      continue;
    }
    run_layer(layer, batch, positions);
    if (!layer.per_layer_norm.empty()) {
      per_layer_step(layer, x_.data(), tokens);
      cpu::add(x_.data(), delta_.data(), tokens * h);
    }
    if (layer.out_scale != 1.0f) cpu::scale(x_.data(), tokens * h, layer.out_scale);  // Gemma 4's layer_scalar
  }
  if (spec_.altup_streams > 0) altup_merge(tokens);

  // Only the rows that need logits go through the final norm and the vocabulary projection.
  std::vector<int64_t> rows;
  out.first_row.clear();
  int64_t offset = 0;
  for (const auto& s : batch.sequences) {
    const auto n = static_cast<int64_t>(s.tokens.size());
    out.first_row.push_back(static_cast<int64_t>(rows.size()));
    for (int64_t j = s.all_logits ? 0 : n - 1; j < n; ++j) rows.push_back(offset + j);
    offset += n;
  }
  const auto nrows = static_cast<int64_t>(rows.size());
  xn_.resize(static_cast<std::size_t>(nrows * h));
  for (int64_t r = 0; r < nrows; ++r) {
    norm_rows(x_.data() + rows[r] * h, final_norm_.data(), xn_.data() + r * h, 1, nullptr);
  }
  out.vocab = spec_.vocab_size;
  out.values.resize(static_cast<std::size_t>(nrows * spec_.vocab_size));
  const cpu::CpuWeight& head = spec_.tie_word_embeddings ? embed_ : lm_head_;
  const auto add_head_bias = [&](float* logits) {  // Phi-2's: this rank's slice of it
    cpu::add_bias(logits, lm_head_bias_.data(), nrows, static_cast<int64_t>(lm_head_bias_.size()));
  };
  if (shard_.size == 1) {
    head.matmul(xn_.data(), out.values.data(), nrows, /*accumulate=*/false, pool_.get());
    add_head_bias(out.values.data());
  } else {
    // Each rank's vocabulary slice, gathered into rank 0's rows.
    const int64_t local_vocab = shard_.vocab.size();
    local_logits_.resize(static_cast<std::size_t>(nrows * local_vocab));
    head.matmul(xn_.data(), local_logits_.data(), nrows, /*accumulate=*/false, pool_.get());
    add_head_bias(local_logits_.data());
    communicator_->gather_columns(local_logits_.data(), nrows, shard_.vocab_split, out.values.data(), spec_.vocab_size);
  }
  if (spec_.logit_scale != 1.0) cpu::scale(out.values.data(), nrows * spec_.vocab_size, static_cast<float>(1.0 / spec_.logit_scale));
  if (spec_.final_logit_softcap > 0.0) {  // Gemma 2: cap · tanh(logit / cap)
    const auto cap = static_cast<float>(spec_.final_logit_softcap);
    for (float& v : out.values) v = cap * std::tanh(v / cap);
  }
  // The step ran whole: its sequences' new states become theirs.
  if (states_) states_->commit(batch);
}

void CpuBackend::norm_rows(const float* x, const float* weight, float* out, int64_t rows, cpu::ThreadPool* pool) const {
  const int64_t h = spec_.hidden_size;
  const auto eps = static_cast<float>(spec_.rms_eps);
  if (spec_.layer_norm) {
    cpu::layer_norm(x, weight, spec_.norm_bias ? weight + h : nullptr, out, rows, h, eps, h, h, pool);
  } else {
    cpu::rms_norm(x, weight, out, rows, h, eps, h, h, pool);
  }
}

void CpuBackend::step_query_scales(const std::vector<int32_t>& positions) {
  query_scale_.clear();
  if (!spec_.attention_temperature.active()) return;
  bool any = false;
  for (const int32_t p : positions) {
    query_scale_.push_back(spec_.attention_temperature.at(p));
    any = any || query_scale_.back() != 1.0f;
  }
  if (!any) query_scale_.clear();  // every position below the temperature's period
}

const float* CpuBackend::query_scales(int64_t layer) const {
  return !query_scale_.empty() && spec_.temperature_in(layer) ? query_scale_.data() : nullptr;
}

const float* CpuBackend::normed_input(const std::vector<float>& norm, int64_t tokens) {
  if (norm.empty()) return x_.data();
  xn_.resize(static_cast<std::size_t>(tokens * spec_.hidden_size));
  norm_rows(x_.data(), norm.data(), xn_.data(), tokens, pool_.get());
  return xn_.data();
}

void CpuBackend::per_layer_inputs(const std::vector<int32_t>& ids) {
  const auto tokens = static_cast<int64_t>(ids.size());
  const int64_t p = spec_.per_layer_input_size, width = spec_.num_layers * p, h = spec_.hidden_size;
  // The embeddings' part, RMS-normed over each layer's P values.
  per_layer_in_.resize(static_cast<std::size_t>(tokens * width));
  per_layer_projection_.matmul(x_.data(), per_layer_in_.data(), tokens, /*accumulate=*/false, pool_.get());
  cpu::scale(per_layer_in_.data(), tokens * width, 1.0f / std::sqrt(static_cast<float>(h)));
  cpu::rms_norm(per_layer_in_.data(), per_layer_projection_norm_.data(), per_layer_in_.data(), tokens * spec_.num_layers, p,
                static_cast<float>(spec_.rms_eps), p, p, pool_.get());
  // The token's own, scaled by sqrt(P); the sum over sqrt(2).
  // Gemma 3n's ids past its table (its audio and image tokens) read row 0, as transformers reads them.
  std::vector<float> row(static_cast<std::size_t>(width));
  const float token_scale = std::sqrt(static_cast<float>(p)), sum_scale = 1.0f / std::sqrt(2.0f);
  for (int64_t t = 0; t < tokens; ++t) {
    const int32_t id = ids[static_cast<std::size_t>(t)];
    per_layer_embedding_.row(id < per_layer_embedding_.rows() ? id : 0, row.data());
    float* out = per_layer_in_.data() + t * width;
    for (int64_t i = 0; i < width; ++i) out[i] = (out[i] + row[static_cast<std::size_t>(i)] * token_scale) * sum_scale;
  }
}

void CpuBackend::per_layer_step(Layer& L, const float* input, int64_t tokens) {
  const int64_t p = spec_.per_layer_input_size, h = spec_.hidden_size, width = spec_.num_layers * p;
  // gelu(W_gate input) ⊙ this layer's inputs, then W_out and its norm.
  per_layer_gate_.resize(static_cast<std::size_t>(tokens * p));
  L.per_layer_gate.matmul(input, per_layer_gate_.data(), tokens, /*accumulate=*/false, pool_.get());
  cpu::ungated_activation(per_layer_gate_.data(), per_layer_gate_.data(), tokens, p, spec_.activation, pool_.get());
  for (int64_t t = 0; t < tokens; ++t) {
    const float* in = per_layer_in_.data() + t * width + L.index * p;
    float* g = per_layer_gate_.data() + t * p;
    for (int64_t i = 0; i < p; ++i) g[i] *= in[i];
  }
  delta_.resize(static_cast<std::size_t>(tokens * h));
  L.per_layer_out.matmul(per_layer_gate_.data(), delta_.data(), tokens, /*accumulate=*/false, pool_.get());
  norm_rows(delta_.data(), L.per_layer_norm.data(), delta_.data(), tokens, pool_.get());
}

void CpuBackend::run_layer(Layer& L, const StepBatch& batch, const std::vector<int32_t>& positions) {
  const int64_t tokens = static_cast<int64_t>(positions.size());
  const int64_t d = L.head_dim, h = spec_.hidden_size, qw = heads_ * d, kvw = L.kv_heads * d;
  const int64_t inter = L.intermediate;
  const bool split = shard_.size > 1;
  // q, k, v [, the output gate (Qwen3.5) or a gate per head (LFM3)]
  // A layer attending over another's keys and values (Gemma 4's shared layers) projects q alone.
  const bool shares_kv = L.kv_source != L.index;
  const int64_t qkv_w = shares_kv ? qw : qw + 2 * kvw + (spec_.attention_output_gate ? qw : 0) + (spec_.attention_head_gate ? heads_ : 0);
  const auto eps = static_cast<float>(spec_.rms_eps);

  xn_.resize(static_cast<std::size_t>(tokens * h));
  gate_up_.resize(static_cast<std::size_t>(tokens * 2 * inter));
  act_.resize(static_cast<std::size_t>(tokens * inter));
  delta_.resize(static_cast<std::size_t>(tokens * h));

  // A sublayer's output joins the residual stream directly, or through its own norm first. A rank's
  // product is a partial sum over its heads or FFN columns: the ranks' parts are added first.
  const auto residual_multiplier = static_cast<float>(spec_.residual_multiplier);  // Granite's; else 1
  // A bias (gpt-oss's output projection) is added once, to the ranks' sum.
  const auto residual_out = [&](const std::vector<float>& out_norm, const auto& multiply,
                                const std::vector<float>& bias = {}) {
    if (out_norm.empty() && !split && residual_multiplier == 1.0f && bias.empty()) {
      multiply(x_.data(), /*accumulate=*/true);
      return;
    }
    multiply(delta_.data(), /*accumulate=*/false);
    all_reduce(delta_.data(), tokens * h);
    if (!bias.empty()) {
      cpu::add_bias(delta_.data(), bias.data(), tokens, h);
    }
    if (!out_norm.empty()) norm_rows(delta_.data(), out_norm.data(), delta_.data(), tokens, pool_.get());
    if (residual_multiplier != 1.0f) cpu::scale(delta_.data(), tokens * h, residual_multiplier);
    cpu::add(x_.data(), delta_.data(), tokens * h);
  };

  // `tokens` rows of `in` [tokens, hidden] through `w`.
  const auto project = [&](const float* in, const cpu::CpuWeight& w, float* out) {
    if (w.takes_quantized()) {
      cpu::quantize_activations(in, tokens, h, h, quantized_, pool_.get());
      w.matmul(quantized_, out, /*accumulate=*/false, pool_.get());
    } else {
      w.matmul(in, out, tokens, /*accumulate=*/false, pool_.get());
    }
  };
  // The residual stream through the sublayer's input norm when it has one (OLMo 2 has none), then
  // `w`. With int8 activations an RMSNorm and the quantization are one pass.
  const auto project_input = [&](const std::vector<float>& norm, const cpu::CpuWeight& w, float* out) {
    if (w.takes_quantized() && !norm.empty() && !spec_.layer_norm) {
      cpu::rms_norm_quantize(x_.data(), norm.data(), tokens, h, eps, quantized_, pool_.get());
      w.matmul(quantized_, out, /*accumulate=*/false, pool_.get());
    } else {
      project(normed_input(norm, tokens), w, out);
    }
  };

  // Attention block. A parallel block (Cohere) keeps its normed input in xn_ for the MLP too: the
  // attention below leaves xn_ alone. A layer without a mixer (Nemotron-H's MLP layers) has none.
  if (L.mixer == Mixer::None) {
  } else if (L.mixer == Mixer::ShortConv) {  // LFM2: a short convolution instead of attention
    qkv_.resize(static_cast<std::size_t>(tokens * 3 * h));
    attn_.resize(static_cast<std::size_t>(tokens * h));
    project_input(L.attention_norm, L.qkv, qkv_.data());
    if (!L.qkv_bias.empty()) {
      cpu::add_bias(qkv_.data(), L.qkv_bias.data(), tokens, 3 * h);
    }
    cpu::short_conv(qkv_.data(), batch, L.conv_taps.data(), L.conv_bias.empty() ? nullptr : L.conv_bias.data(),
                    spec_.short_conv->kernel, h, *states_, L.index, attn_.data(), state_scratch_, pool_.get());
  } else if (L.mixer == Mixer::GatedDeltaNet) {  // Qwen3.5: a delta net instead of attention
    const DeltaNetSpec& d = *spec_.delta_net;
    qkv_.resize(static_cast<std::size_t>(tokens * (d.conv_width() + d.value_width() + 2 * d.v_heads)));
    attn_.resize(static_cast<std::size_t>(tokens * d.value_width()));
    project_input(L.attention_norm, L.qkv, qkv_.data());
    cpu::gated_delta_net(qkv_.data(), batch, d, L.delta, eps, *states_, L.index, attn_.data(), state_scratch_, pool_.get());
  } else if (L.mixer == Mixer::Mamba2) {  // Granite 4.0-H: a Mamba-2 layer instead of attention
    const Mamba2Spec& m = *spec_.mamba;
    qkv_.resize(static_cast<std::size_t>(tokens * (m.inner() + m.conv_width() + m.heads)));
    attn_.resize(static_cast<std::size_t>(tokens * m.inner()));
    project_input(L.attention_norm, L.qkv, qkv_.data());
    cpu::mamba2(qkv_.data(), batch, m, L.mamba, eps, *states_, L.index, attn_.data(), state_scratch_, pool_.get());
  } else if (L.latent) {  // latent attention: its own projections and cache rows
    qkv_.resize(static_cast<std::size_t>(tokens * L.latent->input_projection().rows()));
    attn_.resize(static_cast<std::size_t>(tokens * L.latent->output_width()));
    project_input(L.attention_norm, L.latent->input_projection(), qkv_.data());
    const cpu::PagedKv latent_kv{L.k_cache.data(), L.k_cache.data(), block_size_, L.kv_heads, d, kv_dtype_};
    L.latent->forward(qkv_.data(), batch, positions.data(), latent_kv, L.attention, *L.inv_freq, attn_.data(),
                      latent_scratch_, pool_.get(), query_scales(L.index));
  } else {
    // Sized per branch: latent attention's widths differ, and growing a vector back zero-fills.
    qkv_.resize(static_cast<std::size_t>(tokens * qkv_w));
    attn_.resize(static_cast<std::size_t>(tokens * qw));
    if (!L.laurel_norm.empty()) {  // Gemma 3n: LAuReL reads the normed input beside attention
      const float* normed = normed_input(L.attention_norm, tokens);
      run_laurel(L, normed, tokens);
      project(normed, L.qkv, qkv_.data());
    } else if (L.parallel_mlp || L.mamba_beside) {  // the normed input stays in xn_ for the other reader
      project(normed_input(L.attention_norm, tokens), L.qkv, qkv_.data());
      // GPT-NeoX's MLP reads its own norm of the layer's input, which x still is until o's output joins it.
      if (L.parallel_mlp && !L.mlp_norm.empty()) normed_input(L.mlp_norm, tokens);
    } else {
      project_input(L.attention_norm, L.qkv, qkv_.data());
    }
    if (!L.qkv_bias.empty()) {
      for (int64_t t = 0; t < tokens; ++t) {
        float* row = qkv_.data() + t * qkv_w;
        for (int64_t i = 0; i < qkv_w; ++i) row[i] += L.qkv_bias[i];
      }
    }
    if (spec_.clip_qkv > 0.0) cpu::clamp_rows(qkv_.data(), tokens, qkv_w, qkv_w, static_cast<float>(spec_.clip_qkv));
    float* q = qkv_.data();
    float* k = q + qw;
    float* v = k + kvw;
    // The q/k norms: before RoPE, or after it (Hunyuan's).
    const auto norm_qk = [&] {
      if (!L.q_norm.empty() && spec_.qk_norm_per_head) {
        // StableLM 2 12B: a LayerNorm per head, each with its own weights.
        for (int64_t t = 0; t < tokens; ++t) {
          for (int64_t head = 0; head < heads_; ++head) {
            float* row = q + t * qkv_w + head * d;
            cpu::layer_norm(row, L.q_norm.data() + head * d, nullptr, row, 1, d, eps, d, d);
          }
          for (int64_t head = 0; head < L.kv_heads && !shares_kv; ++head) {
            float* row = k + t * qkv_w + head * d;
            cpu::layer_norm(row, L.k_norm.data() + head * d, nullptr, row, 1, d, eps, d, d);
          }
        }
      } else if (!L.q_norm.empty()) {
        // Each head's d values, or a token's whole q (k) row as one vector (qk_norm_whole).
        const int64_t q_dim = spec_.qk_norm_whole ? qw : d, k_dim = spec_.qk_norm_whole ? kvw : d;
        for (int64_t t = 0; t < tokens; ++t) {
          cpu::rms_norm(q + t * qkv_w, L.q_norm.data(), q + t * qkv_w, qw / q_dim, q_dim, eps, q_dim, q_dim);
          if (!shares_kv) cpu::rms_norm(k + t * qkv_w, L.k_norm.data(), k + t * qkv_w, kvw / k_dim, k_dim, eps, k_dim, k_dim);
        }
      }
    };
    if (!spec_.qk_norm_after_rope) norm_qk();
    if (L.value_norm && !shares_kv) {  // Gemma 4: each head's values over their RMS, no weight
      for (int64_t t = 0; t < tokens; ++t) {
        cpu::rms_norm(v + t * qkv_w, nullptr, v + t * qkv_w, L.kv_heads, d, eps, d, d);
      }
    }
    if (L.inv_freq != nullptr) {
      cpu::apply_rope(q, tokens, heads_, d, qkv_w, positions.data(), *L.inv_freq, pool_.get());
      if (!shares_kv) cpu::apply_rope(k, tokens, L.kv_heads, d, qkv_w, positions.data(), *L.inv_freq, pool_.get());
      if (spec_.qk_norm_weightless) {  // Llama 4: each head of q and k over its RMS (RoPE keeps it)
        for (int64_t t = 0; t < tokens; ++t) {
          cpu::rms_norm(q + t * qkv_w, nullptr, q + t * qkv_w, heads_, d, eps, d, d);
          if (!shares_kv) cpu::rms_norm(k + t * qkv_w, nullptr, k + t * qkv_w, L.kv_heads, d, eps, d, d);
        }
      }
    }
    if (spec_.qk_norm_after_rope) norm_qk();
    if (const float* scale = query_scales(L.index)) {  // Llama 4's temperature (NoPE layers alone)
      for (int64_t t = 0; t < tokens; ++t) {
        for (float* r = q + t * qkv_w; r != q + t * qkv_w + qw; ++r) *r *= scale[t];
      }
    }

    // The cache this layer attends over: its own, or (shares_kv) the one its source layer wrote this
    // step's rows into already.
    Layer& cache = layers_[static_cast<std::size_t>(L.kv_source)];
    const cpu::PagedKv kv{cache.k_cache.data(), cache.v_cache.data(), block_size_, L.kv_heads, d, kv_dtype_};
    std::vector<cpu::AttentionSequence> sequences;
    sequences.reserve(batch.sequences.size());
    int64_t offset = 0;
    for (const auto& s : batch.sequences) {
      const auto n = static_cast<int64_t>(s.tokens.size());
      if (!shares_kv) cpu::kv_store(kv, s.block_table.data(), s.num_cached, n, k + offset * qkv_w, v + offset * qkv_w, qkv_w);
      sequences.push_back({s.block_table.data(), s.num_cached, n, q + offset * qkv_w, attn_.data() + offset * qw});
      offset += n;
    }
    // Every sequence's heads in one parallel loop (cpu::paged_attention is the reference).
    cpu::paged_attention_step(kv, sequences, qkv_w, heads_, L.attention, pool_.get());
    if (spec_.attention_output_gate) {  // Qwen3.5: the output × σ(gate)
      for (int64_t t = 0; t < tokens; ++t) {
        const float* gate = qkv_.data() + t * qkv_w + qw + 2 * kvw;
        float* row = attn_.data() + t * qw;
        for (int64_t i = 0; i < qw; ++i) row[i] /= 1.0f + std::exp(-gate[i]);
      }
    }
    if (spec_.attention_head_gate) {  // LFM3: each head's output × σ(its gate)
      for (int64_t t = 0; t < tokens; ++t) {
        const float* gate = qkv_.data() + t * qkv_w + qw + 2 * kvw;
        float* row = attn_.data() + t * qw;
        for (int64_t head = 0; head < heads_; ++head) {
          const float g = 1.0f / (1.0f + std::exp(-gate[head]));
          for (float* v = row + head * d; v != row + (head + 1) * d; ++v) *v *= g;
        }
      }
    }
    if (L.mamba_beside) {  // Falcon-H1: a Mamba-2 layer on the same normed input (xn_)
      const Mamba2Spec& m = *spec_.mamba;
      beside_proj_.resize(static_cast<std::size_t>(tokens * (m.inner() + m.conv_width() + m.heads)));
      beside_out_.resize(static_cast<std::size_t>(tokens * m.inner()));
      project(xn_.data(), L.beside_in, beside_proj_.data());
      cpu::mamba2(beside_proj_.data(), batch, m, L.mamba, eps, *states_, L.index, beside_out_.data(), state_scratch_,
                  pool_.get());
      residual_out({}, [&](float* out, bool accumulate) {
        L.beside_out.matmul(beside_out_.data(), out, tokens, accumulate, pool_.get());
      });
    }
  }
  if (L.mixer != Mixer::None) {
    residual_out(
        L.attention_out_norm,
        [&](float* out, bool accumulate) { L.o.matmul(attn_.data(), out, tokens, accumulate, pool_.get()); }, L.o_bias);
  }
  if (!L.laurel_norm.empty()) {  // Gemma 3n: (x + LAuReL's output) / √2
    cpu::add(x_.data(), laurel_.data(), tokens * h);
    cpu::scale(x_.data(), tokens * h, 1.0f / std::sqrt(2.0f));
  }

  // MLP block (none in Nemotron-H's mixer layers).
  if (!L.mlp) return;
  if (L.experts && !L.dense_out_norm.empty()) {
    // Gemma 4: x += norm(norm₁(mlp(n(x))) + norm₂(experts(n₂(x)))), the router reading x through its own norm.
    project_input(L.mlp_norm, L.gate_up, gate_up_.data());
    cpu::mlp_down(gate_up_.data(), tokens, inter, spec_.activation, spec_.gated_mlp, L.down, delta_.data(),
                  /*accumulate=*/false, quantized_, act_, pool_.get());
    norm_rows(delta_.data(), L.dense_out_norm.data(), delta_.data(), tokens, pool_.get());
    router_in_.resize(static_cast<std::size_t>(tokens * h));
    norm_rows(x_.data(), L.router_norm.data(), router_in_.data(), tokens, pool_.get());
    const float* input = normed_input(L.experts_norm, tokens);
    experts_out_.resize(static_cast<std::size_t>(tokens * h));
    L.experts->forward(input, tokens, experts_out_.data(), /*accumulate=*/false, spec_.activation, pool_.get(),
                       router_in_.data());
    norm_rows(experts_out_.data(), L.experts_out_norm.data(), experts_out_.data(), tokens, pool_.get());
    cpu::add(delta_.data(), experts_out_.data(), tokens * h);
    norm_rows(delta_.data(), L.mlp_out_norm.data(), delta_.data(), tokens, pool_.get());
    cpu::add(x_.data(), delta_.data(), tokens * h);
    return;
  }
  if (L.experts) {
    const float* input = L.parallel_mlp ? xn_.data() : normed_input(L.mlp_norm, tokens);
    if (input == x_.data()) {  // no input norm: the experts must not read rows they are adding into
      xn_.assign(x_.begin(), x_.end());
      input = xn_.data();
    }
    residual_out(L.mlp_out_norm, [&](float* out, bool accumulate) {
      L.experts->forward(input, tokens, out, accumulate, spec_.activation, pool_.get());
    });
    return;
  }
  if (L.parallel_mlp) {
    project(xn_.data(), L.gate_up, gate_up_.data());
  } else {
    project_input(L.mlp_norm, L.gate_up, gate_up_.data());
  }
  if (!L.gate_up_bias.empty()) {  // StarCoder2's, Phi-2's: this rank's columns of gate and up
    cpu::add_bias(gate_up_.data(), L.gate_up_bias.data(), tokens, static_cast<int64_t>(L.gate_up_bias.size()));
  }
  if (!std::isnan(L.gate_cutoff)) cpu::gaussian_top_k(gate_up_.data(), tokens, inter, 2 * inter, L.gate_cutoff);  // Gemma 3n
  // xIELU's parameters are the layer's: applied here, the down projection then takes no activation.
  Activation act = spec_.activation;
  if (act == Activation::Xielu) {
    cpu::xielu(gate_up_.data(), tokens * inter, L.xielu);
    act = Activation::Identity;
  }
  residual_out(
      L.mlp_out_norm,
      [&](float* out, bool accumulate) {
        cpu::mlp_down(gate_up_.data(), tokens, inter, act, spec_.gated_mlp, L.down, out, accumulate, quantized_, act_,
                      pool_.get());
      },
      L.down_bias);
}

}  // namespace troupe
