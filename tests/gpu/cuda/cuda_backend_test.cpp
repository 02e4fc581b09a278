// The whole model on the CUDA backend against the CPU backend (float32 weights and arithmetic):
// logits of the tiny Llama, Qwen2 and Qwen3 fixtures, greedy decoding of the SmolLM2 GGUF, CUDA
// graph replay against eager runs, steps split over the activation buffers, and on-device
// sampling against the logits forward() returns.
#if TROUPE_WITH_CUDA
#include <numeric>

#include "gpu/cpu/cpu_backend.hpp"
#include "gpu/backend_factory.hpp"
#include "gpu/cuda/cuda_backend.hpp"
#include "pipeline/sampling/sampler.hpp"
#include "tests/gpu/cuda/cuda_test_support.hpp"
#include "tests/support/fixtures.hpp"

using namespace troupe;
using namespace troupe::test;

namespace {

// Whole-model tolerance on ||logits - cpu|| / ||cpu||: every weight is rounded to 16 bits (bf16:
// relative error up to 2^-9 each, independent across weights) and activations are rounded before
// each GEMM, so each layer adds a few 1e-3 of relative noise; two to thirty layers stay well under
// 3e-2 in bf16. fp16 keeps 3 more bits: 8x less.
double model_tolerance(cuda::StorageType t) { return t == cuda::StorageType::BF16 ? 3e-2 : 4e-3; }

std::vector<std::vector<int32_t>> fixture_sequences(const std::string& folder, const std::string& case_name) {
  return reference_sequences(folder, case_name);
}

// One step over `seqs` from position 0, every logit, blocks handed out back to front so that
// paging (not contiguity) is exercised; each table also covers `reserve` positions more.
StepBatch prefill_batch(const std::vector<std::vector<int32_t>>& seqs, int64_t block_size, int64_t num_blocks,
                        int64_t reserve = 0) {
  StepBatch batch;
  int32_t next = static_cast<int32_t>(num_blocks) - 1;
  for (const auto& ids : seqs) {
    SequenceStep s;
    s.tokens = ids;
    s.all_logits = true;
    const int64_t positions = static_cast<int64_t>(ids.size()) + reserve;
    for (int64_t b = 0; b < (positions + block_size - 1) / block_size; ++b) s.block_table.push_back(next--);
    batch.sequences.push_back(std::move(s));
  }
  return batch;
}

BackendOptions small_options() {
  BackendOptions o;
  o.kv_block_size = 16;
  o.max_kv_tokens = 512;
  o.threads = 2;
  return o;
}

int32_t argmax_row(const StepLogits& l, int64_t row) { return argmax({l.row(row), static_cast<std::size_t>(l.vocab)}); }

ModelSpec random_spec() {
  ModelSpec spec;
  spec.arch = Architecture::Qwen2;
  spec.num_layers = 2;
  spec.hidden_size = 100;
  spec.intermediate_size = 230;
  spec.num_heads = 9;
  spec.num_kv_heads = 3;
  spec.head_dim = 32;
  spec.vocab_size = 1003;
  spec.max_position = 4096;
  spec.attention_bias = true;
  spec.qk_norm = true;
  spec.rope.theta = 10000.0;
  return spec;
}

}  // namespace

TEST_CASE("cuda: fixture models match the CPU backend's logits", "[gpu][cuda]") {
  TROUPE_REQUIRE_CUDA_DEVICE();
  // The families' tiny models too: Gemma 3's sliding and global layers (safetensors and GGUF),
  // GELU-tanh, sandwich norms and scaled embeddings; Mistral's window; IQuest's clip_qkv; YaRN;
  // GLM-4's norm names, fused gate|up and partial RoPE on rows reordered at load; Q2_K, Q3_K,
  // IQ4_NL, IQ4_XS and the lattice types (IQ1_S … IQ3_S) dequantized at load.
  for (const std::string folder : {"llama", "qwen2", "qwen3", "gemma3", "gemma3_gguf", "mistral", "iquestcoder",
                                   "llama_yarn", "glm4", "glm4_gguf", "qwen3_gguf_mixed", "qwen3_gguf_iq"}) {
    // reference.json names the model inside the folder: "." for safetensors, "model.gguf" for GGUF.
    const auto reference = test::read_json(fixture("models/" + folder + "/reference.json")).as_object();
    const ModelFiles model =
        ModelFiles::open(fixture("models/" + folder) / std::string(reference.at("model").as_string()));
    CpuBackend cpu(model, small_options());
    for (const auto type : kStorageTypes) {
      CudaBackendOptions cuda_options;
      cuda_options.weight_type = type;
      CudaBackend gpu(model, small_options(), cuda_options);
      for (const std::string case_name : {"batch", "long"}) {
        INFO(folder << " " << case_name << " " << storage_name(type));
        const StepBatch batch = prefill_batch(fixture_sequences(folder, case_name), 16, gpu.kv_num_blocks());
        StepLogits want, got;
        cpu.forward(batch, want);
        got.values.assign(want.values.size() + 5, NAN);  // forward must resize and overwrite all of it
        gpu.forward(batch, got);
        REQUIRE(got.values.size() == want.values.size());
        CHECK(got.first_row == want.first_row);
        CHECK(count_non_finite(got.values) == 0);
        CHECK(relative_error(got.values, want.values) < model_tolerance(type));
      }
    }
  }
}

