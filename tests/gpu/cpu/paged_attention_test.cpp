// The step-wide attention of the CPU backend (gpu/cpu/paged_attention.hpp) against the plain
// per-(token, head) reference cpu::paged_attention, on random queries and a random paged cache:
// several sequences at once, prefill chunks starting mid-context, decode rows, grouped-query heads,
// scrambled block tables and contexts longer than one tile of positions, with and without a sliding
// window (and a scale other than 1/sqrt(head_dim)), on caches of every stored dtype. The reference
// itself is checked against a dense softmax written out here for the window.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <random>
#include <tuple>
#include <vector>

#include "gpu/cpu/cpu_features.hpp"
#include "gpu/cpu/cpu_kernels.hpp"
#include "gpu/cpu/kv_dtype.hpp"
#include "gpu/cpu/paged_attention.hpp"

using namespace troupe::cpu;

namespace {

struct Case {
  int64_t start, tokens;
};

// values_are_keys: one cache plane read as both (latent attention's).
void check_against_reference(int64_t heads, int64_t kv_heads, int64_t d, const std::vector<Case>& cases, bool use_pool,
                             int64_t window = 0, float softcap = 0.0f, const std::vector<float>& sinks = {},
                             bool values_are_keys = false) {
  const AttentionOptions options{window > 0 ? 0.0625f : 1.0f / std::sqrt(static_cast<float>(d)), window, softcap,
                                 sinks.empty() ? nullptr : sinks.data()};
  const int64_t block_size = 16, num_blocks = 128;
  std::mt19937 rng(42);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const int64_t q_stride = (heads + 2 * kv_heads) * d;
  std::vector<float> keys(num_blocks * block_size * kv_heads * d), values(keys.size());
  for (auto& x : keys) x = normal(rng);
  for (auto& x : values) x = normal(rng);

  std::vector<int32_t> all_blocks(num_blocks);
  std::iota(all_blocks.begin(), all_blocks.end(), 0);
  std::shuffle(all_blocks.begin(), all_blocks.end(), rng);
  std::vector<std::vector<int32_t>> tables;
  std::vector<std::vector<float>> q, out, expected;
  int64_t next_block = 0;
  for (const Case& c : cases) {
    const int64_t blocks = (c.start + c.tokens + block_size - 1) / block_size;
    tables.emplace_back(all_blocks.begin() + next_block, all_blocks.begin() + next_block + blocks);
    next_block += blocks;
    q.emplace_back(c.tokens * q_stride);  // q rows inside fused q|k|v rows, as the backend passes them
    for (auto& x : q.back()) x = 2.0f * normal(rng);  // sharper softmax than unit queries give
    out.emplace_back(c.tokens * heads * d, -1.0f);
    expected.emplace_back(c.tokens * heads * d);
  }
  ThreadPool pool(2);
  for (KvDtype dtype : {KvDtype::Float32, KvDtype::Float16, KvDtype::BFloat16, KvDtype::Fp8E4m3, KvDtype::Q8_0}) {
    if (!kv_dtype_unsupported(dtype, d).empty()) continue;
    // The same random rows stored as `dtype`; the reference reads the same stored cache.
    const int64_t row_bytes = kv_row_bytes(dtype, d), rows = num_blocks * block_size * kv_heads;
    std::vector<std::byte> k_store(rows * row_bytes), v_store(rows * row_bytes);
    for (int64_t r = 0; r < rows; ++r) {
      kv_encode_row(dtype, keys.data() + r * d, d, k_store.data() + r * row_bytes);
      kv_encode_row(dtype, values.data() + r * d, d, v_store.data() + r * row_bytes);
    }
    const PagedKv kv{k_store.data(), values_are_keys ? k_store.data() : v_store.data(), block_size, kv_heads, d, dtype};
    std::vector<AttentionSequence> seqs;
    for (std::size_t i = 0; i < cases.size(); ++i) {
      paged_attention(kv, tables[i].data(), cases[i].start, cases[i].tokens, q[i].data(), q_stride, heads, options,
                      expected[i].data());
      seqs.push_back({tables[i].data(), cases[i].start, cases[i].tokens, q[i].data(), out[i].data()});
    }
    // The portable, AVX2 and AVX-512 tiles, each where the CPU has it.
    for (CpuIsa isa : {CpuIsa::Portable, CpuIsa::Avx2, CpuIsa::Avx512Vnni}) {
      if (!cpu_supports(isa)) continue;
      for (auto& o : out) std::fill(o.begin(), o.end(), -1.0f);
      paged_attention_step(kv, seqs, q_stride, heads, options, use_pool ? &pool : nullptr, isa);
      double worst = 0;
      for (std::size_t i = 0; i < cases.size(); ++i) {
        for (std::size_t j = 0; j < out[i].size(); ++j) worst = std::max(worst, static_cast<double>(std::abs(out[i][j] - expected[i][j])));
      }
      INFO(cpu_isa_name(isa) << " tiles on a " << kv_dtype_name(dtype)
                             << " cache: largest difference from the reference (outputs are averages of unit-normal values): " << worst);
      CHECK(worst < 2e-5);
    }
  }
}

}  // namespace

