#pragma once
// What a server's connections share about its lifetime: whether it is draining (SIGTERM: /health
// answers 503, new requests get 503 and their connection closes) and which generation requests are
// still open on it, so that a drain can wait for them and, past its deadline, stop them.
// Thread-safe: connections on any io thread register and finish requests while a shutdown thread
// waits.
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace troupe {

class ServerLifecycle {
 public:
  // From now on the server takes no new work. Idempotent.
  void begin_drain();
  bool draining() const;

  // A generation request is open from its submission until its connection is done with it.
  // False (and nothing recorded) once draining: the caller answers 503 instead. Checking and
  // recording under one lock means a drain either waits for a request or the request is refused.
  bool request_opened(const std::string& id);
  void request_closed(const std::string& id);
  std::size_t open_requests() const;
  std::vector<std::string> open_request_ids() const;

  // Waits until no request is open or `timeout` passes; true when none is open.
  bool wait_until_idle(std::chrono::milliseconds timeout) const;

 private:
  mutable std::mutex mutex_;
  mutable std::condition_variable idle_;
  bool draining_ = false;
  std::set<std::string> open_;
};

}  // namespace troupe
