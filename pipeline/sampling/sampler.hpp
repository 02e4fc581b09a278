#pragma once
// Turning one row of logits into a token id: greedy, or temperature sampling restricted by top-k,
// top-p (nucleus) and min-p, drawn from a per-request random stream so a given seed reproduces.
#include <cstdint>
#include <optional>
#include <random>
#include <span>

namespace troupe {

struct SamplingParams {
  double temperature = 0.0;  // 0: greedy (argmax)
  int64_t top_k = 0;         // 0: no limit
  double top_p = 1.0;        // keep the smallest set of tokens whose probability reaches top_p
  double min_p = 0.0;        // drop tokens below min_p × the top token's probability
  std::optional<uint64_t> seed;
};

// Index of the largest value; the lowest index wins ties, as torch.argmax does.
int32_t argmax(std::span<const float> logits);

class Sampler {
 public:
  explicit Sampler(const SamplingParams& params);
  int32_t sample(std::span<const float> logits);

 private:
  SamplingParams params_;
  std::mt19937_64 rng_;
};

}  // namespace troupe
