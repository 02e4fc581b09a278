// Speculative decoding end to end below the actors: the real Scheduler proposing, the real
// StepExecutor verifying, a real CPU backend. Output with speculation must equal output without:
// token for token when greedy, and for a seeded sampled sequence too (each verified row draws the
// same uniform as the plain decode of that token would). Independent seeds give independent
// samples whose distribution at a fixed position must match plain decoding's (chi-square).
#include <catch2/catch.hpp>
#include <cmath>
#include <map>
#include <random>
#include <tuple>

#include "engine/step_executor.hpp"
#include "gpu/cpu/cpu_backend.hpp"
#include "pipeline/scheduler/scheduler.hpp"
#include "tests/support/fixtures.hpp"

using namespace troupe;

namespace {

struct Output {
  std::vector<int32_t> tokens;
  std::vector<std::optional<TokenLogprobs>> logprobs;
};

struct Run {
  std::map<SeqId, Output> outputs;
  SchedulerStats stats;
  int64_t steps = 0;
};

std::unique_ptr<CpuBackend> backend_for(const ModelFiles& model, int64_t kv_tokens) {
  BackendOptions o;
  o.max_kv_tokens = kv_tokens;
  o.threads = 2;
  return std::make_unique<CpuBackend>(model, o);
}

// Drives the scheduler and the executor until every request finished, one step at a time.
Run run(Backend& backend, const SpeculativeConfig& speculative, const std::vector<SequenceRequest>& requests,
        std::shared_ptr<Backend> draft = nullptr) {
  SchedulerConfig config;
  config.max_num_seqs = 256;
  config.max_num_batched_tokens = 1024;
  config.max_model_len = backend.spec().max_position;
  config.block_size = backend.kv_block_size();
  config.num_blocks = backend.kv_num_blocks();
  config.speculative = speculative;
  Scheduler scheduler(config);
  StepExecutor executor(backend, true, std::move(draft));
  for (const SequenceRequest& r : requests) REQUIRE(scheduler.add(r) == AddResult::Accepted);
  Run out;
  while (scheduler.has_unscheduled_work()) {
    std::optional<ScheduledStep> step = scheduler.schedule();
    REQUIRE(step.has_value());
    ++out.steps;
    const StepResult result = executor.run(*step);
    REQUIRE(result.failed.empty());
    REQUIRE(result.logprobs.size() == result.tokens.size());
    std::map<SeqId, std::size_t> first;  // a sequence's tokens are consecutive in the result
    for (std::size_t i = result.tokens.size(); i-- > 0;) first[result.tokens[i].id] = i;
    for (const SequenceUpdate& u : scheduler.complete(step->step_id, result.tokens)) {
      Output& o = out.outputs[u.id];
      for (std::size_t j = 0; j < u.new_tokens.size(); ++j) {
        o.tokens.push_back(u.new_tokens[j]);
        o.logprobs.push_back(result.logprobs[first.at(u.id) + j]);
      }
    }
  }
  out.stats = scheduler.stats();
  CHECK(scheduler.kv().num_used() == 0);
  return out;
}

SpeculativeConfig ngram(int64_t k, int64_t batch_limit = 8) {
  SpeculativeConfig c;
  c.method = SpeculativeMethod::Ngram;
  c.num_speculative_tokens = k;
  c.prompt_lookup_min = 1;
  c.prompt_lookup_max = 4;
  c.disable_by_batch_size = batch_limit;
  return c;
}

SpeculativeConfig draft_model(int64_t k, int64_t batch_limit = 8) {
  SpeculativeConfig c;
  c.method = SpeculativeMethod::Draft;
  c.num_speculative_tokens = k;
  c.disable_by_batch_size = batch_limit;
  return c;
}

// Prompts that repeat a random phrase, as an edit repeats its source: guesses have material.
std::vector<SequenceRequest> repetitive_requests(int n, int64_t vocab, int64_t max_new_tokens, const SamplingParams& sampling,
                                                 uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int32_t> token(3, static_cast<int32_t>(vocab - 1));
  std::vector<SequenceRequest> out;
  for (int i = 0; i < n; ++i) {
    std::vector<int32_t> phrase(static_cast<std::size_t>(6 + i % 7));
    for (int32_t& t : phrase) t = token(rng);
    std::vector<int32_t> prompt{1};
    for (int rep = 0; rep < 3; ++rep) prompt.insert(prompt.end(), phrase.begin(), phrase.end());
    SequenceRequest r;
    r.id = static_cast<SeqId>(100 + i);
    r.prompt = std::make_shared<const std::vector<int32_t>>(std::move(prompt));
    r.sampling = sampling;
    if (sampling.seed) r.sampling.seed = *sampling.seed + static_cast<uint64_t>(i);
    r.max_new_tokens = max_new_tokens;
    out.push_back(std::move(r));
  }
  return out;
}

void check_same(const Run& plain, const Run& spec, bool logprobs) {
  REQUIRE(plain.outputs.size() == spec.outputs.size());
  for (const auto& [id, want] : plain.outputs) {
    CAPTURE(id);
    const Output& got = spec.outputs.at(id);
    CHECK(got.tokens == want.tokens);
    if (!logprobs || got.tokens != want.tokens) continue;
    for (std::size_t i = 0; i < want.tokens.size(); ++i) {
      REQUIRE(want.logprobs[i].has_value());
      REQUIRE(got.logprobs[i].has_value());
      CHECK(got.logprobs[i]->logprob == Approx(want.logprobs[i]->logprob).margin(1e-4));
      REQUIRE(got.logprobs[i]->top.size() == want.logprobs[i]->top.size());
      for (std::size_t t = 0; t < want.logprobs[i]->top.size(); ++t)
        CHECK(got.logprobs[i]->top[t].token_id == want.logprobs[i]->top[t].token_id);
    }
  }
}

}  // namespace

