// One sequence's failure stays that sequence's: a token the backend refuses (validate_step names
// the batch index) or a forward that throws whenever one sequence is in the batch (found by
// splitting) fails only that sequence; the others get exactly the tokens they get alone, and the
// failed one is left out of later steps until released. CPU backend, tiny Llama fixture.
#include <catch2/catch.hpp>
#include <numeric>

#include "engine/isolated_forward.hpp"
#include "engine/step_executor.hpp"
#include "gpu/cpu/cpu_backend.hpp"
#include "tests/support/fixtures.hpp"
#include "tests/support/greedy.hpp"

using namespace troupe;

namespace {

constexpr int64_t kBlocksPerSequence = 4;

struct Fixture {
  ModelFiles model = ModelFiles::open(test::fixture("models/llama"));
  CpuBackend cpu{model, [] {
                   BackendOptions o;
                   o.max_kv_tokens = 8 * 64;  // 8 sequences of 4 blocks
                   o.threads = 1;
                   return o;
                 }()};
};

// A backend that fails, with a message that is not about any sequence in particular, whenever a
// batch contains a sequence whose first new token is `poison` (standing in for a device fault one
// sequence's input triggers). Counts forwards.
class PoisonedBackend final : public Backend {
 public:
  PoisonedBackend(Backend& inner, int32_t poison) : inner_(inner), poison_(poison) {}
  std::string_view name() const override { return inner_.name(); }
  const ModelSpec& spec() const override { return inner_.spec(); }
  int64_t kv_block_size() const override { return inner_.kv_block_size(); }
  int64_t kv_num_blocks() const override { return inner_.kv_num_blocks(); }
  int64_t weight_bytes() const override { return inner_.weight_bytes(); }
  int64_t kv_cache_bytes() const override { return inner_.kv_cache_bytes(); }
  void forward(const StepBatch& batch, StepLogits& out) override {
    ++forwards;
    for (const SequenceStep& s : batch.sequences) {
      if (!s.tokens.empty() && s.tokens.front() == poison_) throw std::runtime_error("device fault in this batch");
    }
    inner_.forward(batch, out);
  }
  int forwards = 0;

 private:
  Backend& inner_;
  int32_t poison_;
};

// A prefill step for sequences in block groups 0, 1, 2, ...: each is first_time and sampled.
ScheduledStep prefill_step(uint64_t id, const std::vector<std::vector<int32_t>>& prompts,
                           std::vector<std::shared_ptr<const std::vector<int32_t>>>& keep, const SamplingParams& sampling) {
  ScheduledStep step;
  step.step_id = id;
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    SequenceStep entry;
    entry.tokens = prompts[i];
    entry.block_table.resize(kBlocksPerSequence);
    std::iota(entry.block_table.begin(), entry.block_table.end(), static_cast<int32_t>(i * kBlocksPerSequence));
    keep.push_back(std::make_shared<const std::vector<int32_t>>(prompts[i]));
    step.batch.sequences.push_back(entry);
    step.sequences.push_back({.id = 100 + i, .sample = true, .first_time = true, .prompt = keep.back(), .sampling = &sampling});
  }
  return step;
}

// The next decode step for the same sequences (pending tokens), at the positions after `prompts`.
ScheduledStep decode_step(uint64_t id, const ScheduledStep& previous, int64_t steps_done) {
  ScheduledStep step;
  step.step_id = id;
  for (std::size_t i = 0; i < previous.sequences.size(); ++i) {
    SequenceStep entry = previous.batch.sequences[i];
    entry.num_cached = static_cast<int64_t>(entry.tokens.size()) + steps_done - 1;
    entry.tokens = {kPendingToken};
    step.batch.sequences.push_back(entry);
    step.sequences.push_back({.id = previous.sequences[i].id, .sample = true, .decode = true});
  }
  return step;
}

}  // namespace