TEST_CASE("cuda: families the CUDA backend does not run are refused with the reason; auto serves them on the CPU",
          "[gpu][cuda]") {
  TROUPE_REQUIRE_CUDA_DEVICE();
  for (const std::string folder : {"qwen3_moe", "olmo2", "cohere", "lfm2", "qwen3_5", "granite_hybrid", "granite_swa", "llama4",
                                   "mistral4", "starcoder2", "stablelm_12b", "olmo", "hunyuan_dense", "apertus", "gpt2",
                                   "gpt_neox", "falcon", "gemma3n"}) {
    const ModelFiles model = ModelFiles::open(fixture("models/" + folder));
    BackendOptions options;
    options.device = "cuda";
    CHECK_THROWS_WITH(make_backend(model, options), Catch::Contains("the CUDA backend does not run") &&
                                                        Catch::Contains("--device cpu"));
    options.device = "auto";
    CHECK(make_backend(model, options)->name() == "cpu");
  }
}

TEST_CASE("cuda: SmolLM2 GGUF greedy decoding matches the CPU backend for 32 tokens", "[gpu][cuda][smollm2]") {
  TROUPE_REQUIRE_CUDA_DEVICE();
  const char* model_path = std::getenv("TROUPE_DEFAULT_MODEL");
  REQUIRE(model_path != nullptr);  // the test command fetches the default model and sets this
  const ModelFiles model = ModelFiles::open(model_path);
  BackendOptions options;
  options.max_kv_tokens = 256;
  CpuBackend cpu(model, options);
  CudaBackend gpu(model, options);
  const auto ref = read_json(fixture("smollm2/greedy_reference.json")).as_object();
  for (const auto& p : ref.at("prompts").as_array()) {
    std::vector<int32_t> prompt;
    for (const auto& id : p.at("prompt_ids").as_array()) prompt.push_back(id.to_number<int32_t>());
    SequenceStep cpu_seq, gpu_seq;
    cpu_seq.block_table.resize(static_cast<std::size_t>(cpu.kv_num_blocks()));
    std::iota(cpu_seq.block_table.begin(), cpu_seq.block_table.end(), 0);
    gpu_seq.block_table = cpu_seq.block_table;
    cpu_seq.tokens = gpu_seq.tokens = prompt;
    StepLogits cpu_logits, gpu_logits;
    for (int step = 0; step < 32; ++step) {
      StepBatch cb, gb;
      cb.sequences = {cpu_seq};
      gb.sequences = {gpu_seq};
      cpu.forward(cb, cpu_logits);
      gpu.forward(gb, gpu_logits);
      const int32_t want = argmax_row(cpu_logits, 0), got = argmax_row(gpu_logits, 0);
      if (got != want) {
        // Only a near-tie may flip under bf16 weights: the CPU's top two within 0.5 logits.
        std::vector<float> row(cpu_logits.row(0), cpu_logits.row(0) + cpu_logits.vocab);
        std::nth_element(row.begin(), row.begin() + 1, row.end(), std::greater<float>());
        INFO("prompt " << p.at("name").as_string() << " step " << step << ": cpu " << want << " cuda " << got
                       << ", cpu top-2 margin " << row[0] - row[1]);
        CHECK(row[0] - row[1] < 0.5f);
        break;
      }
      cpu_seq.num_cached += static_cast<int64_t>(cpu_seq.tokens.size());
      gpu_seq.num_cached = cpu_seq.num_cached;
      cpu_seq.tokens = gpu_seq.tokens = {want};
    }
  }
}

