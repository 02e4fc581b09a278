// CpuBackend's Gemma 3n steps: AltUp's streams around each layer (gpu/cpu/altup.hpp has their
// arithmetic) and LAuReL beside attention. cpu_backend.cpp calls them where ModelSpec::altup_streams
// and laurel_rank say.
#include <algorithm>
#include <cmath>

#include "gpu/cpu/cpu_backend.hpp"

namespace troupe {

void CpuBackend::altup_expand(int64_t tokens) {
  // Stream 0 is the scaled embeddings themselves; stream s their projection s − 1, scaled to their RMS.
  const int64_t n = spec_.altup_streams, h = spec_.hidden_size, plane = tokens * h;
  streams_.resize(static_cast<std::size_t>(n * plane));
  std::copy_n(x_.data(), plane, streams_.data());
  for (int64_t s = 1; s < n; ++s) {
    float* stream = streams_.data() + s * plane;
    altup_in_[static_cast<std::size_t>(s - 1)].matmul(x_.data(), stream, tokens, /*accumulate=*/false, pool_.get());
    cpu::match_magnitude(stream, x_.data(), tokens, h);
  }
}

void CpuBackend::run_altup_layer(Layer& L, const StepBatch& batch, const std::vector<int32_t>& positions) {
  const auto tokens = static_cast<int64_t>(positions.size());
  const int64_t n = spec_.altup_streams, h = spec_.hidden_size, plane = tokens * h;
  const auto eps = static_cast<float>(spec_.rms_eps);
  predictions_.resize(streams_.size());
  cpu::altup_predict(streams_.data(), tokens, h, n, L.altup, eps, predictions_.data(), pool_.get());
  // The layer runs on the active stream's prediction; its output corrects every prediction.
  std::copy_n(predictions_.data(), plane, x_.data());
  run_layer(L, batch, positions);
  cpu::altup_correct(predictions_.data(), x_.data(), tokens, h, n, L.altup, eps, pool_.get());
  streams_.swap(predictions_);
  // The per-layer step reads the corrected active stream × its scale and joins every other stream.
  xn_.resize(static_cast<std::size_t>(plane));
  for (int64_t t = 0; t < tokens; ++t) {
    const float* active = streams_.data() + t * h;
    float* row = xn_.data() + t * h;
    for (int64_t i = 0; i < h; ++i) row[i] = active[i] * L.altup.output_scale[static_cast<std::size_t>(i)];
  }
  per_layer_step(L, xn_.data(), tokens);
  for (int64_t s = 1; s < n; ++s) cpu::add(streams_.data() + s * plane, delta_.data(), plane);
}

void CpuBackend::altup_merge(int64_t tokens) {
  // The mean of stream 0 and the others projected back, each scaled to stream 0's RMS.
  const int64_t n = spec_.altup_streams, h = spec_.hidden_size, plane = tokens * h;
  std::copy_n(streams_.data(), plane, x_.data());
  delta_.resize(static_cast<std::size_t>(plane));
  for (int64_t s = 1; s < n; ++s) {
    altup_out_[static_cast<std::size_t>(s - 1)].matmul(streams_.data() + s * plane, delta_.data(), tokens,
                                                       /*accumulate=*/false, pool_.get());
    cpu::match_magnitude(delta_.data(), streams_.data(), tokens, h);
    cpu::add(x_.data(), delta_.data(), plane);
  }
  cpu::scale(x_.data(), plane, 1.0f / static_cast<float>(n));
}

void CpuBackend::run_laurel(Layer& L, const float* normed, int64_t tokens) {
  // normed + RMSNorm(W_right W_left normed).
  const int64_t h = spec_.hidden_size, rank = spec_.laurel_rank;
  laurel_low_.resize(static_cast<std::size_t>(tokens * rank));
  laurel_.resize(static_cast<std::size_t>(tokens * h));
  L.laurel_left.matmul(normed, laurel_low_.data(), tokens, /*accumulate=*/false, pool_.get());
  L.laurel_right.matmul(laurel_low_.data(), laurel_.data(), tokens, /*accumulate=*/false, pool_.get());
  norm_rows(laurel_.data(), L.laurel_norm.data(), laurel_.data(), tokens, pool_.get());
  cpu::add(laurel_.data(), normed, tokens * h);
}

}  // namespace troupe
