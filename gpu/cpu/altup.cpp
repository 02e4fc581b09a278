#include "gpu/cpu/altup.hpp"

#include <algorithm>
#include <cmath>

namespace troupe::cpu {

namespace {

double mean_square(const float* x, int64_t n) {
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(x[i]) * x[i];
  return sum / static_cast<double>(n);
}

// One row's modalities (N values) from its hidden values.
void row_modalities(const float* x, int64_t hidden, int64_t n, const AltUpWeights& w, float eps, float* out) {
  // RMSNorm(x) · weight / hidden, as transformers: the norm in float32, then the scale.
  const auto inv = static_cast<float>(1.0 / std::sqrt(mean_square(x, hidden) + eps));
  const float scale = 1.0f / static_cast<float>(hidden);
  for (int64_t c = 0; c < n; ++c) {
    const float* r = w.router.data() + c * hidden;
    double dot = 0.0;
    for (int64_t i = 0; i < hidden; ++i) dot += static_cast<double>(x[i] * inv * w.router_norm[static_cast<std::size_t>(i)] * scale) * r[i];
    out[c] = std::tanh(static_cast<float>(dot));
  }
}

}  // namespace

void altup_modalities(const float* x, int64_t rows, int64_t hidden, int64_t n, const AltUpWeights& w, float eps,
                      float* out) {
  for (int64_t r = 0; r < rows; ++r) row_modalities(x + r * hidden, hidden, n, w, eps, out + r * n);
}

void altup_predict(const float* streams, int64_t rows, int64_t hidden, int64_t n, const AltUpWeights& w, float eps,
                   float* predictions, ThreadPool* pool) {
  const int64_t plane = rows * hidden;
  const auto run = [&](int64_t begin, int64_t end) {
    std::vector<float> m(static_cast<std::size_t>(n)), coef(static_cast<std::size_t>(n * n));
    for (int64_t r = begin; r < end; ++r) {
      row_modalities(streams + r * hidden, hidden, n, w, eps, m.data());
      for (int64_t k = 0; k < n * n; ++k) {  // P[c][a] = (W_pred · m)[c · N + a]
        double dot = 0.0;
        for (int64_t j = 0; j < n; ++j) dot += static_cast<double>(w.predict[static_cast<std::size_t>(k * n + j)]) * m[static_cast<std::size_t>(j)];
        coef[static_cast<std::size_t>(k)] = static_cast<float>(dot);
      }
      for (int64_t c = 0; c < n; ++c) {
        float* out = predictions + c * plane + r * hidden;
        const float* own = streams + c * plane + r * hidden;
        for (int64_t i = 0; i < hidden; ++i) {
          float mixed = 0.0f;
          for (int64_t a = 0; a < n; ++a) mixed += streams[a * plane + r * hidden + i] * coef[static_cast<std::size_t>(c * n + a)];
          out[i] = own[i] + mixed;
        }
      }
    }
  };
  parallel_for(pool, rows, run);
}

void altup_correct(float* predictions, const float* activated, int64_t rows, int64_t hidden, int64_t n,
                   const AltUpWeights& w, float eps, ThreadPool* pool) {
  const int64_t plane = rows * hidden;
  const auto run = [&](int64_t begin, int64_t end) {
    std::vector<float> m(static_cast<std::size_t>(n)), gain(static_cast<std::size_t>(n)), innovation(static_cast<std::size_t>(hidden));
    for (int64_t r = begin; r < end; ++r) {
      const float* a = activated + r * hidden;
      row_modalities(a, hidden, n, w, eps, m.data());
      for (int64_t c = 0; c < n; ++c) {
        double dot = 0.0;
        for (int64_t j = 0; j < n; ++j) dot += static_cast<double>(w.correct[static_cast<std::size_t>(c * n + j)]) * m[static_cast<std::size_t>(j)];
        gain[static_cast<std::size_t>(c)] = static_cast<float>(dot) + 1.0f;
      }
      const float* active = predictions + r * hidden;
      for (int64_t i = 0; i < hidden; ++i) innovation[static_cast<std::size_t>(i)] = a[i] - active[i];
      for (int64_t c = 0; c < n; ++c) {
        float* p = predictions + c * plane + r * hidden;
        for (int64_t i = 0; i < hidden; ++i) p[i] += innovation[static_cast<std::size_t>(i)] * gain[static_cast<std::size_t>(c)];
      }
    }
  };
  parallel_for(pool, rows, run);
}

void match_magnitude(float* x, const float* target, int64_t rows, int64_t hidden) {
  for (int64_t r = 0; r < rows; ++r) {
    float* row = x + r * hidden;
    const double want = std::sqrt(mean_square(target + r * hidden, hidden));
    const double have = std::sqrt(std::max(mean_square(row, hidden), 1e-5));
    const auto factor = static_cast<float>(want / have);
    for (int64_t i = 0; i < hidden; ++i) row[i] *= factor;
  }
}

}  // namespace troupe::cpu
