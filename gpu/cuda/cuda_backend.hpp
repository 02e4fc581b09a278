#pragma once
// The CUDA backend: 16-bit weights (bf16 by default, or fp16) with float32 accumulation, cuBLAS
// for every projection, the kernels of cuda_kernels.hpp for the rest, and a paged KV cache in
// device memory sized from the free memory under gpu_memory_utilization. forward() has exactly
// the CPU backend's semantics (logits copied back as float32); sample() (DeviceSampling) keeps
// the logits on the device and returns token ids only.
//
// Decode steps (one token per sequence, up to 256 sequences) replay CUDA graphs captured once
// per padded batch size (kGraphBatchSizes); other steps run eagerly. Steps larger than the
// activation buffers are split into sub-steps (gpu/cuda/step_plan.hpp).
//
// Thread use: one thread at a time (the executor's); every call selects the backend's device
// first, so that thread may differ from the constructing one. No CUDA header is included here.
#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include "gpu/backend.hpp"
#include "gpu/cuda/cuda_kernels.hpp"
#include "gpu/device_sampling.hpp"

namespace troupe {

struct CudaBackendOptions {
  int device = 0;                                           // CUDA device index
  cuda::StorageType weight_type = cuda::StorageType::BF16;  // weights, activations fed to GEMMs, KV cache
  bool cuda_graphs = true;                                  // replay graphs for decode steps
};

// Random weights generated on the device, for benchmarks and tests without model files.
struct RandomWeights {
  uint64_t seed = 1;
  float scale = 0.02f;  // matrices and biases uniform in [-scale, scale)
};

class CudaBackend final : public Backend, public DeviceSampling {
 public:
  // Padded batch sizes at which decode steps are captured as graphs.
  static constexpr std::array<int64_t, 9> kGraphBatchSizes{1, 2, 4, 8, 16, 32, 64, 128, 256};

  // Throws ConfigError when the device cannot hold the weights and at least one KV block (or the
  // KV size asked for), std::runtime_error for a failing CUDA call.
  CudaBackend(const ModelFiles& model, const BackendOptions& options, const CudaBackendOptions& cuda = {});
  CudaBackend(const ModelSpec& spec, const RandomWeights& weights, const BackendOptions& options,
              const CudaBackendOptions& cuda = {});
  ~CudaBackend() override;
  CudaBackend(const CudaBackend&) = delete;
  CudaBackend& operator=(const CudaBackend&) = delete;

  std::string_view name() const override;
  const ModelSpec& spec() const override;
  int64_t kv_block_size() const override;
  int64_t kv_num_blocks() const override;
  int64_t weight_bytes() const override;
  int64_t kv_cache_bytes() const override;
  int device_index() const override;
  DeviceMemory device_memory() const override;  // cudaMemGetInfo: used = total - free, every process
  void forward(const StepBatch& batch, StepLogits& out) override;

  bool sample(const StepBatch& batch, const std::vector<DeviceSamplingParams>& params, std::vector<int32_t>& tokens,
              std::vector<float>* logprobs = nullptr) override;

  // Graphs on or off from the next step (tests compare the two; captured graphs are kept).
  void set_cuda_graphs(bool enabled);
  // Number of batch sizes captured so far.
  int64_t captured_graphs() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace troupe
