#include "model/nemotron_h_names.hpp"

#include <charconv>

namespace troupe {

std::string nemotron_h_name(const std::string& name, const ModelSpec& spec) {
  std::string_view rest = name;
  for (const std::string_view prefix : {"backbone.", "model."}) {
    if (rest.starts_with(prefix)) {
      rest.remove_prefix(prefix.size());
      break;
    }
  }
  if (rest == "embeddings.weight") return "model.embed_tokens.weight";
  if (rest == "norm_f.weight") return "model.norm.weight";
  if (!rest.starts_with("layers.")) return name;
  rest.remove_prefix(7);
  int64_t layer = -1;
  const auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), layer);
  if (ec != std::errc() || end == rest.data() + rest.size() || *end != '.' || layer < 0 || layer >= spec.num_layers) return name;
  const std::string prefix = "model.layers." + std::to_string(layer) + ".";
  const std::string_view part(end + 1, static_cast<std::size_t>(rest.data() + rest.size() - end - 1));
  if (part == "norm.weight") return prefix + "input_layernorm.weight";
  if (!part.starts_with("mixer.")) return name;
  const Mixer mixer = spec.mixer(layer);
  const char* kind = mixer == Mixer::Mamba2 ? "mamba." : mixer == Mixer::Attention ? "self_attn." : "mlp.";
  return prefix + kind + std::string(part.substr(6));
}

}  // namespace troupe