TEST_CASE("cuda: decode steps replayed from CUDA graphs equal eager runs", "[gpu][cuda]") {
  TROUPE_REQUIRE_CUDA_DEVICE();
  BackendOptions options = small_options();
  options.max_kv_tokens = 4096;
  CudaBackend gpu(random_spec(), RandomWeights{3, 0.05f}, options);
  for (const int64_t batch_size : {1, 3, 8, 17}) {
    INFO("batch " << batch_size);
    // Prefill sequences of different lengths eagerly, then one decode token each.
    std::vector<std::vector<int32_t>> prompts;
    for (int64_t s = 0; s < batch_size; ++s) {
      std::vector<int32_t> ids(static_cast<std::size_t>(1 + (s * 13) % 40));
      for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<int32_t>((s * 31 + i * 7) % 1003);
      prompts.push_back(ids);
    }
    StepBatch prefill = prefill_batch(prompts, 16, gpu.kv_num_blocks(), /*reserve=*/1);
    StepLogits scratch;
    gpu.set_cuda_graphs(false);
    gpu.forward(prefill, scratch);
    StepBatch decode = prefill;
    for (std::size_t s = 0; s < decode.sequences.size(); ++s) {
      SequenceStep& seq = decode.sequences[s];
      seq.num_cached = static_cast<int64_t>(prompts[s].size());
      seq.tokens = {static_cast<int32_t>(s + 5)};
      seq.all_logits = false;
    }
    StepLogits eager, replayed;
    gpu.forward(decode, eager);  // writes the decode token's k, v; rerunning rewrites the same values
    gpu.set_cuda_graphs(true);
    const int64_t graphs_before = gpu.captured_graphs();
    gpu.forward(decode, replayed);
    gpu.forward(decode, replayed);  // the second call replays the graph captured by the first
    CHECK(gpu.captured_graphs() == graphs_before + 1);  // sizes 1, 4, 8, 32: each new
    REQUIRE(replayed.values.size() == eager.values.size());
    // The same kernels on the same data; only cuBLAS may pick another algorithm for the padded
    // row count, which reorders float32 sums. Activations and KV are rounded to 16 bits between
    // layers, so a last-bit difference can flip a rounding: errors up to a few 1e-4 are that;
    // anything wrong (a stale slot, a wrong row) costs far more than kRoundingFlipTolerance.
    CHECK(relative_error(replayed.values, eager.values) < kRoundingFlipTolerance);
  }
}

TEST_CASE("cuda: a step larger than the activation buffers equals the same tokens in two steps", "[gpu][cuda]") {
  TROUPE_REQUIRE_CUDA_DEVICE();
  BackendOptions options = small_options();
  options.max_kv_tokens = 4096;
  CudaBackend gpu(random_spec(), RandomWeights{4, 0.05f}, options);
  std::vector<int32_t> prompt(3000);
  for (std::size_t i = 0; i < prompt.size(); ++i) prompt[i] = static_cast<int32_t>((i * 17 + 3) % 1003);
  SequenceStep whole;
  whole.tokens = prompt;
  whole.block_table.resize(188);  // 3000 positions / 16
  std::iota(whole.block_table.begin(), whole.block_table.end(), 0);
  StepBatch one;
  one.sequences = {whole};
  StepLogits a, b;
  gpu.forward(one, a);  // 3000 tokens: split over the 2048-token buffers inside the backend

  SequenceStep first = whole, second = whole;
  first.tokens.assign(prompt.begin(), prompt.begin() + 1234);
  second.tokens.assign(prompt.begin() + 1234, prompt.end());
  second.num_cached = 1234;
  StepBatch s1, s2;
  s1.sequences = {first};
  s2.sequences = {second};
  gpu.forward(s1, b);
  gpu.forward(s2, b);
  REQUIRE(a.values.size() == b.values.size());
  // Cut elsewhere, same arithmetic, but cuBLAS may choose differently for 1234/1766 rows than for
  // 2048/952: float32 reordering that can flip 16-bit roundings (see the graph test).
  CHECK(relative_error(a.values, b.values) < kRoundingFlipTolerance);
}

TEST_CASE("cuda: on-device greedy sampling picks the argmax of forward's logits", "[gpu][cuda]") {
  TROUPE_REQUIRE_CUDA_DEVICE();
  const ModelFiles model = ModelFiles::open(fixture("models/qwen2"));
  CudaBackend gpu(model, small_options());
  const StepBatch batch = prefill_batch(fixture_sequences("qwen2", "batch"), 16, gpu.kv_num_blocks());
  StepLogits logits;
  gpu.forward(batch, logits);
  std::vector<int32_t> tokens;
  std::vector<float> logprobs;
  std::vector<DeviceSamplingParams> params(batch.sequences.size());
  REQUIRE(gpu.sample(batch, params, tokens, &logprobs));
  REQUIRE(tokens.size() == batch.sequences.size());
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const int64_t last = logits.first_row[i] + static_cast<int64_t>(batch.sequences[i].tokens.size()) - 1;
    CHECK(tokens[i] == argmax_row(logits, last));
    CHECK(logprobs[i] <= 0.0f);
  }
  params.pop_back();
  CHECK_FALSE(gpu.sample(batch, params, tokens));  // one parameter set per sequence, or nothing runs
}
#endif  // TROUPE_WITH_CUDA
