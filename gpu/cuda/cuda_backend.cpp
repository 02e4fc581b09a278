#include "gpu/cuda/cuda_backend.hpp"

#include <algorithm>
#include <cstring>
#include <map>

#include "common/error.hpp"
#include "gpu/cuda/cuda_check.cuh"
#include "gpu/cuda/cuda_weights.hpp"
#include "gpu/cuda/device_buffer.hpp"
#include "gpu/cuda/step_plan.hpp"

namespace troupe {

using namespace cuda;

namespace {

// Fixed activation buffers: a step beyond these is split into sub-steps (step_plan.hpp).
constexpr StepLimits kLimits{/*max_tokens=*/2048, /*max_sequences=*/256, /*max_rows=*/256};
constexpr int64_t kCublasWorkspaceBytes = int64_t{32} << 20;
// Kept free beyond the weights, activations and KV cache: graph executables, cuBLAS's own
// allocations and the driver's growth.
constexpr int64_t kDeviceReserveBytes = int64_t{512} << 20;

cudaDataType cuda_data_type(StorageType t) { return t == StorageType::BF16 ? CUDA_R_16BF : CUDA_R_16F; }

// Offsets (in int32 elements) of the step metadata segments in the metadata buffers. The small
// per-token/per-sequence segments sit at fixed places so captured graphs keep valid pointers.
struct MetaLayout {
  int64_t ids, positions, token_seq, slots, logit_rows, table_offsets, tables, total;
  explicit MetaLayout(int64_t max_blocks_per_seq) {
    const int64_t w = kLimits.max_tokens;
    ids = 0;
    positions = w;
    token_seq = 2 * w;
    slots = 3 * w;
    logit_rows = 4 * w;
    table_offsets = logit_rows + kLimits.max_rows;
    tables = table_offsets + kLimits.max_sequences;
    total = tables + kLimits.max_sequences * max_blocks_per_seq;
  }
};

}  // namespace

struct CudaBackend::Impl {
  ModelSpec spec;
  // Tensor parallelism: this backend's part of the model (the whole without a communicator), the
  // local head, FFN and vocabulary counts its weights, activations and KV cache hold.
  std::shared_ptr<Communicator> comm;
  RankShard shard;
  int64_t heads = 0, kv_heads = 0, inter = 0, local_vocab = 0;
  int device = 0;
  std::string name;
  StorageType type = StorageType::BF16;
  bool graphs_enabled = true;
  int64_t block_size = 0;
  int64_t num_blocks = 0;  // blocks the scheduler may use; block num_blocks is the padding block
  int64_t max_blocks_per_seq = 0;
  cudaStream_t stream = nullptr;
  cublasHandle_t cublas = nullptr;
  DeviceWeights weights;
  DeviceBuffer inv_freq, local_inv_freq;  // double [head_dim / 2]: the global and the sliding layers' RoPE
  DeviceBuffer cublas_workspace;
  // Activations (see run_model for their shapes).
  DeviceBuffer x, delta, xn, qkv, attn, gate_up, act, final_xn, logits;
  DeviceBuffer full_logits;  // a group's rank 0: every rank's vocabulary columns, gathered
  DeviceBuffer kv_cache;  // per layer: keys then values, each [(num_blocks + 1) * block_size, kv_width]
  MetaLayout layout{1};
  DeviceBuffer meta;
  PinnedBuffer meta_host;
  DeviceBuffer row_params, sampled_tokens, sampled_logprobs;
  PinnedBuffer row_params_host, sampled_host;
  std::map<int64_t, cudaGraphExec_t> graphs;

  ~Impl() {
    cudaSetDevice(device);
    for (auto& [size, exec] : graphs) cudaGraphExecDestroy(exec);
    if (cublas != nullptr) cublasDestroy(cublas);
    if (stream != nullptr) cudaStreamDestroy(stream);
  }

