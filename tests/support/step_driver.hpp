#pragma once
// Drives StepExecutor the way the scheduler does, for engine tests: each sequence owns a fixed
// group of KV blocks (`slot`), its prompt goes in chunks, then decode steps with kPendingToken.
#include <catch2/catch.hpp>
#include <memory>
#include <numeric>
#include <optional>
#include <vector>

#include "engine/step_executor.hpp"

namespace troupe::test {

class StepDriver {
 public:
  struct Seq {
    SeqId id;
    std::shared_ptr<const std::vector<int32_t>> prompt;
    SamplingParams sampling;
    int64_t slot;  // which group of blocks it owns
    int64_t num_cached = 0;
    bool started = false;
    std::vector<int32_t> generated;
    std::vector<std::optional<TokenLogprobs>> logprobs;
  };

  StepDriver(StepExecutor& executor, int64_t blocks_per_sequence)
      : executor_(executor), blocks_per_sequence_(blocks_per_sequence) {}

  Seq& add(SeqId id, std::vector<int32_t> prompt, SamplingParams sampling, int64_t slot) {
    seqs_.push_back({id, std::make_shared<const std::vector<int32_t>>(std::move(prompt)), sampling, slot});
    return seqs_.back();
  }

  // One step over every sequence; returns the step as sent, and the result in `last`.
  ScheduledStep step(int64_t chunk, std::vector<SeqId> released = {}) {
    ScheduledStep s;
    s.step_id = next_step_++;
    s.released = std::move(released);
    for (Seq& q : seqs_) {
      SequenceStep entry;
      entry.num_cached = q.num_cached;
      entry.block_table.resize(static_cast<std::size_t>(blocks_per_sequence_));
      std::iota(entry.block_table.begin(), entry.block_table.end(), static_cast<int32_t>(q.slot * blocks_per_sequence_));
      ScheduledSequence meta;
      meta.id = q.id;
      meta.first_time = !q.started;
      meta.prompt = q.prompt;
      meta.sampling = &q.sampling;
      const auto prompt_len = static_cast<int64_t>(q.prompt->size());
      if (q.num_cached < prompt_len) {
        const int64_t n = std::min(chunk, prompt_len - q.num_cached);
        entry.tokens.assign(q.prompt->begin() + q.num_cached, q.prompt->begin() + q.num_cached + n);
        meta.sample = q.num_cached + n == prompt_len;
      } else {
        entry.tokens = {kPendingToken};
        meta.sample = true;
      }
      q.started = true;
      q.num_cached += static_cast<int64_t>(entry.tokens.size());
      s.batch.sequences.push_back(std::move(entry));
      s.sequences.push_back(meta);
    }
    last = executor_.run(s);
    const StepResult& r = last;
    CHECK(r.step_id == s.step_id);
    REQUIRE(r.logprobs.size() == r.tokens.size());
    for (std::size_t i = 0; i < r.tokens.size(); ++i) {
      Seq& q = find(r.tokens[i].id);
      q.generated.push_back(r.tokens[i].token);
      q.logprobs.push_back(r.logprobs[i]);
    }
    return s;
  }

  Seq& find(SeqId id) {
    for (Seq& q : seqs_) {
      if (q.id == id) return q;
    }
    FAIL("unknown sequence " << id);
    throw;
  }

 StepResult last;

 private:
  StepExecutor& executor_;
  int64_t blocks_per_sequence_;
  std::vector<Seq> seqs_;
  uint64_t next_step_ = 0;
};


}  // namespace troupe::test
