#include "gpu/cpu/cpu_backend.hpp"

#include <cblas.h>

#include <algorithm>
#include <thread>

#include "common/error.hpp"
#include "gpu/cpu/cpu_kernels.hpp"
#include "gpu/cpu/paged_attention.hpp"
#include "model/decoder_layout.hpp"

namespace troupe {

namespace {

void append(std::vector<float>& dst, const std::vector<float>& src) { dst.insert(dst.end(), src.begin(), src.end()); }

int64_t float_bytes(const std::vector<float>& v) { return static_cast<int64_t>(v.size() * sizeof(float)); }

// What --kv-cache-dtype auto stores: the type the model's key projection is stored in, or float16
// (llama.cpp's cache default) for a quantized one.
std::string_view model_float_dtype(const ModelFiles& model) {
  const TensorView* k = model.find(decoder_layout(model.spec()).layers.at(0).k);
  if (k != nullptr && k->dtype == DType::F32) return "float32";
  if (k != nullptr && k->dtype == DType::BF16) return "bfloat16";
  return "float16";
}

}  // namespace

CpuBackend::CpuBackend(const ModelFiles& model, const BackendOptions& options)
    : spec_(model.spec()), label_(options.label), block_size_(options.kv_block_size),
      weight_mode_{options.cpu_keep_quantized, options.cpu_int8_activations} {
  const int threads = options.threads > 0 ? options.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  openblas_set_num_threads(threads);
  pool_ = std::make_unique<cpu::ThreadPool>(threads, /*pin=*/true);
  if (block_size_ <= 0) throw std::invalid_argument("KV block size must be positive");
  kv_dtype_ = cpu::resolve_kv_dtype(options.kv_cache_dtype, model_float_dtype(model));
  if (const std::string why = cpu::kv_dtype_unsupported(kv_dtype_, spec_.head_dim); !why.empty()) {
    throw ConfigError("--kv-cache-dtype " + options.kv_cache_dtype + ": " + why);
  }
  num_blocks_ = kv_blocks_for(options, spec_, cpu::kv_row_bytes(kv_dtype_, spec_.head_dim));
  inv_freq_ = rope_inverse_frequencies(spec_.rope, spec_.head_dim);
  if (spec_.local_rope) local_inv_freq_ = rope_inverse_frequencies(*spec_.local_rope, spec_.head_dim);
  load_weights(model);
  const auto cache_bytes = static_cast<std::size_t>(kv_cache_bytes() / (2 * spec_.num_layers));
  for (auto& layer : layers_) {  // zeroed: every stored type decodes all-zero bytes to 0
    layer.k_cache.assign(cache_bytes, std::byte{0});
    layer.v_cache.assign(cache_bytes, std::byte{0});
  }
}

int64_t CpuBackend::kv_cache_bytes() const {
  return 2 * spec_.num_layers * num_blocks_ * block_size_ * spec_.num_kv_heads * cpu::kv_row_bytes(kv_dtype_, spec_.head_dim);
}

std::vector<float> CpuBackend::load_norm(const ModelFiles& model, const std::string& name, int64_t size) const {
  std::vector<float> w = model.load_f32(name, {size});
  if (spec_.norm_weight_offset != 0.0) {
    for (float& v : w) v += static_cast<float>(spec_.norm_weight_offset);
  }
  return w;
}

void CpuBackend::load_weights(const ModelFiles& model) {
  const int64_t h = spec_.hidden_size, qw = spec_.q_width(), kvw = spec_.kv_width();
  const int64_t inter = spec_.intermediate_size, d = spec_.head_dim;
  using Parts = std::vector<cpu::CpuWeight::Part>;
  const DecoderLayout layout = decoder_layout(spec_);
  embed_ = cpu::CpuWeight::load(model, Parts{{layout.embedding, {spec_.vocab_size, h}}}, weight_mode_);
  final_norm_ = load_norm(model, layout.final_norm, h);
  if (!layout.lm_head.empty()) {
    lm_head_ = cpu::CpuWeight::load(model, Parts{{layout.lm_head, {spec_.vocab_size, h}}}, weight_mode_);
  }
  layers_.resize(layout.layers.size());
  for (std::size_t i = 0; i < layout.layers.size(); ++i) {
    const LayerLayout& names = layout.layers[i];
    Layer& L = layers_[i];
    L.attention_norm = load_norm(model, names.attention_norm, h);
    L.qkv = cpu::CpuWeight::load(model, Parts{{names.q, {qw, h}}, {names.k, {kvw, h}}, {names.v, {kvw, h}}}, weight_mode_);
    if (!names.q_bias.empty()) {
      L.qkv_bias = model.load_f32(names.q_bias, {qw});
      append(L.qkv_bias, model.load_f32(names.k_bias, {kvw}));
      append(L.qkv_bias, model.load_f32(names.v_bias, {kvw}));
    }
    if (!names.q_norm.empty()) {
      L.q_norm = load_norm(model, names.q_norm, d);
      L.k_norm = load_norm(model, names.k_norm, d);
    }
    L.o = cpu::CpuWeight::load(model, Parts{{names.o, {h, qw}}}, weight_mode_);
    if (!names.attention_out_norm.empty()) L.attention_out_norm = load_norm(model, names.attention_out_norm, h);
    L.mlp_norm = load_norm(model, names.mlp_norm, h);
    L.gate_up = cpu::CpuWeight::load(model, Parts{{names.gate, {inter, h}}, {names.up, {inter, h}}}, weight_mode_);
    L.down = cpu::CpuWeight::load(model, Parts{{names.down, {h, inter}}}, weight_mode_);
    if (!names.mlp_out_norm.empty()) L.mlp_out_norm = load_norm(model, names.mlp_out_norm, h);
    const auto layer = static_cast<int64_t>(i);
    L.inv_freq = names.window > 0 && spec_.local_rope ? &local_inv_freq_ : &inv_freq_;
    L.attention = cpu::AttentionOptions{static_cast<float>(spec_.attention_scale_of(layer)), names.window};
    for (const auto* v : {&L.attention_norm, &L.qkv_bias, &L.q_norm, &L.k_norm, &L.attention_out_norm, &L.mlp_norm,
                          &L.mlp_out_norm}) {
      weight_bytes_ += float_bytes(*v);
    }
    for (const auto* w : {&L.qkv, &L.o, &L.gate_up, &L.down}) weight_bytes_ += w->bytes();
  }
  weight_bytes_ += embed_.bytes() + float_bytes(final_norm_) + lm_head_.bytes();
}

void CpuBackend::forward(const StepBatch& batch, StepLogits& out) {
  validate_step(batch, spec_, block_size_, num_blocks_);
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
  for (int64_t t = 0; t < tokens; ++t) embed_.row(ids[t], x_.data() + t * h);
  if (spec_.embedding_multiplier != 1.0) cpu::scale(x_.data(), tokens * h, static_cast<float>(spec_.embedding_multiplier));
  for (auto& layer : layers_) run_layer(layer, batch, positions);

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
    cpu::rms_norm(x_.data() + rows[r] * h, final_norm_.data(), xn_.data() + r * h, 1, h,
                  static_cast<float>(spec_.rms_eps), h, h);
  }
  out.vocab = spec_.vocab_size;
  out.values.resize(static_cast<std::size_t>(nrows * spec_.vocab_size));
  const cpu::CpuWeight& head = spec_.tie_word_embeddings ? embed_ : lm_head_;
  head.matmul(xn_.data(), out.values.data(), nrows, /*accumulate=*/false, pool_.get());
}