TEST_CASE("step-wide paged attention matches the per-head reference", "[gpu][cpu][attention]") {
  if (!avx2_available()) WARN("this CPU has no AVX2: the portable tiles are checked");
  if (!cpu_supports(CpuIsa::Avx512Vnni)) WARN("this CPU has no AVX-512 VNNI: its tiles are not checked here");
  SECTION("decode rows of several sequences, grouped-query heads (9 over 3, as SmolLM2)") {
    check_against_reference(9, 3, 64, {{0, 1}, {5, 1}, {16, 1}, {200, 1}, {37, 1}}, true);
  }
  SECTION("prefill chunks from position 0 and mid-context, beside decode rows") {
    check_against_reference(9, 3, 64, {{0, 21}, {40, 13}, {7, 1}, {100, 30}}, true);
  }
  SECTION("one head per kv head, head_dim 128, on the calling thread only") {
    check_against_reference(4, 4, 128, {{0, 9}, {250, 2}}, false);
  }
  SECTION("a long prompt in one chunk") { check_against_reference(8, 2, 64, {{0, 300}}, true); }
  SECTION("a sliding window of 37 positions: prefill across it, decode rows before and past it") {
    check_against_reference(4, 1, 256, {{0, 70}, {20, 1}, {36, 1}, {37, 1}, {200, 1}, {90, 23}}, true, 37);
  }
  SECTION("a sliding window of 8 positions, head_dim 64") {
    check_against_reference(9, 3, 64, {{0, 40}, {15, 9}, {300, 1}}, true, 8);
  }
  SECTION("head_dim 40 (no multiple of 8): the rows tiles read it value by value, decode rows go portable") {
    check_against_reference(6, 2, 40, {{0, 50}, {60, 1}, {11, 17}}, true);
  }
  SECTION("several rows tiles per prompt with a window longer than the tile, 8 query heads per kv head") {
    check_against_reference(16, 2, 64, {{0, 150}, {500, 40}, {700, 1}}, true, 100);
  }
  SECTION("16 query heads per kv head (Qwen3-235B's): each kv head's group in two parts") {
    check_against_reference(32, 2, 64, {{0, 50}, {100, 1}, {30, 1}}, true);
  }
  SECTION("latent attention's shape: 20 query heads over one kv head whose values are its keys") {
    check_against_reference(20, 1, 32, {{0, 1}, {5, 1}, {200, 1}, {0, 40}, {60, 17}}, true, 0, 0.0f, {}, true);
  }
  SECTION("soft-capped scores (Gemma 2): a cap of 1.5 on scores of about ±2, with and without a window") {
    check_against_reference(8, 4, 64, {{0, 70}, {90, 1}, {12, 17}}, true, 0, 1.5f);
    check_against_reference(8, 4, 64, {{0, 40}, {60, 1}}, true, 16, 1.5f);
  }
  SECTION("sink logits per head (gpt-oss), from well below to well above the scores, with and without a window") {
    const std::vector<float> sinks{-4.0f, -1.0f, 0.0f, 0.5f, 1.0f, 2.0f, 3.0f, 6.0f};
    check_against_reference(8, 2, 64, {{0, 70}, {90, 1}, {12, 17}, {0, 1}}, true, 0, 0.0f, sinks);
    check_against_reference(8, 2, 64, {{0, 40}, {60, 1}}, true, 8, 0.0f, sinks);
  }
}

TEST_CASE("a sink logit takes its share of the softmax and gives no value", "[gpu][cpu][attention]") {
  // One key: without a sink the output is that key's value; with sink s and score x the weight is
  // e^x / (e^x + e^s).
  const int64_t d = 4;
  std::vector<float> keys{1, 0, 0, 0}, values{2, -1, 0.5, 3}, q{0.5, 0, 0, 0};
  std::vector<int32_t> table{0};
  const PagedKv kv{keys.data(), values.data(), 4, 1, d};
  const float sink = 1.25f;
  std::vector<float> out(d);
  paged_attention(kv, table.data(), 0, 1, q.data(), d, 1, AttentionOptions{1.0f, 0, 0.0f, &sink}, out.data());
  const double weight = std::exp(0.5) / (std::exp(0.5) + std::exp(1.25));
  for (int64_t i = 0; i < d; ++i) CHECK(out[i] == Approx(weight * values[i]).epsilon(1e-6));
}

