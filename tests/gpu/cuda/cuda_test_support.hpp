#pragma once
// Shared by the CUDA tests: the skip guard, random inputs, 16-bit rounding on the host, device
// round trips with poisoned outputs, and the relative error ||got - want|| / ||want||.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <string>
#include <cstdint>
#include <random>
#include <vector>

#include "common/float16.hpp"
#include "gpu/cuda/cuda_kernels.hpp"
#include "gpu/cuda/device_buffer.hpp"
#include "gpu/device_probe.hpp"

// Catch2 2.13 has no SKIP: a test without a device says so and returns; CTest's
// SKIP_REGULAR_EXPRESSION (tests/CMakeLists.txt) then reports it as skipped, not passed. Where a
// device must be there (TROUPE_EXPECT_CUDA=1, as tools/gpu/device_check.sh sets it), a missing one
// fails instead: a driver too old for the runtime would otherwise turn the whole run green with
// nothing tested.
#define TROUPE_REQUIRE_CUDA_DEVICE()                                                                \
  do {                                                                                              \
    if (!::troupe::cuda_device_available()) {                                                       \
      if (::troupe::test::cuda_expected())                                                          \
        FAIL("TROUPE_EXPECT_CUDA is set but there is no CUDA device: " << ::troupe::probe_cuda_devices().reason); \
      WARN("SKIPPED: no CUDA device");                                                              \
      return;                                                                                       \
    }                                                                                               \
  } while (0)

namespace troupe::test {

inline bool cuda_expected() {
  const char* v = std::getenv("TROUPE_EXPECT_CUDA");
  return v != nullptr && std::string(v) == "1";
}

inline std::vector<float> random_floats(std::size_t n, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

inline uint16_t to_storage(float v, cuda::StorageType t) {
  return t == cuda::StorageType::BF16 ? float_to_bf16(v) : float_to_fp16(v);
}
inline float from_storage(uint16_t v, cuda::StorageType t) {
  return t == cuda::StorageType::BF16 ? bf16_to_float(v) : fp16_to_float(v);
}
inline std::vector<uint16_t> to_storage(const std::vector<float>& v, cuda::StorageType t) {
  std::vector<uint16_t> out(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) out[i] = to_storage(v[i], t);
  return out;
}
inline std::vector<float> from_storage(const std::vector<uint16_t>& v, cuda::StorageType t) {
  std::vector<float> out(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) out[i] = from_storage(v[i], t);
  return out;
}
// The value the device sees after the host stores it as `t`.
inline std::vector<float> rounded(const std::vector<float>& v, cuda::StorageType t) {
  return from_storage(to_storage(v, t), t);
}

template <typename T>
cuda::DeviceBuffer to_device(const std::vector<T>& v) {
  cuda::DeviceBuffer b(static_cast<int64_t>(v.size() * sizeof(T)));
  b.upload(v.data(), b.bytes());
  return b;
}

// A device output buffer of n elements of T, every byte 0xff (NaN in float, bf16 and fp16), so
// that an element the kernel never wrote stays NaN.
template <typename T>
cuda::DeviceBuffer poisoned(std::size_t n) {
  cuda::DeviceBuffer b(static_cast<int64_t>(n * sizeof(T)));
  b.fill_bytes(0xff);
  return b;
}

template <typename T>
std::vector<T> from_device(const cuda::DeviceBuffer& b) {
  cuda::device_synchronize();
  std::vector<T> v(static_cast<std::size_t>(b.bytes()) / sizeof(T));
  b.download(v.data(), b.bytes());
  return v;
}

inline std::size_t count_non_finite(const std::vector<float>& v) {
  std::size_t n = 0;
  for (float x : v) n += std::isfinite(x) ? 0 : 1;
  return n;
}

// With TROUPE_GPU_ERRORS=FILE set, every relative error measured is appended to FILE as
// "test name<TAB>error", so that tools/gpu/device_check.sh reports each kernel's measured error
// and not only pass or fail.
inline void report_error(double error) {
  const char* path = std::getenv("TROUPE_GPU_ERRORS");
  if (path == nullptr || *path == '\0') return;
  std::ofstream out(path, std::ios::app);
  out << Catch::getResultCapture().getCurrentTestName() << '\t' << error << '\n';
}

inline double relative_error(const std::vector<float>& got, const std::vector<float>& want) {
  REQUIRE(got.size() == want.size());
  double diff = 0.0, norm = 0.0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double d = static_cast<double>(got[i]) - want[i];
    diff += d * d;
    norm += static_cast<double>(want[i]) * want[i];
  }
  const double error = std::sqrt(diff) / std::sqrt(norm);
  report_error(error);
  return error;
}

// Tolerances for ||out - ref|| / ||ref||. A float32 path differs from the CPU only by summation
// order and libm rounding: far below 1e-5. A 16-bit output is rounded once more (bf16 keeps 8
// significant bits: a relative error up to 2^-9 per element, about 2e-3 in norm; fp16's 11 bits
// are 8x finer), so 1e-2 leaves headroom without hiding a wrong element (one wrong element of
// ~100 already costs ~0.1).
inline constexpr double kFloat32Tolerance = 1e-5;
// Two runs of the same 16-bit model whose float32 GEMMs sum in another order (another cuBLAS
// algorithm for another row count): a last-bit difference flips some bf16 roundings of
// activations and KV, about 1e-4 relative. Larger is a bug.
inline constexpr double kRoundingFlipTolerance = 2e-3;
inline constexpr double kStorageTolerance = 1e-2;

inline const std::vector<cuda::StorageType> kStorageTypes{cuda::StorageType::BF16, cuda::StorageType::FP16};
inline const char* storage_name(cuda::StorageType t) { return t == cuda::StorageType::BF16 ? "bf16" : "fp16"; }

}  // namespace troupe::test
