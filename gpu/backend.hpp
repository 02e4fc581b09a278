#pragma once
// The one interface every compute backend implements. A backend owns the model weights and the
// paged KV cache on its device and runs one forward step over a batch of sequences, each at its
// own position: prefill chunks and single decode tokens mix freely in one step.
//
// KV cache paging: the cache is `kv_num_blocks()` blocks of `kv_block_size()` token slots (per
// layer, keys and values). A sequence's block table lists the blocks holding its positions in
// order: position p lives in slot p % block_size of block block_table[p / block_size]. Which
// blocks a sequence owns is decided outside the backend (pipeline/KvBlockManager); the backend
// only reads and writes the slots it is told to.
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "gpu/communicator.hpp"
#include "model/model_files.hpp"
#include "model/model_spec.hpp"

namespace troupe {

struct SequenceStep {
  std::vector<int32_t> tokens;       // new tokens to run this step (a prefill chunk or one decode token)
  int64_t num_cached = 0;            // tokens already in the cache = position of tokens[0]
  std::vector<int32_t> block_table;  // blocks covering positions [0, num_cached + tokens.size())
  bool all_logits = false;           // logits for every new token, not only the last
  // A model with per-sequence state besides the KV cache (ModelSpec::has_sequence_state: LFM2's
  // convolutions) keeps it in slot `state_slot`, a small index the caller gives each live sequence
  // (the executor: from its first step until it is released) and no two sequences of a step share.
  // The sequence's first step (num_cached 0) starts from a zero state; -1: no state (other models).
  int32_t state_slot = -1;
};

struct StepBatch {
  std::vector<SequenceStep> sequences;
  int64_t total_tokens() const;
  // Each sequence's first row among the step's tokens (its tokens' rows follow the sequences before it).
  std::vector<int64_t> first_token_rows() const;
};

// Row-major [rows, vocab] float32 logits; sequence i's rows start at first_row[i] (one row per
// sequence unless it asked for all_logits).
struct StepLogits {
  int64_t vocab = 0;
  std::vector<float> values;
  std::vector<int64_t> first_row;
  const float* row(int64_t r) const { return values.data() + r * vocab; }
};

struct BackendOptions {
  std::string device = "auto";      // auto | cpu | cuda | cuda:N
  int64_t kv_block_size = 16;       // token slots per KV block
  int64_t kv_cache_bytes = 0;       // 0: derive from max_kv_tokens
  int64_t max_kv_tokens = 0;        // 0: the model's max_position (one full-length sequence)
  int threads = 0;                  // CPU threads; 0: all cores
  std::string label;                // the `device` label of metrics ("cpu:1" for a second CPU engine); empty: default
  double gpu_memory_utilization = 0.9;
  // The KV cache's element type, vLLM's --kv-cache-dtype: "auto" (the model's float dtype; a
  // quantized GGUF's is float16, llama.cpp's default) or a name gpu/cpu/kv_dtype.hpp parses. The
  // CUDA backend's cache is its 16-bit --dtype: it takes auto or that name.
  std::string kv_cache_dtype = "auto";
  // CUDA: the 16-bit type of weights, GEMM inputs and the KV cache: "auto" or "bfloat16" (bf16,
  // float32's range), "float16" (fp16: 3 more mantissa bits, activations saturate at 65504). The
  // CPU backend computes in float32 whatever this says.
  std::string dtype = "auto";
  // CPU: keep GGUF quantized weights in their blocks (a fraction of the memory and of the bytes
  // a decode step reads) rather than widening them to float32.
  bool cpu_keep_quantized = true;
  // CPU: multiply kept blocks by activations quantized to int8 blocks (integer dot products, every
  // block type of gpu/cpu/int8_matmul.hpp, as llama.cpp does); false keeps the exact float32
  // activations (Q4_0/Q4_1/Q8_0 blocks, other types widened to float32) for parity tests.
  bool cpu_int8_activations = true;
  // CPU: the first CPU (of those the process may use) this backend's threads are pinned to; -1:
  // the first, and only when it runs more than one thread. Tensor-parallel ranks get their own.
  int cpu_first_core = -1;
  // Tensor parallelism (gpu/parallel/): this backend is rank communicator->rank() of a group of
  // communicator->size() and holds that rank's shard (model/tensor_split.hpp); null: the whole
  // model. Only the rank-0 backend's logits are the step's.
  std::shared_ptr<Communicator> communicator;
};

// Memory of the device a backend runs on, in bytes.
struct DeviceMemory {
  int64_t used = 0;   // by every process on the device (CPU: the host's memory in use)
  int64_t total = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string_view name() const = 0;  // "cpu", "cuda:0", ...
  virtual const ModelSpec& spec() const = 0;
  virtual int64_t kv_block_size() const = 0;
  virtual int64_t kv_num_blocks() const = 0;
  // Bytes held by weights and by the KV cache on the device, for telemetry.
  virtual int64_t weight_bytes() const = 0;
  virtual int64_t kv_cache_bytes() const = 0;
  // Bytes one sequence's recurrent state takes (ModelSpec::has_sequence_state), held from its first
  // step until it is released; 0 for a model without such state.
  virtual int64_t sequence_state_bytes() const { return 0; }
  // The device this backend computes on: "cpu", or "cuda:N"; the `device` label of its metrics.
  virtual std::string device_label() const { return std::string(name()); }
  // For CUDA devices, the index NVML knows the device by; -1 for the CPU.
  virtual int device_index() const { return -1; }
  virtual DeviceMemory device_memory() const;
  // Runs one step. Throws std::invalid_argument for a malformed batch (token id outside the
  // vocabulary, block table too short, block id out of range, position past max_position).
  virtual void forward(const StepBatch& batch, StepLogits& out) = 0;
};

// What validate_step throws: one sequence of the batch is malformed. The index lets a caller drop
// that sequence and run the others; `reason` says what is wrong without naming the batch position.
class InvalidSequence : public std::invalid_argument {
 public:
  InvalidSequence(std::size_t batch_index, const std::string& reason)
      : std::invalid_argument("sequence " + std::to_string(batch_index) + ": " + reason),
        batch_index_(batch_index),
        reason_(reason) {}
  std::size_t batch_index() const { return batch_index_; }
  const std::string& reason() const { return reason_; }

 private:
  std::size_t batch_index_;
  std::string reason_;
};

// What a backend throws when a step failed as a whole, through no fault of any sequence (a
// tensor-parallel rank failed): running its sequences apart would not help, so every sequence of
// the step fails with this message.
class StepFailure : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Checks a batch against the cache geometry and the model; shared by every backend so that all
// reject the same inputs with the same messages. Throws InvalidSequence for the first bad one.
void validate_step(const StepBatch& batch, const ModelSpec& spec, int64_t block_size, int64_t num_blocks);

// Number of KV blocks that fit `options` for a model whose cache stores one head's row of d values
// in `head_row_bytes(d)` bytes (bytes per block = planes · block_size · Σ over attention layers of
// their kv heads · head_row_bytes(their head dim)).
int64_t kv_blocks_for(const BackendOptions& options, const ModelSpec& spec,
                      const std::function<int64_t(int64_t head_dim)>& head_row_bytes);

}  // namespace troupe
