#pragma once
// Picks and builds the backend for `options.device`.
#include <memory>

#include "gpu/backend.hpp"

namespace troupe {

// device "cpu": the CPU backend. "auto": a CUDA device when this build has the CUDA backend and a
// device is present, else the CPU (logged once by the caller through `chosen`). "cuda"/"cuda:N":
// the CUDA backend or a ConfigError saying why it cannot be had.
std::unique_ptr<Backend> make_backend(const ModelFiles& model, const BackendOptions& options);

// A tensor-parallel group of `size` ranks (gpu/parallel/tensor_parallel_backend.hpp) on the device
// `base` names. CPU ranks split base.threads (0: every core) into `size` groups of threads, each
// pinned to its own cores from base.cpu_first_core (0 when unset), with shared-memory
// collectives. A size of 1 runs the whole model through the same path.
std::unique_ptr<Backend> make_tensor_parallel_backend(const ModelFiles& model, const BackendOptions& base, int size);

}  // namespace troupe
