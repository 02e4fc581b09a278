#include "model/model_spec.hpp"

#include <cmath>
#include <numbers>

#include "common/error.hpp"

namespace troupe {

std::string_view architecture_name(Architecture a) {
  switch (a) {
    case Architecture::Llama: return "llama";
    case Architecture::Qwen2: return "qwen2";
    case Architecture::Qwen3: return "qwen3";
  }
  return "?";
}

void ModelSpec::validate(const std::string& source) const {
  auto require = [&](int64_t v, const char* what) {
    if (v <= 0) throw ModelError(source + ": " + what + " must be positive (got " + std::to_string(v) + ")");
  };
  require(num_layers, "number of layers");
  require(hidden_size, "hidden size");
  require(intermediate_size, "intermediate size");
  require(num_heads, "number of attention heads");
  require(num_kv_heads, "number of key/value heads");
  require(head_dim, "head dimension");
  require(vocab_size, "vocabulary size");
  require(max_position, "maximum position");
  if (num_heads % num_kv_heads != 0) {
    throw ModelError(source + ": " + std::to_string(num_heads) + " attention heads are not a multiple of " +
                     std::to_string(num_kv_heads) + " key/value heads");
  }
  if (head_dim % 2 != 0) throw ModelError(source + ": head dimension must be even for RoPE");
  if (!rope.freq_divisors.empty() && static_cast<int64_t>(rope.freq_divisors.size()) != head_dim / 2) {
    throw ModelError(source + ": rope frequency factors have " + std::to_string(rope.freq_divisors.size()) +
                     " entries, expected head_dim/2 = " + std::to_string(head_dim / 2));
  }
  if (rope.type != "default" && rope.type != "linear" && rope.type != "llama3") {
    throw ModelError(source + ": rope scaling type '" + rope.type +
                     "' is not supported (supported: default, linear, llama3)");
  }
}

std::vector<double> rope_inverse_frequencies(const ModelSpec& spec) {
  const int64_t half = spec.head_dim / 2;
  std::vector<double> inv(static_cast<std::size_t>(half));
  for (int64_t i = 0; i < half; ++i) {
    inv[i] = 1.0 / std::pow(spec.rope.theta, static_cast<double>(2 * i) / static_cast<double>(spec.head_dim));
  }
  const RopeSpec& r = spec.rope;
  if (!r.freq_divisors.empty()) {
    for (int64_t i = 0; i < half; ++i) inv[i] /= r.freq_divisors[i];
    return inv;
  }
  if (r.type == "linear") {
    for (double& f : inv) f /= r.factor;
  } else if (r.type == "llama3") {
    // Long wavelengths (beyond the original context / low_freq_factor) are slowed by `factor`,
    // short ones (below original / high_freq_factor) kept, and the band between interpolated.
    const double old_ctx = static_cast<double>(r.original_max_position);
    const double low_wavelen = old_ctx / r.low_freq_factor;
    const double high_wavelen = old_ctx / r.high_freq_factor;
    for (double& f : inv) {
      const double wavelen = 2.0 * std::numbers::pi / f;
      if (wavelen > low_wavelen) {
        f /= r.factor;
      } else if (wavelen >= high_wavelen) {
        const double smooth = (old_ctx / wavelen - r.low_freq_factor) / (r.high_freq_factor - r.low_freq_factor);
        f = (1.0 - smooth) * f / r.factor + smooth * f;
      }
    }
  }
  return inv;
}

}  // namespace troupe
