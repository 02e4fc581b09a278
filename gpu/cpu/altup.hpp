#pragma once
// Gemma 3n's alternating updates (AltUp) on the CPU: the residual stream kept as N streams of the
// hidden size, predicted before each layer from a mix of all of them, and corrected after it by the
// layer's change to the active stream (stream 0). model/model_spec.hpp (ModelSpec::altup_streams)
// gives the arithmetic; transformers' Gemma3nTextAltUp is the reference it is tested against.
//
// Layouts: `streams` is [N, rows, hidden] (stream s's row r at (s · rows + r) · hidden), float32.
#include <cstdint>
#include <vector>

#include "gpu/cpu/thread_pool.hpp"

namespace troupe::cpu {

// One layer's AltUp weights, float32 as in the checkpoint: the router's RMSNorm [hidden], the router
// [N, hidden], the prediction coefficients [N², N], the correction coefficients [N, N], and the
// corrected active stream's scale [hidden] (what the layer's per-layer input reads).
struct AltUpWeights {
  std::vector<float> router_norm, router, predict, correct, output_scale;
};

// Each of `rows` rows of x [rows, hidden]: tanh(router · RMSNorm(x) / hidden), into out [rows, N].
void altup_modalities(const float* x, int64_t rows, int64_t hidden, int64_t n, const AltUpWeights& w, float eps,
                      float* out);

// The layer's predictions [N, rows, hidden] of every stream: s_c + Σ_a P[c][a] · s_a, where P (row by
// row) is the prediction coefficients times the active stream's modalities, P[c][a] = (W_pred ·
// m)[c · N + a].
void altup_predict(const float* streams, int64_t rows, int64_t hidden, int64_t n, const AltUpWeights& w, float eps,
                   float* predictions, ThreadPool* pool);

// The predictions corrected in place by the layer's output `activated` [rows, hidden]: each stream
// c gains (1 + (W_corr · m)[c]) · (activated − prediction_0), m the modalities of `activated`.
void altup_correct(float* predictions, const float* activated, int64_t rows, int64_t hidden, int64_t n,
                   const AltUpWeights& w, float eps, ThreadPool* pool);

// x [rows, hidden] scaled row by row to the root mean square of `target`'s row:
// x · rms(target) / sqrt(max(mean(x²), 1e-5)) (the streams made from the embeddings, and the ones
// projected back at the end).
void match_magnitude(float* x, const float* target, int64_t rows, int64_t hidden);

}  // namespace troupe::cpu
