#include "gpu/cpu/short_conv.hpp"

#include <algorithm>

namespace troupe::cpu {

ConvStates::ConvStates(int64_t layers, int64_t rows, int64_t width) : layers_(layers), per_state_(rows * width) {}

void ConvStates::reserve(const StepBatch& batch) {
  int32_t slots = static_cast<int32_t>(current_copy_.size());
  for (const SequenceStep& s : batch.sequences) slots = std::max(slots, s.state_slot + 1);
  if (slots == static_cast<int32_t>(current_copy_.size())) return;
  current_copy_.resize(static_cast<std::size_t>(slots), 0);
  for (auto& c : copies_) c.resize(static_cast<std::size_t>(slots * layers_ * per_state_), 0.0f);
}

void ConvStates::commit(const StepBatch& batch) {
  for (const SequenceStep& s : batch.sequences) {
    int& c = current_copy_[static_cast<std::size_t>(s.state_slot)];
    c = 1 - c;
  }
}

int64_t ConvStates::bytes() const {
  return static_cast<int64_t>((copies_[0].size() + copies_[1].size()) * sizeof(float));
}

void short_conv(const float* bcx, const StepBatch& batch, const float* taps, const float* bias, int64_t kernel,
                int64_t width, ConvStates& states, int64_t layer, float* out, ThreadPool* pool) {
  const int64_t history = kernel - 1;  // rows kept per sequence
  std::vector<int64_t> first_token;    // each sequence's first row in bcx / out
  first_token.reserve(batch.sequences.size());
  int64_t rows = 0;
  for (const SequenceStep& s : batch.sequences) {
    first_token.push_back(rows);
    rows += static_cast<int64_t>(s.tokens.size());
  }
  // Channels are independent: each chunk of them runs every sequence's tokens in order.
  const auto channels = [&](int64_t begin, int64_t end) {
    std::vector<float> window(static_cast<std::size_t>(kernel));  // one channel's last `kernel` inputs
    for (std::size_t i = 0; i < batch.sequences.size(); ++i) {
      const SequenceStep& s = batch.sequences[i];
      const auto n = static_cast<int64_t>(s.tokens.size());
      const float* before = s.num_cached == 0 ? nullptr : states.current(layer, s.state_slot);
      float* after = states.next(layer, s.state_slot);
      for (int64_t c = begin; c < end; ++c) {
        for (int64_t k = 0; k < history; ++k) window[static_cast<std::size_t>(k)] = before ? before[k * width + c] : 0.0f;
        const float* w = taps + c * kernel;
        for (int64_t t = 0; t < n; ++t) {
          const float* row = bcx + (first_token[i] + t) * 3 * width;
          window[static_cast<std::size_t>(history)] = row[c] * row[2 * width + c];  // B ⊙ x'
          float sum = bias ? bias[c] : 0.0f;
          for (int64_t k = 0; k < kernel; ++k) sum += w[k] * window[static_cast<std::size_t>(k)];
          out[(first_token[i] + t) * width + c] = row[width + c] * sum;  // C ⊙ conv
          std::copy(window.begin() + 1, window.end(), window.begin());
        }
        for (int64_t k = 0; k < history; ++k) after[k * width + c] = window[static_cast<std::size_t>(k)];
      }
    }
  };
  if (pool == nullptr) {
    channels(0, width);
  } else {
    pool->parallel_for(width, channels);
  }
}

}  // namespace troupe::cpu
