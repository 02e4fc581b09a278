// StepExecutor on the CPU backend with the tiny Llama fixture: pending tokens filled in, chunked
// prefill, several sequences per step, released state, seeded sampling and logprobs.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "engine/step_executor.hpp"
#include "pipeline/sampling/logit_rules.hpp"
#include "pipeline/structured_output/structured_output_grammar.hpp"
#include "gpu/cpu/cpu_backend.hpp"
#include "tests/support/fixtures.hpp"
#include "tests/support/greedy.hpp"
#include "tests/support/step_driver.hpp"

using namespace troupe;

namespace {

constexpr int64_t kBlocksPerSequence = 4;  // 64 positions at the default 16-slot blocks

struct Fixture {
  ModelFiles model = ModelFiles::open(test::fixture("models/llama"));
  CpuBackend backend{model, [] {
                       BackendOptions o;
                       o.max_kv_tokens = 4 * 64;
                       o.threads = 1;
                       return o;
                     }()};
};

// The reference: a plain greedy loop straight on the backend.
std::vector<int32_t> greedy_loop(Backend& backend, const std::vector<int32_t>& prompt, int n) {
  return test::greedy_on_backend(backend, prompt, n, kBlocksPerSequence);
}

using test::StepDriver;

}  // namespace

TEST_CASE("engine: greedy through the executor equals a plain greedy loop", "[engine]") {
  Fixture f;
  const std::vector<int32_t> prompt_a{1, 15, 27, 90, 4, 33, 8};
  const std::vector<int32_t> prompt_b{1, 200, 3};
  const auto ref_a = greedy_loop(f.backend, prompt_a, 12);
  const auto ref_b = greedy_loop(f.backend, prompt_b, 12);

  StepExecutor executor(f.backend);
  StepDriver driver(executor, kBlocksPerSequence);
  driver.add(10, prompt_a, SamplingParams{}, 0);
  driver.add(11, prompt_b, SamplingParams{}, 1);
  // Prefill in chunks of 3: sequence a samples at the third step, b at the first.
  while (driver.find(10).generated.size() < 12) driver.step(3);
  CHECK(driver.find(10).generated == ref_a);
  const auto& b = driver.find(11).generated;
  REQUIRE(b.size() >= 12);
  CHECK(std::vector<int32_t>(b.begin(), b.begin() + 12) == ref_b);
  CHECK(executor.live_sequences() == 2);
}

TEST_CASE("engine: a model with per-sequence state gets a slot per sequence, a released one's reused from zero",
          "[engine]") {
  // LFM2's convolutions keep each sequence's last inputs: two sequences prefilled in chunks side by
  // side, then a third in a slot they gave back, each as it would run alone.
  const ModelFiles model = ModelFiles::open(test::fixture("models/lfm2"));
  CpuBackend backend(model, [] {
    BackendOptions o;
    o.max_kv_tokens = 4 * 64;
    o.threads = 1;
    return o;
  }());
  const std::vector<int32_t> prompt_a{1, 15, 27, 90, 4, 33, 8, 200, 7, 19};
  const std::vector<int32_t> prompt_b{1, 200, 3};
  const auto ref_a = greedy_loop(backend, prompt_a, 8);
  const auto ref_b = greedy_loop(backend, prompt_b, 8);
  StepExecutor executor(backend);
  {
    StepDriver driver(executor, kBlocksPerSequence);
    driver.add(1, prompt_a, SamplingParams{}, 0);
    driver.add(2, prompt_b, SamplingParams{}, 1);
    while (driver.find(1).generated.size() < 8) driver.step(3);
    CHECK(driver.find(1).generated == ref_a);
    CHECK(std::vector<int32_t>(driver.find(2).generated.begin(), driver.find(2).generated.begin() + 8) == ref_b);
  }
  StepDriver later(executor, kBlocksPerSequence);
  later.add(3, prompt_b, SamplingParams{}, 2);
  later.step(3, {1, 2});
  CHECK(executor.live_sequences() == 1);
  while (later.find(3).generated.size() < 8) later.step(3);
  CHECK(later.find(3).generated == ref_b);
}

