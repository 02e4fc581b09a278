#pragma once
// The distribution a non-greedy draw is made from: softmax of logits / temperature, cut by top-k,
// then top-p, then min-p (vLLM's order), renormalized. Cutting is exact: the result is the same
// as sorting the whole vocabulary, though a full sort is avoided when the kept set is small.
#include <cstdint>
#include <span>
#include <vector>

#include "pipeline/sampling/sampler.hpp"

namespace troupe {

struct TruncatedDistribution {
  std::vector<int32_t> ids;   // candidate token ids, increasing
  std::vector<double> probs;  // their probabilities, parallel to ids, summing to 1
};

// Requires !params.greedy(). Ties at the top-k boundary are all kept; the top token always
// survives every cut, so the result is never empty.
TruncatedDistribution truncated_distribution(std::span<const float> logits, const SamplingParams& params);

// The candidate at which the cumulative probability first exceeds u ∈ [0, 1), walking in id order
// (as gpu/device_sampling does, so the same u draws the same token on the host and the device).
int32_t draw(const TruncatedDistribution& dist, double u);

}  // namespace troupe
