#pragma once
// An optional capability of a backend: run a step and sample the next token of every sequence on
// the device, so that only token ids (and the chosen tokens' log-probabilities) cross back to the
// host instead of [sequences, vocab] logits. A caller discovers it with
// dynamic_cast<DeviceSampling*>(&backend) and falls back to Backend::forward plus host sampling
// when it is absent or declines a step.
//
// Semantics follow pipeline/sampling (truncated_distribution, draw): softmax of logits /
// temperature, cut by top-k (ties at the k-th value kept), then top-p, then min-p (relative to the
// top token), renormalized; temperature below kGreedyTemperature (1e-5) is greedy (argmax, lowest
// id on ties). The randomness comes from the caller: one uniform value u per row, taken from the
// sequence's own stream (SequenceSampler::next_uniform), picks the token at which the cumulative
// probability in id order first exceeds u, exactly as the host's draw() does. So a seeded
// sequence draws the same tokens whichever side samples it, up to float32 rounding of the
// cumulative sums. Differences a caller must accept: tokens tied at the top-p boundary are all
// kept (the host keeps the lower ids first). Penalties need the token history and are not
// applied here: a caller with penalties samples on the host.
#include <cstdint>
#include <vector>

#include "gpu/backend.hpp"

namespace troupe {

struct DeviceSamplingParams {
  float temperature = 0.0f;  // < 1e-5: greedy
  int32_t top_k = 0;         // <= 0 or >= vocab: no limit
  float top_p = 1.0f;        // (0, 1]
  float min_p = 0.0f;        // [0, 1]
  double u = 0.0;            // the draw, uniform in [0, 1); unused when greedy
};

class DeviceSampling {
 public:
  virtual ~DeviceSampling() = default;
  // Runs `batch` (as Backend::forward would) and samples one token per sequence from the logits
  // of its last new token, with params[i] for sequence i. Fills `tokens` (and `logprobs`, the
  // log-softmax of the raw logits at the chosen token, when not null), one per sequence, and
  // returns true. Returns false, having run nothing, when params.size() differs from the number
  // of sequences. Throws what Backend::forward throws.
  virtual bool sample(const StepBatch& batch, const std::vector<DeviceSamplingParams>& params,
                      std::vector<int32_t>& tokens, std::vector<float>* logprobs = nullptr) = 0;
};

}  // namespace troupe
