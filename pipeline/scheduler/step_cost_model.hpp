#pragma once
// What a step costs, learned from the steps that ran, so that the scheduler can turn a time budget
// into a number of prompt tokens (fair prefill, see scheduler.hpp). Nothing is assumed about the
// device: on a loaded 2-core CPU a prompt token can cost 20 ms, on a GPU 20 µs.
//
// Model: a step's seconds = decode_tokens × d + (prompt part), where the prompt part of a step with
// p > 0 prompt tokens is e + c × p: a fixed cost e (on the CPU backend, a step of more than 16 rows
// expands every quantized weight into float32 tiles once) plus c per token. `d` is an exponentially
// weighted average over decode-only steps; e and c are a least-squares line through the prompt
// parts of the last kWindow steps with prompt tokens (the decodes' share taken out), so they follow
// a machine whose load changes and a prompt whose attention grows with its position. While those
// steps all had (nearly) the same p, the line is undetermined: e is taken as 0 and `line_known` is
// false, so the scheduler can try another size to learn it.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <utility>

namespace troupe {

class StepCostModel {
 public:
  static constexpr double kSmoothing = 0.3;  // weight of the newest decode-only step
  static constexpr std::size_t kWindow = 32;

  struct PromptCost {
    double fixed = 0;         // e, seconds per step with prompt tokens
    double per_token = 0;     // c, seconds per prompt token
    bool line_known = false;  // the window's sizes differ enough to separate e from c
    double smallest_p = 0, largest_p = 0;  // prompt tokens per step in the window
  };

  void observe(int64_t prefill_tokens, int64_t decode_tokens, double seconds);

  std::optional<PromptCost> prompt_cost() const;
  std::optional<double> seconds_per_decode_token() const { return per_decode_token_; }
  // Any step, whatever it carried: how often a running sequence gets a token.
  std::optional<double> seconds_per_step() const { return per_step_; }

 private:
  std::optional<double> per_step_;
  std::optional<double> per_decode_token_;
  std::deque<std::pair<double, double>> prompt_samples_;  // (p, seconds of the prompt part)
};

}  // namespace troupe
