#pragma once
// A model's weights in device memory, as the CUDA backend runs them: the matrices in a 16-bit
// StorageType (converted at load from the float32 that ModelFiles::load_f32 gives, which covers
// every safetensors dtype and dequantized GGUF), norm weights and biases in float32. Matrices
// keep PyTorch's [out, in] row-major layout; q, k, v are stacked into one [q + 2 kv, hidden]
// matrix and gate, up into one [2 intermediate, hidden], as the CPU backend stacks them. The
// tensors are the model's DecoderLayout (model/decoder_layout.hpp), the description both backends walk.
#include <cstdint>
#include <vector>

#include "gpu/cuda/cuda_kernels.hpp"
#include "gpu/cuda/device_buffer.hpp"
#include "model/model_files.hpp"
#include "model/tensor_split.hpp"

namespace troupe::cuda {

struct DeviceLayer {
  DeviceBuffer attention_norm, mlp_norm;          // float32 [hidden]
  DeviceBuffer attention_out_norm, mlp_out_norm;  // float32 [hidden]; empty without sandwich norms
  DeviceBuffer qkv;                               // storage [q_width + 2 kv_width, hidden] (a rank's heads)
  DeviceBuffer qkv_bias;                          // float32 [q_width + 2 kv_width]; empty without attention_bias
  DeviceBuffer q_norm, k_norm;                    // float32 [head_dim]; empty without qk_norm
  DeviceBuffer o;                                 // storage [hidden, q_width]
  DeviceBuffer gate_up;                           // storage [2 intermediate, hidden]: gate rows, then up rows
  DeviceBuffer down;                              // storage [hidden, intermediate]
};

struct DeviceWeights {
  StorageType type = StorageType::BF16;
  DeviceBuffer embed;       // storage [vocab, hidden]
  DeviceBuffer final_norm;  // float32 [hidden]
  DeviceBuffer lm_head;     // storage [vocab, hidden]; empty when tied to embed
  std::vector<DeviceLayer> layers;

  const void* head() const { return lm_head.data() != nullptr ? lm_head.data() : embed.data(); }
  int64_t bytes() const;
};

// Reads every tensor of `model` (checked shapes, as the CPU backend reads them) into the device:
// the part of it `shard` names (a tensor-parallel rank's; shard_for(spec, 0, 1) is the whole).
DeviceWeights load_device_weights(const ModelFiles& model, StorageType type, const RankShard& shard);

// Weights of the right shapes for `spec` filled on the device from a hash of `seed`: matrices
// and biases uniform in [-scale, scale), norm weights in [0.9, 1.1). For benchmarks and tests
// that need no files; nothing crosses from the host.
DeviceWeights random_device_weights(const ModelSpec& spec, StorageType type, uint64_t seed, float scale);

}  // namespace troupe::cuda
