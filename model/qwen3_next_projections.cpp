#include "model/qwen3_next_projections.hpp"

#include <algorithm>
#include <utility>

#include "common/error.hpp"

namespace troupe {
namespace {

using Buffer = std::vector<std::byte>;
using Runs = std::vector<std::pair<int64_t, int64_t>>;  // (first row, rows) of the fused tensor

// A new tensor `name` of `from`'s rows, run after run.
void add_rows(std::map<std::string, TensorView>& tensors, std::vector<std::shared_ptr<const Buffer>>& owned,
              const std::string& name, const TensorView& from, const Runs& runs) {
  const auto row_bytes = static_cast<std::size_t>(dtype_bytes_for(from.dtype, from.row_length()));
  int64_t rows = 0;
  for (const auto& run : runs) rows += run.second;
  auto bytes = std::make_shared<Buffer>(static_cast<std::size_t>(rows) * row_bytes);
  std::byte* out = bytes->data();
  for (const auto& [first, count] : runs) {
    out = std::copy_n(from.data.data() + static_cast<std::size_t>(first) * row_bytes,
                      static_cast<std::size_t>(count) * row_bytes, out);
  }
  TensorView t = from;
  t.name = name + " (rows of " + from.name + ")";
  t.shape = {rows, from.row_length()};
  t.data = std::span<const std::byte>(bytes->data(), bytes->size());
  owned.push_back(std::move(bytes));
  tensors[name] = std::move(t);
}

// The fused tensor `name`, checked to have `rows` rows of `hidden`; nullptr when absent.
const TensorView* fused(const std::map<std::string, TensorView>& tensors, const std::string& name, int64_t rows,
                        int64_t hidden) {
  const auto it = tensors.find(name);
  if (it == tensors.end()) return nullptr;
  const TensorView& t = it->second;
  if (t.shape.size() != 2 || t.shape[0] != rows || t.shape[1] != hidden) {
    std::string shape;
    for (int64_t d : t.shape) shape += (shape.empty() ? "[" : ", ") + std::to_string(d);
    throw ModelError(t.file + ": tensor '" + t.name + "' has shape " + shape + "], expected [" + std::to_string(rows) +
                     ", " + std::to_string(hidden) + "] (Qwen3-Next's projections fused per key head)");
  }
  return &t;
}

}  // namespace

void split_qwen3_next_projections(const ModelSpec& spec, std::map<std::string, TensorView>& tensors,
                                  std::vector<std::shared_ptr<const std::vector<std::byte>>>& owned) {
  if (!spec.delta_net) return;
  const DeltaNetSpec& d = *spec.delta_net;
  const int64_t K = d.k_heads, r = d.v_heads / d.k_heads, dk = d.k_dim, dv = d.v_dim;
  for (int64_t layer = 0; layer < spec.num_layers; ++layer) {
    if (spec.mixer(layer) != Mixer::GatedDeltaNet) continue;
    const std::string p = "model.layers." + std::to_string(layer) + ".linear_attn.";
    const int64_t per_head = 2 * dk + 2 * r * dv;
    if (const TensorView* qkvz = fused(tensors, p + "in_proj_qkvz.weight", K * per_head, spec.hidden_size)) {
      Runs q, k, v, z;
      for (int64_t h = 0; h < K; ++h) {
        q.emplace_back(h * per_head, dk);
        k.emplace_back(h * per_head + dk, dk);
        v.emplace_back(h * per_head + 2 * dk, r * dv);
        z.emplace_back(h * per_head + 2 * dk + r * dv, r * dv);
      }
      Runs qkv = q;
      qkv.insert(qkv.end(), k.begin(), k.end());
      qkv.insert(qkv.end(), v.begin(), v.end());
      add_rows(tensors, owned, p + "in_proj_qkv.weight", *qkvz, qkv);
      add_rows(tensors, owned, p + "in_proj_z.weight", *qkvz, z);
      tensors.erase(p + "in_proj_qkvz.weight");
    }
    if (const TensorView* ba = fused(tensors, p + "in_proj_ba.weight", K * 2 * r, spec.hidden_size)) {
      Runs b, a;
      for (int64_t h = 0; h < K; ++h) {
        b.emplace_back(h * 2 * r, r);
        a.emplace_back(h * 2 * r + r, r);
      }
      add_rows(tensors, owned, p + "in_proj_b.weight", *ba, b);
      add_rows(tensors, owned, p + "in_proj_a.weight", *ba, a);
      tensors.erase(p + "in_proj_ba.weight");
    }
  }
}

}  // namespace troupe
