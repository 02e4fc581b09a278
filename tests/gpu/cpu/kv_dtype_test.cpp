// The KV cache's stored types (gpu/cpu/kv_dtype.hpp) against what other code stores for the same
// float32 values (tools/make_kv_dtype_fixtures.py: numpy's float16 cast, ml_dtypes' bfloat16 and
// float8_e4m3fn, the gguf package's Q8_0 quantizer), byte for byte; every decoder against the
// exact value of each encoding; the AVX2 decoder against the scalar one; fp8's saturation.
#include <catch2/catch.hpp>

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "common/float16.hpp"
#include "gpu/cpu/cpu_features.hpp"
#include "gpu/cpu/kv_dtype.hpp"
#include "tests/support/fixtures.hpp"

using namespace troupe;
using namespace troupe::cpu;
using troupe::test::fixture;

namespace {

std::vector<std::byte> encode(KvDtype dtype, const std::vector<float>& x) {
  std::vector<std::byte> out(static_cast<std::size_t>(kv_row_bytes(dtype, static_cast<int64_t>(x.size()))));
  kv_encode_row(dtype, x.data(), static_cast<int64_t>(x.size()), out.data());
  return out;
}

bool same_float(float a, float b) { return (std::isnan(a) && std::isnan(b)) || std::bit_cast<uint32_t>(a) == std::bit_cast<uint32_t>(b); }

}  // namespace

TEST_CASE("KV cache encodings equal numpy's, ml_dtypes' and the gguf package's", "[gpu][cpu][kv]") {
  const std::vector<float> x = test::read_f32(fixture("kv_dtype/input.f32"));
  REQUIRE(x.size() == 4096);
  for (const auto& [dtype, file] : std::vector<std::pair<KvDtype, std::string>>{
           {KvDtype::Float16, "float16.bin"}, {KvDtype::BFloat16, "bfloat16.bin"},
           {KvDtype::Fp8E4m3, "fp8_e4m3.bin"}, {KvDtype::Q8_0, "q8_0.bin"}}) {
    INFO(kv_dtype_name(dtype));
    const std::string want = test::read_text(fixture("kv_dtype/" + file));
    const std::vector<std::byte> got = encode(dtype, x);
    REQUIRE(got.size() == want.size());
    int64_t differ = 0;
    for (std::size_t i = 0; i < got.size(); ++i) differ += std::to_integer<char>(got[i]) != want[i];
    CHECK(differ == 0);
  }
}

TEST_CASE("KV cache decoders give each stored value exactly, the AVX2 one as the scalar one", "[gpu][cpu][kv]") {
  std::mt19937 rng(5);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(256);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = normal(rng) * (i % 3 == 0 ? 30.0f : 1.0f);
  for (KvDtype dtype : {KvDtype::Float32, KvDtype::Float16, KvDtype::BFloat16, KvDtype::Fp8E4m3, KvDtype::Q8_0}) {
    INFO(kv_dtype_name(dtype));
    const std::vector<std::byte> stored = encode(dtype, x);
    std::vector<float> scalar(x.size());
    kv_decode_row(dtype, stored.data(), static_cast<int64_t>(x.size()), scalar.data());
    for (std::size_t i = 0; i < x.size(); ++i) {
      float want = 0.0f;
      uint16_t h;
      switch (dtype) {
        case KvDtype::Float32: want = x[i]; break;
        case KvDtype::Float16: want = fp16_to_float(float_to_fp16(x[i])); break;
        case KvDtype::BFloat16: want = bf16_to_float(float_to_bf16(x[i])); break;
        case KvDtype::Fp8E4m3: want = fp8_e4m3_to_float(float_to_fp8_e4m3(x[i])); break;
        case KvDtype::Q8_0: {
          const std::byte* block = stored.data() + i / 32 * 34;
          std::memcpy(&h, block, 2);
          want = fp16_to_float(h) * static_cast<float>(static_cast<int8_t>(std::to_integer<uint8_t>(block[2 + i % 32])));
          break;
        }
      }
      CHECK(same_float(scalar[i], want));
    }
    if (avx2_available()) {
      std::vector<float> fast(x.size());
      kv_decode_row_avx2(dtype, stored.data(), static_cast<int64_t>(x.size()), fast.data());
      int64_t differ = 0;
      for (std::size_t i = 0; i < x.size(); ++i) differ += !same_float(fast[i], scalar[i]);
      CHECK(differ == 0);
    }
  }
}

TEST_CASE("fp8 e4m3 decodes every byte as the format defines it and saturates at ±448", "[gpu][cpu][kv]") {
  for (int b = 0; b < 256; ++b) {
    const auto v = static_cast<uint8_t>(b);
    const int e = (b >> 3) & 15, m = b & 7;
    const double magnitude = e == 0 ? m / 8.0 * std::ldexp(1.0, -6) : (1 + m / 8.0) * std::ldexp(1.0, e - 7);
    const float got = fp8_e4m3_to_float(v);
    if ((b & 0x7f) == 0x7f) {
      CHECK(std::isnan(got));
    } else {
      CHECK(got == static_cast<float>((b & 0x80) ? -magnitude : magnitude));
      CHECK(float_to_fp8_e4m3(got) == ((b & 0x7f) == 0 ? (b & 0x80) : b));  // round trip (±0 keep their sign)
    }
  }
  CHECK(float_to_fp8_e4m3(448.0f) == 0x7e);
  CHECK(float_to_fp8_e4m3(1000.0f) == 0x7e);
  CHECK(float_to_fp8_e4m3(-std::numeric_limits<float>::infinity()) == 0xfe);
  CHECK((float_to_fp8_e4m3(std::nanf("")) & 0x7f) == 0x7f);
  if (avx2_available()) {
    std::vector<std::byte> all(256);
    for (int b = 0; b < 256; ++b) all[b] = std::byte(b);
    std::vector<float> fast(256);
    kv_decode_row_avx2(KvDtype::Fp8E4m3, all.data(), 256, fast.data());
    for (int b = 0; b < 256; ++b) CHECK(same_float(fast[b], fp8_e4m3_to_float(static_cast<uint8_t>(b))));
  }
}

TEST_CASE("KV cache dtype names: vLLM's spellings, auto from the model's dtype", "[gpu][cpu][kv]") {
  CHECK(parse_kv_dtype("fp8") == KvDtype::Fp8E4m3);
  CHECK(parse_kv_dtype("fp8_e4m3") == KvDtype::Fp8E4m3);
  CHECK(parse_kv_dtype("half") == KvDtype::Float16);
  CHECK(parse_kv_dtype("bf16") == KvDtype::BFloat16);
  CHECK(parse_kv_dtype("q8_0") == KvDtype::Q8_0);
  CHECK_THROWS_WITH(parse_kv_dtype("fp8_e5m2"), Catch::Contains("expected auto, float32"));
  CHECK(resolve_kv_dtype("auto", "float32") == KvDtype::Float32);
  CHECK(resolve_kv_dtype("auto", "bfloat16") == KvDtype::BFloat16);
  CHECK(resolve_kv_dtype("auto", "float16") == KvDtype::Float16);
  CHECK(resolve_kv_dtype("q8_0", "float32") == KvDtype::Q8_0);
  CHECK(kv_row_bytes(KvDtype::Q8_0, 128) == 136);
  CHECK(!kv_dtype_unsupported(KvDtype::Q8_0, 80).empty());
}
