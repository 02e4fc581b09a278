// Block-scaled FP8 weights (model/fp8_weights.hpp): the e4m3 numbers, their block scales, and the
// Q8_0 or float32 they become. A whole FP8 checkpoint is checked against transformers in
// tests/gpu/reference_models_test.cpp (deepseek_v3_fp8).
#include <catch2/catch.hpp>
#include <cmath>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "common/error.hpp"
#include "common/float16.hpp"
#include "model/dequantize.hpp"
#include "model/fp8_weights.hpp"

using namespace troupe;

namespace {

TensorView view(const std::string& name, DType type, std::vector<int64_t> shape, const std::vector<std::byte>& bytes) {
  TensorView t;
  t.name = name;
  t.dtype = type;
  t.shape = std::move(shape);
  t.data = std::span<const std::byte>(bytes.data(), bytes.size());
  t.file = "test.safetensors";
  return t;
}

std::vector<std::byte> floats(const std::vector<float>& v) {
  std::vector<std::byte> out(v.size() * 4);
  std::memcpy(out.data(), v.data(), out.size());
  return out;
}

}  // namespace

TEST_CASE("e4m3 bytes read as their numbers: normal, subnormal, signed, the largest, NaN", "[model][fp8]") {
  CHECK(fp8_e4m3_to_float(0x38) == 1.0f);          // exponent 7 (the bias), mantissa 0
  CHECK(fp8_e4m3_to_float(0xB8) == -1.0f);
  CHECK(fp8_e4m3_to_float(0x3C) == 1.5f);          // mantissa 4/8
  CHECK(fp8_e4m3_to_float(0x7E) == 448.0f);        // the largest finite
  CHECK(fp8_e4m3_to_float(0x01) == std::ldexp(1.0f, -9));  // the smallest subnormal, 1/8 · 2^-6
  CHECK(fp8_e4m3_to_float(0x08) == std::ldexp(1.0f, -6));  // the smallest normal
  CHECK(fp8_e4m3_to_float(0x00) == 0.0f);
  CHECK(std::isnan(fp8_e4m3_to_float(0x7F)));
  CHECK(std::isnan(fp8_e4m3_to_float(0xFF)));
}

TEST_CASE("FP8 weights become Q8_0 blocks of value times block scale, or float32 where rows are not whole blocks",
          "[model][fp8]") {
  // A [3, 64] weight in 2x32 blocks (the last row block partial): every value 1.5, the scales
  // 1, 2 / 3, 4 / 5, 6 per block; and a [2, 40] weight (rows not whole 32-weight blocks).
  const std::vector<std::byte> wide(3 * 64, std::byte{0x3C}), narrow(2 * 40, std::byte{0xB8});
  const std::vector<std::byte> wide_scales = floats({1, 2, 5, 6}), narrow_scales = floats({0.5f, 0.25f});
  std::map<std::string, TensorView> tensors{
      {"a.weight", view("a.weight", DType::F8_E4M3, {3, 64}, wide)},
      {"a.weight_scale_inv", view("a.weight_scale_inv", DType::F32, {2, 2}, wide_scales)},
      {"b.weight", view("b.weight", DType::F8_E4M3, {2, 40}, narrow)},
      {"b.weight_scale_inv", view("b.weight_scale_inv", DType::F32, {1, 2}, narrow_scales)},
  };
  std::vector<std::shared_ptr<const std::vector<std::byte>>> owned;
  convert_fp8_weights(Fp8Blocks{2, 32}, tensors, owned);
  CHECK(tensors.size() == 2);  // the scales are gone
  const TensorView& a = tensors.at("a.weight");
  REQUIRE(a.dtype == DType::Q8_0);
  std::vector<float> got(3 * 64);
  dequantize(a.dtype, a.data.data(), got.data(), 3 * 64);
  for (int64_t r = 0; r < 3; ++r) {
    for (int64_t c = 0; c < 64; ++c) {
      const float want = 1.5f * std::vector<float>{1, 2, 5, 6}[static_cast<std::size_t>((r / 2) * 2 + c / 32)];
      INFO(r << ", " << c);
      CHECK(got[static_cast<std::size_t>(r * 64 + c)] == Approx(want).epsilon(1e-3));  // Q8_0's f16 scale
    }
  }
  const TensorView& b = tensors.at("b.weight");
  REQUIRE(b.dtype == DType::F32);
  std::vector<float> exact(80);
  std::memcpy(exact.data(), b.data.data(), 80 * 4);
  CHECK(exact[0] == -0.5f);
  CHECK(exact[39] == -0.25f);  // columns 32.. are the second block
  CHECK(exact[79] == -0.25f);
}

