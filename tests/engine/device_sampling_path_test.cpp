// StepExecutor's device-sampling path, against a backend whose "device" sampler is the host's own
// algorithm (truncated_distribution + draw at the given uniform value): which steps take the path,
// that tokens and logprobs equal the host path's, and that a seeded sequence draws the same tokens
// whichever path its steps take. The CUDA sampler itself is checked against the host draw in
// tests/gpu/cuda/sampling_kernels_test.cpp.
#include <catch2/catch.hpp>

#include "engine/step_executor.hpp"
#include "gpu/cpu/cpu_backend.hpp"
#include "pipeline/sampling/logit_rules.hpp"
#include "pipeline/sampling/token_logprobs.hpp"
#include "pipeline/sampling/truncated_distribution.hpp"
#include "tests/support/fixtures.hpp"
#include "tests/support/step_driver.hpp"

using namespace troupe;

namespace {

constexpr int64_t kBlocksPerSequence = 4;

// The CPU backend with a DeviceSampling face that samples each sequence's last row on the host,
// exactly as gpu/device_sampling.hpp specifies. Counts which entry point each step used.
class SamplingCpuBackend final : public Backend, public DeviceSampling {
 public:
  SamplingCpuBackend(const ModelFiles& model, const BackendOptions& options) : cpu_(model, options) {}

  std::string_view name() const override { return cpu_.name(); }
  const ModelSpec& spec() const override { return cpu_.spec(); }
  int64_t kv_block_size() const override { return cpu_.kv_block_size(); }
  int64_t kv_num_blocks() const override { return cpu_.kv_num_blocks(); }
  int64_t weight_bytes() const override { return cpu_.weight_bytes(); }
  int64_t kv_cache_bytes() const override { return cpu_.kv_cache_bytes(); }
  void forward(const StepBatch& batch, StepLogits& out) override {
    ++forwards;
    cpu_.forward(batch, out);
  }

  bool sample(const StepBatch& batch, const std::vector<DeviceSamplingParams>& params, std::vector<int32_t>& tokens,
              std::vector<float>* logprobs) override {
    if (params.size() != batch.sequences.size()) return false;
    ++samples;
    StepBatch last_only = batch;
    for (SequenceStep& s : last_only.sequences) s.all_logits = false;
    cpu_.forward(last_only, logits_);
    tokens.assign(params.size(), -1);
    if (logprobs != nullptr) logprobs->assign(params.size(), 0.0f);
    for (std::size_t i = 0; i < params.size(); ++i) {
      const std::span<const float> row(logits_.row(logits_.first_row[i]), static_cast<std::size_t>(logits_.vocab));
      const DeviceSamplingParams& d = params[i];
      SamplingParams p;
      p.temperature = d.temperature;
      p.top_k = d.top_k;
      p.top_p = d.top_p;
      p.min_p = d.min_p;
      tokens[i] = p.greedy() ? argmax(row) : draw(truncated_distribution(row, p), d.u);
      if (logprobs != nullptr) (*logprobs)[i] = compute_logprobs(row, tokens[i], 0).logprob;
    }
    return true;
  }

  int forwards = 0;
  int samples = 0;

 private:
  CpuBackend cpu_;
  StepLogits logits_;
};

struct Fixture {
  ModelFiles model = ModelFiles::open(test::fixture("models/llama"));
  SamplingCpuBackend backend{model, [] {
                               BackendOptions o;
                               o.max_kv_tokens = 4 * 64;
                               o.threads = 1;
                               return o;
                             }()};
};

SamplingParams sampled(uint64_t seed) {
  SamplingParams p;
  p.temperature = 1.1;
  p.top_k = 40;
  p.top_p = 0.9;
  p.seed = seed;
  return p;
}

// Runs sequences a (and b) for `steps` steps and returns what a generated.
std::vector<int32_t> run(Fixture& f, bool device, const SamplingParams& a, std::optional<SamplingParams> b, int steps) {
  StepExecutor executor(f.backend, device);
  test::StepDriver driver(executor, kBlocksPerSequence);
  driver.add(1, {1, 15, 27, 90, 4}, a, 0);
  if (b) driver.add(2, {1, 200, 3}, *b, 1);
  for (int i = 0; i < steps; ++i) driver.step(4);
  return driver.find(1).generated;
}

}  // namespace

