#include "pipeline/output/stop_string_matcher.hpp"

#include <algorithm>

namespace troupe {

StopStringMatcher::StopStringMatcher(std::vector<std::string> stop, bool include_stop_str_in_output)
    : include_(include_stop_str_in_output) {
  for (auto& s : stop) {
    if (s.empty()) continue;
    longest_ = std::max(longest_, s.size());
    stop_.push_back(std::move(s));
  }
}

StopStringMatcher::Result StopStringMatcher::push(std::string_view chunk, bool check) {
  Result result;
  if (stopped_) return result;
  pending_ += chunk;
  if (stop_.empty()) {
    result.text = std::move(pending_);
    pending_.clear();
    return result;
  }
  if (!check) {
    result.text = std::move(pending_);
    pending_.clear();
    remember_emitted(result.text);
    return result;
  }

  // Search the emitted tail plus the pending text, for occurrences that end in the pending text
  // (those ending earlier were either found before or fell in the unchecked stretch).
  const std::string text = tail_ + pending_;
  const std::size_t tail = tail_.size();
  std::size_t best_start = std::string::npos, best_end = std::string::npos;
  const std::string* best = nullptr;
  for (const auto& s : stop_) {
    const std::size_t from = tail + 1 > s.size() ? tail + 1 - s.size() : 0;
    const std::size_t at = text.find(s, from);
    if (at == std::string::npos) continue;
    const std::size_t end = at + s.size();
    if (best == nullptr || end < best_end || (end == best_end && at < best_start)) {
      best = &s, best_start = at, best_end = end;
    }
  }
  if (best != nullptr) {
    // With the stop string excluded, the holding back guarantees it starts in the pending text;
    // it can only start in the tail if it began in an unchecked stretch, which is already out.
    const std::size_t cut = include_ ? best_end : std::max(best_start, tail);
    result.text = pending_.substr(0, cut - tail);
    result.stop = *best;
    pending_.clear();
    stopped_ = true;
    return result;
  }

  const std::size_t hold = include_ ? 0 : held_length();
  result.text = pending_.substr(0, pending_.size() - hold);
  pending_.erase(0, pending_.size() - hold);
  remember_emitted(result.text);
  return result;
}

std::string StopStringMatcher::flush() {
  std::string out = std::move(pending_);
  pending_.clear();
  if (!stopped_) remember_emitted(out);
  return out;
}

std::size_t StopStringMatcher::held_length() const {
  std::size_t best = 0;
  for (const auto& s : stop_) {
    for (std::size_t n = std::min(s.size() - 1, pending_.size()); n > best; --n) {
      if (std::string_view(pending_).substr(pending_.size() - n) == std::string_view(s).substr(0, n)) {
        best = n;
        break;
      }
    }
  }
  return best;
}

void StopStringMatcher::remember_emitted(std::string_view text) {
  if (longest_ <= 1) return;
  tail_ += text;
  const std::size_t keep = longest_ - 1;
  if (tail_.size() > keep) tail_.erase(0, tail_.size() - keep);
}

}  // namespace troupe
