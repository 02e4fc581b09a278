#include "gpu/cuda/cuda_weights.hpp"

#include <string>

#include "common/float16.hpp"
#include "gpu/cuda/cuda_check.cuh"
#include "model/decoder_layout.hpp"

namespace troupe::cuda {

namespace {

int64_t count(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

// Converts float32 values to `type` on the host in bounded chunks and copies them to `dst` at
// element offset `at`.
void upload_storage(DeviceBuffer& dst, int64_t at, const std::vector<float>& values, StorageType type) {
  constexpr std::size_t kChunk = 1 << 20;
  std::vector<uint16_t> narrow;
  for (std::size_t begin = 0; begin < values.size(); begin += kChunk) {
    const std::size_t end = std::min(values.size(), begin + kChunk);
    narrow.resize(end - begin);
    for (std::size_t i = begin; i < end; ++i) {
      narrow[i - begin] = type == StorageType::BF16 ? float_to_bf16(values[i]) : float_to_fp16(values[i]);
    }
    dst.upload(narrow.data(), static_cast<int64_t>(narrow.size() * sizeof(uint16_t)),
               (at + static_cast<int64_t>(begin)) * kStorageBytes);
  }
}

using Part = TensorPart;

std::vector<float> load_part(const ModelFiles& model, const Part& p) { return select_part(model.load_f32(p.name, p.shape), p); }

// A stacked storage matrix from parts loaded one after another.
DeviceBuffer load_matrix(const ModelFiles& model, const std::vector<Part>& parts, StorageType type) {
  std::vector<std::vector<float>> loaded;
  int64_t total = 0;
  for (const Part& p : parts) {
    loaded.push_back(load_part(model, p));
    total += static_cast<int64_t>(loaded.back().size());
  }
  DeviceBuffer buffer(total * kStorageBytes);
  int64_t at = 0;
  for (const auto& values : loaded) {
    upload_storage(buffer, at, values, type);
    at += static_cast<int64_t>(values.size());
  }
  return buffer;
}

// Float32 vectors loaded one after another (each its rows of the part), plus `offset` (a norm's
// stored w for (1 + w)).
DeviceBuffer load_f32_vector(const ModelFiles& model, const std::vector<Part>& parts, double offset = 0.0) {
  std::vector<float> all;
  for (const Part& p : parts) {
    const std::vector<float> v = load_part(model, p);
    all.insert(all.end(), v.begin(), v.end());
  }
  for (float& x : all) x += static_cast<float>(offset);
  DeviceBuffer buffer(static_cast<int64_t>(all.size() * sizeof(float)));
  buffer.upload(all.data(), buffer.bytes());
  return buffer;
}

}  // namespace

int64_t DeviceWeights::bytes() const {
  int64_t total = embed.bytes() + final_norm.bytes() + lm_head.bytes();
  for (const DeviceLayer& L : layers) {
    for (const DeviceBuffer* b : {&L.attention_norm, &L.mlp_norm, &L.attention_out_norm, &L.mlp_out_norm, &L.qkv,
                                  &L.qkv_bias, &L.q_norm, &L.k_norm, &L.o, &L.gate_up, &L.down}) {
      total += b->bytes();
    }
  }
  return total;
}

DeviceWeights load_device_weights(const ModelFiles& model, StorageType type, const RankShard& shard) {
  const ModelSpec& spec = model.spec();
  const int64_t h = spec.hidden_size, qw = spec.q_width(), kvw = spec.kv_width();
  const int64_t inter = spec.intermediate_size, d = spec.head_dim, vocab = spec.vocab_size;
  const double offset = spec.norm_weight_offset;
  const DecoderLayout layout = decoder_layout(spec);
  const std::vector<IndexRange> q_rows = shard.q_rows(d), kv_rows = shard.kv_rows(d), ffn{shard.intermediate},
                                vocab_rows{shard.vocab};
  DeviceWeights w;
  w.type = type;
  w.embed = load_matrix(model, {{layout.embedding, {vocab, h}, vocab_rows}}, type);
  w.final_norm = load_f32_vector(model, {{layout.final_norm, {h}}}, offset);
  if (!layout.lm_head.empty()) w.lm_head = load_matrix(model, {{layout.lm_head, {vocab, h}, vocab_rows}}, type);
  w.layers.resize(layout.layers.size());
  for (std::size_t i = 0; i < layout.layers.size(); ++i) {
    const LayerLayout& names = layout.layers[i];
    DeviceLayer& L = w.layers[i];
    L.attention_norm = load_f32_vector(model, {{names.attention_norm, {h}}}, offset);
    L.qkv = load_matrix(model, {{names.q, {qw, h}, q_rows}, {names.k, {kvw, h}, kv_rows}, {names.v, {kvw, h}, kv_rows}},
                        type);
    if (!names.q_bias.empty()) {
      L.qkv_bias = load_f32_vector(model, {{names.q_bias, {qw}, q_rows}, {names.k_bias, {kvw}, kv_rows},
                                           {names.v_bias, {kvw}, kv_rows}});
    }
    if (!names.q_norm.empty()) {
      L.q_norm = load_f32_vector(model, {{names.q_norm, {d}}}, offset);
      L.k_norm = load_f32_vector(model, {{names.k_norm, {d}}}, offset);
    }
    L.o = load_matrix(model, {{names.o, {h, qw}, {}, q_rows.front()}}, type);
    if (!names.attention_out_norm.empty()) L.attention_out_norm = load_f32_vector(model, {{names.attention_out_norm, {h}}}, offset);
    L.mlp_norm = load_f32_vector(model, {{names.mlp_norm, {h}}}, offset);
    L.gate_up = load_matrix(model, {{names.gate, {inter, h}, ffn}, {names.up, {inter, h}, ffn}}, type);
    L.down = load_matrix(model, {{names.down, {h, inter}, {}, shard.intermediate}}, type);
    if (!names.mlp_out_norm.empty()) L.mlp_out_norm = load_f32_vector(model, {{names.mlp_out_norm, {h}}}, offset);
  }
  return w;
}

DeviceWeights random_device_weights(const ModelSpec& spec, StorageType type, uint64_t seed, float scale) {
  const int64_t h = spec.hidden_size, qw = spec.q_width(), kvw = spec.kv_width();
  const int64_t inter = spec.intermediate_size, d = spec.head_dim, vocab = spec.vocab_size;
  uint64_t next_seed = seed * 1000003u;
  const auto matrix = [&](int64_t rows, int64_t cols) {
    DeviceBuffer b(rows * cols * kStorageBytes);
    fill_random(b.data(), type, rows * cols, ++next_seed, 0.0f, scale, nullptr);
    return b;
  };
  const auto vec = [&](int64_t n, float offset, float spread) {
    DeviceBuffer b(n * static_cast<int64_t>(sizeof(float)));
    fill_random_f32(b.as<float>(), n, ++next_seed, offset, spread, nullptr);
    return b;
  };
  DeviceWeights w;
  w.type = type;
  w.embed = matrix(vocab, h);
  w.final_norm = vec(h, 1.0f, 0.1f);
  if (!spec.tie_word_embeddings) w.lm_head = matrix(vocab, h);
  w.layers.resize(static_cast<std::size_t>(spec.num_layers));
  for (DeviceLayer& L : w.layers) {
    L.attention_norm = vec(h, 1.0f, 0.1f);
    L.mlp_norm = vec(h, 1.0f, 0.1f);
    if (spec.sandwich_norms) {
      L.attention_out_norm = vec(h, 1.0f, 0.1f);
      L.mlp_out_norm = vec(h, 1.0f, 0.1f);
    }
    L.qkv = matrix(qw + 2 * kvw, h);
    if (spec.attention_bias) L.qkv_bias = vec(qw + 2 * kvw, 0.0f, scale);
    if (spec.qk_norm) {
      L.q_norm = vec(d, 1.0f, 0.1f);
      L.k_norm = vec(d, 1.0f, 0.1f);
    }
    L.o = matrix(h, qw);
    L.gate_up = matrix(2 * inter, h);
    L.down = matrix(h, inter);
  }
  TROUPE_CUDA_CHECK(cudaDeviceSynchronize());
  return w;
}

}  // namespace troupe::cuda
