#pragma once
// A model on disk — a Hugging Face directory (config.json + safetensors, single or sharded) or a
// GGUF file — opened by mmap, with its ModelSpec and its weights under one naming scheme: the
// Hugging Face parameter names (model.layers.N.self_attn.q_proj.weight, ...), whatever the format.
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "model/gguf_file.hpp"
#include "model/model_family.hpp"
#include "model/model_spec.hpp"
#include "model/safetensors_file.hpp"

namespace troupe {

enum class ModelFormat { Safetensors, Gguf };

// A tensor's bytes as the file stores them (whole rows of blocks for quantized types), in Hugging
// Face row order.
struct StoredRows {
  DType dtype;
  std::vector<std::byte> bytes;
};

class ModelFiles {
 public:
  // `path` is a directory with config.json and model.safetensors (or model.safetensors.index.json
  // and its shards), or a .gguf file. Throws ModelError naming what is missing or wrong.
  static ModelFiles open(const std::filesystem::path& path);

  const ModelSpec& spec() const { return spec_; }
  ModelFormat format() const { return format_; }
  const std::filesystem::path& path() const { return path_; }
  // The GGUF file, for its tokenizer metadata; nullptr for safetensors models.
  const GgufFile* gguf() const { return gguf_.get(); }

  const TensorView* find(const std::string& hf_name) const;
  // Throws ModelError naming the model path and the missing tensor.
  const TensorView& tensor(const std::string& hf_name) const;

  // The tensor as float32, checked to have `shape` (outermost first). q_proj/k_proj weights and
  // biases of llama-architecture GGUF files are un-permuted back to the half-split RoPE layout, so
  // every backend applies one RoPE convention.
  std::vector<float> load_f32(const std::string& hf_name, const std::vector<int64_t>& shape) const;
  // The same tensor left in its stored type (rows un-permuted as above), for backends that
  // compute on quantized blocks directly.
  StoredRows load_stored(const std::string& hf_name, const std::vector<int64_t>& shape) const;

  // A tensor left where it is (the file's mapping, or ModelFiles' own buffer) with what keeps its
  // bytes alive once this ModelFiles is gone, for a backend that reads it in place rather than
  // copying it (an embedding table of which a step reads a row per token).
  struct MappedTensor {
    TensorView view;
    std::shared_ptr<const void> owner;
  };
  MappedTensor mapped(const std::string& hf_name) const;

  // Tells the kernel that the mapped pages of a tensor's data (those wholly inside it) are not
  // needed: a backend that copied the tensor calls this so that the weights are not resident twice
  // (its copy and the file's pages). The mapping stays valid; a later read faults the pages in again.
  void release_pages(const std::string& hf_name) const;

  // Forgets the tensors rearranged at load into buffers of ModelFiles' own (transposed, regrouped,
  // converted: GPT-2's Conv1D projections, Falcon's q|k|v, gpt-oss's experts, ...) and frees those
  // buffers, once every backend has copied what it needs: otherwise they stay resident beside the
  // backends' copies for the server's life (the file's own pages are released by release_pages). A later
  // find() of such a tensor gives nullptr. Returns the bytes freed.
  std::size_t drop_rearranged();

  // Hugging Face name -> file tensor, for inspection tools.
  const std::map<std::string, TensorView>& tensors() const { return tensors_; }

  // Serve contexts of at most `max_model_len` tokens (ModelSpec::limit_context). Call before
  // backends are made from spec().
  void limit_context(int64_t max_model_len) { spec_.limit_context(max_model_len); }

 private:
  ModelFiles() = default;
  static ModelFiles open_hf_directory(const std::filesystem::path& dir);
  static ModelFiles open_gguf(const std::filesystem::path& file);
  void check_shape(const TensorView& t, const std::vector<int64_t>& shape) const;
  void use_backend_names();  // the steps below, in order
  void split_fused_projections();
  void split_stacked_experts();
  void split_altup_projections();  // Gemma 3n's stacked stream projections (GGUF)
  void split_fused_experts();
  void squeeze_selection_biases();
  void split_latent_heads();  // model/latent_heads.hpp
  void stack_head_norms();
  void serve_xielu_params();  // GGUF only
  void falcon_gguf_norms();   // GGUF only
  void transpose_conv1d_weights();  // config.json checkpoints only (GPT-2)
  void regroup_qkv_by_group();      // config.json checkpoints only (GPT-NeoX, Falcon)
  void transpose_matrices(const std::string& name, int64_t matrices, const std::vector<int64_t>& shape);
  void split_rows(const std::string& fused, const std::vector<std::pair<std::string, int64_t>>& parts);
  int64_t permuted_rope_heads(const std::string& hf_name) const;

  std::filesystem::path path_;
  ModelFormat format_ = ModelFormat::Safetensors;
  ModelSpec spec_;
  std::vector<std::shared_ptr<const SafetensorsFile>> shards_;
  std::shared_ptr<const GgufFile> gguf_;
  std::map<std::string, TensorView> tensors_;
  // Bytes of tensors rearranged at load (gpt-oss's fused experts, Qwen3-Next's fused projections),
  // which no file maps.
  std::vector<std::shared_ptr<const std::vector<std::byte>>> owned_;
};

// The Hugging Face parameter name of a llama.cpp tensor name in a file of `family`; nullopt when
// the name has no counterpart. Families with sandwich norms (Gemma 3) call the pre-MLP norm
// ffn_norm; those with fused projections (Phi-3) store gate and up together as ffn_up.
std::optional<std::string> hf_name_from_gguf(const std::string& gguf_name, const ModelFamily& family);

}  // namespace troupe
