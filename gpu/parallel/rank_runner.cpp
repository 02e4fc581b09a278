#include "gpu/parallel/rank_runner.hpp"

#include <stdexcept>

namespace troupe {

ThreadRankRunner::ThreadRankRunner(int ranks) {
  for (int r = 0; r < ranks; ++r) {
    auto w = std::make_unique<Worker>();
    w->thread = std::thread([w = w.get()] {
      for (;;) {
        std::function<void()> job;
        {
          std::unique_lock lock(w->mutex);
          w->wake.wait(lock, [w] { return w->stopping || !w->jobs.empty(); });
          if (w->jobs.empty()) return;  // stopping, nothing left
          job = std::move(w->jobs.front());
          w->jobs.pop_front();
        }
        job();
      }
    });
    workers_.push_back(std::move(w));
  }
}

ThreadRankRunner::~ThreadRankRunner() {
  for (auto& w : workers_) {
    {
      std::lock_guard lock(w->mutex);
      w->stopping = true;
    }
    w->wake.notify_one();
  }
  for (auto& w : workers_) w->thread.join();
}

void ThreadRankRunner::post(int rank, std::function<void()> job) {
  if (rank < 0 || rank >= static_cast<int>(workers_.size())) throw std::out_of_range("ThreadRankRunner: no rank " + std::to_string(rank));
  Worker& w = *workers_[static_cast<std::size_t>(rank)];
  {
    std::lock_guard lock(w.mutex);
    w.jobs.push_back(std::move(job));
  }
  w.wake.notify_one();
}

}  // namespace troupe