  void init(const BackendOptions& options, const CudaBackendOptions& cuda_options) {
    device = cuda_options.device;
    type = cuda_options.weight_type;
    graphs_enabled = cuda_options.cuda_graphs;
    block_size = options.kv_block_size;
    name = "cuda:" + std::to_string(device);
    if (block_size <= 0) throw std::invalid_argument("KV block size must be positive");
    if (spec.head_dim > kMaxHeadDim || spec.head_dim % 2 != 0) {
      throw ModelError("CUDA backend: head_dim " + std::to_string(spec.head_dim) + " is not an even number up to " +
                       std::to_string(kMaxHeadDim));
    }
    if (spec.num_kv_heads <= 0 || spec.num_heads % spec.num_kv_heads != 0) {
      throw ModelError("CUDA backend: attention heads are not a multiple of KV heads");
    }
    comm = options.communicator;
    const int ranks = comm ? comm->size() : 1;
    shard = shard_for(spec, comm ? comm->rank() : 0, ranks);
    heads = shard.num_heads();
    kv_heads = shard.num_kv_heads();
    inter = shard.intermediate.size();
    local_vocab = shard.vocab.size();
    TROUPE_CUDA_CHECK(cudaSetDevice(device));
    TROUPE_CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
    if (comm) comm->bind_stream(stream);
    TROUPE_CUBLAS_CHECK(cublasCreate(&cublas));
    TROUPE_CUBLAS_CHECK(cublasSetStream(cublas, stream));
    // A workspace of our own: cuBLAS then never allocates inside a captured graph.
    cublas_workspace = DeviceBuffer(kCublasWorkspaceBytes);
    TROUPE_CUBLAS_CHECK(cublasSetWorkspace(cublas, cublas_workspace.data(), kCublasWorkspaceBytes));
  }

  void allocate_workspace() {
    const int64_t w = kLimits.max_tokens, r = kLimits.max_rows, h = spec.hidden_size, d = spec.head_dim;
    const int64_t qkv_w = (heads + 2 * kv_heads) * d;
    constexpr int64_t f = sizeof(float);
    x = DeviceBuffer(w * h * f);
    delta = DeviceBuffer(w * h * f);
    xn = DeviceBuffer(w * h * kStorageBytes);
    qkv = DeviceBuffer(w * qkv_w * f);
    attn = DeviceBuffer(w * heads * d * kStorageBytes);
    gate_up = DeviceBuffer(w * 2 * inter * f);
    act = DeviceBuffer(w * inter * kStorageBytes);
    final_xn = DeviceBuffer(r * h * kStorageBytes);
    logits = DeviceBuffer(r * local_vocab * f);
    if (shard.size > 1 && shard.rank == 0) full_logits = DeviceBuffer(r * spec.vocab_size * f);

    max_blocks_per_seq = (spec.max_position + block_size - 1) / block_size;
    layout = MetaLayout(max_blocks_per_seq);
    meta = DeviceBuffer(layout.total * static_cast<int64_t>(sizeof(int32_t)));
    meta_host = PinnedBuffer(meta.bytes());
    row_params = DeviceBuffer(r * static_cast<int64_t>(sizeof(RowSampling)));
    row_params_host = PinnedBuffer(row_params.bytes());
    sampled_tokens = DeviceBuffer(r * static_cast<int64_t>(sizeof(int32_t)));
    sampled_logprobs = DeviceBuffer(r * static_cast<int64_t>(sizeof(float)));
    sampled_host = PinnedBuffer(r * static_cast<int64_t>(sizeof(int32_t) + sizeof(float)));

    const auto upload_freqs = [](const std::vector<double>& freqs) {
      DeviceBuffer b(static_cast<int64_t>(freqs.size() * sizeof(double)));
      b.upload(freqs.data(), b.bytes());
      return b;
    };
    inv_freq = upload_freqs(rope_inverse_frequencies(spec.rope, spec.rotary_dims()));
    if (spec.local_rope) local_inv_freq = upload_freqs(rope_inverse_frequencies(*spec.local_rope, spec.rotary_dims()));
  }

