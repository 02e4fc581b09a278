// A tensor-parallel group (gpu/parallel/) against the same model in one backend: the reference
// fixtures (transformers' logits) and the real SmolLM2 GGUF, 2 to 4 ranks, GQA models whose kv
// heads the rank count does not divide included.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <numeric>

#include "gpu/backend_factory.hpp"
#include "gpu/cpu/cpu_backend.hpp"
#include "gpu/parallel/tensor_parallel_backend.hpp"
#include "pipeline/sampling/sampler.hpp"
#include "tests/support/fixtures.hpp"
#include "tests/support/greedy.hpp"

using namespace troupe;

namespace {

BackendOptions options_for(bool int8, int threads = 1) {
  BackendOptions o;
  o.device = "cpu";
  o.kv_block_size = 4;
  o.max_kv_tokens = 512;
  o.threads = threads;
  o.cpu_int8_activations = int8;
  o.kv_cache_dtype = "float32";
  return o;
}

double max_relative_difference(const std::vector<float>& got, const std::vector<float>& want) {
  double diff = 0.0, scale = 0.0;
  for (std::size_t i = 0; i < want.size(); ++i) {
    diff = std::max(diff, std::fabs(static_cast<double>(got[i]) - want[i]));
    scale = std::max(scale, std::fabs(static_cast<double>(want[i])));
  }
  return diff / scale;
}

// A fixture's model file and the token ids of all its reference cases.
std::vector<std::vector<int32_t>> fixture_sequences(const std::string& folder, std::filesystem::path& model) {
  const auto j = test::read_json(test::fixture("models/" + folder + "/reference.json")).as_object();
  model = test::fixture("models/" + folder) / std::string(j.at("model").as_string());
  return test::reference_sequences(folder);
}

// log-softmax of one row.
std::vector<double> log_softmax(const float* row, int64_t n) {
  double max = row[0];
  for (int64_t i = 1; i < n; ++i) max = std::max(max, static_cast<double>(row[i]));
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += std::exp(row[i] - max);
  std::vector<double> out(static_cast<std::size_t>(n));
  for (int64_t i = 0; i < n; ++i) out[i] = row[i] - max - std::log(sum);
  return out;
}

}  // namespace

TEST_CASE("2, 3 and 4 CPU ranks give the logits of one backend on every family fixture", "[gpu][cpu][parallel]") {
  // Float activations: only the order of the ranks' partial sums differs from one backend.
  for (const std::string folder : {"llama", "qwen2", "qwen3", "llama_gguf_q8", "gemma3", "mistral", "iquestcoder",
                                   "qwen3_moe", "mixtral_gguf", "cohere", "cohere2_gguf", "glm4", "exaone4_gguf"}) {
    std::filesystem::path path;
    const auto sequences = fixture_sequences(folder, path);
    const ModelFiles model = ModelFiles::open(path);
    CpuBackend whole(model, options_for(false, 2));
    const StepLogits want = test::all_logits(whole, sequences);
    for (const int size : {1, 2, 3, 4}) {
      INFO(folder << ", " << size << " ranks");
      if (folder == "llama_gguf_q8" && size > 2) {
        // One 16-wide head per rank cannot hold whole 32-column Q8_0 blocks of o_proj: refused.
        CHECK_THROWS_WITH(make_tensor_parallel_backend(model, options_for(false, size), size),
                          Catch::Contains("--tensor-parallel-size " + std::to_string(size) + ": ") &&
                              Catch::Contains("Q8_0 blocks of 32 columns, which columns [0, 16) would cut"));
        continue;
      }
      const auto group = make_tensor_parallel_backend(model, options_for(false, size), size);
      CHECK(group->kv_num_blocks() == whole.kv_num_blocks());
      const StepLogits got = test::all_logits(*group, sequences);
      REQUIRE(got.values.size() == want.values.size());
      CHECK(got.first_row == want.first_row);
      CHECK(max_relative_difference(got.values, want.values) < 1e-5);
    }
  }
}

TEST_CASE("OLMo's q/k norms over every head are refused across ranks, with the reason", "[gpu][cpu][parallel][olmo]") {
  std::filesystem::path path;
  fixture_sequences("olmo2", path);
  const ModelFiles model = ModelFiles::open(path);
  CHECK_THROWS_WITH(make_tensor_parallel_backend(model, options_for(false, 2), 2),
                    Catch::Contains("--tensor-parallel-size 2: ") && Catch::Contains("do not split across ranks"));
}

TEST_CASE("Gemma 3n's per-layer embeddings and whole-gate cutoffs are refused across ranks, with the reason",
          "[gpu][cpu][parallel]") {
  std::filesystem::path path;
  fixture_sequences("gemma3n", path);
  const ModelFiles model = ModelFiles::open(path);
  CHECK_THROWS_WITH(make_tensor_parallel_backend(model, options_for(false, 2), 2),
                    Catch::Contains("--tensor-parallel-size 2: ") && Catch::Contains("do not split across ranks"));
}

