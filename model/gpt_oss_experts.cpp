#include "model/gpt_oss_experts.hpp"

#include <cstring>

#include "common/error.hpp"

namespace troupe {
namespace {

using Buffer = std::vector<std::byte>;

// The shape a fused tensor must have, or a ModelError naming what it has.
const TensorView* expect(const std::map<std::string, TensorView>& tensors, const std::string& name,
                         const std::vector<int64_t>& shape) {
  auto it = tensors.find(name);
  if (it == tensors.end()) return nullptr;
  if (it->second.shape != shape) {
    const auto text = [](const std::vector<int64_t>& dims) {
      std::string s;
      for (int64_t d : dims) s += (s.empty() ? "[" : ", ") + std::to_string(d);
      return s + "]";
    };
    throw ModelError(it->second.file + ": tensor '" + name + "' has shape " + text(it->second.shape) + ", expected " +
                     text(shape));
  }
  return &it->second;
}

class Splitter {
 public:
  Splitter(std::map<std::string, TensorView>& tensors, std::vector<std::shared_ptr<const Buffer>>& owned)
      : tensors_(tensors), owned_(owned) {}

  // A new tensor of `dtype` and `shape` whose bytes `fill` writes.
  template <class Fill>
  void add(const std::string& name, const TensorView& from, DType dtype, std::vector<int64_t> shape, Fill fill) {
    TensorView t;
    t.name = name + " (from " + from.name + ")";
    t.file = from.file;
    t.dtype = dtype;
    t.shape = std::move(shape);
    auto bytes = std::make_shared<Buffer>(static_cast<std::size_t>(dtype_bytes_for(dtype, t.elements())));
    fill(bytes->data());
    t.data = std::span<const std::byte>(bytes->data(), bytes->size());
    owned_.push_back(std::move(bytes));
    tensors_[name] = std::move(t);
  }