void CpuBackend::run_layer(Layer& L, const StepBatch& batch, const std::vector<int32_t>& positions) {
  const int64_t tokens = static_cast<int64_t>(positions.size());
  const int64_t h = spec_.hidden_size, qw = spec_.q_width(), kvw = spec_.kv_width();
  const int64_t d = spec_.head_dim, inter = spec_.intermediate_size;
  const int64_t qkv_w = qw + 2 * kvw;
  const auto eps = static_cast<float>(spec_.rms_eps);

  xn_.resize(static_cast<std::size_t>(tokens * h));
  qkv_.resize(static_cast<std::size_t>(tokens * qkv_w));
  attn_.resize(static_cast<std::size_t>(tokens * qw));
  gate_up_.resize(static_cast<std::size_t>(tokens * 2 * inter));
  act_.resize(static_cast<std::size_t>(tokens * inter));
  delta_.resize(static_cast<std::size_t>(tokens * h));

  // A sublayer's output joins the residual stream directly, or through its own norm first.
  const auto residual_out = [&](const std::vector<float>& out_norm, const auto& multiply) {
    if (out_norm.empty()) {
      multiply(x_.data(), /*accumulate=*/true);
      return;
    }
    multiply(delta_.data(), /*accumulate=*/false);
    cpu::rms_norm(delta_.data(), out_norm.data(), delta_.data(), tokens, h, eps, h, h, pool_.get());
    cpu::add(x_.data(), delta_.data(), tokens * h);
  };

  // Attention block.
  if (L.qkv.takes_quantized()) {  // norm and quantization in one pass
    cpu::rms_norm_quantize(x_.data(), L.attention_norm.data(), tokens, h, eps, quantized_, pool_.get());
    L.qkv.matmul(quantized_, qkv_.data(), /*accumulate=*/false, pool_.get());
  } else {
    cpu::rms_norm(x_.data(), L.attention_norm.data(), xn_.data(), tokens, h, eps, h, h, pool_.get());
    L.qkv.matmul(xn_.data(), qkv_.data(), tokens, /*accumulate=*/false, pool_.get());
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
  if (!L.q_norm.empty()) {
    for (int64_t t = 0; t < tokens; ++t) {
      cpu::rms_norm(q + t * qkv_w, L.q_norm.data(), q + t * qkv_w, spec_.num_heads, d, eps, d, d);
      cpu::rms_norm(k + t * qkv_w, L.k_norm.data(), k + t * qkv_w, spec_.num_kv_heads, d, eps, d, d);
    }
  }
  cpu::apply_rope(q, tokens, spec_.num_heads, d, qkv_w, positions.data(), *L.inv_freq, pool_.get());
  cpu::apply_rope(k, tokens, spec_.num_kv_heads, d, qkv_w, positions.data(), *L.inv_freq, pool_.get());

  const cpu::PagedKv kv{L.k_cache.data(), L.v_cache.data(), block_size_, spec_.num_kv_heads, d, kv_dtype_};
  std::vector<cpu::AttentionSequence> sequences;
  sequences.reserve(batch.sequences.size());
  int64_t offset = 0;
  for (const auto& s : batch.sequences) {
    const auto n = static_cast<int64_t>(s.tokens.size());
    cpu::kv_store(kv, s.block_table.data(), s.num_cached, n, k + offset * qkv_w, v + offset * qkv_w, qkv_w);
    sequences.push_back({s.block_table.data(), s.num_cached, n, q + offset * qkv_w, attn_.data() + offset * qw});
    offset += n;
  }
  // Every sequence's heads in one parallel loop (cpu::paged_attention is the reference).
  cpu::paged_attention_step(kv, sequences, qkv_w, spec_.num_heads, L.attention, pool_.get());
  residual_out(L.attention_out_norm, [&](float* out, bool accumulate) {
    L.o.matmul(attn_.data(), out, tokens, accumulate, pool_.get());
  });

  // MLP block.
  if (L.gate_up.takes_quantized()) {
    cpu::rms_norm_quantize(x_.data(), L.mlp_norm.data(), tokens, h, eps, quantized_, pool_.get());
    L.gate_up.matmul(quantized_, gate_up_.data(), /*accumulate=*/false, pool_.get());
  } else {
    cpu::rms_norm(x_.data(), L.mlp_norm.data(), xn_.data(), tokens, h, eps, h, h, pool_.get());
    L.gate_up.matmul(xn_.data(), gate_up_.data(), tokens, /*accumulate=*/false, pool_.get());
  }
  if (L.down.takes_quantized()) {  // act(gate)·up and quantization in one pass
    cpu::gated_activation_quantize(gate_up_.data(), tokens, inter, spec_.activation, quantized_, pool_.get());
    residual_out(L.mlp_out_norm, [&](float* out, bool accumulate) {
      L.down.matmul(quantized_, out, accumulate, pool_.get());
    });
  } else {
    cpu::gated_activation(gate_up_.data(), act_.data(), tokens, inter, spec_.activation, pool_.get());
    residual_out(L.mlp_out_norm, [&](float* out, bool accumulate) {
      L.down.matmul(act_.data(), out, tokens, accumulate, pool_.get());
    });
  }
}

}  // namespace troupe
