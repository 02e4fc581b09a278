#include "gpu/cpu/thread_pool.hpp"

#include <pthread.h>
#include <sched.h>

#include <algorithm>

namespace troupe::cpu {

namespace {

// Spins until done() or kSpin has passed; true when done() came first.
template <typename Done>
bool spin_until(Done done) {
  const auto deadline = std::chrono::steady_clock::now() + ThreadPool::kSpin;
  for (int i = 0;; ++i) {
    if (done()) return true;
#if defined(__x86_64__)
    __builtin_ia32_pause();
#endif
    if ((i & 63) == 63 && std::chrono::steady_clock::now() > deadline) return false;
  }
}

// The CPUs this process may run on, in order.
std::vector<int> allowed_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (sched_getaffinity(0, sizeof set, &set) != 0) return cpus;
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (CPU_ISSET(c, &set)) cpus.push_back(c);
  }
  return cpus;
}

}  // namespace

void pin_current_thread(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu % CPU_SETSIZE, &set);
  pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

void pin_current_thread_to_allowed(int index) {
  const std::vector<int> allowed = allowed_cpus();
  if (index >= 0 && static_cast<std::size_t>(index) < allowed.size()) pin_current_thread(allowed[static_cast<std::size_t>(index)]);
}

ThreadPool::ThreadPool(int threads, bool pin, int first_cpu) {
  threads = std::max(1, threads);
  if (pin && (threads > 1 || first_cpu >= 0)) {
    const std::vector<int> allowed = allowed_cpus();
    const auto first = static_cast<std::size_t>(std::max(0, first_cpu));
    if (first + static_cast<std::size_t>(threads) <= allowed.size()) {
      cpus_.assign(allowed.begin() + static_cast<std::ptrdiff_t>(first),
                   allowed.begin() + static_cast<std::ptrdiff_t>(first) + threads);
    }
  }
  for (int i = 1; i < threads; ++i) {
    const int cpu = cpus_.empty() ? -1 : cpus_[static_cast<std::size_t>(i)];
    workers_.emplace_back([this, cpu] {
      if (cpu >= 0) pin_current_thread(cpu);
      worker_loop();
    });
  }
}

void ThreadPool::pin_caller() {
  if (cpus_.empty() || pinned_caller_ == std::this_thread::get_id()) return;
  pin_current_thread(cpus_.front());
  pinned_caller_ = std::this_thread::get_id();
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& w : workers_) w.join();
}

void ThreadPool::run_chunks() {
  for (int64_t begin = next_.fetch_add(chunk_size_, std::memory_order_relaxed); begin < job_size_;
       begin = next_.fetch_add(chunk_size_, std::memory_order_relaxed)) {
    (*job_)(begin, std::min(job_size_, begin + chunk_size_));
  }
}

void ThreadPool::parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn) {
  pin_caller();
  const int64_t chunks = std::min<int64_t>(n, int64_t{size()} * kChunksPerThread);
  uint64_t generation;
  {
    std::lock_guard lock(mutex_);
    job_ = &fn;
    job_size_ = n;
    chunk_size_ = (n + chunks - 1) / chunks;
    next_.store(0, std::memory_order_relaxed);
    generation = (generation_.load(std::memory_order_relaxed) + 1) & (kActiveMask >> 1);
    state_.store(generation << kGenerationShift, std::memory_order_relaxed);
    generation_.store(generation, std::memory_order_release);
  }
  wake_.notify_all();
  run_chunks();
  // Every chunk is claimed: close the loop to late workers, then wait for those still inside.
  const auto inside = [this] { return (state_.load(std::memory_order_acquire) & kActiveMask) != 0; };
  if (state_.fetch_or(kClosed, std::memory_order_acq_rel) & kActiveMask) {
    if (!spin_until([&] { return !inside(); })) {
      std::unique_lock lock(mutex_);
      done_.wait(lock, [&] { return !inside(); });
    }
  }
}

void ThreadPool::worker_loop() {
  uint64_t seen = 0;
  for (;;) {
    if (!spin_until([&] { return generation_.load(std::memory_order_acquire) != seen; })) {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || generation_.load(std::memory_order_acquire) != seen; });
      if (stopping_) return;
    }
    seen = generation_.load(std::memory_order_acquire);
    // Join the loop of generation `seen` unless it is closed (or already followed by another).
    uint64_t s = state_.load(std::memory_order_acquire);
    bool joined = false;
    while ((s >> kGenerationShift) == seen && !(s & kClosed)) {
      if (state_.compare_exchange_weak(s, s + 1, std::memory_order_acq_rel)) {
        joined = true;
        break;
      }
    }
    if (!joined) continue;
    run_chunks();
    if (state_.fetch_sub(1, std::memory_order_acq_rel) == ((seen << kGenerationShift) | kClosed | 1)) {
      std::lock_guard lock(mutex_);  // the caller may be between its check and its wait
      done_.notify_one();
    }
  }
}

}  // namespace troupe::cpu
