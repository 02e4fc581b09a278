#include "model/model_files.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cstdint>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "common/error.hpp"
#include "model/config_readers.hpp"

namespace troupe {

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

json::value read_json(const fs::path& p) {
  std::ifstream in(p);
  if (!in) throw ModelError("cannot read " + p.string());
  std::stringstream ss;
  ss << in.rdbuf();
  try {
    return json::parse(ss.str());
  } catch (const std::exception& e) {
    throw ModelError(p.string() + ": not valid JSON: " + e.what());
  }
}

// GGUF stores llama q/k projection rows permuted for the interleaved RoPE layout: within each
// head, file row 2j holds Hugging Face row j and file row 2j+1 holds row j + head_dim/2. `in` holds
// head-major rows of `row_bytes` bytes each (one element for a bias), of any element type.
template <typename T>
std::vector<T> unpermute_rope_rows(const std::vector<T>& in, int64_t heads, int64_t head_dim, int64_t row_bytes) {
  std::vector<T> out(in.size());
  const auto* src_base = reinterpret_cast<const std::byte*>(in.data());
  auto* dst_base = reinterpret_cast<std::byte*>(out.data());
  const int64_t half = head_dim / 2;
  for (int64_t h = 0; h < heads; ++h) {
    for (int64_t j = 0; j < half; ++j) {
      for (int64_t k = 0; k < 2; ++k) {
        const std::byte* src = src_base + ((h * head_dim) + 2 * j + k) * row_bytes;
        std::byte* dst = dst_base + ((h * head_dim) + j + k * half) * row_bytes;
        std::copy(src, src + row_bytes, dst);
      }
    }
  }
  return out;
}

}  // namespace

std::optional<std::string> hf_name_from_gguf(const std::string& gguf_name) {
  static const std::map<std::string, std::string> kGlobal{
      {"token_embd.weight", "model.embed_tokens.weight"},
      {"output_norm.weight", "model.norm.weight"},
      {"output.weight", "lm_head.weight"},
  };
  static const std::map<std::string, std::string> kLayer{
      {"attn_norm", "input_layernorm"},       {"ffn_norm", "post_attention_layernorm"},
      {"attn_q", "self_attn.q_proj"},         {"attn_k", "self_attn.k_proj"},
      {"attn_v", "self_attn.v_proj"},         {"attn_output", "self_attn.o_proj"},
      {"attn_q_norm", "self_attn.q_norm"},    {"attn_k_norm", "self_attn.k_norm"},
      {"ffn_gate", "mlp.gate_proj"},          {"ffn_up", "mlp.up_proj"},
      {"ffn_down", "mlp.down_proj"},
  };
  if (auto it = kGlobal.find(gguf_name); it != kGlobal.end()) return it->second;
  static const std::regex kBlock(R"(blk\.(\d+)\.(\w+)\.(weight|bias))");
  std::smatch m;
  if (std::regex_match(gguf_name, m, kBlock)) {
    if (auto it = kLayer.find(m[2].str()); it != kLayer.end()) {
      return "model.layers." + m[1].str() + "." + it->second + "." + m[3].str();
    }
  }
  return std::nullopt;
}

ModelFiles ModelFiles::open(const fs::path& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) return open_hf_directory(path);
  if (fs::is_regular_file(path, ec)) {
    if (path.extension() == ".gguf") return open_gguf(path);
    throw ModelError(path.string() + ": not a .gguf file or a model directory");
  }
  throw ModelError(path.string() + ": no such file or directory");
}

ModelFiles ModelFiles::open_hf_directory(const fs::path& dir) {
  ModelFiles m;
  m.path_ = dir;
  m.format_ = ModelFormat::Safetensors;
  const fs::path config = dir / "config.json";
  if (!fs::exists(config)) throw ModelError(dir.string() + ": no config.json in the model directory");
  m.spec_ = spec_from_hf_config_file(config);

  std::vector<fs::path> files;
  const fs::path index = dir / "model.safetensors.index.json";
  if (fs::exists(index)) {
    json::value v = read_json(index);
    const json::value* map = v.is_object() ? v.as_object().if_contains("weight_map") : nullptr;
    if (!map || !map->is_object()) throw ModelError(index.string() + ": no \"weight_map\" object");
    std::set<std::string> unique;
    for (const auto& [name, file] : map->as_object()) {
      if (!file.is_string()) throw ModelError(index.string() + ": weight_map entry for " + std::string(name) + " is not a file name");
      unique.insert(std::string(file.as_string()));
    }
    for (const auto& f : unique) files.push_back(dir / f);
  } else if (fs::exists(dir / "model.safetensors")) {
    files.push_back(dir / "model.safetensors");
  } else {
    throw ModelError(dir.string() + ": no model.safetensors or model.safetensors.index.json");
  }
  for (const auto& f : files) {
    auto shard = std::make_shared<const SafetensorsFile>(f);
    for (const auto& t : shard->tensors()) {
      if (!m.tensors_.emplace(t.name, t).second) {
        throw ModelError(f.string() + ": tensor '" + t.name + "' also appears in another shard");
      }
    }
    m.shards_.push_back(std::move(shard));
  }
  return m;
}

