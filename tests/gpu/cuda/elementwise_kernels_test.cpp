// Bias add, RoPE, SiLU-gate product, soft-capping and the KV-cache store on the device against their CPU
// references, on random inputs with sizes that are not multiples of the launch's block size.
#if TROUPE_WITH_CUDA
#include <algorithm>
#include <cmath>
#include <numeric>
#include <utility>

#include "gpu/cpu/cpu_kernels.hpp"
#include "model/model_spec.hpp"
#include "tests/gpu/cuda/cuda_test_support.hpp"

using namespace troupe;
using namespace troupe::test;

TEST_CASE("cuda: add_bias adds the bias to every row", "[gpu][cuda]") {
  TROUPE_REQUIRE_CUDA_DEVICE();
  const int64_t rows = 7, width = 9 * 64 + 2 * 3 * 64;  // q + k + v of 9/3 heads
  auto x = random_floats(static_cast<std::size_t>(rows * width), 11);
  const auto bias = random_floats(static_cast<std::size_t>(width), 12);
  auto x_dev = to_device(x);
  const auto bias_dev = to_device(bias);
  cuda::add_bias(x_dev.as<float>(), bias_dev.as<float>(), rows, width, nullptr);
  const auto got = from_device<float>(x_dev);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t i = 0; i < width; ++i) x[r * width + i] += bias[i];
  }
  CHECK(got == x);  // one float addition per element, the same on both sides
}

TEST_CASE("cuda: apply_rope matches the CPU half-split rotation, partial rotary too", "[gpu][cuda]") {
  TROUPE_REQUIRE_CUDA_DEVICE();
  for (const auto [head_dim, rotary_dim] : {std::pair<int64_t, int64_t>{64, 64}, {100, 100}, {128, 96}}) {
    ModelSpec spec;
    spec.head_dim = head_dim;
    spec.rotary_dim = rotary_dim;  // 96 of 128: Phi-4-mini's partial rotary
    spec.rope.theta = 1e6;
    if (head_dim == 100) {  // llama3 scaling exercises non-trivial inverse frequencies
      spec.rope.type = "llama3";
      spec.rope.factor = 8.0;
      spec.rope.original_max_position = 8192;
    }
    const std::vector<double> inv_freq = rope_inverse_frequencies(spec.rope, spec.rotary_dims());
    const int64_t tokens = 19, heads = 3, stride = 9 * head_dim + 2 * heads * head_dim;
    std::vector<int32_t> positions(static_cast<std::size_t>(tokens));
    for (int64_t t = 0; t < tokens; ++t) positions[t] = static_cast<int32_t>(t * 1733 % 32768);  // up to 32k
    auto x = random_floats(static_cast<std::size_t>(tokens * stride), 13);
    auto x_dev = to_device(x);
    const auto pos_dev = to_device(positions);
    const auto freq_dev = to_device(inv_freq);
    // Rotate the "k" slice of a fused row: offset 9 heads in, 3 heads wide.
    cuda::apply_rope(x_dev.as<float>() + 9 * head_dim, tokens, heads, head_dim, rotary_dim, stride,
                     pos_dev.as<int32_t>(), freq_dev.as<double>(), nullptr);
    const auto got = from_device<float>(x_dev);
    cpu::apply_rope(x.data() + 9 * head_dim, tokens, heads, head_dim, stride, positions.data(), inv_freq);
    INFO("head_dim " << head_dim << ", rotary " << rotary_dim);
    CHECK(relative_error(got, x) < kFloat32Tolerance);  // angles in double on both sides
  }
}

TEST_CASE("cuda: gated_activation matches the CPU gate product (SiLU and GELU-tanh)", "[gpu][cuda]") {
  TROUPE_REQUIRE_CUDA_DEVICE();
  for (const auto type : kStorageTypes) {
    for (const auto act : {Activation::Silu, Activation::GeluTanh}) {
      const int64_t rows = 5, inter = 1537;
      const auto gate_up = random_floats(static_cast<std::size_t>(rows * 2 * inter), 14, -6.0f, 6.0f);
      const auto gate_up_dev = to_device(gate_up);
      auto out = poisoned<uint16_t>(static_cast<std::size_t>(rows * inter));
      cuda::gated_activation(gate_up_dev.as<float>(), out.data(), type, rows, inter, act, nullptr);
      const auto got = from_storage(from_device<uint16_t>(out), type);
      std::vector<float> want(got.size());
      cpu::gated_activation(gate_up.data(), want.data(), rows, inter, act);
      INFO(storage_name(type) << (act == Activation::Silu ? " silu" : " gelu_tanh"));
      CHECK(count_non_finite(got) == 0);
      CHECK(relative_error(got, want) < kStorageTolerance);  // float32 math, 16-bit output
    }
  }
}

