// The CPU kernels' thread pool (gpu/cpu/thread_pool.hpp): every index of a loop is run exactly
// once, loop after loop, whatever threads join; and a worker that is held up does not hold up the
// loop, because the running threads take its chunks.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "gpu/cpu/thread_pool.hpp"

using troupe::cpu::ThreadPool;

TEST_CASE("the thread pool runs every index of every loop exactly once", "[gpu][cpu][threads]") {
  for (int threads : {2, 3, 5}) {
    ThreadPool pool(threads);
    for (int64_t n : {1, 2, 3, 7, 64, 1000}) {
      std::vector<std::atomic<int>> hits(static_cast<std::size_t>(n));
      for (int loop = 0; loop < 200; ++loop) {
        pool.parallel_for(n, [&](int64_t b, int64_t e) {
          for (int64_t i = b; i < e; ++i) hits[i].fetch_add(1, std::memory_order_relaxed);
        });
      }
      int wrong = 0;
      for (auto& h : hits) wrong += h.load() != 200;
      INFO(threads << " threads, n = " << n);
      CHECK(wrong == 0);
    }
  }
}

TEST_CASE("a held-up thread's chunks are taken by the others", "[gpu][cpu][threads]") {
  ThreadPool pool(2);
  // The first chunk to start sleeps 200 ms; the other 7 chunks of 1 ms each run on the other
  // thread meanwhile. With one fixed slice per thread the loop would take 200 + 3 ms; with shared
  // chunks the sleeper's thread holds only its own chunk: about 200 ms, not 200 + the rest.
  std::atomic<bool> first{true};
  std::atomic<int> done{0};
  const auto start = std::chrono::steady_clock::now();
  pool.parallel_for(8, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      std::this_thread::sleep_for(first.exchange(false) ? std::chrono::milliseconds(200) : std::chrono::milliseconds(10));
      done.fetch_add(1);
    }
  });
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  CHECK(done.load() == 8);
  // Fixed halves would cost 200 + 3 x 10 = 230 ms on the sleeper's side; shared chunks 200-210.
  CHECK(ms < 225);
}