  // The layer's RoPE frequencies and attention window, as DecoderLayout and ModelSpec give them.
  const double* layer_inv_freq(int64_t l) const {
    return spec.window(l) > 0 && spec.local_rope ? local_inv_freq.as<double>() : inv_freq.as<double>();
  }
  AttentionWindow layer_window(int64_t l) const {
    return AttentionWindow{static_cast<float>(spec.attention_scale_of(l)), spec.window(l),
                           static_cast<float>(spec.attention_softcap)};
  }

  // KV blocks: what the options ask for, or what fits in free memory x utilization.
  void allocate_kv_cache(const BackendOptions& options) {
    const int64_t bytes_per_block = 2 * spec.num_layers * block_size * kv_heads * spec.head_dim * kStorageBytes;
    std::size_t free_bytes = 0, total_bytes = 0;
    TROUPE_CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
    const auto free_now = static_cast<int64_t>(free_bytes), total = static_cast<int64_t>(total_bytes);
    // Everyone's use so far counts against utilization x total, as in vLLM.
    const int64_t budget = free_now - static_cast<int64_t>(static_cast<double>(total) * (1.0 - options.gpu_memory_utilization)) -
                           kDeviceReserveBytes;
    const int64_t fits = std::max<int64_t>(0, budget / bytes_per_block - 1);  // one block is the padding block
    if (options.kv_cache_bytes > 0 || options.max_kv_tokens > 0) {
      // From the whole model's geometry: every rank of a group gets the same number of blocks.
      num_blocks = kv_blocks_for(options, spec, [](int64_t d) { return d * kStorageBytes; });
      if (num_blocks > fits) {
        throw ConfigError(name + ": a KV cache of " + std::to_string(num_blocks) + " blocks (" +
                          std::to_string(num_blocks * bytes_per_block >> 20) + " MiB) does not fit; " +
                          std::to_string(fits) + " blocks fit under --gpu-memory-utilization " +
                          std::to_string(options.gpu_memory_utilization));
      }
    } else {
      num_blocks = fits;
    }
    if (num_blocks < 1) {
      throw ConfigError(name + ": no device memory left for the KV cache after " +
                        std::to_string(weights.bytes() >> 20) + " MiB of weights (free " + std::to_string(free_now >> 20) +
                        " MiB of " + std::to_string(total >> 20) + " MiB; raise --gpu-memory-utilization)");
    }
    if ((num_blocks + 1) * block_size >= (int64_t{1} << 31)) {
      num_blocks = ((int64_t{1} << 31) - 1) / block_size - 1;  // slots are int32
    }
    kv_cache = DeviceBuffer((num_blocks + 1) * bytes_per_block);
    kv_cache.fill_bytes(0);
  }

  DeviceKv layer_kv(int64_t layer) const {
    const int64_t half = (num_blocks + 1) * block_size * kv_heads * spec.head_dim * kStorageBytes;
    char* base = kv_cache.as<char>() + 2 * layer * half;
    return DeviceKv{base, base + half, type, block_size, kv_heads, spec.head_dim};
  }