ModelFiles ModelFiles::open_gguf(const fs::path& file) {
  ModelFiles m;
  m.path_ = file;
  m.format_ = ModelFormat::Gguf;
  m.gguf_ = std::make_shared<const GgufFile>(file);
  m.spec_ = spec_from_gguf(*m.gguf_);
  for (const auto& t : m.gguf_->tensors()) {
    if (auto hf = hf_name_from_gguf(t.name)) m.tensors_.emplace(*hf, t);
  }
  return m;
}

const TensorView* ModelFiles::find(const std::string& hf_name) const {
  auto it = tensors_.find(hf_name);
  return it == tensors_.end() ? nullptr : &it->second;
}

const TensorView& ModelFiles::tensor(const std::string& hf_name) const {
  if (const TensorView* t = find(hf_name)) return *t;
  throw ModelError(path_.string() + ": the model has no tensor " + hf_name + " (expected for a " +
                   std::string(architecture_name(spec_.arch)) + " model)");
}

void ModelFiles::check_shape(const TensorView& t, const std::vector<int64_t>& shape) const {
  if (t.shape != shape) {
    throw ModelError(t.file + ": tensor '" + t.name + "' has shape " + shape_string(t.shape) +
                     ", expected " + shape_string(shape));
  }
}

// The q/k heads whose rows a llama GGUF stores permuted, or 0 when `hf_name` is not one of them.
int64_t ModelFiles::permuted_rope_heads(const std::string& hf_name) const {
  if (format_ != ModelFormat::Gguf || spec_.arch != Architecture::Llama) return 0;
  if (hf_name.find("self_attn.q_proj.") != std::string::npos) return spec_.num_heads;
  if (hf_name.find("self_attn.k_proj.") != std::string::npos) return spec_.num_kv_heads;
  return 0;
}

std::vector<float> ModelFiles::load_f32(const std::string& hf_name, const std::vector<int64_t>& shape) const {
  const TensorView& t = tensor(hf_name);
  check_shape(t, shape);
  std::vector<float> values = tensor_to_f32(t);
  if (const int64_t heads = permuted_rope_heads(hf_name)) {
    const int64_t row_len = shape.size() == 2 ? shape[1] : 1;
    values = unpermute_rope_rows(values, heads, spec_.head_dim, row_len * static_cast<int64_t>(sizeof(float)));
  }
  return values;
}

void ModelFiles::release_pages(const std::string& hf_name) const {
  const TensorView& t = tensor(hf_name);
  static const auto page = static_cast<std::uintptr_t>(sysconf(_SC_PAGESIZE));
  const auto begin = reinterpret_cast<std::uintptr_t>(t.data.data());
  const std::uintptr_t first = (begin + page - 1) / page * page, last = (begin + t.data.size()) / page * page;
  // Advice only: a failure leaves the pages resident, which is merely what happens without it.
  if (last > first) madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);
}

StoredRows ModelFiles::load_stored(const std::string& hf_name, const std::vector<int64_t>& shape) const {
  const TensorView& t = tensor(hf_name);
  check_shape(t, shape);
  StoredRows rows{t.dtype, std::vector<std::byte>(t.data.begin(), t.data.end())};
  if (const int64_t heads = permuted_rope_heads(hf_name)) {
    const auto row_bytes = static_cast<int64_t>(dtype_bytes_for(t.dtype, t.row_length()));
    rows.bytes = unpermute_rope_rows(rows.bytes, heads, spec_.head_dim, row_bytes);
  }
  return rows;
}

}  // namespace troupe
