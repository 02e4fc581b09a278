#pragma once
// What a step costs, learned from the steps that ran, so that the scheduler can turn a time budget
// into a number of prompt tokens (fair prefill, see scheduler.hpp). Nothing is assumed about the
// device: on a loaded 2-core CPU a prompt token can cost 20 ms, on a GPU 20 µs.
//
// Model: a step's seconds = decode_tokens × d + prefill_tokens × p. `d` comes from decode-only
// steps; `p` from steps with enough prompt tokens to measure, after their decodes' share is taken
// out. Both are exponentially weighted averages, so they follow a machine whose load changes and a
// prompt whose attention grows with its position.
#include <cstdint>
#include <optional>

namespace troupe {

class StepCostModel {
 public:
  // Weight of the newest observation in each average.
  static constexpr double kSmoothing = 0.3;
  // Steps with fewer prompt tokens than this say little about the per-token cost: their time is
  // mostly the decodes' and the fixed overhead.
  static constexpr int64_t kMinPrefillTokensToLearn = 8;

  void observe(int64_t prefill_tokens, int64_t decode_tokens, double seconds);

  std::optional<double> seconds_per_prefill_token() const { return per_prefill_token_; }
  std::optional<double> seconds_per_decode_token() const { return per_decode_token_; }
  // Any step, whatever it carried: how often a running sequence gets a token.
  std::optional<double> seconds_per_step() const { return per_step_; }

 private:
  std::optional<double> per_step_;
  std::optional<double> per_decode_token_;
  std::optional<double> per_prefill_token_;
};

}  // namespace troupe