 private:
  std::map<std::string, TensorView>& tensors_;
  std::vector<std::shared_ptr<const Buffer>>& owned_;
};

// An MXFP4 row in GGML's layout from Hugging Face's: per 32-value block the scale byte, then byte i
// holding element i (low nibble) and element i + 16 (high nibble), where Hugging Face's byte i holds
// elements 2i (low) and 2i + 1 (high).
void mxfp4_row(const std::byte* blocks, const std::byte* scales, int64_t n_blocks, std::byte* out) {
  for (int64_t b = 0; b < n_blocks; ++b, out += 17) {
    const auto* in = reinterpret_cast<const std::uint8_t*>(blocks + b * 16);
    std::uint8_t value[32];
    for (int i = 0; i < 16; ++i) {
      value[2 * i] = in[i] & 0x0F;
      value[2 * i + 1] = in[i] >> 4;
    }
    out[0] = scales[b];
    for (int i = 0; i < 16; ++i) out[1 + i] = static_cast<std::byte>(value[i] | (value[i + 16] << 4));
  }
}

}  // namespace

void split_gpt_oss_experts(const ModelSpec& spec, std::map<std::string, TensorView>& tensors,
                           std::vector<std::shared_ptr<const std::vector<std::byte>>>& owned) {
  if (!spec.moe) return;
  const int64_t E = spec.moe->num_experts, I = spec.moe->intermediate_size, H = spec.hidden_size;
  Splitter split(tensors, owned);
  for (int64_t layer = 0; layer < spec.num_layers; ++layer) {
    const std::string p = "model.layers." + std::to_string(layer) + ".mlp.experts.";
    const auto expert = [&](int64_t e, const char* part) { return p + std::to_string(e) + "." + part + ".weight"; };

    if (const TensorView* w = expect(tensors, p + "gate_up_proj", {E, H, 2 * I})) {
      // Float: transposed to [rows, cols], gate and up de-interleaved; element size kept.
      const auto size = static_cast<std::size_t>(dtype_bytes_for(w->dtype, 1));
      for (int64_t e = 0; e < E; ++e) {
        for (int64_t which = 0; which < 2; ++which) {
          split.add(expert(e, which == 0 ? "gate_proj" : "up_proj"), *w, w->dtype, {I, H}, [&](std::byte* out) {
            for (int64_t j = 0; j < I; ++j) {
              for (int64_t k = 0; k < H; ++k) {
                std::memcpy(out + (j * H + k) * size, w->data.data() + ((e * H + k) * 2 * I + 2 * j + which) * size, size);
              }
            }
          });
        }
      }
      tensors.erase(p + "gate_up_proj");
    } else if (const TensorView* blocks = expect(tensors, p + "gate_up_proj_blocks", {E, 2 * I, H / 32, 16})) {
      const TensorView* scales = expect(tensors, p + "gate_up_proj_scales", {E, 2 * I, H / 32});
      if (scales == nullptr || blocks->dtype != DType::U8 || scales->dtype != DType::U8 || H % 32 != 0) {
        throw ModelError(blocks->file + ": " + p + "gate_up_proj_blocks without U8 _scales of [" + std::to_string(E) +
                         ", " + std::to_string(2 * I) + ", " + std::to_string(H / 32) + "]");
      }
      for (int64_t e = 0; e < E; ++e) {
        for (int64_t which = 0; which < 2; ++which) {
          split.add(expert(e, which == 0 ? "gate_proj" : "up_proj"), *blocks, DType::MXFP4, {I, H}, [&](std::byte* out) {
            for (int64_t j = 0; j < I; ++j) {
              const int64_t row = e * 2 * I + 2 * j + which;
              mxfp4_row(blocks->data.data() + row * (H / 32) * 16, scales->data.data() + row * (H / 32), H / 32,
                        out + j * (H / 32) * 17);
            }
          });
        }
      }
      tensors.erase(p + "gate_up_proj_blocks");
      tensors.erase(p + "gate_up_proj_scales");
    }

    if (const TensorView* w = expect(tensors, p + "down_proj", {E, I, H})) {
      const auto size = static_cast<std::size_t>(dtype_bytes_for(w->dtype, 1));
      for (int64_t e = 0; e < E; ++e) {
        split.add(expert(e, "down_proj"), *w, w->dtype, {H, I}, [&](std::byte* out) {
          for (int64_t h = 0; h < H; ++h) {
            for (int64_t j = 0; j < I; ++j) {
              std::memcpy(out + (h * I + j) * size, w->data.data() + ((e * I + j) * H + h) * size, size);
            }
          }
        });
      }
      tensors.erase(p + "down_proj");
    } else if (const TensorView* blocks = expect(tensors, p + "down_proj_blocks", {E, H, I / 32, 16})) {
      const TensorView* scales = expect(tensors, p + "down_proj_scales", {E, H, I / 32});
      if (scales == nullptr || blocks->dtype != DType::U8 || scales->dtype != DType::U8 || I % 32 != 0) {
        throw ModelError(blocks->file + ": " + p + "down_proj_blocks without U8 _scales of [" + std::to_string(E) + ", " +
                         std::to_string(H) + ", " + std::to_string(I / 32) + "]");
      }
      for (int64_t e = 0; e < E; ++e) {
        split.add(expert(e, "down_proj"), *blocks, DType::MXFP4, {H, I}, [&](std::byte* out) {
          for (int64_t h = 0; h < H; ++h) {
            const int64_t row = e * H + h;
            mxfp4_row(blocks->data.data() + row * (I / 32) * 16, scales->data.data() + row * (I / 32), I / 32,
                      out + h * (I / 32) * 17);
          }
        });
      }
      tensors.erase(p + "down_proj_blocks");
      tensors.erase(p + "down_proj_scales");
    }

    // Biases: gate|up de-interleaved into two stacked [E, inter]; down's is renamed.
    if (const TensorView* b = expect(tensors, p + "gate_up_proj_bias", {E, 2 * I})) {
      const auto size = static_cast<std::size_t>(dtype_bytes_for(b->dtype, 1));
      for (int64_t which = 0; which < 2; ++which) {
        split.add(p + (which == 0 ? "gate_proj.bias" : "up_proj.bias"), *b, b->dtype, {E, I}, [&](std::byte* out) {
          for (int64_t e = 0; e < E; ++e) {
            for (int64_t j = 0; j < I; ++j) {
              std::memcpy(out + (e * I + j) * size, b->data.data() + (e * 2 * I + 2 * j + which) * size, size);
            }
          }
        });
      }
      tensors.erase(p + "gate_up_proj_bias");
    }
    if (auto it = tensors.find(p + "down_proj_bias"); it != tensors.end()) {
      tensors[p + "down_proj.bias"] = it->second;
      tensors.erase(p + "down_proj_bias");
    }
  }
}

}  // namespace troupe
