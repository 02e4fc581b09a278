#pragma once
// The second half of an MLP (dense, an expert or the shared experts): the activation of the first
// projection's output, then the down projection. One place for the four forms it takes — gated or
// not (ModelSpec::gated_mlp), into int8 rows for a down projection that takes them or into floats.
#include <cstdint>
#include <vector>

#include "gpu/cpu/cpu_weight.hpp"
#include "gpu/cpu/quantized_activations.hpp"
#include "gpu/cpu/thread_pool.hpp"
#include "model/model_spec.hpp"

namespace troupe::cpu {

// out [rows, hidden] (+)= down(act(gate) · up) for `projected` rows of [gate (inter) | up (inter)],
// or down(act(x)) for rows of [inter] when !gated; `quantized` and `scratch` are the caller's
// buffers (with int8 activations the activation and the quantization are one pass).
void mlp_down(const float* projected, int64_t rows, int64_t inter, Activation act, bool gated, const CpuWeight& down,
              float* out, bool accumulate, QuantizedActivations& quantized, std::vector<float>& scratch, ThreadPool* pool);

}  // namespace troupe::cpu