TEST_CASE("each rank holds about 1/N of the weights and of the KV cache", "[gpu][cpu][parallel]") {
  std::filesystem::path path;
  fixture_sequences("llama", path);
  const ModelFiles model = ModelFiles::open(path);
  CpuBackend whole(model, options_for(false));
  const auto group = make_tensor_parallel_backend(model, options_for(false, 2), 2);
  const auto& tp = dynamic_cast<const TensorParallelBackend&>(*group);
  for (int r = 0; r < 2; ++r) {
    // The norms are replicated: a little over half.
    CHECK(tp.rank(r).weight_bytes() > whole.weight_bytes() * 45 / 100);
    CHECK(tp.rank(r).weight_bytes() < whole.weight_bytes() * 55 / 100);
    CHECK(tp.rank(r).kv_cache_bytes() == whole.kv_cache_bytes() / 2);  // 2 kv heads, one each
  }
}

double top5_logprob_gap(const StepLogits& want, const StepLogits& got, std::size_t rows) {
  double worst = 0.0;
  for (std::size_t row = 0; row < rows; ++row) {
    const auto w = log_softmax(want.row(static_cast<int64_t>(row)), want.vocab);
    const auto g = log_softmax(got.row(static_cast<int64_t>(row)), got.vocab);
    std::vector<std::size_t> order(w.size());
    std::iota(order.begin(), order.end(), 0);
    std::partial_sort(order.begin(), order.begin() + 5, order.end(), [&](auto a, auto b) { return w[a] > w[b]; });
    for (int k = 0; k < 5; ++k) {
      const std::size_t i = order[static_cast<std::size_t>(k)];
      worst = std::max(worst, std::fabs(g[i] - w[i]) / std::max(1.0, std::fabs(w[i])));
    }
  }
  return worst;
}

const std::vector<int32_t> kSmolPrompt{1,    9690, 198, 2683, 359,  253, 5356, 5646, 11173, 3365, 3511, 308, 34519,
                                       28,   7018, 411, 407,  19712, 8182, 2,   198,  1,     4093, 198,  23830, 314,
                                       260,  3575, 282, 4649, 47,   2,   198,  1,    520,   9531, 198};

TEST_CASE("SmolLM2 on 2 and 4 CPU ranks decodes the same greedy tokens, top-5 logprobs within 1e-4", "[gpu][cpu][parallel][smollm2]") {
  const char* path = std::getenv("TROUPE_DEFAULT_MODEL");
  REQUIRE(path != nullptr);
  const ModelFiles model = ModelFiles::open(path);
  CpuBackend whole(model, options_for(false, 2));
  const auto want = test::greedy_on_backend(whole, kSmolPrompt, 48, whole.kv_num_blocks());
  const StepLogits want_logits = test::all_logits(whole, kSmolPrompt);
  for (const int size : {2, 4}) {
    INFO(size << " ranks");
    const auto group = make_tensor_parallel_backend(model, options_for(false, size), size);
    CHECK(test::greedy_on_backend(*group, kSmolPrompt, 48, group->kv_num_blocks()) == want);
    const double gap = top5_logprob_gap(want_logits, test::all_logits(*group, kSmolPrompt), kSmolPrompt.size());
    INFO("largest top-5 logprob gap " << gap);
    CHECK(gap < 1e-4);
  }
}

TEST_CASE("SmolLM2's int8 activations on ranks stay within what int8 rounding moves anyway", "[gpu][cpu][parallel][smollm2]") {
  // Rounding activations to int8 is discontinuous, and SmolLM2's outlier activations amplify a flip
  // of one rounding: one backend's logits move by up to 1.5 (of ~30) between its AVX2 and AVX-512
  // kernels, which only sum in another order. The ranks' partial sums are one more order: the
  // bound is what float activations move the int8 logits by, well above a flip, far below a bug.
  const char* path = std::getenv("TROUPE_DEFAULT_MODEL");
  REQUIRE(path != nullptr);
  const ModelFiles model = ModelFiles::open(path);
  CpuBackend exact(model, options_for(false, 2));
  CpuBackend whole(model, options_for(true, 2));
  const StepLogits want = test::all_logits(whole, kSmolPrompt);
  const double rounding = max_relative_difference(test::all_logits(exact, kSmolPrompt).values, want.values);
  for (const int size : {2, 4}) {
    const auto group = make_tensor_parallel_backend(model, options_for(true, size), size);
    const double got = max_relative_difference(test::all_logits(*group, kSmolPrompt).values, want.values);
    INFO(size << " ranks: " << got << " against int8 rounding " << rounding);
    CHECK(got < rounding);
  }
}

TEST_CASE("a rank that fails ends the step with its name; the next step runs", "[gpu][cpu][parallel]") {
  std::filesystem::path path;
  const auto sequences = fixture_sequences("qwen2", path);
  const ModelFiles model = ModelFiles::open(path);
  const auto trigger = std::filesystem::temp_directory_path() / ("troupe-fail-rank-" + std::to_string(::getpid()));
  ::setenv("TROUPE_TEST_FAIL_RANK", ("2:" + trigger.string()).c_str(), 1);
  const auto group = make_tensor_parallel_backend(model, options_for(false, 3), 3);
  ::unsetenv("TROUPE_TEST_FAIL_RANK");
  const StepLogits want = test::all_logits(*group, sequences);
  std::ofstream(trigger).put('x');
  CHECK_THROWS_WITH(test::all_logits(*group, sequences), Catch::Contains("tensor-parallel rank 2 failed: injected failure"));
  CHECK_FALSE(std::filesystem::exists(trigger));
  CHECK(test::all_logits(*group, sequences).values == want.values);
}