TEST_CASE("speculative: n-gram greedy output equals plain decoding (Llama, Qwen2, Qwen3 fixtures)", "[engine][speculative]") {
  for (const char* name : {"models/llama", "models/qwen2", "models/qwen3"}) {
    CAPTURE(name);
    const ModelFiles model = ModelFiles::open(test::fixture(name));
    auto backend = backend_for(model, 16 * 160);
    SamplingParams greedy;
    greedy.logprobs = 2;
    const auto requests = repetitive_requests(16, model.spec().vocab_size, 60, greedy, 7);
    const Run plain = run(*backend, SpeculativeConfig{}, requests);
    CHECK(plain.stats.spec_drafts == 0);
    // One at a time, then all 16 at once with speculation kept on for the whole batch.
    for (const bool together : {false, true}) {
      CAPTURE(together);
      Run spec;
      if (together) {
        spec = run(*backend, ngram(4, /*batch_limit=*/16), requests);
      } else {
        for (const SequenceRequest& r : requests) {
          Run one = run(*backend, ngram(4), {r});
          spec.outputs.merge(one.outputs);
          spec.stats.spec_drafts += one.stats.spec_drafts;
          spec.stats.spec_accepted_tokens += one.stats.spec_accepted_tokens;
        }
      }
      check_same(plain, spec, /*logprobs=*/true);
      CHECK(spec.stats.spec_drafts > 0);
      CHECK(spec.stats.spec_accepted_tokens > 0);
    }
  }
}

TEST_CASE("speculative: a seeded sampled sequence gives the same tokens with and without n-gram speculation",
          "[engine][speculative]") {
  const ModelFiles model = ModelFiles::open(test::fixture("models/spec_target"));
  auto backend = backend_for(model, 16 * 200);
  SamplingParams p;
  p.temperature = 0.7;
  p.top_p = 0.9;
  p.top_k = 40;
  p.min_p = 0.01;
  p.presence_penalty = 0.2;
  p.frequency_penalty = 0.1;
  p.repetition_penalty = 1.05;
  p.logprobs = 3;
  p.seed = 1234;
  const auto requests = repetitive_requests(16, model.spec().vocab_size, 80, p, 11);
  const Run plain = run(*backend, SpeculativeConfig{}, requests);
  const Run spec = run(*backend, ngram(5, 16), requests);
  check_same(plain, spec, /*logprobs=*/true);
  CHECK(spec.stats.spec_accepted_tokens > 0);
}

namespace {

// Two-sample chi-square of histograms a and b (equal totals): bins with fewer than 10 draws in
// both together are pooled into one. Returns (statistic, degrees of freedom).
std::pair<double, int> chi_square(const std::map<int32_t, int64_t>& a, const std::map<int32_t, int64_t>& b) {
  std::map<int32_t, std::pair<int64_t, int64_t>> bins;
  for (const auto& [t, n] : a) bins[t].first += n;
  for (const auto& [t, n] : b) bins[t].second += n;
  double stat = 0;
  int df = -1;
  int64_t pooled_a = 0, pooled_b = 0;
  for (const auto& [t, nb] : bins) {
    const auto [x, y] = nb;
    if (x + y < 10) {
      pooled_a += x;
      pooled_b += y;
      continue;
    }
    stat += static_cast<double>((x - y) * (x - y)) / static_cast<double>(x + y);
    ++df;
  }
  if (pooled_a + pooled_b > 0) {
    stat += static_cast<double>((pooled_a - pooled_b) * (pooled_a - pooled_b)) / static_cast<double>(pooled_a + pooled_b);
    ++df;
  }
  return {stat, df};
}

// The chi-square quantile at 1 - 0.001 (Wilson–Hilferty; z = 3.0902).
double chi_square_critical_p001(int df) {
  const double k = df, z = 3.0902;
  return k * std::pow(1.0 - 2.0 / (9.0 * k) + z * std::sqrt(2.0 / (9.0 * k)), 3.0);
}

}  // namespace