TEST_CASE("cuda: clamp_rows clamps q|k|v rows as the CPU does", "[gpu][cuda]") {
  TROUPE_REQUIRE_CUDA_DEVICE();
  const int64_t rows = 7, width = 300, stride = 320;
  auto x = random_floats(static_cast<std::size_t>(rows * stride), 31, -9.0f, 9.0f);
  auto x_dev = to_device(x);
  cuda::clamp_rows(x_dev.as<float>(), rows, width, stride, 2.5f, nullptr);
  const auto got = from_device<float>(x_dev);
  cpu::clamp_rows(x.data(), rows, width, stride, 2.5f);
  CHECK(got == x);
}

TEST_CASE("cuda: softcap turns logits into cap · tanh(x / cap) (Gemma 2)", "[gpu][cuda]") {
  TROUPE_REQUIRE_CUDA_DEVICE();
  auto x = random_floats(5000, 32, -90.0f, 90.0f);
  auto x_dev = to_device(x);
  cuda::softcap(x_dev.as<float>(), static_cast<int64_t>(x.size()), 30.0f, nullptr);
  const auto got = from_device<float>(x_dev);
  for (float& v : x) v = 30.0f * std::tanh(v / 30.0f);
  CHECK(relative_error(got, x) < 1e-6);
}

TEST_CASE("cuda: kv_store writes each token's k and v into its paged slot", "[gpu][cuda]") {
  TROUPE_REQUIRE_CUDA_DEVICE();
  for (const auto type : kStorageTypes) {
    const int64_t block_size = 16, kv_heads = 3, head_dim = 64, width = kv_heads * head_dim, num_blocks = 9;
    const int64_t q_width = 9 * head_dim, stride = q_width + 2 * width;
    // Three sequences of 1, 7 and 33 positions on shuffled blocks.
    const std::vector<int64_t> lengths{1, 7, 33};
    std::vector<int32_t> pool(static_cast<std::size_t>(num_blocks));
    std::iota(pool.begin(), pool.end(), 0);
    std::shuffle(pool.begin(), pool.end(), std::mt19937(15));
    std::vector<int32_t> slots;
    std::vector<std::vector<int32_t>> tables;
    std::size_t next = 0;
    for (int64_t len : lengths) {
      std::vector<int32_t> table;
      for (int64_t b = 0; b < (len + block_size - 1) / block_size; ++b) table.push_back(pool[next++]);
      for (int64_t p = 0; p < len; ++p) slots.push_back(static_cast<int32_t>(table[p / block_size] * block_size + p % block_size));
      tables.push_back(table);
    }
    const auto tokens = static_cast<int64_t>(slots.size());
    const auto qkv = random_floats(static_cast<std::size_t>(tokens * stride), 16);
    const auto qkv_dev = to_device(qkv);
    const auto slots_dev = to_device(slots);
    const auto cache_elems = static_cast<std::size_t>(num_blocks * block_size * width);
    auto keys = poisoned<uint16_t>(cache_elems);
    auto values = poisoned<uint16_t>(cache_elems);
    const cuda::DeviceKv kv{keys.data(), values.data(), type, block_size, kv_heads, head_dim};
    cuda::kv_store(kv, slots_dev.as<int32_t>(), tokens, qkv_dev.as<float>() + q_width, qkv_dev.as<float>() + q_width + width,
                   stride, nullptr);
    const auto got_k = from_device<uint16_t>(keys);
    const auto got_v = from_device<uint16_t>(values);

    std::vector<float> want_k(cache_elems, NAN), want_v(cache_elems, NAN);
    const cpu::PagedKv ref{want_k.data(), want_v.data(), block_size, kv_heads, head_dim};
    int64_t offset = 0;
    for (std::size_t s = 0; s < lengths.size(); ++s) {
      cpu::kv_store(ref, tables[s].data(), 0, lengths[s], qkv.data() + offset * stride + q_width,
                    qkv.data() + offset * stride + q_width + width, stride);
      offset += lengths[s];
    }
    INFO(storage_name(type));
    std::size_t mismatches = 0, written = 0;
    for (std::size_t i = 0; i < cache_elems; ++i) {
      if (std::isnan(want_k[i])) continue;  // a slot no token owns: not compared
      ++written;
      // Rounding a float to 16 bits is correctly rounded on both sides: bit-exact.
      mismatches += got_k[i] != to_storage(want_k[i], type) || got_v[i] != to_storage(want_v[i], type);
    }
    CHECK(written == static_cast<std::size_t>(tokens * width));
    CHECK(mismatches == 0);
  }
}
#endif  // TROUPE_WITH_CUDA
