#include "telemetry/engine_saturation.hpp"

#include <algorithm>

namespace troupe {

namespace {

double ratio(int64_t part, int64_t whole) {
  if (whole <= 0) return 0.0;
  return std::clamp(static_cast<double>(part) / static_cast<double>(whole), 0.0, 1.0);
}

}  // namespace

double EngineSaturation::max() const { return std::max({kv_blocks, running_slots, step_tokens, waiting_queue}); }

EngineSaturation SaturationTracker::update(const EngineLoadSample& s) {
  if (s.step) {
    recent_[next_] = s.step_tokens;
    next_ = (next_ + 1) % kStepWindow;
    steps_ = std::min(steps_ + 1, kStepWindow);
  }
  // Nothing running or waiting: no step will come to age the window out, so it empties now.
  if (s.running == 0 && s.waiting == 0) {
    steps_ = 0;
    next_ = 0;
  }
  EngineSaturation out;
  out.kv_blocks = ratio(s.kv_used, s.kv_total);
  out.running_slots = ratio(s.running, limits_.max_running);
  out.waiting_queue = ratio(s.waiting, limits_.max_waiting);
  if (steps_ > 0) {
    int64_t tokens = 0;
    for (std::size_t i = 0; i < steps_; ++i) tokens += recent_[i];
    out.step_tokens = ratio(tokens, static_cast<int64_t>(steps_) * limits_.step_token_budget);
  }
  return out;
}

}  // namespace troupe