TEST_CASE("engine: released sequences drop their state; an unknown one is refused", "[engine]") {
  Fixture f;
  StepExecutor executor(f.backend);
  StepDriver driver(executor, kBlocksPerSequence);
  driver.add(1, {1, 2, 3}, SamplingParams{}, 0);
  driver.add(2, {1, 4, 5}, SamplingParams{}, 1);
  driver.step(8);
  CHECK(executor.holds(1));
  CHECK(executor.holds(2));

  ScheduledStep release_only;
  release_only.step_id = 1;
  release_only.released = {1};
  const auto r = executor.run(release_only);
  CHECK(r.tokens.empty());
  CHECK_FALSE(executor.holds(1));
  CHECK(executor.holds(2));

  // A decode step for the released sequence without first_time: nothing is known about it. It
  // fails alone; the step still runs.
  ScheduledStep stale;
  stale.batch.sequences.push_back({{kPendingToken}, 4, {0}, false});
  stale.sequences.push_back({.id = 1, .sample = true});
  const auto stale_result = executor.run(stale);
  REQUIRE(stale_result.failed.size() == 1);
  CHECK(stale_result.failed[0].id == 1);
  CHECK(stale_result.failed[0].reason.find("never seen") != std::string::npos);
  CHECK(stale_result.tokens.empty());

  // A pending token for a sequence that never sampled.
  ScheduledStep never_sampled;
  auto prompt = std::make_shared<const std::vector<int32_t>>(std::vector<int32_t>{1});
  SamplingParams greedy;
  never_sampled.batch.sequences.push_back({{kPendingToken}, 0, {0}, false});
  never_sampled.sequences.push_back({.id = 3, .sample = true, .first_time = true, .prompt = prompt, .sampling = &greedy});
  const auto never_result = executor.run(never_sampled);
  REQUIRE(never_result.failed.size() == 1);
  CHECK(never_result.failed[0].id == 3);
  CHECK_FALSE(executor.holds(3));

  ScheduledStep mismatched;
  mismatched.batch.sequences.resize(1);
  CHECK_THROWS_AS(executor.run(mismatched), std::invalid_argument);
}

TEST_CASE("engine: seeded sampling reproduces; a resumed sequence continues its stream", "[engine]") {
  Fixture f;
  SamplingParams p;
  p.temperature = 1.3;
  p.top_k = 50;
  p.seed = 99;
  p.logprobs = 3;
  const std::vector<int32_t> prompt{1, 7, 7, 42};

  auto sample_run = [&](const SamplingParams& params) {
    StepExecutor executor(f.backend);
    StepDriver driver(executor, kBlocksPerSequence);
    driver.add(5, prompt, params, 0);
    for (int i = 0; i < 16; ++i) driver.step(16);
    return driver.find(5);
  };
  const auto first = sample_run(p);
  const auto second = sample_run(p);
  CHECK(first.generated == second.generated);
  CHECK(sample_run(choice_sampling(p, 1)).generated != first.generated);

  // Logprobs for every token: the chosen token's own, and the top 3 best first.
  for (std::size_t i = 0; i < first.generated.size(); ++i) {
    REQUIRE(first.logprobs[i].has_value());
    const auto& lp = *first.logprobs[i];
    CHECK(lp.token_id == first.generated[i]);
    REQUIRE(lp.top.size() == 3);
    CHECK(lp.top[0].logprob >= lp.top[1].logprob);
    CHECK(lp.logprob <= lp.top[0].logprob);
    CHECK(lp.logprob == second.logprobs[i]->logprob);
  }

  // Preempted after 10 tokens and recomputed: first_time again with the output so far, which is
  // prefilled after the prompt; the continuation matches the uninterrupted run.
  StepExecutor executor(f.backend);
  std::vector<int32_t> recompute = prompt;
  recompute.insert(recompute.end(), first.generated.begin(), first.generated.begin() + 10);
  ScheduledStep s;
  SequenceStep entry{recompute, 0, {0, 1, 2, 3}, false};
  s.batch.sequences.push_back(entry);
  s.sequences.push_back({.id = 5,
                         .sample = true,
                         .first_time = true,
                         .prompt = std::make_shared<const std::vector<int32_t>>(prompt),
                         .output_so_far = std::vector<int32_t>(first.generated.begin(), first.generated.begin() + 10),
                         .sampling = &p});
  auto r = executor.run(s);
  REQUIRE(r.tokens.size() == 1);
  CHECK(r.tokens[0].token == first.generated[10]);
  // Next decode step with a pending token: the executor fills in the token it just sampled.
  s.step_id = 1;
  s.batch.sequences[0] = {{kPendingToken}, static_cast<int64_t>(recompute.size()), {0, 1, 2, 3}, false};
  s.sequences[0].first_time = false;
  r = executor.run(s);
  CHECK(r.tokens[0].token == first.generated[11]);
  CHECK(r.forward_seconds > 0.0);
}

