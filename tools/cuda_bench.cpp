// troupe-cuda-bench: decode throughput of the CUDA backend on random weights shaped like
// Qwen2.5-0.5B and Qwen2.5-7B. Prints the device-to-device copy bandwidth, then per model and
// concurrency (1, 16, 64, 256 sequences of a 128-token prompt) the decode output tokens/s
// (on-device greedy sampling, CUDA graphs, tokens back to the host every step, as the server
// runs), and the HBM roofline fraction: weight bytes x decode steps/s / copy bandwidth (every
// step reads every weight once; at 1 sequence steps/s is the single-stream tokens/s).
// Exits 2 with "no CUDA device" when none is present. `troupe-cuda-bench --probe` only reports
// whether the CUDA runtime sees a device (exit 0) or not (exit 2, with the runtime's reason).
// `--shape 0.5b|7b` and `--sequences N` narrow the run to one model and one concurrency (for a
// profiler such as ncu, whose --launch-skip then lands inside that model's decode steps).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <string>
#include <string_view>
#include <vector>

#include "gpu/device_probe.hpp"
#if TROUPE_WITH_CUDA
#include "gpu/cuda/bandwidth.hpp"
#include "gpu/cuda/cuda_backend.hpp"
#endif

namespace {

#if TROUPE_WITH_CUDA
using namespace troupe;

ModelSpec qwen2_shape(const char* name, int64_t layers, int64_t hidden, int64_t inter, int64_t heads, int64_t kv_heads,
                      int64_t vocab, bool tied) {
  ModelSpec s;
  s.arch = Architecture::Qwen2;
  s.name = name;
  s.num_layers = layers;
  s.hidden_size = hidden;
  s.intermediate_size = inter;
  s.num_heads = heads;
  s.num_kv_heads = kv_heads;
  s.head_dim = hidden / heads;
  s.vocab_size = vocab;
  s.max_position = 32768;
  s.rope.theta = 1e6;
  s.attention_bias = true;
  s.tie_word_embeddings = tied;
  return s;
}

constexpr int64_t kPrompt = 128, kWarmup = 4, kSteps = 32, kBlock = 16;

void bench_model(const ModelSpec& spec, double bandwidth, const std::vector<int64_t>& concurrencies) {
  const int64_t blocks_per_seq = (kPrompt + kWarmup + kSteps + kBlock - 1) / kBlock;
  BackendOptions options;
  options.kv_block_size = kBlock;
  options.max_kv_tokens = 256 * blocks_per_seq * kBlock;
  CudaBackend backend(spec, RandomWeights{}, options);
  const double weight_bytes = static_cast<double>(backend.weight_bytes());
  std::printf("%s: %.0f MiB of bf16 weights, %lld layers\n", spec.name.c_str(), weight_bytes / (1 << 20),
              static_cast<long long>(spec.num_layers));
  std::printf("  %-12s %14s %14s %12s %10s\n", "sequences", "tokens/s", "steps/s", "ms/step", "roofline");
  for (const int64_t concurrency : concurrencies) {
    StepBatch batch;
    for (int64_t s = 0; s < concurrency; ++s) {
      SequenceStep seq;
      seq.block_table.resize(static_cast<std::size_t>(blocks_per_seq));
      std::iota(seq.block_table.begin(), seq.block_table.end(), static_cast<int32_t>(s * blocks_per_seq));
      for (int64_t i = 0; i < kPrompt; ++i) seq.tokens.push_back(static_cast<int32_t>((s * 7919 + i * 31) % spec.vocab_size));
      batch.sequences.push_back(std::move(seq));
    }
    std::vector<DeviceSamplingParams> params(static_cast<std::size_t>(concurrency));  // greedy
    std::vector<int32_t> tokens;
    backend.sample(batch, params, tokens);  // prefill
    const auto step = [&] {
      for (std::size_t s = 0; s < batch.sequences.size(); ++s) {
        SequenceStep& seq = batch.sequences[s];
        seq.num_cached += static_cast<int64_t>(seq.tokens.size());
        seq.tokens = {tokens[s]};
      }
      backend.sample(batch, params, tokens);
    };
    for (int64_t i = 0; i < kWarmup; ++i) step();  // captures this size's graph
    const auto start = std::chrono::steady_clock::now();
    for (int64_t i = 0; i < kSteps; ++i) step();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double steps_per_s = static_cast<double>(kSteps) / seconds;
    std::printf("  %-12lld %14.1f %14.1f %12.3f %9.1f%%\n", static_cast<long long>(concurrency),
                steps_per_s * static_cast<double>(concurrency), steps_per_s, 1e3 / steps_per_s,
                100.0 * weight_bytes * steps_per_s / bandwidth);
  }
}
#endif

}  // namespace

int main(int argc, char** argv) {
  const bool probe_only = argc > 1 && std::string_view(argv[1]) == "--probe";
  std::string shape = "all";
  std::vector<int64_t> concurrencies{1, 16, 64, 256};
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view flag = argv[i];
    if (flag == "--shape") {
      shape = argv[i + 1];
    } else if (flag == "--sequences") {
      const long n = std::strtol(argv[i + 1], nullptr, 10);
      if (n < 1 || n > 256) {
        std::fprintf(stderr, "troupe-cuda-bench: --sequences takes 1..256, not %s\n", argv[i + 1]);
        return 1;
      }
      concurrencies = {n};
    }
  }
  if (shape != "all" && shape != "0.5b" && shape != "7b") {
    std::fprintf(stderr, "troupe-cuda-bench: --shape takes 0.5b or 7b, not %s\n", shape.c_str());
    return 1;
  }
  if (probe_only && troupe::cuda_device_available()) {
    std::printf("troupe-cuda-bench: %d CUDA device(s)\n", troupe::probe_cuda_devices().device_count);
    return 0;
  }
  if (!troupe::cuda_device_available()) {
    std::fprintf(stderr, "troupe-cuda-bench: no CUDA device (%s)\n", troupe::probe_cuda_devices().reason.c_str());
    return 2;
  }
#if TROUPE_WITH_CUDA
  try {
    const double bandwidth = troupe::cuda::device_copy_bandwidth(0, int64_t{1} << 30, 20);
    std::printf("device-to-device copy: %.1f GB/s (read + write, 1 GiB, median of 20)\n", bandwidth / 1e9);
    if (shape != "7b") {
      bench_model(qwen2_shape("Qwen2.5-0.5B-shaped", 24, 896, 4864, 14, 2, 151936, true), bandwidth, concurrencies);
    }
    if (shape != "0.5b") {
      bench_model(qwen2_shape("Qwen2.5-7B-shaped", 28, 3584, 18944, 28, 4, 152064, false), bandwidth, concurrencies);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "troupe-cuda-bench: %s\n", e.what());
    return 1;
  }
#endif
  return 0;
}