TEST_CASE("engine: a token outside the vocabulary fails only its own sequence", "[engine][isolation]") {
  Fixture f;
  const std::vector<int32_t> good_a{1, 15, 27}, good_b{1, 200, 3};
  const int32_t oov = static_cast<int32_t>(f.cpu.spec().vocab_size) + 7;
  // The bad sequence sits between the good ones, so removing it shifts their batch positions.
  const std::vector<std::vector<int32_t>> prompts{good_a, {1, oov, 2}, good_b};
  std::vector<std::shared_ptr<const std::vector<int32_t>>> keep;
  SamplingParams greedy;
  StepExecutor executor(f.cpu);
  const ScheduledStep first = prefill_step(0, prompts, keep, greedy);
  const StepResult r0 = executor.run(first);
  REQUIRE(r0.failed.size() == 1);
  CHECK(r0.failed[0].id == 101);
  CHECK(r0.failed[0].reason == "token id " + std::to_string(oov) + " is outside the vocabulary of " +
                                   std::to_string(f.cpu.spec().vocab_size));
  REQUIRE(r0.tokens.size() == 2);
  CHECK(r0.tokens[0].id == 100);
  CHECK(r0.tokens[1].id == 102);
  CHECK_FALSE(executor.holds(101));
  CHECK(r0.prefill_tokens == 6);  // what ran: the two good prompts
  CHECK(r0.decode_tokens == 0);

  // The step after (planned before the failure was known) still lists it: it is left out quietly.
  const StepResult r1 = executor.run(decode_step(1, first, 1));
  CHECK(r1.failed.empty());
  REQUIRE(r1.tokens.size() == 2);
  CHECK(r1.decode_tokens == 2);

  // The good sequences got what they get alone.
  const auto ref_a = test::greedy_on_backend(f.cpu, good_a, 2, kBlocksPerSequence);
  const auto ref_b = test::greedy_on_backend(f.cpu, good_b, 2, kBlocksPerSequence);
  CHECK(std::vector<int32_t>{r0.tokens[0].token, r1.tokens[0].token} == ref_a);
  CHECK(std::vector<int32_t>{r0.tokens[1].token, r1.tokens[1].token} == ref_b);
}

TEST_CASE("engine: a forward that fails because of one sequence is split until that one is found", "[engine][isolation]") {
  Fixture f;
  const int32_t poison = 77;
  PoisonedBackend backend(f.cpu, poison);
  std::vector<std::vector<int32_t>> prompts;
  for (int i = 0; i < 5; ++i) prompts.push_back({1, static_cast<int32_t>(10 + i), 3});
  prompts[3] = {poison, 4, 5};
  std::vector<std::shared_ptr<const std::vector<int32_t>>> keep;
  SamplingParams greedy;
  StepExecutor executor(backend);
  const StepResult r = executor.run(prefill_step(0, prompts, keep, greedy));
  REQUIRE(r.failed.size() == 1);
  CHECK(r.failed[0].id == 103);
  CHECK(r.failed[0].reason == "device fault in this batch");
  REQUIRE(r.tokens.size() == 4);
  // Batch of 5: the full forward, then halves [0,1] and [2,3,4], then [2] and [3,4], then [3] and [4].
  CHECK(backend.forwards == 7);
  for (std::size_t k = 0; k < r.tokens.size(); ++k) {
    const std::size_t i = k < 3 ? k : k + 1;
    CHECK(r.tokens[k].id == 100 + i);
    CHECK(r.tokens[k].token == test::greedy_on_backend(f.cpu, prompts[i], 1, kBlocksPerSequence).front());
  }
}

TEST_CASE("engine: a failure of the device itself fails every sequence, each with its own error", "[engine][isolation]") {
  Fixture f;
  PoisonedBackend backend(f.cpu, 1);  // every prompt below starts with 1
  std::vector<std::shared_ptr<const std::vector<int32_t>>> keep;
  SamplingParams greedy;
  StepExecutor executor(backend);
  const StepResult r = executor.run(prefill_step(0, {{1, 2}, {1, 3}, {1, 4}}, keep, greedy));
  CHECK(r.tokens.empty());
  REQUIRE(r.failed.size() == 3);
  for (const FailedSequence& failed : r.failed) CHECK(failed.reason == "device fault in this batch");
  CHECK(backend.forwards == 5);  // 2n - 1
}

TEST_CASE("engine: forward_isolating runs the whole batch once when nothing fails", "[engine][isolation]") {
  Fixture f;
  PoisonedBackend backend(f.cpu, -5);
  StepBatch batch;
  for (int i = 0; i < 3; ++i) {
    SequenceStep s;
    s.tokens = {1, static_cast<int32_t>(i + 2)};
    s.block_table = {i};
    batch.sequences.push_back(s);
  }
  StepLogits logits;
  std::vector<std::vector<std::size_t>> calls;
  const auto faults = forward_isolating(backend, batch, logits, [&](std::span<const std::size_t> indices, const StepLogits& l) {
    calls.emplace_back(indices.begin(), indices.end());
    CHECK(l.first_row.size() == indices.size());
  });
  CHECK(faults.empty());
  CHECK(backend.forwards == 1);
  REQUIRE(calls.size() == 1);
  CHECK(calls[0] == std::vector<std::size_t>{0, 1, 2});
}
