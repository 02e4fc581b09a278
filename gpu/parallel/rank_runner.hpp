#pragma once
// Where a tensor-parallel group's ranks run their part of a step. Each rank has one thread of its
// own, for as long as the group lives: a rank's collectives block until every rank joins, so two
// ranks can never share one. The actor runtime runs ranks on rank actors (actors/rank_actor.hpp,
// each with its own mailbox metrics); `troupe generate` and the tests use ThreadRankRunner.
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace troupe {

class RankRunner {
 public:
  virtual ~RankRunner() = default;
  // Runs `job` on rank `rank`'s thread, after the jobs posted to it before. Returns at once.
  virtual void post(int rank, std::function<void()> job) = 0;
  // Rank `rank` failed a step on its own (not because another rank aborted the group): for
  // telemetry (the actor runtime counts it as the rank actor's restart).
  virtual void rank_failed(int /*rank*/) {}
};

// One plain thread per rank.
class ThreadRankRunner final : public RankRunner {
 public:
  explicit ThreadRankRunner(int ranks);
  ~ThreadRankRunner() override;
  ThreadRankRunner(const ThreadRankRunner&) = delete;
  ThreadRankRunner& operator=(const ThreadRankRunner&) = delete;
  void post(int rank, std::function<void()> job) override;

 private:
  struct Worker {
    std::mutex mutex;
    std::condition_variable wake;
    std::deque<std::function<void()>> jobs;
    bool stopping = false;
    std::thread thread;
  };
  std::vector<std::unique_ptr<Worker>> workers_;
};

}  // namespace troupe
