#include "pipeline/sampling/truncated_distribution.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace troupe {

namespace {

// Orders candidate indices by probability, best first; the lower id first on ties so that results
// never depend on a sort's stability.
struct BetterFirst {
  const std::vector<int32_t>* ids;
  const std::vector<double>* probs;
  bool operator()(std::size_t a, std::size_t b) const {
    const double pa = (*probs)[a], pb = (*probs)[b];
    return pa > pb || (pa == pb && (*ids)[a] < (*ids)[b]);
  }
};

void normalize(std::vector<double>& probs) {
  double total = 0.0;
  for (double p : probs) total += p;
  for (double& p : probs) p /= total;
}

// Keeps the smallest best-first prefix whose probability reaches top_p: a candidate survives when
// the mass ranked strictly above it is below top_p. Sorts progressively larger heads of the list
// (64, 256, ...) and stops as soon as the head holds the cut, which for real models is almost
// always the first one.
void apply_top_p(TruncatedDistribution& dist, double top_p) {
  const std::size_t n = dist.ids.size();
  std::vector<std::size_t> order(n);
  for (std::size_t i = 0; i < n; ++i) order[i] = i;
  const BetterFirst better{&dist.ids, &dist.probs};
  std::size_t keep = n;
  for (std::size_t head = std::min<std::size_t>(64, n);; head = std::min(head * 4, n)) {
    std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(head), order.end(), better);
    double above = 0.0;
    std::size_t i = 0;
    while (i < head && above < top_p) above += dist.probs[order[i++]];
    if (above >= top_p || head == n) {
      keep = std::max<std::size_t>(i, 1);
      break;
    }
  }
  // Back to id order: a draw then walks candidates the way the device sampler does, so one uniform
  // value picks the same token on either.
  std::sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(keep));
  TruncatedDistribution kept;
  kept.ids.reserve(keep);
  kept.probs.reserve(keep);
  for (std::size_t i = 0; i < keep; ++i) {
    kept.ids.push_back(dist.ids[order[i]]);
    kept.probs.push_back(dist.probs[order[i]]);
  }
  dist = std::move(kept);
}

}  // namespace

TruncatedDistribution truncated_distribution(std::span<const float> logits, const SamplingParams& params) {
  if (params.greedy()) throw std::invalid_argument("truncated_distribution: greedy parameters have no distribution");
  if (logits.empty()) throw std::invalid_argument("truncated_distribution: no logits");
  const std::size_t vocab = logits.size();

  // top-k on the logits (dividing by a positive temperature keeps their order): the threshold is
  // the k-th largest value, and every token at or above it stays.
  float threshold = -INFINITY;
  if (params.top_k > 0 && static_cast<std::size_t>(params.top_k) < vocab) {
    std::vector<float> values(logits.begin(), logits.end());
    const auto kth = values.begin() + (params.top_k - 1);
    std::nth_element(values.begin(), kth, values.end(), std::greater<float>());
    threshold = *kth;
  }
  float max_logit = -INFINITY;
  for (float x : logits) max_logit = std::max(max_logit, x);

  TruncatedDistribution dist;
  for (std::size_t i = 0; i < vocab; ++i) {
    if (logits[i] < threshold) continue;
    // exp((x - max) / T): a probability up to normalization, 1 for the top token.
    const double weight = std::exp((static_cast<double>(logits[i]) - max_logit) / params.temperature);
    dist.ids.push_back(static_cast<int32_t>(i));
    dist.probs.push_back(weight);
  }
  normalize(dist.probs);

  if (params.top_p < 1.0) apply_top_p(dist, params.top_p);

  if (params.min_p > 0.0) {
    // Relative to the top candidate, so renormalizing after top-p does not change the cut.
    const double top = *std::max_element(dist.probs.begin(), dist.probs.end());
    const double floor = params.min_p * top;
    std::size_t out = 0;
    for (std::size_t i = 0; i < dist.ids.size(); ++i) {
      if (dist.probs[i] < floor) continue;
      dist.ids[out] = dist.ids[i];
      dist.probs[out] = dist.probs[i];
      ++out;
    }
    dist.ids.resize(out);
    dist.probs.resize(out);
  }
  normalize(dist.probs);
  return dist;
}

int32_t draw(const TruncatedDistribution& dist, double u) {
  double cumulative = 0.0;
  for (std::size_t i = 0; i < dist.ids.size(); ++i) {
    cumulative += dist.probs[i];
    if (u < cumulative) return dist.ids[i];
  }
  // Rounding can leave the total a hair below u; the last candidate owns that sliver.
  return dist.ids.back();
}

}  // namespace troupe