TEST_CASE("engine: a sequence with all_logits samples from its last row", "[engine]") {
  Fixture f;
  const std::vector<int32_t> prompt{1, 15, 27, 90};
  const auto ref = greedy_loop(f.backend, prompt, 1);
  StepExecutor executor(f.backend);
  SamplingParams greedy;
  ScheduledStep s;
  s.batch.sequences.push_back({prompt, 0, {0, 1, 2, 3}, true});
  s.sequences.push_back({.id = 1, .sample = true, .first_time = true,
                         .prompt = std::make_shared<const std::vector<int32_t>>(prompt), .sampling = &greedy});
  const auto r = executor.run(s);
  REQUIRE(r.tokens.size() == 1);
  CHECK(r.tokens[0].token == ref[0]);
  CHECK_FALSE(r.logprobs[0].has_value());
}

TEST_CASE("engine: a grammar masks every step: sampled text matches it, then the stop id", "[engine]") {
  Fixture f;
  const int32_t vocab = static_cast<int32_t>(f.backend.spec().vocab_size);
  // A synthetic vocabulary over the tiny model's ids: 'a', 'b', 'c', "ab" at 10..13, id 2 (the
  // model's eos) the stop id, every other id a string the grammar never allows.
  std::vector<std::string> bytes(static_cast<std::size_t>(vocab));
  for (int32_t id = 0; id < vocab; ++id) bytes[static_cast<std::size_t>(id)] = "x" + std::to_string(id);
  bytes[10] = "a", bytes[11] = "b", bytes[12] = "c", bytes[13] = "ab";
  auto vocabulary = std::make_shared<const structured_output::TokenVocabulary>(bytes, std::vector<int32_t>{2});
  StructuredOutputRequest constraint;
  constraint.kind = StructuredOutputRequest::Kind::Regex;
  constraint.text = "[ab]{2,5}c";
  SamplingParams p;
  p.temperature = 1.0;
  p.seed = 7;
  p.logprobs = 2;
  p.grammar = std::make_shared<const structured_output::CompiledGrammar>(structured_output::grammar_for(constraint), vocabulary);

  for (uint64_t seed = 1; seed <= 4; ++seed) {
    p.seed = seed;
    StepExecutor executor(f.backend);
    StepDriver driver(executor, kBlocksPerSequence);
    driver.add(1, {1, 5, 9}, p, 0);
    std::string text;
    for (int i = 0; i < 8; ++i) {
      driver.step(16);
      const int32_t token = driver.find(1).generated.back();
      if (token == 2) break;
      text += bytes[static_cast<std::size_t>(token)];
    }
    CAPTURE(text);
    CHECK(driver.find(1).generated.back() == 2);  // the grammar completed: only the stop id was left
    REQUIRE(text.size() >= 3);
    CHECK(text.back() == 'c');
    CHECK(text.find_first_not_of("ab") == text.size() - 1);
    // Logprobs describe the constrained distribution: the alternatives are allowed tokens.
    for (const auto& lp : driver.find(1).logprobs) {
      REQUIRE(lp.has_value());
      for (const auto& alt : lp->top) {
        if (std::isfinite(alt.logprob)) CHECK((alt.token_id == 2 || (alt.token_id >= 10 && alt.token_id <= 13)));
      }
    }
  }
}