TEST_CASE("engine: steps whose sequences all fit the device sampler take it, and match the host path", "[engine]") {
  Fixture f;
  const auto host = run(f, false, sampled(7), SamplingParams{}, 12);
  CHECK(f.backend.samples == 0);
  f.backend.forwards = 0;
  const auto device = run(f, true, sampled(7), SamplingParams{}, 12);
  CHECK(f.backend.samples == 12);
  CHECK(f.backend.forwards == 0);
  CHECK(device == host);
  CHECK(device.size() == 11);  // the 5-token prompt takes two chunks of 4; sampling starts at the second
}

TEST_CASE("engine: a sequence with penalties or top logprobs keeps the whole step on the host", "[engine]") {
  for (const bool penalties : {true, false}) {
    Fixture f;
    SamplingParams other;
    if (penalties) {
      other.repetition_penalty = 1.3;
    } else {
      other.logprobs = 2;
    }
    run(f, true, sampled(3), other, 6);
    CHECK(f.backend.samples == 0);
    CHECK(f.backend.forwards == 6);
  }
}

TEST_CASE("engine: a sequence with logit_bias, allowed_token_ids or bad_words is sampled on the host", "[engine]") {
  for (int kind = 0; kind < 3; ++kind) {
    Fixture f;
    LogitRules rules;
    if (kind == 0) rules.logit_bias = {{7, 100.0f}};
    if (kind == 1) rules.allowed_token_ids = {7, 8};
    if (kind == 2) rules.bad_words = {{7}};
    SamplingParams other;
    other.logit_rules = std::make_shared<const LogitRules>(rules);
    StepExecutor executor(f.backend, true);
    test::StepDriver driver(executor, kBlocksPerSequence);
    driver.add(1, {1, 15, 27, 90, 4}, sampled(3), 0);
    driver.add(2, {1, 200, 3}, other, 1);
    for (int i = 0; i < 6; ++i) driver.step(4);
    CHECK(f.backend.samples == 0);
    CHECK(f.backend.forwards == 6);
    for (int32_t t : driver.find(2).generated) {
      if (kind == 0) CHECK(t == 7);
      if (kind == 1) CHECK((t == 7 || t == 8));
      if (kind == 2) CHECK(t != 7);
    }
  }
}

TEST_CASE("engine: a seeded sequence draws the same tokens whichever path each step takes", "[engine]") {
  // Alone, a's steps go to the device; beside b (penalties), they stay on the host. Both draw
  // from a's own stream, one uniform value per token.
  Fixture f;
  SamplingParams with_penalty;
  with_penalty.frequency_penalty = 0.5;
  const auto alone = run(f, true, sampled(11), std::nullopt, 16);
  REQUIRE(f.backend.samples == 16);
  const auto beside = run(f, true, sampled(11), with_penalty, 16);
  CHECK(alone == beside);
  CHECK(run(f, true, sampled(12), std::nullopt, 16) != alone);
}

TEST_CASE("engine: the chosen token's logprob comes back from the device path", "[engine]") {
  Fixture f;
  SamplingParams p = sampled(5);
  p.logprobs = 0;
  StepExecutor device_executor(f.backend, true);
  test::StepDriver device(device_executor, kBlocksPerSequence);
  device.add(1, {1, 15, 27}, p, 0);
  StepExecutor host_executor(f.backend, false);
  test::StepDriver host(host_executor, kBlocksPerSequence);
  host.add(1, {1, 15, 27}, p, 0);
  for (int i = 0; i < 6; ++i) {
    device.step(8);
    CHECK(device.last.sampled_on_device);
    host.step(8);
    CHECK_FALSE(host.last.sampled_on_device);
  }
  const auto& d = device.find(1);
  const auto& h = host.find(1);
  REQUIRE(d.generated == h.generated);
  for (std::size_t i = 0; i < d.logprobs.size(); ++i) {
    REQUIRE(d.logprobs[i].has_value());
    CHECK(d.logprobs[i]->token_id == d.generated[i]);
    CHECK(d.logprobs[i]->top.empty());
    CHECK(d.logprobs[i]->logprob == Approx(h.logprobs[i]->logprob).margin(1e-5));
  }
}