TEST_CASE("per-tensor FP8: one scale for the whole weight, as a scalar or a one-element tensor", "[model][fp8]") {
  // A [200, 64] weight (past one 128-row block) of 1.5 with scale 0.25, and a [2, 32] one of -1 with 3.
  const std::vector<std::byte> big(200 * 64, std::byte{0x3C}), small(2 * 32, std::byte{0xB8});
  const std::vector<std::byte> quarter = floats({0.25f}), three = floats({3.0f});
  for (const bool per_tensor : {true, false}) {
    INFO("weight_block_size " << (per_tensor ? "null" : "absent"));
    std::map<std::string, TensorView> tensors{
        {"a.weight", view("a.weight", DType::F8_E4M3, {200, 64}, big)},
        {"a.weight_scale_inv", view("a.weight_scale_inv", DType::F32, {}, quarter)},
        {"b.weight", view("b.weight", DType::F8_E4M3, {2, 32}, small)},
        {"b.weight_scale_inv", view("b.weight_scale_inv", DType::F32, {1}, three)},
    };
    std::vector<std::shared_ptr<const std::vector<std::byte>>> owned;
    Fp8Blocks blocks;
    blocks.per_tensor = per_tensor;
    convert_fp8_weights(blocks, tensors, owned);
    CHECK(tensors.size() == 2);
    std::vector<float> a(200 * 64), b(2 * 32);
    dequantize(DType::Q8_0, tensors.at("a.weight").data.data(), a.data(), 200 * 64);
    dequantize(DType::Q8_0, tensors.at("b.weight").data.data(), b.data(), 2 * 32);
    CHECK(a.front() == Approx(0.375f).epsilon(1e-3));
    CHECK(a.back() == Approx(0.375f).epsilon(1e-3));  // row 199: the same scale
    CHECK(b.back() == Approx(-3.0f).epsilon(1e-3));
  }
  // weight_block_size null with block-shaped scales: refused by name.
  const std::vector<std::byte> values(4 * 64, std::byte{0x38}), two = floats({1, 1});
  std::map<std::string, TensorView> blocked{{"w.weight", view("w.weight", DType::F8_E4M3, {4, 64}, values)},
                                            {"w.weight_scale_inv", view("w.weight_scale_inv", DType::F32, {1, 2}, two)}};
  std::vector<std::shared_ptr<const std::vector<std::byte>>> owned;
  CHECK_THROWS_WITH(convert_fp8_weights(Fp8Blocks{128, 128, true}, blocked, owned), Catch::Contains("should be one number"));
}

TEST_CASE("FP8 weights without their scales, or with scales of the wrong shape, are refused by name", "[model][fp8]") {
  const std::vector<std::byte> values(4 * 64, std::byte{0x38}), scales = floats({1, 1, 1});
  std::map<std::string, TensorView> missing{{"w.weight", view("w.weight", DType::F8_E4M3, {4, 64}, values)}};
  std::vector<std::shared_ptr<const std::vector<std::byte>>> owned;
  CHECK_THROWS_WITH(convert_fp8_weights(Fp8Blocks{}, missing, owned), Catch::Contains("w.weight_scale_inv"));
  std::map<std::string, TensorView> wrong{{"w.weight", view("w.weight", DType::F8_E4M3, {4, 64}, values)},
                                          {"w.weight_scale_inv", view("w.weight_scale_inv", DType::F32, {3, 1}, scales)}};
  CHECK_THROWS_WITH(convert_fp8_weights(Fp8Blocks{}, wrong, owned), Catch::Contains("should be [1, 1]"));
}

TEST_CASE("config.json's quantization_config: fp8 blocks read, gpt-oss's mxfp4 left alone, others refused",
          "[model][fp8]") {
  const auto dir = std::filesystem::temp_directory_path() / "troupe-fp8-config";
  std::filesystem::create_directories(dir);
  const auto write = [&](const std::string& text) {
    std::ofstream(dir / "config.json") << text;
    return dir / "config.json";
  };
  const auto fp8 = read_fp8_quantization(write(R"({"quantization_config": {"quant_method": "fp8", "fmt": "e4m3",
      "weight_block_size": [128, 64]}})"));
  REQUIRE(fp8);
  CHECK(fp8->rows == 128);
  CHECK(fp8->cols == 64);
  CHECK_FALSE(read_fp8_quantization(write(R"({"hidden_size": 8})")));
  CHECK_FALSE(read_fp8_quantization(write(R"({"quantization_config": {"quant_method": "mxfp4"}})")));
  CHECK_THROWS_WITH(read_fp8_quantization(write(R"({"quantization_config": {"quant_method": "gptq", "bits": 4}})")),
                    Catch::Contains("quant_method \"gptq\" is not supported"));
  // Absent: transformers' 128x128 blocks (a one-element scale still reads per weight); null: per-tensor.
  const auto absent = read_fp8_quantization(write(R"({"quantization_config": {"quant_method": "fp8"}})"));
  REQUIRE(absent);
  CHECK((absent->rows == 128 && absent->cols == 128 && !absent->per_tensor));
  const auto per_tensor = read_fp8_quantization(write(R"({"quantization_config": {"quant_method": "fp8",
      "activation_scheme": "static", "weight_block_size": null}})"));
  REQUIRE(per_tensor);
  CHECK(per_tensor->per_tensor);
  CHECK_THROWS_WITH(read_fp8_quantization(write(R"({"quantization_config": {"quant_method": "fp8", "weight_block_size": [128]}})")),
                    Catch::Contains("weight_block_size must be two numbers, or null"));
  std::filesystem::remove_all(dir);
}
