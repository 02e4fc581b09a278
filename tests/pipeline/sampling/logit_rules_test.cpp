// logit_bias, allowed_token_ids and bad_words on a row of logits and through SequenceSampler:
// vLLM's order and semantics, bad words matched against the output only, resumed sequences, and
// the error when nothing is left to draw.
#include <catch2/catch.hpp>
#include <cmath>
#include <memory>

#include "pipeline/sampling/logit_rules.hpp"
#include "pipeline/sampling/sequence_sampler.hpp"

using namespace troupe;

namespace {

// Logits 0, 1, ..., 9: greedy picks 9.
std::vector<float> ramp() {
  std::vector<float> row(10);
  for (int i = 0; i < 10; ++i) row[static_cast<std::size_t>(i)] = static_cast<float>(i);
  return row;
}

SamplingParams with_rules(LogitRules rules, double temperature = 0.0) {
  SamplingParams p;
  p.temperature = temperature;
  p.seed = 3;
  p.logit_rules = std::make_shared<const LogitRules>(std::move(rules));
  return p;
}

}  // namespace

TEST_CASE("logit rules: bias, allowed ids and bad words on one row", "[sampling]") {
  LogitRules rules;
  rules.logit_bias = {{2, 100.0f}, {9, -5.5f}, {42, 7.0f}};  // 42 is outside the row: ignored
  std::vector<float> row = ramp();
  apply_logit_rules(row, rules, TokenBitmask{}, {});
  CHECK(row[2] == 102.0f);
  CHECK(row[9] == 3.5f);
  CHECK(row[5] == 5.0f);

  LogitRules allowed;
  allowed.allowed_token_ids = {1, 4, 4, 99};
  row = ramp();
  apply_logit_rules(row, allowed, make_allowed_mask(allowed.allowed_token_ids, 10), {});
  for (int i = 0; i < 10; ++i) CHECK(std::isfinite(row[static_cast<std::size_t>(i)]) == (i == 1 || i == 4));

  // A one-token word is always banned; a longer one only after its prefix.
  LogitRules bad;
  bad.bad_words = {{7}, {3, 5, 8}};
  row = ramp();
  apply_logit_rules(row, bad, TokenBitmask{}, std::vector<int32_t>{1, 3});
  CHECK(row[7] == -INFINITY);
  CHECK(row[8] == 8.0f);  // the output ends with 3, not 3 5
  row = ramp();
  apply_logit_rules(row, bad, TokenBitmask{}, std::vector<int32_t>{1, 3, 5});
  CHECK(row[8] == -INFINITY);
}

TEST_CASE("logit rules: vLLM's order: allowed ids, then bad words, then the bias", "[sampling]") {
  // A bias cannot revive a token the allowed list or a bad word removed.
  LogitRules rules;
  rules.allowed_token_ids = {3, 6};
  rules.bad_words = {{6}};
  rules.logit_bias = {{6, 100.0f}, {0, 100.0f}};
  std::vector<float> row = ramp();
  apply_logit_rules(row, rules, make_allowed_mask(rules.allowed_token_ids, 10), {});
  CHECK(row[6] == -INFINITY);
  CHECK(row[0] == -INFINITY);
  CHECK(row[3] == 3.0f);
}

TEST_CASE("sequence sampler: a strong bias forces a token, greedy or sampled", "[sampling]") {
  for (const double temperature : {0.0, 1.0}) {
    LogitRules rules;
    rules.logit_bias = {{4, 100.0f}};
    SequenceSampler sampler(with_rules(rules, temperature), std::vector<int32_t>{1});
    for (int step = 0; step < 20; ++step) CHECK(sampler.sample(ramp()) == 4);
    CHECK_FALSE(sampler.can_sample_on_device());
  }
  // -100 removes the favourite in practice.
  LogitRules ban;
  ban.logit_bias = {{9, -100.0f}};
  SequenceSampler greedy(with_rules(ban), std::vector<int32_t>{1});
  CHECK(greedy.sample(ramp()) == 8);
}

TEST_CASE("sequence sampler: allowed_token_ids restricts every draw", "[sampling]") {
  LogitRules rules;
  rules.allowed_token_ids = {0, 2, 5};
  SequenceSampler sampled(with_rules(rules, 2.0), std::vector<int32_t>{1});
  for (int step = 0; step < 200; ++step) {
    const int32_t t = sampled.sample(ramp());
    CHECK((t == 0 || t == 2 || t == 5));
  }
  SequenceSampler greedy(with_rules(rules), std::vector<int32_t>{1});
  CHECK(greedy.sample(ramp()) == 5);
}

TEST_CASE("sequence sampler: bad words follow the output, also after a resume", "[sampling]") {
  // Greedy would write 9 9 9 ...; the word [9, 9] lets the first 9 through, then bans it.
  LogitRules rules;
  rules.bad_words = {{9, 9}};
  SequenceSampler sampler(with_rules(rules), std::vector<int32_t>{9, 9});  // the prompt does not count
  CHECK(sampler.sample(ramp()) == 9);
  CHECK(sampler.sample(ramp()) == 8);
  CHECK(sampler.sample(ramp()) == 9);
  CHECK(sampler.sample(ramp()) == 8);
  // Resumed after "9": the next 9 is banned at once.
  SequenceSampler resumed(with_rules(rules), std::vector<int32_t>{1}, std::vector<int32_t>{9});
  CHECK(resumed.sample(ramp()) == 8);
}

TEST_CASE("sequence sampler: rules that leave nothing to draw are an error, not a token", "[sampling]") {
  LogitRules rules;
  rules.allowed_token_ids = {4};
  rules.bad_words = {{4}};
  for (const double temperature : {0.0, 0.8}) {
    SequenceSampler sampler(with_rules(rules, temperature), std::vector<int32_t>{1});
    CHECK_THROWS_WITH(sampler.sample(ramp()), Catch::Contains("no token can be generated"));
  }
  // Empty rules are no rules: the device may draw.
  SequenceSampler plain(with_rules(LogitRules{}), std::vector<int32_t>{1});
  CHECK(plain.can_sample_on_device());
  CHECK(plain.sample(ramp()) == 9);
}