TEST_CASE("engine: a grammar with grammar_after waits for that token (a reasoning model's </think>)", "[engine]") {
  Fixture f;
  const int32_t vocab = static_cast<int32_t>(f.backend.spec().vocab_size);
  const std::vector<int32_t> prompt{1, 5, 9};
  // Unconstrained greedy tokens: the reasoning the grammar must leave alone. The first token after
  // the first that differs from all before it plays </think>.
  const std::vector<int32_t> free_run = greedy_loop(f.backend, prompt, 8);
  std::size_t k = 1;
  while (k < free_run.size() && std::find(free_run.begin(), free_run.begin() + static_cast<std::ptrdiff_t>(k), free_run[k]) !=
                                    free_run.begin() + static_cast<std::ptrdiff_t>(k)) {
    ++k;
  }
  REQUIRE(k < free_run.size());
  // The grammar allows "a" (id 10) and "b" (11), three of them, then the stop id.
  std::vector<std::string> bytes(static_cast<std::size_t>(vocab));
  for (int32_t id = 0; id < vocab; ++id) bytes[static_cast<std::size_t>(id)] = "x" + std::to_string(id);
  bytes[10] = "a", bytes[11] = "b";
  auto vocabulary = std::make_shared<const structured_output::TokenVocabulary>(bytes, std::vector<int32_t>{2});
  StructuredOutputRequest constraint;
  constraint.kind = StructuredOutputRequest::Kind::Regex;
  constraint.text = "[ab]{3}";
  SamplingParams p;
  p.grammar = std::make_shared<const structured_output::CompiledGrammar>(structured_output::grammar_for(constraint), vocabulary);
  p.grammar_after = free_run[k];

  StepExecutor executor(f.backend);
  StepDriver driver(executor, kBlocksPerSequence);
  driver.add(1, prompt, p, 0);
  const auto steps = static_cast<int>(k) + 5;
  for (int i = 0; i < steps; ++i) driver.step(16);
  const std::vector<int32_t>& out = driver.find(1).generated;
  REQUIRE(out.size() == static_cast<std::size_t>(steps));
  // The reasoning as generated without a grammar, then exactly the grammar's three tokens and the stop.
  CHECK(std::vector<int32_t>(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(k) + 1) ==
        std::vector<int32_t>(free_run.begin(), free_run.begin() + static_cast<std::ptrdiff_t>(k) + 1));
  for (std::size_t i = k + 1; i < k + 4; ++i) CHECK((out[i] == 10 || out[i] == 11));
  CHECK(out[k + 4] == 2);
}

TEST_CASE("engine: logit rules change the draw, not the logprobs (vLLM's raw logprobs)", "[engine]") {
  Fixture f;
  const std::vector<int32_t> prompt{1, 15, 27, 90, 4};
  SamplingParams plain;
  plain.logprobs = 3;
  StepExecutor free_executor(f.backend);
  StepDriver free_driver(free_executor, kBlocksPerSequence);
  free_driver.add(1, prompt, plain, 0);
  free_driver.step(16);
  const auto& free_lp = free_driver.find(1).logprobs.front();
  REQUIRE(free_lp.has_value());
  const int32_t favourite = free_driver.find(1).generated.front();

  // Only token 7 may be drawn (and the favourite is not it): 7 comes out, and its logprob and the
  // alternatives are the model's own, as without the rule.
  REQUIRE(favourite != 7);
  SamplingParams restricted = plain;
  LogitRules rules;
  rules.allowed_token_ids = {7};
  restricted.logit_rules = std::make_shared<const LogitRules>(rules);
  StepExecutor executor(f.backend);
  StepDriver driver(executor, kBlocksPerSequence);
  driver.add(1, prompt, restricted, 0);
  driver.step(16);
  CHECK(driver.find(1).generated.front() == 7);
  const auto& lp = driver.find(1).logprobs.front();
  REQUIRE(lp.has_value());
  CHECK(lp->token_id == 7);
  CHECK(std::isfinite(lp->logprob));
  CHECK(lp->logprob < free_lp->logprob);
  REQUIRE(lp->top.size() == free_lp->top.size());
  for (std::size_t i = 0; i < lp->top.size(); ++i) {
    CHECK(lp->top[i].token_id == free_lp->top[i].token_id);
    CHECK(lp->top[i].logprob == free_lp->top[i].logprob);
  }
}

TEST_CASE("engine: rules that exclude every token fail that sequence only", "[engine]") {
  Fixture f;
  SamplingParams impossible;
  LogitRules rules;
  rules.allowed_token_ids = {7};
  rules.bad_words = {{7}};
  impossible.logit_rules = std::make_shared<const LogitRules>(rules);
  StepExecutor executor(f.backend);
  StepDriver driver(executor, kBlocksPerSequence);
  driver.add(1, {1, 2, 3}, impossible, 0);
  driver.add(2, {1, 4, 5}, SamplingParams{}, 1);
  driver.step(8);
  REQUIRE(driver.last.failed.size() == 1);
  CHECK(driver.last.failed[0].id == 1);
  CHECK(driver.last.failed[0].reason.find("no token can be generated") != std::string::npos);
  CHECK(driver.find(2).generated.size() == 1);
}
