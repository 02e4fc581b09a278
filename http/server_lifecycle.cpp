#include "http/server_lifecycle.hpp"

namespace troupe {

void ServerLifecycle::begin_drain() {
  const std::lock_guard lock(mutex_);
  draining_ = true;
}

bool ServerLifecycle::draining() const {
  const std::lock_guard lock(mutex_);
  return draining_;
}

bool ServerLifecycle::request_opened(const std::string& id) {
  const std::lock_guard lock(mutex_);
  if (draining_) return false;
  open_.insert(id);
  return true;
}

void ServerLifecycle::request_closed(const std::string& id) {
  const std::lock_guard lock(mutex_);
  open_.erase(id);
  if (open_.empty()) idle_.notify_all();
}

std::size_t ServerLifecycle::open_requests() const {
  const std::lock_guard lock(mutex_);
  return open_.size();
}

std::vector<std::string> ServerLifecycle::open_request_ids() const {
  const std::lock_guard lock(mutex_);
  return {open_.begin(), open_.end()};
}

bool ServerLifecycle::wait_until_idle(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mutex_);
  return idle_.wait_for(lock, timeout, [this] { return open_.empty(); });
}

}  // namespace troupe
