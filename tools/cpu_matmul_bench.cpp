// Time of the CPU backend's quantized-weight products (gpu/cpu/cpu_weight.hpp) by number of
// activation rows: block by block (blockwise_matmul.hpp) against float32 tiles fed to OpenBLAS,
// and a float32 weight through OpenBLAS for scale. Random Q4_1 blocks shaped like SmolLM2-135M's
// MLP (gate|up 3072 x 576 and down 576 x 1536). Prints the median of --repeats runs per cell, in
// microseconds, and the weight bytes read per microsecond by the blockwise path (GB/s).
//
//   troupe-cpu-matmul-bench [--threads N] [--repeats R] [--type q4_0|q4_1|q8_0]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <cblas.h>

#include "common/float16.hpp"
#include "gpu/cpu/cpu_kernels.hpp"
#include "gpu/cpu/cpu_weight.hpp"
#include "model/dequantize.hpp"

namespace {

using troupe::DType;
using troupe::cpu::CpuWeight;

std::vector<std::byte> random_blocks(DType type, int64_t rows, int64_t cols, std::mt19937& rng) {
  const int64_t blocks = rows * cols / 32, bytes = troupe::dtype_block_bytes(type);
  std::vector<std::byte> out(static_cast<std::size_t>(blocks * bytes));
  std::uniform_int_distribution<int> byte(0, 255);
  for (auto& b : out) b = std::byte(byte(rng));
  for (int64_t i = 0; i < blocks; ++i) {  // sane scales: random bytes could be inf or NaN halves
    const std::uint16_t d = troupe::float_to_fp16(0.01f), m = troupe::float_to_fp16(-0.08f);
    std::memcpy(out.data() + i * bytes, &d, 2);
    if (type == DType::Q4_1) std::memcpy(out.data() + i * bytes + 2, &m, 2);
  }
  return out;
}

template <typename F>
double median_us(int repeats, F&& f) {
  std::vector<double> t;
  f();  // warm-up
  for (int i = 0; i < repeats; ++i) {
    const auto start = std::chrono::steady_clock::now();
    f();
    t.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 2, repeats = 15;
  DType type = DType::Q4_1;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--threads" && i + 1 < argc) {
      threads = std::stoi(argv[++i]);
    } else if (arg == "--repeats" && i + 1 < argc) {
      repeats = std::stoi(argv[++i]);
    } else if (arg == "--type" && i + 1 < argc) {
      const std::string t = argv[++i];
      type = t == "q4_0" ? DType::Q4_0 : t == "q8_0" ? DType::Q8_0 : DType::Q4_1;
    } else {
      std::fprintf(stderr, "usage: %s [--threads N] [--repeats R] [--type q4_0|q4_1|q8_0]\n", argv[0]);
      return 2;
    }
  }
  openblas_set_num_threads(threads);
  troupe::cpu::ThreadPool pool(threads);
  std::mt19937 rng(1);
  std::printf("%s weights, %d threads, median of %d; microseconds per product\n",
              std::string(troupe::dtype_name(type)).c_str(), threads, repeats);
  std::printf("%-16s %6s %12s %12s %12s %14s\n", "weight", "rows", "blockwise", "tiled", "f32 sgemm", "blockwise GB/s");
  struct Shape { const char* name; int64_t rows, cols; };
  for (const Shape& s : {Shape{"gate|up 3072x576", 3072, 576}, Shape{"down 576x1536", 576, 1536}}) {
    const auto blocks = random_blocks(type, s.rows, s.cols, rng);
    std::vector<float> f32(static_cast<std::size_t>(s.rows * s.cols));
    troupe::dequantize(type, blocks.data(), f32.data(), s.rows * s.cols);
    const CpuWeight w = CpuWeight::from_blocks(type, blocks, s.rows, s.cols);
    for (int64_t m : {1, 2, 4, 8, 16, 32, 64, 128, 256}) {
      std::vector<float> a(static_cast<std::size_t>(m * s.cols), 0.5f), c(static_cast<std::size_t>(m * s.rows));
      const double blockwise = median_us(repeats, [&] { w.matmul_blockwise(a.data(), c.data(), m, false, &pool); });
      const double tiled = median_us(repeats, [&] { w.matmul_tiled(a.data(), c.data(), m, false, &pool); });
      const double sgemm = median_us(repeats, [&] { troupe::cpu::matmul_nt(a.data(), f32.data(), c.data(), m, s.rows, s.cols); });
      std::printf("%-16s %6lld %12.1f %12.1f %12.1f %14.2f\n", s.name, static_cast<long long>(m), blockwise, tiled, sgemm,
                  static_cast<double>(w.bytes()) / blockwise / 1e3);
    }
  }
  return 0;
}
