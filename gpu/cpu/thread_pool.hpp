#pragma once
// A fixed set of worker threads for the CPU kernels' parallel loops.
//
// Work is handed out in chunks that threads claim as they come free, not as one fixed slice per
// thread: on a machine where other threads (the server's actors, HTTP sessions, other processes)
// take a core now and then, a descheduled worker would otherwise hold up every loop until it ran
// again; here the running threads take its chunks. A worker that has not joined a loop by the time
// all its chunks are claimed never joins it, so the caller waits only for chunks in progress.
//
// Between loops, workers (and the caller waiting for chunks in progress) spin for at most kSpin
// before sleeping on a condition variable: a decode step runs a few hundred short loops back to
// back, and waking a sleeping thread costs tens of microseconds each time; but OpenBLAS runs its
// own threads between our loops (float32 weights), and workers that spin for long (OpenMP's
// default) starved them, costing 100x on a 2-core machine.
//
// Pinning (optional): Linux often left the caller and a worker on one CPU of this 2-vCPU machine
// (a woken thread is placed beside its waker), so that two threads ran at the speed of one: in 2 of
// 4 runs of the same 32-row product, 750-845 us against 412-471 us. A pinned pool puts thread i
// (the caller being thread 0, pinned at its first loop) on the i-th CPU the process may use.
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
  // `pin`: bind the threads to distinct CPUs, when there are at least as many CPUs as threads;
  // `first_cpu` >= 0 places them from that CPU of the process's allowed set on (a tensor-parallel
  // rank's own cores), and pins a one-thread pool too.
  explicit ThreadPool(int threads, bool pin = false, int first_cpu = -1);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  // Calls fn(begin, end) on contiguous chunks covering [0, n) exactly once each, on the calling
  // thread and whichever workers join, and returns when all are done. Not re-entrant.
  void parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn);

  // Pins the calling thread to the pool's first CPU (once per thread; nothing for an unpinned
  // pool). parallel_for does it; a caller whose loops may all run inline calls it itself.
  void pin_caller();

  static constexpr std::chrono::microseconds kSpin{50};
  static constexpr int kChunksPerThread = 4;

 private:
  void worker_loop();
  void run_chunks();

  // state_: bits 0-31 the workers inside the current loop, bit 32 set once its chunks are all
  // claimed (closed: no worker may join), bits 33-63 the loop's generation (mod 2^31).
  static constexpr uint64_t kActiveMask = 0xffffffffull, kClosed = 1ull << 32;
  static constexpr int kGenerationShift = 33;

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  // job_, job_size_ and chunk_size_ are written before generation_ is bumped (release); a worker
  // that joins the loop of that generation reads them without the lock.
  const std::function<void(int64_t, int64_t)>* job_ = nullptr;
  int64_t job_size_ = 0, chunk_size_ = 1;
  std::atomic<int64_t> next_{0};  // the next unclaimed index
  std::atomic<uint64_t> generation_{0};
  std::atomic<uint64_t> state_{0};
  bool stopping_ = false;
  std::vector<int> cpus_;  // pinned pools: the CPU of thread i; empty otherwise
  std::thread::id pinned_caller_;
};

// Binds the calling thread to one CPU; best effort: a thread that cannot be pinned runs where the
// scheduler puts it.
void pin_current_thread(int cpu);
// The same for the index-th CPU the process may use (ThreadPool's first_cpu counts the same way);
// nothing when there is no such CPU.
void pin_current_thread_to_allowed(int index);

// Runs fn over [0, n) on `pool`, or inline when pool is null or n is 1.
inline void parallel_for(ThreadPool* pool, int64_t n, const std::function<void(int64_t, int64_t)>& fn) {
  if (pool == nullptr || n <= 1 || pool->size() == 1) {
    if (n > 0) fn(0, n);
    return;
  }
  pool->parallel_for(n, fn);
}

}  // namespace troupe::cpu