  // C[m, n] (float32) = A[m, k] . W[n, k]^T, A and W in storage type. Row-major C^T is the
  // column-major [n, m] product W . A^T, which is what cuBLAS is asked for.
  // c = alpha · a·wᵀ (alpha: Granite's residual multiplier on the output projections, 1 / its
  // logit scale on the head; 1 otherwise).
  void gemm(const void* a, const void* w, float* c, int64_t m, int64_t n, int64_t k, float alpha = 1.0f) {
    if (m == 0) return;
    const float beta = 0.0f;
    const cudaDataType t = cuda_data_type(type);
    TROUPE_CUBLAS_CHECK(cublasGemmEx(cublas, CUBLAS_OP_T, CUBLAS_OP_N, static_cast<int>(n), static_cast<int>(m),
                                     static_cast<int>(k), &alpha, w, t, static_cast<int>(k), a, t, static_cast<int>(k),
                                     &beta, c, CUDA_R_32F, static_cast<int>(n), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
  }

  const int32_t* meta_at(int64_t offset) const { return meta.as<int32_t>() + offset; }

  // Copies a sub-step's metadata to the device (two asynchronous copies on the stream: the
  // fixed-place segments, then the used part of the block tables).
  void upload(const SubStep& step) {
    int32_t* host = meta_host.as<int32_t>();
    const auto put = [&](int64_t offset, const std::vector<int32_t>& v) {
      std::memcpy(host + offset, v.data(), v.size() * sizeof(int32_t));
    };
    put(layout.ids, step.ids);
    put(layout.positions, step.positions);
    put(layout.token_seq, step.token_seq);
    put(layout.slots, step.slots);
    put(layout.logit_rows, step.logit_rows);
    put(layout.table_offsets, step.table_offsets);
    put(layout.tables, step.block_tables);
    TROUPE_CUDA_CHECK(cudaMemcpyAsync(meta.data(), host, layout.tables * sizeof(int32_t), cudaMemcpyHostToDevice, stream));
    TROUPE_CUDA_CHECK(cudaMemcpyAsync(meta.as<int32_t>() + layout.tables, host + layout.tables,
                                      step.block_tables.size() * sizeof(int32_t), cudaMemcpyHostToDevice, stream));
  }

  // The forward pass over the uploaded metadata: `tokens` tokens, logits for `rows` rows.
  void run_model(int64_t tokens, int64_t rows) {
    const int64_t h = spec.hidden_size, d = spec.head_dim, qw = heads * d, kvw = kv_heads * d;
    const int64_t qkv_w = qw + 2 * kvw;
    // A rank's o and down products are partial sums over its heads and FFN columns.
    const auto sum_over_ranks = [&](float* data) {
      if (shard.size > 1) comm->all_reduce_sum(data, tokens * h);
    };
    const auto eps = static_cast<float>(spec.rms_eps);
    const auto residual_multiplier = static_cast<float>(spec.residual_multiplier);  // Granite's; else 1
    const int32_t* positions = meta_at(layout.positions);
    const AttentionIndex index{meta_at(layout.tables), meta_at(layout.table_offsets), meta_at(layout.token_seq),
                               positions};
    float* q = qkv.as<float>();
    float* k = q + qw;
    float* v = k + kvw;

    embedding_gather(weights.embed.data(), type, meta_at(layout.ids), x.as<float>(), tokens, h,
                     static_cast<float>(spec.embedding_multiplier), shard.vocab.begin, local_vocab, stream);
    sum_over_ranks(x.as<float>());
    for (int64_t l = 0; l < spec.num_layers; ++l) {
      const DeviceLayer& L = weights.layers[static_cast<std::size_t>(l)];
      // The previous layer's MLP output joins the residual stream inside the norm.
      add_rms_norm(x.as<float>(), l == 0 ? nullptr : delta.as<float>(), L.attention_norm.as<float>(), xn.data(), type,
                   nullptr, tokens, h, eps, stream);
      gemm(xn.data(), L.qkv.data(), q, tokens, qkv_w, h);
      if (L.qkv_bias.data() != nullptr) add_bias(q, L.qkv_bias.as<float>(), tokens, qkv_w, stream);
      if (spec.clip_qkv > 0.0) clamp_rows(q, tokens, qkv_w, qkv_w, static_cast<float>(spec.clip_qkv), stream);
      if (spec.qk_norm) {
        head_rms_norm(q, L.q_norm.as<float>(), tokens, heads, d, qkv_w, eps, stream);
        head_rms_norm(k, L.k_norm.as<float>(), tokens, kv_heads, d, qkv_w, eps, stream);
      }
      if (spec.uses_rope(l)) {  // NoPE layers (SmolLM3) keep q and k as projected
        apply_rope(q, tokens, heads, d, spec.rotary_dims(), qkv_w, positions, layer_inv_freq(l), stream);
        apply_rope(k, tokens, kv_heads, d, spec.rotary_dims(), qkv_w, positions, layer_inv_freq(l), stream);
      }
      const DeviceKv kv = layer_kv(l);
      kv_store(kv, meta_at(layout.slots), tokens, k, v, qkv_w, stream);
      paged_attention(kv, index, q, qkv_w, tokens, heads, layer_window(l), attn.data(), stream);
      gemm(attn.data(), L.o.data(), delta.as<float>(), tokens, h, qw, residual_multiplier);
      sum_over_ranks(delta.as<float>());
      if (L.attention_out_norm.data() != nullptr) {
        rms_norm_in_place(delta.as<float>(), L.attention_out_norm.as<float>(), tokens, h, eps, stream);
      }
      add_rms_norm(x.as<float>(), delta.as<float>(), L.mlp_norm.as<float>(), xn.data(), type, nullptr, tokens, h, eps,
                   stream);
      gemm(xn.data(), L.gate_up.data(), gate_up.as<float>(), tokens, 2 * inter, h);
      gated_activation(gate_up.as<float>(), act.data(), type, tokens, inter, spec.activation, stream);
      gemm(act.data(), L.down.data(), delta.as<float>(), tokens, h, inter, residual_multiplier);
      sum_over_ranks(delta.as<float>());
      if (L.mlp_out_norm.data() != nullptr) {
        rms_norm_in_place(delta.as<float>(), L.mlp_out_norm.as<float>(), tokens, h, eps, stream);
      }
    }
    // Last residual add and final norm only on the rows that need logits.
    add_rms_norm(x.as<float>(), spec.num_layers > 0 ? delta.as<float>() : nullptr, weights.final_norm.as<float>(),
                 final_xn.data(), type, meta_at(layout.logit_rows), rows, h, eps, stream);
    gemm(final_xn.data(), weights.head(), logits.as<float>(), rows, local_vocab, h,
         static_cast<float>(1.0 / spec.logit_scale));
    if (spec.final_logit_softcap > 0.0) {  // elementwise: each rank caps its own vocabulary columns
      softcap(logits.as<float>(), rows * local_vocab, static_cast<float>(spec.final_logit_softcap), stream);
    }
  }

  // The step's logits [rows, vocab] on the device: this backend's own, or (a group's rank 0)
  // every rank's vocabulary columns gathered; null on the group's other ranks.
  const float* step_logits(int64_t rows) {
    if (shard.size == 1) return logits.as<float>();
    comm->gather_columns(logits.as<float>(), rows, shard.vocab_split, full_logits.as<float>(), spec.vocab_size);
    return shard.rank == 0 ? full_logits.as<float>() : nullptr;
  }

  cudaGraphExec_t capture(int64_t size) {
    cudaGraph_t graph = nullptr;
    TROUPE_CUDA_CHECK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
    try {
      run_model(size, size);
    } catch (...) {
      cudaStreamEndCapture(stream, &graph);
      if (graph != nullptr) cudaGraphDestroy(graph);
      throw;
    }
    TROUPE_CUDA_CHECK(cudaStreamEndCapture(stream, &graph));
    cudaGraphExec_t exec = nullptr;
    const cudaError_t err = cudaGraphInstantiate(&exec, graph, 0);
    cudaGraphDestroy(graph);
    TROUPE_CUDA_CHECK(err);
    return exec;
  }

  // Runs one sub-step; afterwards `logits` holds its rows (padding rows, if any, after them).
  void run(SubStep step) {
    const bool decode = step.tokens() == step.sequences() && step.rows() == step.tokens();
    const auto graph_size = std::lower_bound(kGraphBatchSizes.begin(), kGraphBatchSizes.end(), step.tokens());
    if (graphs_enabled && decode && graph_size != kGraphBatchSizes.end()) {
      pad_decode(step, *graph_size, static_cast<int32_t>(num_blocks), block_size);
      upload(step);
      auto it = graphs.find(*graph_size);
      if (it != graphs.end()) {
        TROUPE_CUDA_CHECK(cudaGraphLaunch(it->second, stream));
        return;
      }
      // First step of this size: run it eagerly (which also lets cuBLAS finish any lazy setup
      // for these shapes outside a capture), then capture the graph later steps replay. The
      // captured work is not executed by capturing, so this step's results come from the eager run.
      run_model(*graph_size, *graph_size);
      graphs.emplace(*graph_size, capture(*graph_size));
      return;
    }
    upload(step);
    run_model(step.tokens(), step.rows());
  }
};

CudaBackend::CudaBackend(const ModelFiles& model, const BackendOptions& options, const CudaBackendOptions& cuda)
    : impl_(std::make_unique<Impl>()) {
  impl_->spec = model.spec();
  impl_->init(options, cuda);
  impl_->weights = load_device_weights(model, impl_->type, impl_->shard);
  impl_->allocate_workspace();
  impl_->allocate_kv_cache(options);
  // Uploads and the KV memset went to the legacy stream, which the non-blocking backend stream
  // does not wait for: finish them before the first step can read the cache.
  TROUPE_CUDA_CHECK(cudaDeviceSynchronize());
}

CudaBackend::CudaBackend(const ModelSpec& spec, const RandomWeights& weights, const BackendOptions& options,
                         const CudaBackendOptions& cuda)
    : impl_(std::make_unique<Impl>()) {
  impl_->spec = spec;
  impl_->init(options, cuda);
  impl_->weights = random_device_weights(spec, impl_->type, weights.seed, weights.scale);
  impl_->allocate_workspace();
  impl_->allocate_kv_cache(options);
  TROUPE_CUDA_CHECK(cudaDeviceSynchronize());  // as above
}

CudaBackend::~CudaBackend() = default;

std::string_view CudaBackend::name() const { return impl_->name; }
const ModelSpec& CudaBackend::spec() const { return impl_->spec; }
int64_t CudaBackend::kv_block_size() const { return impl_->block_size; }
int64_t CudaBackend::kv_num_blocks() const { return impl_->num_blocks; }
int64_t CudaBackend::weight_bytes() const { return impl_->weights.bytes(); }
int64_t CudaBackend::kv_cache_bytes() const { return impl_->kv_cache.bytes(); }
int CudaBackend::device_index() const { return impl_->device; }

DeviceMemory CudaBackend::device_memory() const {
  TROUPE_CUDA_CHECK(cudaSetDevice(impl_->device));
  std::size_t free_bytes = 0, total_bytes = 0;
  TROUPE_CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
  return DeviceMemory{static_cast<int64_t>(total_bytes - free_bytes), static_cast<int64_t>(total_bytes)};
}

void CudaBackend::set_cuda_graphs(bool enabled) { impl_->graphs_enabled = enabled; }
int64_t CudaBackend::captured_graphs() const { return static_cast<int64_t>(impl_->graphs.size()); }

void CudaBackend::forward(const StepBatch& batch, StepLogits& out) {
  Impl& m = *impl_;
  validate_step(batch, m.spec, m.block_size, m.num_blocks);
  TROUPE_CUDA_CHECK(cudaSetDevice(m.device));
  const int64_t vocab = m.spec.vocab_size;
  std::vector<SubStep> plan = plan_step(batch, m.block_size, kLimits);

  out.vocab = vocab;
  out.first_row.clear();
  int64_t total_rows = 0;
  for (const SequenceStep& s : batch.sequences) {
    out.first_row.push_back(total_rows);
    total_rows += s.all_logits ? static_cast<int64_t>(s.tokens.size()) : 1;
  }
  out.values.resize(static_cast<std::size_t>(total_rows * vocab));
  int64_t row = 0;
  for (SubStep& step : plan) {
    const int64_t rows = step.rows();
    m.run(std::move(step));
    if (const float* logits = m.step_logits(rows)) {
      TROUPE_CUDA_CHECK(cudaMemcpyAsync(out.values.data() + row * vocab, logits,
                                        static_cast<std::size_t>(rows * vocab) * sizeof(float), cudaMemcpyDeviceToHost,
                                        m.stream));
    }
    TROUPE_CUDA_CHECK(cudaStreamSynchronize(m.stream));
    row += rows;
  }
}

bool CudaBackend::sample(const StepBatch& batch, const std::vector<DeviceSamplingParams>& params,
                         std::vector<int32_t>& tokens, std::vector<float>* logprobs) {
  Impl& m = *impl_;
  // A rank holds a slice of the vocabulary: its group samples on the host from gathered logits.
  if (params.size() != batch.sequences.size() || m.shard.size > 1) return false;
  validate_step(batch, m.spec, m.block_size, m.num_blocks);
  TROUPE_CUDA_CHECK(cudaSetDevice(m.device));
  std::vector<SubStep> plan = plan_step(batch, m.block_size, kLimits, /*last_only=*/true);
  tokens.assign(batch.sequences.size(), -1);
  if (logprobs != nullptr) logprobs->assign(batch.sequences.size(), 0.0f);

  RowSampling* row_params = m.row_params_host.as<RowSampling>();
  int32_t* host_tokens = m.sampled_host.as<int32_t>();
  float* host_logprobs = reinterpret_cast<float*>(host_tokens + kLimits.max_rows);
  for (SubStep& step : plan) {
    const int64_t rows = step.rows();
    const std::vector<int32_t> owners = step.row_sequence;
    for (int64_t r = 0; r < rows; ++r) {
      const DeviceSamplingParams& p = params[static_cast<std::size_t>(owners[static_cast<std::size_t>(r)])];
      row_params[r] = RowSampling{p.temperature, p.top_k, p.top_p, p.min_p, p.u};
    }
    TROUPE_CUDA_CHECK(cudaMemcpyAsync(m.row_params.data(), row_params, static_cast<std::size_t>(rows) * sizeof(RowSampling),
                                      cudaMemcpyHostToDevice, m.stream));
    m.run(std::move(step));
    float* device_logprobs = logprobs != nullptr ? m.sampled_logprobs.as<float>() : nullptr;
    sample_rows(m.logits.as<float>(), rows, m.spec.vocab_size, m.spec.vocab_size, m.row_params.as<RowSampling>(),
                m.sampled_tokens.as<int32_t>(), device_logprobs, m.stream);
    TROUPE_CUDA_CHECK(cudaMemcpyAsync(host_tokens, m.sampled_tokens.data(), static_cast<std::size_t>(rows) * sizeof(int32_t),
                                      cudaMemcpyDeviceToHost, m.stream));
    if (device_logprobs != nullptr) {
      TROUPE_CUDA_CHECK(cudaMemcpyAsync(host_logprobs, device_logprobs, static_cast<std::size_t>(rows) * sizeof(float),
                                        cudaMemcpyDeviceToHost, m.stream));
    }
    TROUPE_CUDA_CHECK(cudaStreamSynchronize(m.stream));
    for (int64_t r = 0; r < rows; ++r) {
      const auto seq = static_cast<std::size_t>(owners[static_cast<std::size_t>(r)]);
      tokens[seq] = host_tokens[r];
      if (logprobs != nullptr) (*logprobs)[seq] = host_logprobs[r];
    }
  }
  return true;
}

}  // namespace troupe
