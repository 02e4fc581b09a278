// Embedding gather, the fused residual add + RMSNorm and the per-head RMSNorm on the device
// against their CPU references (gpu/cpu/cpu_kernels.hpp), on random inputs whose sizes are not
// multiples of the kernels' block sizes.
#if TROUPE_WITH_CUDA
#include <numeric>

#include "gpu/cpu/cpu_kernels.hpp"
#include "tests/gpu/cuda/cuda_test_support.hpp"

using namespace troupe;
using namespace troupe::test;

TEST_CASE("cuda: embedding_gather copies the rows of the ids exactly", "[gpu][cuda]") {
  TROUPE_REQUIRE_CUDA_DEVICE();
  for (const auto type : kStorageTypes) {
    for (const int64_t dim : {576, 100}) {
      INFO(storage_name(type) << " dim " << dim);
      const int64_t vocab = 37, tokens = 41;
      const auto table = random_floats(static_cast<std::size_t>(vocab * dim), 1);
      std::vector<int32_t> ids(static_cast<std::size_t>(tokens));
      for (int64_t t = 0; t < tokens; ++t) ids[t] = static_cast<int32_t>((t * 7 + 3) % vocab);
      const auto table_dev = to_device(to_storage(table, type));
      const auto ids_dev = to_device(ids);
      auto out = poisoned<float>(static_cast<std::size_t>(tokens * dim));
      cuda::embedding_gather(table_dev.data(), type, ids_dev.as<int32_t>(), out.as<float>(), tokens, dim, 1.0f, 0, vocab,
                             nullptr);
      const auto got = from_device<float>(out);
      std::vector<float> want(got.size());
      const auto table_seen = rounded(table, type);
      cpu::embedding_gather(table_seen.data(), ids.data(), want.data(), tokens, dim);
      CHECK(count_non_finite(got) == 0);
      CHECK(got == want);  // a conversion from 16 bits to float32 is exact
      // A tensor-parallel rank's slice of the table: rows 10..29 of it, other ids give zeros.
      const auto slice_dev = to_device(to_storage(std::vector<float>(table.begin() + 10 * dim, table.begin() + 30 * dim), type));
      cuda::embedding_gather(slice_dev.data(), type, ids_dev.as<int32_t>(), out.as<float>(), tokens, dim, 1.0f, 10, 20,
                             nullptr);
      cpu::embedding_gather(table_seen.data() + 10 * dim, ids.data(), want.data(), tokens, dim, 10, 20);
      CHECK(from_device<float>(out) == want);
    }
  }
}

TEST_CASE("cuda: add_rms_norm matches the CPU residual add and norm", "[gpu][cuda]") {
  TROUPE_REQUIRE_CUDA_DEVICE();
  for (const auto type : kStorageTypes) {
    for (const int64_t dim : {576, 100}) {
      for (const bool with_delta : {true, false}) {
        INFO(storage_name(type) << " dim " << dim << " delta " << with_delta);
        const int64_t rows = 13;
        const float eps = 1e-6f;
        auto residual = random_floats(static_cast<std::size_t>(rows * dim), 2, -3.0f, 3.0f);
        const auto delta = random_floats(residual.size(), 3);
        const auto weight = random_floats(static_cast<std::size_t>(dim), 4, 0.5f, 1.5f);
        auto residual_dev = to_device(residual);
        const auto delta_dev = to_device(delta);
        const auto weight_dev = to_device(weight);
        auto out = poisoned<uint16_t>(residual.size());
        cuda::add_rms_norm(residual_dev.as<float>(), with_delta ? delta_dev.as<float>() : nullptr, weight_dev.as<float>(),
                           out.data(), type, nullptr, rows, dim, eps, nullptr);
        const auto got = from_storage(from_device<uint16_t>(out), type);
        const auto got_residual = from_device<float>(residual_dev);
        std::vector<float> want(residual.size());
        if (with_delta) {
          cpu::add_rms_norm(residual.data(), delta.data(), weight.data(), want.data(), rows, dim, eps);
        } else {
          cpu::rms_norm(residual.data(), weight.data(), want.data(), rows, dim, eps, dim, dim);
        }
        CHECK(count_non_finite(got) == 0);
        CHECK(relative_error(got_residual, residual) < kFloat32Tolerance);  // float32 adds, same order
        CHECK(relative_error(got, want) < kStorageTolerance);                // output rounded to 16 bits
      }
    }
  }
}

TEST_CASE("cuda: add_rms_norm on gathered rows normalizes only those rows", "[gpu][cuda]") {
  TROUPE_REQUIRE_CUDA_DEVICE();
  const auto type = cuda::StorageType::BF16;
  const int64_t rows = 9, dim = 100;
  auto residual = random_floats(static_cast<std::size_t>(rows * dim), 5, -2.0f, 2.0f);
  const auto delta = random_floats(residual.size(), 6);
  const auto weight = random_floats(static_cast<std::size_t>(dim), 7, 0.5f, 1.5f);
  const std::vector<int32_t> picked{8, 0, 4};
  auto residual_dev = to_device(residual);
  const auto delta_dev = to_device(delta);
  const auto weight_dev = to_device(weight);
  const auto picked_dev = to_device(picked);
  auto out = poisoned<uint16_t>(picked.size() * dim);
  cuda::add_rms_norm(residual_dev.as<float>(), delta_dev.as<float>(), weight_dev.as<float>(), out.data(), type,
                     picked_dev.as<int32_t>(), static_cast<int64_t>(picked.size()), dim, 1e-5f, nullptr);
  const auto got = from_storage(from_device<uint16_t>(out), type);
  std::vector<float> want;
  for (int32_t r : picked) {
    std::vector<float> row(residual.begin() + r * dim, residual.begin() + (r + 1) * dim);
    std::vector<float> d(delta.begin() + r * dim, delta.begin() + (r + 1) * dim);
    std::vector<float> o(static_cast<std::size_t>(dim));
    cpu::add_rms_norm(row.data(), d.data(), weight.data(), o.data(), 1, dim, 1e-5f);
    want.insert(want.end(), o.begin(), o.end());
  }
  CHECK(count_non_finite(got) == 0);
  CHECK(relative_error(got, want) < kStorageTolerance);
}

TEST_CASE("cuda: head_rms_norm matches the CPU norm of each head in place", "[gpu][cuda]") {
  TROUPE_REQUIRE_CUDA_DEVICE();
  for (const int64_t head_dim : {64, 100, 128}) {
    INFO("head_dim " << head_dim);
    const int64_t tokens = 11, heads = 9, stride = heads * head_dim + 37;  // a slice of a wider row
    auto x = random_floats(static_cast<std::size_t>(tokens * stride), 8, -4.0f, 4.0f);
    const auto weight = random_floats(static_cast<std::size_t>(head_dim), 9, 0.5f, 1.5f);
    auto x_dev = to_device(x);
    const auto weight_dev = to_device(weight);
    cuda::head_rms_norm(x_dev.as<float>(), weight_dev.as<float>(), tokens, heads, head_dim, stride, 1e-6f, nullptr);
    const auto got = from_device<float>(x_dev);
    for (int64_t t = 0; t < tokens; ++t) {
      cpu::rms_norm(x.data() + t * stride, weight.data(), x.data() + t * stride, heads, head_dim, 1e-6f, head_dim, head_dim);
    }
    CHECK(relative_error(got, x) < kFloat32Tolerance);  // float32 in, float32 out; untouched tail equal
  }
}
#endif  // TROUPE_WITH_CUDA
