// Fair prefill: a long prompt cannot hold the engine. Driven on a simulated clock where a step
// costs a fixed overhead plus per-token costs (decode and prompt), fed back through observe_step as
// the scheduler actor does, with two steps in flight. Checked: running streams get a token every
// step and their inter-token time stays within idle + the prefill budget; a short request sent
// during a long prefill starts at once; the oldest partial prefill always progresses; the cost model
// and Retry-After; sequences left out of a step after an abort need no token.
#include <catch2/catch.hpp>

#include <deque>
#include <map>
#include <numeric>

#include "fake_executor.hpp"
#include "pipeline/scheduler/cancelled_sequences.hpp"

namespace troupe {

namespace {

std::vector<int32_t> prompt_of(int n, int32_t first = 20) { return test::consecutive_tokens(n, first); }

// A step's cost: what a CPU step looks like, roughly (seconds).
// `prompt_fixed`: what every step with prompt tokens pays on top (the CPU backend expands its
// quantized weights once per step of more than 16 rows).
struct CostModel {
  double fixed = 0.004, per_decode = 0.003, per_prefill = 0.0015, prompt_fixed = 0.0;
  double operator()(const ScheduledStep& s) const {
    return fixed + per_decode * static_cast<double>(s.decode_tokens) + per_prefill * static_cast<double>(s.prefill_tokens) +
           (s.prefill_tokens > 0 ? prompt_fixed : 0.0);
  }
};

// Runs steps back to back on a simulated clock, two in flight, and records when each sequence got
// each token. `arrivals` adds requests once the clock passes their time.
struct Simulation {
  Scheduler& scheduler;
  test::FakeExecutor executor;
  CostModel cost;
  double clock = 0;
  std::map<SeqId, std::vector<double>> token_times;
  std::map<SeqId, FinishReason> finished;
  std::vector<ScheduledStep> steps;
  std::multimap<double, SequenceRequest> arrivals;
  std::map<SeqId, double> arrived_at;
  std::deque<std::pair<ScheduledStep, std::vector<SampledToken>>> in_flight;

  Simulation(Scheduler& s, int64_t blocks, int64_t block_size) : scheduler(s), executor(blocks, block_size) {}

  void arrive() {
    while (!arrivals.empty() && arrivals.begin()->first <= clock) {
      arrived_at[arrivals.begin()->second.id] = clock;
      REQUIRE(scheduler.add(arrivals.begin()->second) == AddResult::Accepted);
      arrivals.erase(arrivals.begin());
    }
  }