TEST_CASE("soft-capping turns a score s into cap · tanh(s / cap)", "[gpu][cpu][attention]") {
  const AttentionOptions capped{0.5f, 0, 2.0f};
  CHECK(capped.score(3.0f) == Approx(2.0 * std::tanh(1.5 / 2.0)));
  CHECK(capped.score(1000.0f) == Approx(2.0));
  CHECK(AttentionOptions{0.5f, 0}.score(3.0f) == 1.5f);
}

TEST_CASE("the reference attention with a window sees exactly the window's positions", "[gpu][cpu][attention]") {
  // One kv head, one query head, head_dim 8: the reference's output against a softmax over the
  // positions max(0, pos - window + 1) .. pos computed here directly.
  const int64_t d = 8, block_size = 4, window = 5, length = 13;
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> keys(length * d), values(length * d), q(length * d);
  for (auto* v : {&keys, &values, &q}) {
    for (auto& x : *v) x = normal(rng);
  }
  std::vector<int32_t> table{0, 1, 2, 3};
  const PagedKv kv{keys.data(), values.data(), block_size, 1, d};
  std::vector<float> out(length * d);
  paged_attention(kv, table.data(), 0, length, q.data(), d, 1, AttentionOptions{0.5f, window}, out.data());
  for (int64_t pos = 0; pos < length; ++pos) {
    const int64_t first = std::max<int64_t>(0, pos - window + 1);
    std::vector<double> w;
    double total = 0;
    for (int64_t p = first; p <= pos; ++p) {
      double dot = 0;
      for (int64_t i = 0; i < d; ++i) dot += double(q[pos * d + i]) * keys[p * d + i];
      w.push_back(std::exp(0.5 * dot));
      total += w.back();
    }
    for (int64_t i = 0; i < d; ++i) {
      double want = 0;
      for (int64_t p = first; p <= pos; ++p) want += w[p - first] / total * values[p * d + i];
      CHECK(std::abs(out[pos * d + i] - want) < 1e-5);
    }
  }
}

TEST_CASE("a row's attention is the same bits prefilled in a tile or decoded alone", "[gpu][cpu][attention]") {
  // Echoed prompt logprobs must equal those of the same tokens decoded one by one (int8 activation
  // rounding turns a last-bit difference into visible logprob differences): every tile computes a
  // row lane-wise, whatever else shares its tile.
  // 9 query heads over 3 kv heads (SmolLM2), and 20 over one (latent attention: each row's kv head
  // in two parts of 10 heads, shared out differently prefilled and decoded).
  for (const auto [heads, kv_heads, d] : {std::tuple<int64_t, int64_t, int64_t>{9, 3, 64}, {20, 1, 32}}) {
    INFO(heads << " query heads over " << kv_heads);
    const int64_t block_size = 16, tokens = 75;
    const int64_t q_stride = heads * d;
    std::mt19937 rng(11);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::vector<float> k(tokens * kv_heads * d), v(k.size()), q(tokens * q_stride);
    for (auto* x : {&k, &v, &q}) {
      for (auto& e : *x) e = normal(rng);
    }
    std::vector<int32_t> table{3, 0, 4, 1, 2};
    std::vector<std::byte> k_store(8 * block_size * kv_heads * kv_row_bytes(KvDtype::Float16, d)), v_store(k_store.size());
    const PagedKv kv{k_store.data(), v_store.data(), block_size, kv_heads, d, KvDtype::Float16};
    kv_store(kv, table.data(), 0, tokens, k.data(), v.data(), kv_heads * d);
    const AttentionOptions options{0.125f, 0};
    for (CpuIsa isa : {CpuIsa::Portable, CpuIsa::Avx2, CpuIsa::Avx512Vnni}) {
      if (!cpu_supports(isa)) continue;
      INFO(cpu_isa_name(isa));
      std::vector<float> prefilled(tokens * heads * d);
      const AttentionSequence all{table.data(), 0, tokens, q.data(), prefilled.data()};
      paged_attention_step(kv, {&all, 1}, q_stride, heads, options, nullptr, isa);
      for (int64_t t : {int64_t{1}, int64_t{17}, int64_t{40}, tokens - 1}) {
        std::vector<float> alone(heads * d);
        const AttentionSequence one{table.data(), t, 1, q.data() + t * q_stride, alone.data()};
        paged_attention_step(kv, {&one, 1}, q_stride, heads, options, nullptr, isa);
        CHECK(std::memcmp(alone.data(), prefilled.data() + t * heads * d, alone.size() * sizeof(float)) == 0);
      }
    }
  }
}
