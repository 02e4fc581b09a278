#include "gpu/backend_factory.hpp"

#include <spdlog/spdlog.h>

#include <charconv>
#include <thread>

#include "common/error.hpp"
#include "gpu/cpu/cpu_backend.hpp"
#include "gpu/cpu/kv_dtype.hpp"
#include "gpu/cpu/shm_communicator.hpp"
#include "gpu/cpu/thread_pool.hpp"
#include "gpu/parallel/tensor_parallel_backend.hpp"
#include "gpu/device_probe.hpp"
#if TROUPE_WITH_CUDA
#include "gpu/cuda/cuda_backend.hpp"
#include "gpu/cuda/nccl_communicator.hpp"
#endif

namespace troupe {

namespace {

// Why the CUDA backend cannot run `spec`, or "" when it can (the CPU backend runs every model).
std::string cuda_unsupported(const ModelSpec& spec) {
  const auto lacks = [&](const std::string& what) {
    return "the CUDA backend does not run " + what + " (" + std::string(architecture_name(spec.arch)) +
           ") yet; the CPU backend does (--device cpu)";
  };
  if (spec.mla) return lacks("latent attention (DeepSeek-V2/V3, GLM-4.7-Flash)");
  if (spec.qk_norm_after_rope) return lacks("q/k norms after RoPE (Hunyuan)");
  if (spec.activation == Activation::Xielu) return lacks("the xIELU activation (Apertus)");
  if (spec.learned_positions) return lacks("learned absolute positions (GPT-2, StarCoder 1, OPT)");
  if (spec.activation == Activation::Gelu) return lacks("the exact GELU activation (GPT-NeoX, Falcon)");
  if (spec.activation == Activation::Relu) return lacks("the ReLU activation (OPT)");
  if (spec.norm_bias || spec.mlp_bias || spec.lm_head_bias) {
    return lacks("LayerNorms and projections with biases (StarCoder2, Phi-2, StableLM, GPT-NeoX, Falcon)");
  }
  if (spec.output_bias) return lacks("a bias on the attention output projection");
  if (spec.attention_sinks) return lacks("attention sinks (gpt-oss; Granite's sliding-window releases)");
  if (!spec.layer_chunk.empty() || spec.qk_norm_weightless || spec.attention_temperature.nope_layers_only) {
    return lacks("Llama 4's layers (chunked attention, weightless q/k norms, experts on scaled inputs)");
  }
  if (spec.attention_temperature.active()) {
    return lacks("Llama 4's attention temperature, which Ministral 3 applies past " +
                 std::to_string(spec.attention_temperature.original) + " tokens (a --max-model-len of at most that "
                 "needs none)");
  }
  if (spec.moe) return lacks("mixture-of-experts models");
  if (spec.short_conv) return lacks("short-convolution layers (LFM2)");
  if (spec.delta_net) return lacks("gated delta net layers (Qwen3.5, Qwen3-Next)");
  if (spec.attention_head_gate) return lacks("a gate per attention head (LFM3)");
  if (spec.altup_streams > 0 || spec.laurel_rank > 0 || !spec.layer_gate_cutoff.empty()) {
    return lacks("Gemma 3n's layers (AltUp's streams, LAuReL, Gaussian top-k gates)");
  }
  if (spec.varied_heads() || spec.value_norm || spec.layer_scalar) {
    return lacks("Gemma 4's layers (heads of two sizes, value norms, a scalar per layer)");
  }
  if (!spec.gated_mlp || !spec.layer_mlp.empty()) {
    return lacks("layers of one sublayer each or MLPs without a gate (Nemotron-H)");
  }
  if (spec.mamba) return lacks("Mamba-2 layers (Granite 4.0-H)");
  if (spec.qk_norm_whole || !spec.input_norms) {
    return lacks("layers without input norms or with q/k norms over every head (OLMo, EXAONE 4)");
  }
  if (spec.layer_norm || spec.parallel_block) return lacks("Cohere's layers (LayerNorm, attention and MLP in parallel)");
  return "";
}

std::unique_ptr<Backend> make_cuda_backend([[maybe_unused]] const ModelFiles& model,
                                           [[maybe_unused]] const BackendOptions& options, [[maybe_unused]] int index) {
#if TROUPE_WITH_CUDA
  if (const std::string why = cuda_unsupported(model.spec()); !why.empty()) {
    throw ConfigError("--device " + options.device + ": " + why);
  }
  CudaBackendOptions cuda;
  cuda.device = index;
  const bool fp16 = options.dtype == "float16" || options.dtype == "half";  // make_backend checked the name
  cuda.weight_type = fp16 ? cuda::StorageType::FP16 : cuda::StorageType::BF16;
  // The CUDA cache is stored in the weights' 16-bit type (cuda/attention_kernels.cu reads no other).
  const cpu::KvDtype cache = fp16 ? cpu::KvDtype::Float16 : cpu::KvDtype::BFloat16;
  if (options.kv_cache_dtype != "auto" && cpu::parse_kv_dtype(options.kv_cache_dtype) != cache) {
    throw ConfigError("--kv-cache-dtype " + options.kv_cache_dtype + ": the CUDA backend's KV cache is " +
                      cpu::kv_dtype_name(cache) + " (the --dtype of its weights); use auto or " +
                      cpu::kv_dtype_name(cache) + ", or --device cpu for " + options.kv_cache_dtype);
  }
  return std::make_unique<CudaBackend>(model, options, cuda);
#else
  // Unreachable: without the CUDA backend the probe never reports a device.
  throw ConfigError("--device " + options.device + ": this build of troupe has no CUDA backend");
#endif
}

// "cuda" -> 0, "cuda:N" -> N; anything else is a ConfigError.
int parse_cuda_index(const std::string& device) {
  if (device == "cuda") return 0;
  const std::string digits = device.substr(5);
  int index = -1;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), index);
  if (device.compare(0, 5, "cuda:") != 0 || digits.empty() || ec != std::errc() || end != digits.data() + digits.size() ||
      index < 0) {
    throw ConfigError("--device " + device + ": expected auto, cpu, cuda or cuda:N with N a device index");
  }
  return index;
}

}  // namespace

