#include "pipeline/sampling/sampler.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

namespace troupe {

int32_t argmax(std::span<const float> logits) {
  return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

Sampler::Sampler(const SamplingParams& params)
    : params_(params), rng_(params.seed ? *params.seed : std::random_device{}()) {}

int32_t Sampler::sample(std::span<const float> logits) {
  if (params_.temperature <= 0.0 || params_.top_k == 1) return argmax(logits);
  const auto n = static_cast<int64_t>(logits.size());
  // Candidates sorted by logit, best first; ties keep the lower id first so results do not depend
  // on the sort's stability.
  std::vector<int32_t> ids(static_cast<std::size_t>(n));
  std::iota(ids.begin(), ids.end(), 0);
  int64_t keep = params_.top_k > 0 ? std::min(params_.top_k, n) : n;
  auto better = [&](int32_t a, int32_t b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); };
  std::partial_sort(ids.begin(), ids.begin() + keep, ids.end(), better);
  ids.resize(static_cast<std::size_t>(keep));

  std::vector<double> probs(ids.size());
  const double max_logit = logits[ids[0]];
  double total = 0.0;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    probs[i] = std::exp((logits[ids[i]] - max_logit) / params_.temperature);
    total += probs[i];
  }
  for (double& p : probs) p /= total;

  std::size_t cut = probs.size();
  if (params_.min_p > 0.0) {
    const double floor = params_.min_p * probs[0];
    cut = static_cast<std::size_t>(std::find_if(probs.begin(), probs.end(), [&](double p) { return p < floor; }) - probs.begin());
  }
  if (params_.top_p < 1.0) {
    double cumulative = 0.0;
    for (std::size_t i = 0; i < cut; ++i) {
      cumulative += probs[i];
      if (cumulative >= params_.top_p) {
        cut = i + 1;
        break;
      }
    }
  }
  cut = std::max<std::size_t>(cut, 1);
  std::discrete_distribution<std::size_t> pick(probs.begin(), probs.begin() + static_cast<std::ptrdiff_t>(cut));
  return ids[pick(rng_)];
}

}  // namespace troupe
