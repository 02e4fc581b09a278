#include "pipeline/sampling/token_logprobs.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <string>

namespace troupe {

TokenLogprobs compute_logprobs(std::span<const float> raw_logits, int32_t token, int top_n) {
  const auto vocab = static_cast<int64_t>(raw_logits.size());
  if (token < 0 || token >= vocab) {
    throw std::invalid_argument("compute_logprobs: token " + std::to_string(token) + " outside a vocabulary of " +
                                std::to_string(vocab));
  }
  if (top_n < 0) throw std::invalid_argument("compute_logprobs: top_n must be >= 0");

  // log Σ exp(x) shifted by the maximum so that no term overflows.
  double max_logit = -INFINITY;
  for (float x : raw_logits) max_logit = std::max(max_logit, static_cast<double>(x));
  double sum = 0.0;
  for (float x : raw_logits) sum += std::exp(static_cast<double>(x) - max_logit);
  const double log_normalizer = max_logit + std::log(sum);
  auto logprob_of = [&](int32_t id) {
    return static_cast<float>(static_cast<double>(raw_logits[static_cast<std::size_t>(id)]) - log_normalizer);
  };

  TokenLogprobs out;
  out.token_id = token;
  out.logprob = logprob_of(token);
  const float chosen = raw_logits[static_cast<std::size_t>(token)];
  out.rank = std::count_if(raw_logits.begin(), raw_logits.end(), [&](float x) { return x >= chosen; });
  const auto n = static_cast<std::size_t>(std::min<int64_t>(top_n, vocab));
  if (n > 0) {
    std::vector<int32_t> ids(static_cast<std::size_t>(vocab));
    std::iota(ids.begin(), ids.end(), 0);
    std::partial_sort(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(n), ids.end(), [&](int32_t a, int32_t b) {
      const float xa = raw_logits[static_cast<std::size_t>(a)], xb = raw_logits[static_cast<std::size_t>(b)];
      return xa > xb || (xa == xb && a < b);
    });
    out.top.reserve(n);
    for (std::size_t i = 0; i < n; ++i) out.top.push_back({ids[i], logprob_of(ids[i])});
  }
  return out;
}

}  // namespace troupe
