#include "model/latent_heads.hpp"

namespace troupe {

std::string latent_head_name(const std::string& stacked, int64_t head) {
  const std::string suffix = ".weight";
  const std::string base = stacked.ends_with(suffix) ? stacked.substr(0, stacked.size() - suffix.size()) : stacked;
  return base + "." + std::to_string(head) + suffix;
}

}  // namespace troupe
