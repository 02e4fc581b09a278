// Repetition, frequency and presence penalties change exactly the logits they should, by exactly
// the specified amounts, and greedy decoding takes the argmax after them.
#include <catch2/catch.hpp>

#include "pipeline/sampling/penalties.hpp"
#include "pipeline/sampling/sequence_sampler.hpp"

using namespace troupe;

TEST_CASE("sampling: repetition penalty divides positive and multiplies negative logits of prompt and output tokens", "[sampling]") {
  const std::vector<float> raw{2.6f, -1.0f, 0.5f, 3.0f, -0.2f, 0.0f};
  TokenHistory history(std::vector<int32_t>{1, 1, 2, 99});  // repeated and out-of-row ids count once / not at all
  history.add_output(2);
  history.add_output(4);
  history.add_output(4);
  SamplingParams p;
  p.repetition_penalty = 1.3;
  std::vector<float> logits = raw;
  apply_penalties(logits, p, history);
  const float r = 1.3f;
  CHECK(logits[0] == raw[0]);       // never seen
  CHECK(logits[1] == raw[1] * r);   // prompt, negative: multiplied once despite appearing twice
  CHECK(logits[2] == raw[2] / r);   // prompt and output: penalized once
  CHECK(logits[3] == raw[3]);
  CHECK(logits[4] == raw[4] * r);   // output only, negative
  CHECK(logits[5] == raw[5]);
}

TEST_CASE("sampling: frequency and presence penalties count output tokens only, after the repetition penalty", "[sampling]") {
  const std::vector<float> raw{1.0f, 2.0f, -0.5f, 0.75f};
  TokenHistory history(std::vector<int32_t>{0});  // prompt only: no frequency/presence penalty
  for (int32_t t : {1, 2, 2, 2}) history.add_output(t);
  CHECK(history.output_count(2) == 3);
  CHECK(history.output_count(3) == 0);
  CHECK(history.output_length() == 4);

  SamplingParams p;
  p.frequency_penalty = 0.5;
  p.presence_penalty = 0.25;
  std::vector<float> logits = raw;
  apply_penalties(logits, p, history);
  CHECK(logits[0] == raw[0]);
  CHECK(logits[1] == raw[1] - 0.5f * 1.0f - 0.25f);
  CHECK(logits[2] == raw[2] - 0.5f * 3.0f - 0.25f);
  CHECK(logits[3] == raw[3]);

  p.repetition_penalty = 2.0;
  p.presence_penalty = -0.25;  // negative penalties encourage repetition
  logits = raw;
  apply_penalties(logits, p, history);
  CHECK(logits[0] == raw[0] / 2.0f);
  CHECK(logits[1] == raw[1] / 2.0f - 0.5f + 0.25f);
  CHECK(logits[2] == raw[2] * 2.0f - 1.5f + 0.25f);
  CHECK(logits[3] == raw[3]);
}

TEST_CASE("sampling: defaults apply no penalty", "[sampling]") {
  SamplingParams p;
  CHECK_FALSE(has_penalties(p));
  p.frequency_penalty = 0.1;
  CHECK(has_penalties(p));
}

TEST_CASE("sampling: greedy takes the argmax of the penalized logits", "[sampling]") {
  // Token 0 leads the raw logits but is in the prompt; at penalty 2 it falls to 1.5 < 1.8.
  const std::vector<float> logits{3.0f, 1.8f, 1.0f};
  const std::vector<int32_t> prompt{0};
  SamplingParams p;
  p.repetition_penalty = 2.0;
  SequenceSampler sampler(p, prompt);
  CHECK(sampler.sample(logits) == 1);
  // Now 1 is in the output too: 0.9 against 1.5 and 1.0.
  CHECK(sampler.sample(logits) == 0);

  SamplingParams frequency;
  frequency.frequency_penalty = 1.5;  // 3.0 - 1.5·n against 1.8: 0 wins once, then 1 takes over
  SequenceSampler counted(frequency, prompt);
  CHECK(counted.sample(logits) == 0);
  CHECK(counted.sample(logits) == 1);
  CHECK(counted.history().output_count(0) == 1);

  SequenceSampler plain(SamplingParams{}, prompt);
  CHECK(plain.sample(logits) == 0);
  CHECK(plain.sample(logits) == 0);
}
