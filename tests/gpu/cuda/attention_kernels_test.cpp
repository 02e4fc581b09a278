// Paged causal grouped-query attention on the device against cpu::paged_attention: three
// sequences of 1, 7 and 33 positions on shuffled blocks of 16 slots, 9 query heads over 3 KV
// heads, decode tokens and prefill chunks (some positions already cached) in one launch; without a
// window, with a sliding window shorter than the longest sequence, and with Gemma 2's soft-capped
// scores.
#if TROUPE_WITH_CUDA
#include <algorithm>
#include <cmath>
#include <numeric>
#include <utility>

#include "gpu/cpu/cpu_kernels.hpp"
#include "tests/gpu/cuda/cuda_test_support.hpp"

using namespace troupe;
using namespace troupe::test;

TEST_CASE("cuda: paged_attention matches the CPU reference on mixed decode and prefill", "[gpu][cuda]") {
  TROUPE_REQUIRE_CUDA_DEVICE();
  for (const auto type : kStorageTypes) {
    struct Shape {
      int64_t head_dim, window;
      float softcap;
    };
    for (const auto [head_dim, window, softcap] : {Shape{64, 0, 0.0f}, {100, 0, 0.0f}, {64, 9, 0.0f}, {256, 16, 0.0f},
                                                   {64, 0, 1.5f}, {256, 16, 1.5f}}) {
      INFO(storage_name(type) << " head_dim " << head_dim << " window " << window << " softcap " << softcap);
      const float scale = window > 0 ? 0.0625f : 1.0f / std::sqrt(static_cast<float>(head_dim));
      const int64_t block_size = 16, heads = 9, kv_heads = 3, num_blocks = 11;
      const int64_t width = kv_heads * head_dim, q_stride = heads * head_dim + 2 * width;
      const std::vector<int64_t> lengths{1, 7, 33};
      const std::vector<int64_t> new_tokens{1, 7, 13};  // the last sequence: 20 cached, 13 new

      std::vector<int32_t> pool(static_cast<std::size_t>(num_blocks));
      std::iota(pool.begin(), pool.end(), 0);
      std::shuffle(pool.begin(), pool.end(), std::mt19937(21));
      std::vector<std::vector<int32_t>> tables;
      std::vector<int32_t> flat_tables, table_offsets, token_seq, positions;
      std::size_t next = 0;
      for (std::size_t s = 0; s < lengths.size(); ++s) {
        std::vector<int32_t> table;
        for (int64_t b = 0; b < (lengths[s] + block_size - 1) / block_size; ++b) table.push_back(pool[next++]);
        table_offsets.push_back(static_cast<int32_t>(flat_tables.size()));
        flat_tables.insert(flat_tables.end(), table.begin(), table.end());
        for (int64_t p = lengths[s] - new_tokens[s]; p < lengths[s]; ++p) {
          token_seq.push_back(static_cast<int32_t>(s));
          positions.push_back(static_cast<int32_t>(p));
        }
        tables.push_back(std::move(table));
      }
      const auto tokens = static_cast<int64_t>(positions.size());

      // Cache contents as the device holds them (16-bit), and the same values in float32.
      const auto cache_elems = static_cast<std::size_t>(num_blocks * block_size * width);
      const auto keys = rounded(random_floats(cache_elems, 22), type);
      const auto values = rounded(random_floats(cache_elems, 23), type);
      const auto q = random_floats(static_cast<std::size_t>(tokens * q_stride), 24, -2.0f, 2.0f);
      const auto keys_dev = to_device(to_storage(keys, type));
      const auto values_dev = to_device(to_storage(values, type));
      const auto q_dev = to_device(q);
      const auto tables_dev = to_device(flat_tables);
      const auto offsets_dev = to_device(table_offsets);
      const auto seq_dev = to_device(token_seq);
      const auto pos_dev = to_device(positions);
      auto out = poisoned<uint16_t>(static_cast<std::size_t>(tokens * heads * head_dim));

      const cuda::DeviceKv kv{const_cast<void*>(keys_dev.data()), const_cast<void*>(values_dev.data()), type, block_size,
                              kv_heads, head_dim};
      const cuda::AttentionIndex index{tables_dev.as<int32_t>(), offsets_dev.as<int32_t>(), seq_dev.as<int32_t>(),
                                       pos_dev.as<int32_t>()};
      cuda::paged_attention(kv, index, q_dev.as<float>(), q_stride, tokens, heads, cuda::AttentionWindow{scale, window, softcap},
                            out.data(), nullptr);
      const auto got = from_storage(from_device<uint16_t>(out), type);

      std::vector<float> keys_ref = keys, values_ref = values;
      const cpu::PagedKv ref{keys_ref.data(), values_ref.data(), block_size, kv_heads, head_dim};
      std::vector<float> want(got.size());
      int64_t offset = 0;
      for (std::size_t s = 0; s < lengths.size(); ++s) {
        cpu::paged_attention(ref, tables[s].data(), lengths[s] - new_tokens[s], new_tokens[s], q.data() + offset * q_stride,
                             q_stride, heads, cpu::AttentionOptions{scale, window, softcap}, want.data() + offset * heads * head_dim);
        offset += new_tokens[s];
      }
      CHECK(count_non_finite(got) == 0);
      // Same 16-bit cache values on both sides, float32 softmax; the output is rounded to 16 bits.
      CHECK(relative_error(got, want) < kStorageTolerance);
    }
  }
}
#endif  // TROUPE_WITH_CUDA
