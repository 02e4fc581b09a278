#include "gpu/cpu/mlp_down.hpp"

#include "gpu/cpu/cpu_kernels.hpp"

namespace troupe::cpu {

void mlp_down(const float* projected, int64_t rows, int64_t inter, Activation act, bool gated, const CpuWeight& down,
              float* out, bool accumulate, QuantizedActivations& quantized, std::vector<float>& scratch, ThreadPool* pool) {
  if (down.takes_quantized()) {
    if (gated) {
      gated_activation_quantize(projected, rows, inter, act, quantized, pool);
    } else {
      ungated_activation_quantize(projected, rows, inter, act, quantized, pool);
    }
    down.matmul(quantized, out, accumulate, pool);
    return;
  }
  scratch.resize(static_cast<std::size_t>(rows * inter));
  if (gated) {
    gated_activation(projected, scratch.data(), rows, inter, act, pool);
  } else {
    ungated_activation(projected, scratch.data(), rows, inter, act, pool);
  }
  down.matmul(scratch.data(), out, rows, accumulate, pool);
}

}  // namespace troupe::cpu
