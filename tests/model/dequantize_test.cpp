// Dequantization checked block for block against the values the `gguf` Python package's own
// dequantize produced for random blocks (tools/make_dequant_fixtures.py).
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <random>
#include <stdexcept>
#include <vector>

#include "model/dequantize.hpp"
#include "model/iq_quants.hpp"
#include "tests/support/fixtures.hpp"

using namespace troupe;
using troupe::test::fixture;

TEST_CASE("dequantize matches the gguf package on every supported type", "[model][dequant]") {
  const auto manifest = test::read_json(fixture("dequant/manifest.json"));
  const auto& types = manifest.at("types").as_array();
  REQUIRE(types.size() == 22);
  for (const auto& entry : types) {
    const auto& e = entry.as_object();
    const auto ggml_id = e.at("ggml_type").to_number<uint32_t>();
    const auto dtype = dtype_from_ggml(ggml_id);
    INFO("type " << e.at("type").as_string());
    REQUIRE(dtype.has_value());
    CHECK(dtype_name(*dtype) == std::string_view(e.at("type").as_string()));
    CHECK(dtype_block_bytes(*dtype) == e.at("block_bytes").to_number<int64_t>());
    CHECK(dtype_block_elements(*dtype) == e.at("block_elems").to_number<int64_t>());

    const std::string raw = test::read_text(fixture("dequant/" + std::string(e.at("raw").as_string())));
    const std::vector<float> expected = test::read_f32(fixture("dequant/" + std::string(e.at("f32").as_string())));
    const int64_t blocks = e.at("n_blocks").to_number<int64_t>();
    REQUIRE(static_cast<int64_t>(raw.size()) == blocks * dtype_block_bytes(*dtype));
    REQUIRE(static_cast<int64_t>(expected.size()) == blocks * dtype_block_elements(*dtype));

    std::vector<float> got(expected.size(), std::nanf(""));
    dequantize(*dtype, reinterpret_cast<const std::byte*>(raw.data()), got.data(), static_cast<int64_t>(got.size()));
    // The reference computes in float32 with the same operation order where it can; allow one
    // rounding step of difference relative to each block's largest value.
    const int64_t per_block = dtype_block_elements(*dtype) == 1 ? 1 : dtype_block_elements(*dtype);
    int64_t mismatches = 0;
    for (std::size_t i = 0; i < got.size(); ++i) {
      const std::size_t b0 = i / per_block * per_block;
      float scale = 0.0f;
      for (std::size_t j = b0; j < b0 + per_block; ++j) scale = std::max(scale, std::fabs(expected[j]));
      const float tol = per_block == 1 ? 0.0f : 2e-7f * std::max(scale, 1e-30f);
      const bool same = std::isnan(expected[i]) ? std::isnan(got[i]) : std::fabs(got[i] - expected[i]) <= tol;
      if (!same && mismatches++ < 5) {
        UNSCOPED_INFO("element " << i << " (block " << i / per_block << "): got " << got[i] << ", expected " << expected[i]);
      }
    }
    CHECK(mismatches == 0);
    // The lattice types' products are exact in float32 (model/iq_quants.hpp): equal bit for bit.
    // (And the kernels' constant block sizes are the dtype table's.)
    if (is_iq_lattice(*dtype)) CHECK(iq_block_bytes(*dtype) == dtype_block_bytes(*dtype));
    if (is_iq_lattice(*dtype)) CHECK(std::memcmp(got.data(), expected.data(), got.size() * sizeof(float)) == 0);
  }
}

TEST_CASE("dequantize rejects partial blocks", "[model][dequant]") {
  std::vector<std::byte> raw(34);
  std::vector<float> out(31);
  CHECK_THROWS_AS(dequantize(DType::Q8_0, raw.data(), out.data(), 31), std::invalid_argument);
}

TEST_CASE("MXFP4 blocks rewritten with a float16 scale (MXFP4_F16) hold the same values", "[model][dequant]") {
  // Every nibble in every position, with scales across float16's range: exact there; below it the
  // values are rounded to multiples of float16's least subnormal.
  std::mt19937 rng(39);
  std::uniform_int_distribution<int> byte(0, 255);
  for (const int e : {104, 110, 120, 127, 128, 135, 143, 100, 90, 0}) {
    std::vector<std::byte> mxfp4(8 * 17);
    for (int b = 0; b < 8; ++b) {
      mxfp4[b * 17] = static_cast<std::byte>(e);
      for (int j = 1; j < 17; ++j) mxfp4[b * 17 + j] = static_cast<std::byte>(byte(rng));
    }
    std::vector<std::byte> f16(8 * 18);
    mxfp4_to_f16_scale(mxfp4.data(), 8, f16.data());
    std::vector<float> want(256), got(256);
    dequantize(DType::MXFP4, mxfp4.data(), want.data(), 256);
    dequantize(DType::MXFP4_F16, f16.data(), got.data(), 256);
    INFO("e = " << e);
    for (int i = 0; i < 256; ++i) {
      if (e >= 104) {
        CHECK(got[i] == want[i]);
      } else {
        CHECK(std::fabs(got[i] - want[i]) <= 0.5f * std::ldexp(1.0f, -24));
      }
    }
  }
  std::vector<std::byte> too_large(17, std::byte{0}), out(18);
  too_large[0] = std::byte{144};
  CHECK_THROWS_AS(mxfp4_to_f16_scale(too_large.data(), 1, out.data()), std::invalid_argument);
}
