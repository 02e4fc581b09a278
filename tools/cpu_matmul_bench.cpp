// Time of the CPU backend's quantized-weight products (gpu/cpu/cpu_weight.hpp) by number of
// activation rows: int8 activations with integer dot products (int8_matmul.hpp, the default; the
// time includes quantizing the rows), float activations block by block (blockwise_matmul.hpp) and
// float32 tiles fed to OpenBLAS (Q4_0/Q4_1/Q8_0 only), and a float32 weight through OpenBLAS for
// scale. Random blocks shaped like SmolLM2-135M's MLP (gate|up 3072 x 576 and down 576 x 1536;
// K-quants 3072 x 768 and 768 x 1536, rows of whole 256-blocks). Prints the median of --repeats
// runs per cell in microseconds, the int8 path's weight bytes read per microsecond (GB/s) and its
// arithmetic rate (GMAC/s).
//
//   troupe-cpu-matmul-bench [--threads N] [--repeats R] [--type q4_0|q4_1|q5_0|q5_1|q8_0|q2_k|q3_k|q4_k|q5_k|q6_k|iq4_nl|iq4_xs|mxfp4_f16|iq1_s|iq1_m|iq2_xxs|iq2_xs|iq2_s|iq3_xxs|iq3_s|bf16|f16]
//                           [--rows 1,2,4,...] [--cpu-time] [--int8-only] [--shape ROWSxCOLS]... [--cold]
// --shape replaces the two default shapes (repeatable; 5632x2048 is the 1B shape's gate). --cold
// cycles through enough copies of each weight (>= 256 MiB) that every product streams its weight
// from memory, as a decode step does on a model larger than the last-level cache. bf16 and f16 time
// the 16-bit weights' product (half_matmul.hpp, float activations) in the int8 column.
//   troupe-cpu-matmul-bench --roofline [--threads N]   # the peak the products are measured against
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <cblas.h>
#include <immintrin.h>

#include <thread>

#include "common/float16.hpp"
#include "gpu/cpu/cpu_kernels.hpp"
#include "gpu/cpu/cpu_weight.hpp"
#include "gpu/cpu/thread_pool.hpp"
#include "model/dequantize.hpp"

namespace {

using troupe::DType;
using troupe::cpu::CpuWeight;

std::vector<std::byte> random_blocks(DType type, int64_t rows, int64_t cols, std::mt19937& rng) {
  if (type == DType::BF16 || type == DType::F16) {  // 16-bit floats: normal values (random bytes hold NaNs)
    std::normal_distribution<float> normal(0.0f, 0.02f);
    std::vector<std::byte> out(static_cast<std::size_t>(rows * cols * 2));
    for (int64_t i = 0; i < rows * cols; ++i) {
      const float v = normal(rng);
      const std::uint16_t h = type == DType::BF16 ? troupe::float_to_bf16(v) : troupe::float_to_fp16(v);
      std::memcpy(out.data() + 2 * i, &h, 2);
    }
    return out;
  }
  const int64_t blocks = rows * cols / troupe::dtype_block_elements(type), bytes = troupe::dtype_block_bytes(type);
  std::vector<std::byte> out(static_cast<std::size_t>(blocks * bytes));
  std::uniform_int_distribution<int> byte(0, 255);
  for (auto& b : out) b = std::byte(byte(rng));
  // Sane scales: random bytes could be inf or NaN halves.
  const std::uint16_t d = troupe::float_to_fp16(0.01f), m = troupe::float_to_fp16(-0.08f);
  for (int64_t i = 0; i < blocks; ++i) {
    std::byte* p = out.data() + i * bytes;
    if (type == DType::Q6_K) {
      std::memcpy(p + 208, &d, 2);
    } else if (type == DType::Q2_K) {
      std::memcpy(p + 80, &d, 2);
      std::memcpy(p + 82, &d, 2);
    } else if (type == DType::Q3_K) {
      std::memcpy(p + 108, &d, 2);
    } else if (type == DType::IQ4_NL || type == DType::IQ4_XS || type == DType::MXFP4_F16 || type == DType::IQ2_XXS ||
               type == DType::IQ2_XS || type == DType::IQ2_S || type == DType::IQ3_XXS || type == DType::IQ3_S ||
               type == DType::IQ1_S) {
      std::memcpy(p, &d, 2);
    } else if (type == DType::IQ1_M) {  // d in the top nibbles of the four scale words
      for (int w = 0; w < 4; ++w) p[48 + 2 * w + 1] = std::byte((static_cast<unsigned>(p[48 + 2 * w + 1]) & 0x0F) | (((d >> (4 * w)) & 0xF) << 4));
    } else {
      std::memcpy(p, &d, 2);
      if (type != DType::Q4_0 && type != DType::Q5_0 && type != DType::Q8_0) std::memcpy(p + 2, &m, 2);
    }
  }
  return out;
}

// --cpu-time: the process's CPU time instead of wall time. With --threads 1 on a machine shared
// with other work, this is the time the product itself took (no waiting for a core), for A/B
// comparisons while the machine is busy; wall time is what final figures use.
bool g_cpu_time = false;

double now_us() {
  if (!g_cpu_time) return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now().time_since_epoch()).count();
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
}

