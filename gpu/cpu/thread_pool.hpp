#pragma once
// A fixed set of worker threads for the CPU kernels' parallel loops. Between loops, workers (and
// the caller waiting for them) spin for at most kSpin before sleeping on a condition variable: a
// decode step runs a few hundred short loops back to back, and waking a sleeping thread costs
// tens of microseconds each time; but OpenBLAS runs its own threads between our loops, and
// workers that spin for long (OpenMP's default) starved them, costing 100x on a 2-core machine.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace troupe::cpu {

class ThreadPool {
 public:
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  // Calls fn(begin, end) on contiguous slices covering [0, n), one slice per thread (the calling
  // thread takes the first), and returns when all are done. Not re-entrant.
  void parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn);

  static constexpr std::chrono::microseconds kSpin{50};

 private:
  void worker_loop(int index);

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  // job_ and job_size_ are written under mutex_ before generation_ is bumped (release); a worker
  // that sees the new generation (acquire) reads them without the lock.
  const std::function<void(int64_t, int64_t)>* job_ = nullptr;
  int64_t job_size_ = 0;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  bool stopping_ = false;
};

// Runs fn over [0, n) on `pool`, or inline when pool is null or n is 1.
inline void parallel_for(ThreadPool* pool, int64_t n, const std::function<void(int64_t, int64_t)>& fn) {
  if (pool == nullptr || n <= 1 || pool->size() == 1) {
    if (n > 0) fn(0, n);
    return;
  }
  pool->parallel_for(n, fn);
}

}  // namespace troupe::cpu
