#pragma once
// Picks and builds the backend for `options.device`.
#include <memory>

#include "gpu/backend.hpp"

namespace troupe {

// device "cpu": the CPU backend. "auto": a CUDA device when this build has the CUDA backend and a
// device is present, else the CPU (logged once by the caller through `chosen`). "cuda"/"cuda:N":
// the CUDA backend or a ConfigError saying why it cannot be had.
std::unique_ptr<Backend> make_backend(const ModelFiles& model, const BackendOptions& options);

}  // namespace troupe