  // Until `until` returns true or nothing is left to do.
  void run(const std::function<bool()>& until = [] { return false; }) {
    for (int guard = 0; guard < 100000 && !until(); ++guard) {
      arrive();
      while (in_flight.size() < 2) {
        auto step = scheduler.schedule();
        if (!step) break;
        steps.push_back(*step);
        in_flight.emplace_back(*step, executor.run(*step));
      }
      if (in_flight.empty()) {
        if (arrivals.empty()) return;
        clock = arrivals.begin()->first;
        continue;
      }
      auto [step, sampled] = std::move(in_flight.front());
      in_flight.pop_front();
      const double seconds = cost(step);
      clock += seconds;
      scheduler.observe_step(step.prefill_tokens, step.decode_tokens, seconds);
      for (const SequenceUpdate& u : scheduler.complete(step.step_id, sampled)) {
        for (std::size_t i = 0; i < u.new_tokens.size(); ++i) token_times[u.id].push_back(clock);
        if (u.finished) finished[u.id] = *u.finished;
      }
    }
  }
};

double max_gap(const std::vector<double>& times, double from, double to) {
  double gap = 0;
  for (std::size_t i = 1; i < times.size(); ++i) {
    if (times[i - 1] >= from && times[i] <= to) gap = std::max(gap, times[i] - times[i - 1]);
  }
  return gap;
}

}  // namespace

TEST_CASE("fair prefill: running streams keep getting tokens within idle + budget while a long prompt fills",
          "[scheduler][fair]") {
  SchedulerConfig config{.max_num_seqs = 16, .max_num_batched_tokens = 512, .max_model_len = 8192, .block_size = 16,
                         .num_blocks = 2048, .prefill_budget_seconds = 0.05};
  Scheduler s(config);
  Simulation sim(s, config.num_blocks, config.block_size);
  for (SeqId id = 1; id <= 4; ++id) REQUIRE(s.add(test::make_request(id, prompt_of(20, 100 * static_cast<int32_t>(id)), 600)) == AddResult::Accepted);
  // Four streams decode alone for a while: the idle inter-token time.
  sim.run([&] { return sim.token_times[4].size() >= 20; });
  const double idle = sim.cost.fixed + 4 * sim.cost.per_decode;
  CHECK(max_gap(sim.token_times[1], sim.token_times[1][9], sim.clock) == Approx(idle));

  // A 4,000-token prompt arrives, and a short one while it is being filled.
  const double long_arrival = sim.clock;
  const std::size_t first_step_after = sim.steps.size();
  sim.arrivals.emplace(long_arrival, test::make_request(9, prompt_of(4000, 7), 1));
  sim.arrivals.emplace(long_arrival + 0.5, test::make_request(10, prompt_of(31, 3), 2));
  sim.run([&] { return sim.finished.count(9) != 0 && sim.finished.count(10) != 0; });
  REQUIRE(sim.finished.count(9));
  const double long_done = sim.token_times[9].front();

  // Every step of the prefill carried all four decodes, and its prompt tokens added at most the
  // budget to it (the first two, planned before a prompt step was measured, one block each), up to
  // the cost model's error: it charges the step's fixed 4 ms to the decodes, 1 ms too much with a
  // fifth decode. A step that probes another chunk size to learn the cost line may take twice the
  // budget: one in the model's window of 32.
  const double model_error = 0.001;
  std::size_t prefill_steps = 0, over_budget = 0;
  std::vector<double> prompt_parts;
  for (std::size_t i = first_step_after; i < sim.steps.size(); ++i) {
    const ScheduledStep& step = sim.steps[i];
    if (step.prefill_tokens == 0) continue;
    ++prefill_steps;
    CHECK(step.decode_tokens >= 4);
    const double decodes_alone = sim.cost.fixed + sim.cost.per_decode * static_cast<double>(step.decode_tokens);
    const double prompt_part = sim.cost(step) - decodes_alone;
    prompt_parts.push_back(prompt_part);
    CHECK(prompt_part <= 2 * config.prefill_budget_seconds + 1e-9);
    over_budget += prompt_part > config.prefill_budget_seconds + model_error + 1e-9;
  }
  CHECK(prefill_steps >= 4000 / 34);
  CHECK(over_budget * 32 <= prefill_steps + 32);
  // So a stream's inter-token time stays within its idle one (with the short request decoding too:
  // five decodes) plus the budget, but for the rare probe.
  const double idle_with_short = sim.cost.fixed + 5 * sim.cost.per_decode;
  for (SeqId id = 1; id <= 4; ++id) {
    std::vector<double> gaps;
    for (std::size_t i = 1; i < sim.token_times[id].size(); ++i) {
      if (sim.token_times[id][i - 1] >= long_arrival && sim.token_times[id][i] <= long_done)
        gaps.push_back(sim.token_times[id][i] - sim.token_times[id][i - 1]);
    }
    std::sort(gaps.begin(), gaps.end());
    REQUIRE(gaps.size() > 20);
    const double p90 = gaps[gaps.size() * 9 / 10];
    CHECK(p90 <= idle_with_short + config.prefill_budget_seconds + model_error + 1e-9);
    CHECK(gaps.back() <= idle_with_short + 2 * config.prefill_budget_seconds + 1e-9);
    CHECK(gaps.front() > idle);  // the prompt did share their steps
  }
  // Without the cap a 512-token chunk would have held them for 0.016 + 0.768 s per token.

  // The short request started at once: its first token within three steps of its arrival (the two
  // in flight, then its own), not after the 4,000-token prompt.
  REQUIRE(sim.token_times[10].size() == 2);
  CHECK(sim.token_times[10].front() - sim.arrived_at[10] <= 3 * (idle + config.prefill_budget_seconds) + 1e-9);
  CHECK(sim.token_times[10].front() < long_done);
}

TEST_CASE("fair prefill: the oldest partial prefill progresses by at least a block each step", "[scheduler][fair]") {
  // Short prompts keep arriving and would take the whole (tiny) cap; the long prompt still moves.
  SchedulerConfig config{.max_num_seqs = 64, .max_num_batched_tokens = 256, .max_model_len = 4096, .block_size = 16,
                         .num_blocks = 4096, .prefill_budget_seconds = 0.03};
  Scheduler s(config);
  Simulation sim(s, config.num_blocks, config.block_size);
  sim.arrivals.emplace(0.0, test::make_request(1, prompt_of(1000, 5), 1));
  for (int i = 0; i < 200; ++i) {
    sim.arrivals.emplace(0.01 * i, test::make_request(100 + static_cast<SeqId>(i), prompt_of(24, 300 + i), 1));
  }
  sim.run([&] { return sim.finished.count(1) != 0; });
  REQUIRE(sim.finished.count(1));
  // 1000 tokens at >= 16 per step, and the steps that had short prompts still gave it a block.
  std::size_t steps_with_long = 0;
  for (const ScheduledStep& step : sim.steps) {
    for (std::size_t i = 0; i < step.sequences.size(); ++i) {
      if (step.sequences[i].id == 1) {
        ++steps_with_long;
        // A block or more, but for the prompt's last chunk (1000 = 62 x 16 + 8).
        if (!step.sequences[i].sample) CHECK(static_cast<int64_t>(step.batch.sequences[i].tokens.size()) >= 16);
      }
    }
  }
  CHECK(steps_with_long <= 1000 / 16 + 1);
}

TEST_CASE("fair prefill: a lone prompt with nobody else runs in full budget-sized chunks", "[scheduler][fair]") {
  SchedulerConfig config{.max_num_batched_tokens = 512, .max_model_len = 8192, .block_size = 16, .num_blocks = 1024,
                         .prefill_budget_seconds = 0.05};
  Scheduler s(config);
  Simulation sim(s, config.num_blocks, config.block_size);
  REQUIRE(s.add(test::make_request(1, prompt_of(2000), 1)) == AddResult::Accepted);
  sim.run();
  REQUIRE(sim.steps.size() == 4);
  for (std::size_t i = 0; i < 3; ++i) CHECK(sim.steps[i].prefill_tokens == 512);
}

TEST_CASE("step cost model: decode cost, and a line through the prompt parts", "[scheduler][fair]") {
  StepCostModel m;
  CHECK_FALSE(m.prompt_cost());
  m.observe(0, 4, 0.02);  // 5 ms per decode token
  REQUIRE(m.seconds_per_decode_token());
  CHECK(*m.seconds_per_decode_token() == Approx(0.005));
  m.observe(100, 4, 0.02 + 0.2);  // one prompt size seen: all of it per token, 2 ms
  REQUIRE(m.prompt_cost());
  CHECK(m.prompt_cost()->fixed == 0);
  CHECK(m.prompt_cost()->per_token == Approx(0.002));
  CHECK_FALSE(m.prompt_cost()->line_known);
  // Sizes that differ separate a fixed cost from the per-token one: 0.05 + 0.001 p.
  StepCostModel line;
  for (int64_t p : {16, 40, 64, 16, 128}) line.observe(p, 0, 0.05 + 0.001 * static_cast<double>(p));
  REQUIRE(line.prompt_cost());
  CHECK(line.prompt_cost()->fixed == Approx(0.05));
  CHECK(line.prompt_cost()->per_token == Approx(0.001));
  CHECK(line.prompt_cost()->line_known);
  REQUIRE(line.seconds_per_step());

  Scheduler s({.max_num_batched_tokens = 512, .max_model_len = 4096, .block_size = 16, .num_blocks = 512,
               .prefill_budget_seconds = 0.05});
  CHECK(s.prefill_cap_tokens() == 16);  // nothing measured yet: one block
  s.observe_step(200, 0, 0.2);  // 1 ms per token
  s.observe_step(100, 0, 0.1);
  CHECK(s.prefill_cap_tokens() == 50);  // 50 fit the budget
  // A per-token cost near zero does not make the next chunk huge: at most twice the largest seen.
  Scheduler noisy({.max_num_batched_tokens = 4096, .max_model_len = 8192, .block_size = 16, .num_blocks = 1024,
                   .prefill_budget_seconds = 0.05});
  noisy.observe_step(16, 0, 0.010);
  noisy.observe_step(32, 0, 0.0100001);
  CHECK(noisy.prefill_cap_tokens() == 64);
  Scheduler slow({.max_num_batched_tokens = 512, .max_model_len = 4096, .block_size = 16, .num_blocks = 512,
                  .prefill_budget_seconds = 0.05});
  slow.observe_step(200, 0, 200.0);  // very slow: never below one block
  slow.observe_step(100, 0, 100.0);
  CHECK(slow.prefill_cap_tokens() == 16);
  // A fixed cost above the budget: as many tokens as the fixed cost buys (0.065 / 0.0015 = 43).
  Scheduler cpu({.max_num_batched_tokens = 512, .max_model_len = 4096, .block_size = 16, .num_blocks = 512,
                 .prefill_budget_seconds = 0.05});
  for (int64_t p : {16, 32, 64, 24}) cpu.observe_step(p, 0, 0.065 + 0.0015 * static_cast<double>(p));
  CHECK(cpu.prefill_cap_tokens() == 43);
  // One size seen only: the line is unknown, so the next step tries twice it (or half, when that
  // is at least a block).
  Scheduler probing({.max_num_batched_tokens = 512, .max_model_len = 4096, .block_size = 16, .num_blocks = 512,
                     .prefill_budget_seconds = 0.05});
  probing.observe_step(16, 0, 0.065 + 0.024);
  CHECK(probing.prefill_cap_tokens() == 32);
  probing.observe_step(32, 0, 0.065 + 0.048);
  CHECK(probing.prefill_cap_tokens() == 43);
  Scheduler off({.max_num_batched_tokens = 300, .max_model_len = 4096, .block_size = 16, .num_blocks = 512});
  off.observe_step(200, 0, 200.0);
  CHECK(off.prefill_cap_tokens() == 300);  // no budget: the token budget only
}

TEST_CASE("fair prefill: with a per-step overhead above the budget, prompts still run at half speed or better",
          "[scheduler][fair]") {
  SchedulerConfig config{.max_num_seqs = 16, .max_num_batched_tokens = 512, .max_model_len = 8192, .block_size = 16,
                         .num_blocks = 2048, .prefill_budget_seconds = 0.05};
  Scheduler s(config);
  Simulation sim(s, config.num_blocks, config.block_size);
  sim.cost.prompt_fixed = 0.065;
  for (SeqId id = 1; id <= 4; ++id) REQUIRE(s.add(test::make_request(id, prompt_of(20, 100 * static_cast<int32_t>(id)), 900)) == AddResult::Accepted);
  sim.run([&] { return sim.token_times[4].size() >= 20; });
  const std::size_t first_step_after = sim.steps.size();
  sim.arrivals.emplace(sim.clock, test::make_request(9, prompt_of(3000, 7), 1));
  sim.run([&] { return sim.finished.count(9) != 0; });
  REQUIRE(sim.finished.count(9));
  std::vector<double> prompt_parts;
  for (std::size_t i = first_step_after; i < sim.steps.size(); ++i) {
    const ScheduledStep& step = sim.steps[i];
    if (step.prefill_tokens == 0) continue;
    prompt_parts.push_back(sim.cost(step) - (sim.cost.fixed + sim.cost.per_decode * static_cast<double>(step.decode_tokens)));
  }
  // The others' steps grow by about twice the overhead (p = e / c), up to the model's error (its
  // window still holds the streams' own first prompt steps, which carried the step's fixed 4 ms).
  std::sort(prompt_parts.begin(), prompt_parts.end());
  CHECK(prompt_parts[prompt_parts.size() * 9 / 10] <= 2.2 * sim.cost.prompt_fixed);
  CHECK(prompt_parts.back() <= 3 * sim.cost.prompt_fixed);
  // And the prompt runs at about half its full-chunk speed: steps of about e / c = 43 tokens.
  CHECK(prompt_parts.size() <= 3000 * 13 / 430 + 10);
}

TEST_CASE("admission: a burst fills max_num_seqs + max_waiting before any 503", "[scheduler]") {
  Scheduler s({.max_num_seqs = 8, .max_model_len = 256, .block_size = 16, .num_blocks = 512, .max_waiting = 16});
  int accepted = 0;
  for (SeqId id = 0; id < 300; ++id) accepted += s.add(test::make_request(id, prompt_of(10), 4)) == AddResult::Accepted;
  CHECK(accepted == 24);
  REQUIRE(s.schedule());
  CHECK(s.stats().num_running == 8);
  CHECK(s.stats().num_waiting == 16);
  CHECK(s.add(test::make_request(1000, prompt_of(10), 4)) == AddResult::QueueFull);
}

TEST_CASE("admission: Retry-After is when a running sequence must have ended", "[scheduler]") {
  Scheduler s({.max_num_seqs = 2, .max_model_len = 256, .block_size = 16, .num_blocks = 512, .max_waiting = 1});
  CHECK(s.retry_after_seconds() == 1);  // nothing known
  REQUIRE(s.add(test::make_request(1, prompt_of(10), 100)) == AddResult::Accepted);
  REQUIRE(s.add(test::make_request(2, prompt_of(10), 30)) == AddResult::Accepted);
  auto step = s.schedule();
  REQUIRE(step);
  s.observe_step(step->prefill_tokens, step->decode_tokens, 0.1);  // 100 ms per step
  s.complete(step->step_id, std::vector<SampledToken>{{1, 5}, {2, 6}});
  // Sequence 2 has 29 tokens left: 29 steps of 0.1 s.
  CHECK(s.retry_after_seconds() == 3);
  for (int i = 0; i < 20; ++i) s.observe_step(0, 2, 10.0);
  CHECK(s.retry_after_seconds() == 60);  // capped
}

TEST_CASE("cancelled sequences are left out of steps already planned, and need no token", "[scheduler]") {
  Scheduler s({.max_model_len = 256, .block_size = 4, .num_blocks = 64});
  test::FakeExecutor exec(64, 4);
  REQUIRE(s.add(test::make_request(1, prompt_of(20), 50)) == AddResult::Accepted);
  REQUIRE(s.add(test::make_request(2, prompt_of(12, 500), 50)) == AddResult::Accepted);
  auto step0 = s.schedule();
  auto step1 = s.schedule();
  REQUIRE(step0);
  REQUIRE(step1);
  CancelledSequences cancelled;
  s.abort(1);
  cancelled.add(1, step1->step_id);
  CHECK(cancelled.size() == 1);

  // Step 0 was already running: it ran whole. Step 1 had not started: sequence 1 is taken out.
  const auto sampled0 = exec.run(*step0);
  auto filtered1 = cancelled.without_cancelled(std::make_shared<const ScheduledStep>(*step1));
  REQUIRE(filtered1->sequences.size() == 1);
  CHECK(filtered1->sequences[0].id == 2);
  CHECK(filtered1->batch.sequences.size() == 1);
  CHECK(filtered1->step_id == step1->step_id);
  CHECK(filtered1->decode_tokens == 1);  // sequence 2's pending decode; sequence 1's is gone
  CHECK(filtered1->prefill_tokens == 0);
  CHECK(step1->decode_tokens == 2);
  const auto sampled1 = exec.run(*filtered1);
  s.complete(step0->step_id, sampled0);
  const auto updates = s.complete(step1->step_id, sampled1);  // no token for 1: fine, it is aborted
  REQUIRE(updates.size() == 1);
  CHECK(updates[0].id == 2);
  // A live sequence without its token is still a protocol error.
  auto step2 = s.schedule();
  REQUIRE(step2);
  CHECK_THROWS_AS(s.complete(step2->step_id, std::vector<SampledToken>{}), std::invalid_argument);

  // Past the newest step it could be in, the record is dropped; steps without it pass unchanged.
  auto later = std::make_shared<const ScheduledStep>(*step2);
  CHECK(cancelled.without_cancelled(later) == later);
  CHECK(cancelled.size() == 0);
}

}  // namespace troupe
