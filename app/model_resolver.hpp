#pragma once
// What MODEL means on the command line: a path (a Hugging Face directory or a .gguf file), or an
// alias for a model troupe knows how to fetch. Today the one alias is `smollm2`, the default model,
// fetched once into the cache by tools/fetch_default_model.sh.
#include <filesystem>
#include <string>

namespace troupe::app {

// Returns an existing path; throws ConfigError with a message a user can act on.
std::filesystem::path resolve_model(const std::string& model);

}  // namespace troupe::app