TEST_CASE("speculative: sampled tokens keep the target's distribution (chi-square, 20,000 samples)", "[engine][speculative]") {
  const ModelFiles model = ModelFiles::open(test::fixture("models/spec_target"));
  constexpr int kSamples = 20000, kBatch = 250;
  auto backend = backend_for(model, kBatch * 32);
  SamplingParams p;
  p.temperature = 0.7;
  p.top_p = 0.9;
  // The prompt is X Y X where Y is the model's own greedy continuation of X Y X (found by
  // iterating): the n-gram proposer guesses Y after the second X, which sampling often follows.
  const std::vector<int32_t> x{1, 9, 33};
  std::vector<int32_t> y{5, 5, 5, 5};
  std::vector<int32_t> prompt;
  for (int iteration = 0; iteration < 8; ++iteration) {
    prompt = x;
    prompt.insert(prompt.end(), y.begin(), y.end());
    prompt.insert(prompt.end(), x.begin(), x.end());
    SequenceRequest r;
    r.id = 1;
    r.prompt = std::make_shared<const std::vector<int32_t>>(prompt);
    r.max_new_tokens = 4;
    y = run(*backend, SpeculativeConfig{}, {r}).outputs.at(1).tokens;
  }
  const ModelFiles draft_files = ModelFiles::open(test::fixture("models/spec_draft"));
  std::shared_ptr<Backend> draft = backend_for(draft_files, kBatch * 32);
  auto histograms = [&](const SpeculativeConfig& spec, uint64_t first_seed, int64_t& accepted) {
    std::array<std::map<int32_t, int64_t>, 3> h;  // output positions 1, 2, 3
    for (int done = 0; done < kSamples; done += kBatch) {
      std::vector<SequenceRequest> requests;
      for (int i = 0; i < kBatch; ++i) {
        SequenceRequest r;
        r.id = static_cast<SeqId>(i + 1);
        r.prompt = std::make_shared<const std::vector<int32_t>>(prompt);
        r.sampling = p;
        r.sampling.seed = first_seed + static_cast<uint64_t>(done + i);
        r.max_new_tokens = 4;
        requests.push_back(std::move(r));
      }
      const Run result = run(*backend, spec, requests, spec.method == SpeculativeMethod::Draft ? draft : nullptr);
      accepted += result.stats.spec_accepted_tokens;
      for (const auto& [id, o] : result.outputs) {
        REQUIRE(o.tokens.size() == 4);
        for (std::size_t pos = 1; pos < 4; ++pos) ++h[pos - 1][o.tokens[pos]];
      }
    }
    return h;
  };
  int64_t accepted_plain = 0;
  const auto plain = histograms(SpeculativeConfig{}, 1, accepted_plain);
  CHECK(accepted_plain == 0);
  // Independent seeds: the sample sets share nothing but the model. The draft model's own
  // distribution differs from the target's (its weights carry noise).
  for (const auto& [name, config, first_seed] : {std::tuple{"ngram", ngram(3, kBatch), uint64_t{1'000'000}},
                                                 std::tuple{"draft_model", draft_model(3, kBatch), uint64_t{2'000'000}}}) {
    int64_t accepted = 0;
    const auto spec = histograms(config, first_seed, accepted);
    CAPTURE(name, accepted);
    CHECK(accepted > kSamples / 20);  // the accept path ran often, not only the reject path
    for (std::size_t pos = 0; pos < 3; ++pos) {
      const auto [stat, df] = chi_square(plain[pos], spec[pos]);
      CAPTURE(pos + 1, stat, df);
      REQUIRE(df >= 2);
      CHECK(stat < chi_square_critical_p001(df));
      WARN(name << ", position " << pos + 1 << ": chi-square " << stat << " on " << df << " degrees of freedom (critical "
                << chi_square_critical_p001(df) << "), accepted guesses " << accepted);
    }
  }
}

