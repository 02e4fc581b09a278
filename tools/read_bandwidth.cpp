// This machine's memory read bandwidth, the limit a decode step is bound by: every weight byte is
// read once per step, so decode tokens/s × weight bytes ÷ this figure is the fraction of the
// roofline a CPU backend reaches (tools/peer/bench_cpu_vs_llamacpp.py reports it).
//
//   troupe-read-bandwidth [--threads N] [--mib 1024] [--runs 15]
//
// Reads a buffer (default 1 GiB, far beyond the caches; every page touched first; huge pages as
// the backend's weights get them) with the CPU
// backend's own pinned thread pool, each thread summing its share with 256-bit loads, and prints
// the median and best of the runs in GB/s (10^9 bytes per second).
#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "gpu/cpu/cpu_features.hpp"
#include "gpu/cpu/huge_pages.hpp"
#include "gpu/cpu/thread_pool.hpp"

namespace {

// Sum of the 64-bit words of [p, p + n) (n a multiple of 128 bytes), four independent 256-bit
// accumulators so that the loads, not the adds, set the pace, and a software prefetch kPrefetch
// bytes ahead as the matmul kernels issue (without it this VM's cores read 10-20 % less).
constexpr int64_t kPrefetch = 2048;

__attribute__((target("avx2"))) uint64_t sum_avx2(const uint8_t* p, int64_t n) {
  __m256i s0 = _mm256_setzero_si256(), s1 = s0, s2 = s0, s3 = s0;
  for (int64_t i = 0; i < n; i += 128) {
    _mm_prefetch(reinterpret_cast<const char*>(p + i + kPrefetch), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(p + i + kPrefetch + 64), _MM_HINT_T0);
    s0 = _mm256_add_epi64(s0, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i)));
    s1 = _mm256_add_epi64(s1, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 32)));
    s2 = _mm256_add_epi64(s2, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 64)));
    s3 = _mm256_add_epi64(s3, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 96)));
  }
  const __m256i s = _mm256_add_epi64(_mm256_add_epi64(s0, s1), _mm256_add_epi64(s2, s3));
  uint64_t lanes[4];
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(lanes), s);
  return lanes[0] + lanes[1] + lanes[2] + lanes[3];
}

uint64_t sum_portable(const uint8_t* p, int64_t n) {
  uint64_t s = 0;
  for (int64_t i = 0; i < n; i += 8) {
    uint64_t v;
    std::memcpy(&v, p + i, 8);
    s += v;
  }
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 2, runs = 15;
  int64_t mib = 1024;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--threads") threads = std::atoi(argv[i + 1]);
    else if (flag == "--mib") mib = std::atoll(argv[i + 1]);
    else if (flag == "--runs") runs = std::atoi(argv[i + 1]);
    else {
      std::fprintf(stderr, "usage: troupe-read-bandwidth [--threads N] [--mib 1024] [--runs 15]\n");
      return 2;
    }
  }
  if (threads < 1 || mib < 1 || runs < 1) {
    std::fprintf(stderr, "troupe-read-bandwidth: --threads, --mib and --runs must be positive\n");
    return 2;
  }
  const int64_t bytes = mib << 20;
  // Allocated as the CPU backend allocates its weights (huge pages where Linux grants them).
  std::vector<uint8_t, troupe::cpu::HugePageAllocator<uint8_t>> storage(static_cast<std::size_t>(bytes));
  uint8_t* buffer = storage.data();
  for (int64_t i = 0; i < bytes; i += 4096) buffer[i] = static_cast<uint8_t>(i >> 12);

  troupe::cpu::ThreadPool pool(threads, /*pin=*/true);
  const bool avx2 = troupe::cpu::avx2_available();
  constexpr int64_t kSlice = 1 << 20;  // 1 MiB per chunk of the parallel loop
  std::vector<uint64_t> sums(static_cast<std::size_t>(bytes / kSlice));
  std::vector<double> rates;
  for (int run = 0; run < runs + 1; ++run) {  // the first run warms the pool and the TLB
    const auto t0 = std::chrono::steady_clock::now();
    pool.parallel_for(bytes / kSlice, [&](int64_t b, int64_t e) {
      for (int64_t s = b; s < e; ++s) {
        const uint8_t* p = buffer + s * kSlice;
        sums[s] = avx2 ? sum_avx2(p, kSlice) : sum_portable(p, kSlice);
      }
    });
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (run > 0) rates.push_back(static_cast<double>(bytes) / seconds / 1e9);
  }
  uint64_t check = 0;
  for (uint64_t s : sums) check += s;
  std::sort(rates.begin(), rates.end());
  std::printf("read bandwidth: %.1f GB/s median, %.1f GB/s best (%d threads, %lld MiB, %d runs; checksum %llu)\n",
              rates[rates.size() / 2], rates.back(), threads, static_cast<long long>(mib), runs,
              static_cast<unsigned long long>(check % 1000));
  return 0;
}
