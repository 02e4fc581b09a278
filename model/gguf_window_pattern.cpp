#include "model/gguf_window_pattern.hpp"

#include <utility>

#include "common/error.hpp"

namespace troupe::gguf_readers {

std::optional<std::vector<bool>> per_layer_flags(const GgufFile& gguf, const std::string& key, int64_t layers) {
  const GgufValue* v = gguf.find(key);
  if (v == nullptr || v->type != GgufValueType::ARRAY) return std::nullopt;
  std::vector<bool> flags;
  if (v->element_type == GgufValueType::BOOL) {
    flags = std::get<std::vector<bool>>(v->value);
  } else {
    for (const int64_t x : *gguf.get_int_array(key)) flags.push_back(x != 0);
  }
  if (static_cast<int64_t>(flags.size()) != layers) {
    throw ModelError(gguf.path().string() + ": " + key + " has " + std::to_string(flags.size()) + " entries for " +
                     std::to_string(layers) + " layers");
  }
  return flags;
}

void read_window_pattern(const GgufFile& gguf, const std::string& arch, int64_t window, int64_t default_period,
                         ModelSpec& spec) {
  const std::string source = gguf.path().string();
  std::vector<bool> sliding(static_cast<std::size_t>(spec.num_layers));
  const std::string pattern_key = arch + ".attention.sliding_window_pattern";
  if (auto per_layer = per_layer_flags(gguf, pattern_key, spec.num_layers)) {
    sliding = std::move(*per_layer);
  } else {
    const int64_t period = gguf.get_int(pattern_key).value_or(default_period);
    if (period <= 0) throw ModelError(source + ": " + pattern_key + " must be positive");
    for (int64_t i = 0; i < spec.num_layers; ++i) sliding[static_cast<std::size_t>(i)] = i % period < period - 1;
  }
  spec.layer_window.assign(sliding.size(), 0);
  for (std::size_t i = 0; i < sliding.size(); ++i) spec.layer_window[i] = sliding[i] ? window : 0;
}

}  // namespace troupe::gguf_readers