TEST_CASE("speculative: draft-model greedy and seeded output equal plain decoding", "[engine][speculative]") {
  SECTION("the Llama fixture drafting for itself: every guess holds") {
    const ModelFiles model = ModelFiles::open(test::fixture("models/llama"));
    auto backend = backend_for(model, 16 * 160);
    std::shared_ptr<Backend> draft = backend_for(model, 16 * 160);
    SamplingParams greedy;
    greedy.logprobs = 2;
    const auto requests = repetitive_requests(16, model.spec().vocab_size, 60, greedy, 3);
    const Run plain = run(*backend, SpeculativeConfig{}, requests);
    const Run spec = run(*backend, draft_model(4, 16), requests, draft);
    check_same(plain, spec, /*logprobs=*/true);
    CHECK(spec.stats.spec_drafts > 0);
    CHECK(spec.stats.spec_accepted_tokens == spec.stats.spec_draft_tokens);
    CHECK(spec.steps < plain.steps / 3);
  }
  SECTION("a draft that differs, greedy and seeded sampling") {
    const ModelFiles model = ModelFiles::open(test::fixture("models/spec_target"));
    const ModelFiles draft_files = ModelFiles::open(test::fixture("models/spec_draft"));
    auto backend = backend_for(model, 16 * 200);
    std::shared_ptr<Backend> draft = backend_for(draft_files, 16 * 200);
    SamplingParams sampled;
    sampled.temperature = 0.8;
    sampled.top_p = 0.95;
    sampled.presence_penalty = 0.3;
    sampled.logprobs = 2;
    sampled.seed = 99;
    for (const SamplingParams& p : {SamplingParams{}, sampled}) {
      const auto requests = repetitive_requests(16, model.spec().vocab_size, 60, p, 5);
      const Run plain = run(*backend, SpeculativeConfig{}, requests);
      for (const int64_t batch_limit : {int64_t{1}, int64_t{16}}) {
        CAPTURE(p.temperature, batch_limit);
        const Run spec = run(*backend, draft_model(3, batch_limit), requests, draft);
        check_same(plain, spec, /*logprobs=*/p.logprobs.has_value());
        // With a limit of 1 these 16 equal requests never speculate (all decode until the end).
        if (batch_limit == 16) CHECK(spec.stats.spec_accepted_tokens > 0);
        if (batch_limit == 1) CHECK(spec.stats.spec_drafts == 0);
      }
    }
  }
  SECTION("a draft model that fails drops its guesses, never the request") {
    // Delegates everything to a real backend but throws from forward after a few calls.
    struct FailingDraft : Backend {
      std::shared_ptr<Backend> inner;
      int calls = 0;
      std::string_view name() const override { return "failing-draft"; }
      const ModelSpec& spec() const override { return inner->spec(); }
      int64_t kv_block_size() const override { return inner->kv_block_size(); }
      int64_t kv_num_blocks() const override { return inner->kv_num_blocks(); }
      int64_t weight_bytes() const override { return inner->weight_bytes(); }
      int64_t kv_cache_bytes() const override { return inner->kv_cache_bytes(); }
      void forward(const StepBatch& batch, StepLogits& out) override {
        if (++calls % 3 == 0) throw std::runtime_error("draft device lost");
        inner->forward(batch, out);
      }
    };
    const ModelFiles model = ModelFiles::open(test::fixture("models/llama"));
    auto backend = backend_for(model, 16 * 160);
    auto draft = std::make_shared<FailingDraft>();
    draft->inner = backend_for(model, 16 * 160);
    const auto requests = repetitive_requests(8, model.spec().vocab_size, 40, SamplingParams{}, 9);
    const Run plain = run(*backend, SpeculativeConfig{}, requests);
    const Run spec = run(*backend, draft_model(4, 16), requests, draft);
    check_same(plain, spec, /*logprobs=*/false);
    CHECK(draft->calls > 3);
    CHECK(spec.stats.spec_accepted_tokens > 0);  // the guesses made before a failure still count
  }
  SECTION("a draft with another vocabulary is refused") {
    const ModelFiles model = ModelFiles::open(test::fixture("models/spec_target"));
    const ModelFiles other = ModelFiles::open(test::fixture("models/llama"));
    auto backend = backend_for(model, 16 * 200);
    std::shared_ptr<Backend> draft = backend_for(other, 16 * 200);
    CHECK_THROWS_WITH(StepExecutor(*backend, true, draft), Catch::Contains("vocabulary has 1000 tokens, the target's 64"));
  }
}