std::unique_ptr<Backend> make_backend(const ModelFiles& model, const BackendOptions& options) {
  const std::string& device = options.device;
  if (options.dtype != "auto" && options.dtype != "bfloat16" && options.dtype != "float16" && options.dtype != "half") {
    throw ConfigError("--dtype " + options.dtype + ": expected auto, bfloat16 or float16");
  }
  if (options.kv_cache_dtype != "auto") {
    try {
      cpu::parse_kv_dtype(options.kv_cache_dtype);
    } catch (const std::invalid_argument& e) {
      throw ConfigError(std::string("--kv-cache-dtype: ") + e.what());
    }
  }
  if (device == "cpu") return std::make_unique<CpuBackend>(model, options);
  if (device == "auto") {
    const CudaProbe& probe = probe_cuda_devices();
    const std::string unsupported = cuda_unsupported(model.spec());
    if (probe.device_count > 0 && unsupported.empty()) return make_cuda_backend(model, options, 0);
    if (probe.device_count > 0) {
      spdlog::warn("troupe: {}: using the CPU backend", unsupported);
    } else {
      spdlog::warn("troupe: no CUDA device ({}), using the CPU backend", probe.reason);
    }
    return std::make_unique<CpuBackend>(model, options);
  }
  if (device.rfind("cuda", 0) == 0) {
    const int index = parse_cuda_index(device);
    const CudaProbe& probe = probe_cuda_devices();
    if (probe.device_count == 0) {
      throw ConfigError("--device " + device + ": no CUDA device (" + probe.reason + "); use --device cpu or auto");
    }
    if (index >= probe.device_count) {
      throw ConfigError("--device " + device + ": no CUDA device " + std::to_string(index) + " (this machine has " +
                        std::to_string(probe.device_count) + ")");
    }
    return make_cuda_backend(model, options, index);
  }
  throw ConfigError("--device " + device + ": expected auto, cpu, cuda or cuda:N");
}

std::unique_ptr<Backend> make_tensor_parallel_backend(const ModelFiles& model, const BackendOptions& base, int size) {
  if (size < 1) throw ConfigError("--tensor-parallel-size " + std::to_string(size) + ": expected 1 or more");
  const bool cpu = base.device == "cpu" ||
                   (base.device == "auto" && (probe_cuda_devices().device_count == 0 || !cuda_unsupported(model.spec()).empty()));
  // CUDA ranks: `size` consecutive devices from the one `base` names, NCCL between them.
  std::vector<int> devices;
  std::vector<std::shared_ptr<Communicator>> communicators;
  if (cpu) {
    communicators = cpu::make_shm_communicators(size);
  } else {
    const int first = base.device == "auto" ? 0 : parse_cuda_index(base.device);
    const int count = probe_cuda_devices().device_count;
    if (first + size > count) {
      throw ConfigError("--tensor-parallel-size " + std::to_string(size) + " from cuda:" + std::to_string(first) +
                        " needs " + std::to_string(first + size) + " CUDA devices; this machine has " +
                        std::to_string(count));
    }
    for (int r = 0; r < size; ++r) devices.push_back(first + r);
#if TROUPE_WITH_CUDA
    communicators = cuda::make_nccl_communicators(devices);
#endif
  }
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int threads = std::max(1, (base.threads > 0 ? base.threads : cores) / size);
  const int first = std::max(0, base.cpu_first_core);
  std::vector<BackendOptions> ranks;
  for (int r = 0; r < size; ++r) {
    BackendOptions o = base;
    o.communicator = communicators[static_cast<std::size_t>(r)];
    if (cpu) {
      o.device = "cpu";
      o.threads = threads;
      // Each rank on cores of its own while they last; past that, wherever the kernel puts it.
      o.cpu_first_core = first + (r + 1) * threads <= cores ? first + r * threads : -1;
    } else {
      o.device = "cuda:" + std::to_string(devices[static_cast<std::size_t>(r)]);
    }
    ranks.push_back(o);
  }
  return std::make_unique<TensorParallelBackend>(model, ranks, [](const ModelFiles& m, const BackendOptions& o) {
    if (o.device != "cpu" || o.cpu_first_core < 0) return make_backend(m, o);
    // Built on a thread on the rank's first core: its weights and KV cache are first touched, and
    // so placed, in that core's memory (the rank's own NUMA node on a multi-socket machine).
    std::unique_ptr<Backend> rank;
    std::exception_ptr error;
    std::thread([&] {
      cpu::pin_current_thread_to_allowed(o.cpu_first_core);
      try {
        rank = make_backend(m, o);
      } catch (...) {
        error = std::current_exception();
      }
    }).join();
    if (error) std::rethrow_exception(error);
    return rank;
  });
}

}  // namespace troupe