template <typename F>
double median_us(int repeats, F&& f) {
  std::vector<double> t;
  f();  // warm-up
  for (int i = 0; i < repeats; ++i) {
    const double start = now_us();
    f();
    t.push_back(now_us() - start);
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

// The machine's compute roofline for these kernels, measured: register-only loops of the int8
// products' instructions (8 independent chains) and of float32 FMAs (8 multiply-adds per
// instruction, 12 chains). kWiden: maddubs + madd + add (32 int8 multiply-adds per 3
// instructions, the row-major kernel's pattern); otherwise maddubs + int16 add, which the
// interleaved kernel issues once per 32 multiply-adds (it widens once per 256), so its ceiling.
template <bool kWiden>
__attribute__((target("avx2,fma"), noinline)) int peak_int8(long iterations) {
  __m256i acc[8], x[4], w[2];
  const __m256i ones = _mm256_set1_epi16(1);
  for (int k = 0; k < 8; ++k) acc[k] = _mm256_setzero_si256();
  for (int k = 0; k < 4; ++k) x[k] = _mm256_set1_epi8(static_cast<char>(-2 - k));
  for (int k = 0; k < 2; ++k) w[k] = _mm256_set1_epi8(static_cast<char>(3 + k));
  for (long i = 0; i < iterations; ++i) {
    // Opaque inputs and eight distinct products: the compiler may neither hoist them out of the
    // loop nor compute one product for all eight chains (which an earlier version of this loop let
    // it do, reading 8x too high). 15 registers: nothing spills.
    for (int k = 0; k < 4; ++k) __asm__ volatile("" : "+x"(x[k]));
    for (int k = 0; k < 8; ++k) {
      const __m256i p = _mm256_maddubs_epi16(w[k / 4], x[k % 4]);
      acc[k] = kWiden ? _mm256_add_epi32(acc[k], _mm256_madd_epi16(p, ones)) : _mm256_add_epi16(acc[k], p);
    }
  }
  __m256i sum = acc[0];
  for (int k = 1; k < 8; ++k) sum = _mm256_add_epi32(sum, acc[k]);
  return _mm256_extract_epi32(sum, 0);
}

__attribute__((target("avx2,fma"), noinline)) float peak_f32(long iterations) {
  __m256 acc[12];
  const __m256 a = _mm256_set1_ps(0.999f), b = _mm256_set1_ps(0.001f);
  for (int k = 0; k < 12; ++k) acc[k] = _mm256_set1_ps(static_cast<float>(k));
  for (long i = 0; i < iterations; ++i) {
    for (int k = 0; k < 12; ++k) acc[k] = _mm256_fmadd_ps(acc[k], a, b);
  }
  __m256 sum = acc[0];
  for (int k = 1; k < 12; ++k) sum = _mm256_add_ps(sum, acc[k]);
  return _mm256_cvtss_f32(sum);
}

// GMAC/s of `loop` on `threads` threads at once: MACs per iteration x iterations / slowest thread.
template <typename Loop>
double peak(int threads, double macs_per_iteration, Loop loop) {
  const long iterations = 100'000'000;
  std::vector<std::thread> pool;
  std::vector<double> seconds(static_cast<std::size_t>(threads));
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      troupe::cpu::pin_current_thread(t);  // one thread per CPU, as the kernels' pinned ThreadPool runs
      const auto t0 = std::chrono::steady_clock::now();
      volatile auto sink = loop(iterations);
      (void)sink;
      seconds[t] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    });
  }
  for (auto& th : pool) th.join();
  return macs_per_iteration * static_cast<double>(iterations) * threads / *std::max_element(seconds.begin(), seconds.end()) / 1e9;
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 2, repeats = 15;
  bool int8_only = false;  // no float32 paths: OpenBLAS threads yield-spin after each call and take a core
  bool roofline = false, cold = false;
  struct Shape { std::string name; int64_t rows, cols; };
  std::vector<Shape> custom_shapes;
  DType type = DType::Q4_1;
  std::vector<int64_t> row_counts{1, 2, 4, 8, 16, 32, 64, 128, 256, 512};
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--threads" && i + 1 < argc) {
      threads = std::stoi(argv[++i]);
    } else if (arg == "--repeats" && i + 1 < argc) {
      repeats = std::stoi(argv[++i]);
    } else if (arg == "--type" && i + 1 < argc) {
      std::string t = argv[++i];
      std::transform(t.begin(), t.end(), t.begin(), ::toupper);
      bool found = false;
      for (DType c : {DType::Q4_0, DType::Q4_1, DType::Q5_0, DType::Q5_1, DType::Q8_0, DType::Q2_K, DType::Q3_K,
                      DType::Q4_K, DType::Q5_K, DType::Q6_K, DType::IQ4_NL, DType::IQ4_XS, DType::MXFP4_F16,
                      DType::IQ2_XXS, DType::IQ2_XS, DType::IQ2_S, DType::IQ3_XXS, DType::IQ3_S, DType::IQ1_S,
                      DType::IQ1_M, DType::BF16, DType::F16}) {
        if (troupe::dtype_name(c) == t) type = c, found = true;
      }
      if (!found) {
        std::fprintf(stderr, "unknown type %s\n", argv[i]);
        return 2;
      }
    } else if (arg == "--roofline") {
      roofline = true;
    } else if (arg == "--cpu-time") {
      g_cpu_time = true;
    } else if (arg == "--cold") {
      cold = true;
    } else if (arg == "--shape" && i + 1 < argc) {
      const std::string v = argv[++i];
      const auto x = v.find('x');
      if (x == std::string::npos) {
        std::fprintf(stderr, "--shape wants ROWSxCOLS, got %s\n", v.c_str());
        return 2;
      }
      custom_shapes.push_back({v, std::stoll(v.substr(0, x)), std::stoll(v.substr(x + 1))});
    } else if (arg == "--int8-only") {
      int8_only = true;
    } else if (arg == "--rows" && i + 1 < argc) {
      row_counts.clear();
      std::stringstream list(argv[++i]);
      for (std::string item; std::getline(list, item, ',');) row_counts.push_back(std::stoll(item));
    } else {
      std::fprintf(stderr, "usage: %s [--threads N] [--repeats R] [--type q4_0|q4_1|q5_0|q5_1|q8_0|q2_k|q3_k|q4_k|q5_k|q6_k|iq4_nl|iq4_xs|mxfp4_f16|iq1_s|iq1_m|iq2_xxs|iq2_xs|iq2_s|iq3_xxs|iq3_s|bf16|f16] [--rows 1,2,...] [--cpu-time] [--int8-only] [--shape ROWSxCOLS]... [--cold] [--roofline]\n", argv[0]);
      return 2;
    }
  }
  if (roofline) {
    std::printf("compute roofline, %d threads: int8 maddubs %.1f GMAC/s, int8 maddubs+madd %.1f GMAC/s, float32 FMA %.1f GMAC/s\n",
                threads, peak(threads, 8 * 32, peak_int8<false>), peak(threads, 8 * 32, peak_int8<true>), peak(threads, 12 * 8, peak_f32));
    return 0;
  }
  openblas_set_num_threads(threads);
  troupe::cpu::ThreadPool pool(threads, /*pin=*/true);  // as CpuBackend's
  std::mt19937 rng(1);
  const bool float_paths = type == DType::Q4_0 || type == DType::Q4_1 || type == DType::Q8_0;
  std::printf("%s weights, %d threads, median of %d; microseconds per product (- : no such path)\n",
              std::string(troupe::dtype_name(type)).c_str(), threads, repeats);
  // A 16-bit weight's product is half_matmul's (float activations), in the int8 column.
  std::printf("%-18s %6s %10s %10s %10s %10s %9s %9s\n", "weight", "rows", "int8", "blockwise", "tiled", "f32 sgemm",
              "int8 GB/s", "GMAC/s");
  const bool k_quant = troupe::dtype_block_elements(type) == 256;
  std::vector<Shape> shapes = custom_shapes;
  if (shapes.empty()) {
    shapes = {k_quant ? Shape{"gate|up 3072x768", 3072, 768} : Shape{"gate|up 3072x576", 3072, 576},
              k_quant ? Shape{"down 768x1536", 768, 1536} : Shape{"down 576x1536", 576, 1536}};
  }
  if (cold) int8_only = true;
  for (const Shape& s : shapes) {
    const auto blocks = random_blocks(type, s.rows, s.cols, rng);
    std::vector<float> f32(static_cast<std::size_t>(int8_only ? 0 : s.rows * s.cols));
    if (!int8_only) troupe::dequantize(type, blocks.data(), f32.data(), s.rows * s.cols);
    std::vector<CpuWeight> copies;
    copies.push_back(CpuWeight::from_blocks(type, blocks, s.rows, s.cols));
    while (cold && static_cast<double>(copies.size() * copies.front().bytes()) < 256.0 * (1 << 20)) {
      copies.push_back(CpuWeight::from_blocks(type, blocks, s.rows, s.cols));
    }
    std::size_t next = 0;  // the copy the next product reads (cold: the one read longest ago)
    const auto w8_matmul = [&](const float* a, float* c, int64_t m) {
      copies[next].matmul(a, c, m, false, &pool);
      next = (next + 1) % copies.size();
    };
    const CpuWeight& w8 = copies.front();
    const CpuWeight wf = float_paths ? CpuWeight::from_blocks(type, blocks, s.rows, s.cols, CpuWeight::Mode{true, false}) : w8;
    for (int64_t m : row_counts) {
      std::normal_distribution<float> normal(0.0f, 1.0f);
      std::vector<float> a(static_cast<std::size_t>(m * s.cols)), c(static_cast<std::size_t>(m * s.rows));
      for (auto& x : a) x = normal(rng);
      const double int8 = median_us(repeats, [&] { w8_matmul(a.data(), c.data(), m); });
      double blockwise = -1, tiled = -1;
      if (float_paths && !int8_only) {
        blockwise = median_us(repeats, [&] { wf.matmul_blockwise(a.data(), c.data(), m, false, &pool); });
        tiled = median_us(repeats, [&] { wf.matmul_tiled(a.data(), c.data(), m, false, &pool); });
      }
      const double sgemm = int8_only ? -1 : median_us(repeats, [&] { troupe::cpu::matmul_nt(a.data(), f32.data(), c.data(), m, s.rows, s.cols); });
      const auto cell = [](double us) {
        char buf[32];
        if (us < 0) return std::string("-");
        std::snprintf(buf, sizeof buf, "%.1f", us);
        return std::string(buf);
      };
      std::printf("%-18s %6lld %10s %10s %10s %10s %9.2f %9.2f\n", s.name.c_str(), static_cast<long long>(m), cell(int8).c_str(),
                  cell(blockwise).c_str(), cell(tiled).c_str(), cell(sgemm).c_str(), static_cast<double>(w8.bytes()) / int8 / 1e3,
                  static_cast<double>(m * s.rows * s.cols) / int8 / 1e3);
    }
  }
  return 0;
}
