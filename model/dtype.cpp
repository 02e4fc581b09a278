#include "model/dtype.hpp"

#include <array>
#include <stdexcept>
#include <string>

namespace troupe {
namespace {

constexpr uint32_t kNoGgmlId = 0xFFFFFFFFu;  // a type GGUF files do not store

struct DTypeInfo {
  DType type;
  std::string_view name;
  int64_t block_elements;
  int64_t block_bytes;
  uint32_t ggml_id;
};

// Block layouts (bytes): Q4_0 = f16 d + 16 nibble bytes; Q4_1 = f16 d, f16 m + 16; Q5_0 = f16 d +
// 4 high-bit bytes + 16; Q5_1 = d, m + 4 + 16; Q8_0 = f16 d + 32 int8; Q4_K = f16 d, f16 dmin,
// 12 packed 6-bit scales/mins + 128 nibble bytes; Q5_K = Q4_K + 32 high-bit bytes; Q6_K = 128 low
// nibbles + 64 high 2-bit pairs + 16 int8 scales + f16 d; Q2_K = 16 bytes of 4-bit scale|min pairs
// + 64 bytes of 2-bit quants + f16 d, f16 dmin; Q3_K = 32 high-bit bytes + 64 bytes of 2-bit quants +
// 12 packed 6-bit scales + f16 d; IQ4_NL = f16 d + 16 nibble bytes (indices into a fixed table of 16
// int8 values); IQ4_XS = f16 d + 2 + 4 bytes of 6-bit scales + 128 nibble bytes of the same table;
// IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S, IQ1_S, IQ1_M: model/iq_quants.hpp;
// MXFP4 = one E8M0 exponent byte + 16 nibble bytes of FP4 (E2M1) values (gpt-oss's experts).
constexpr std::array<DTypeInfo, 26> kInfo{{
    {DType::F32, "F32", 1, 4, 0},
    {DType::F16, "F16", 1, 2, 1},
    {DType::BF16, "BF16", 1, 2, 30},
    {DType::Q4_0, "Q4_0", 32, 18, 2},
    {DType::Q4_1, "Q4_1", 32, 20, 3},
    {DType::Q5_0, "Q5_0", 32, 22, 6},
    {DType::Q5_1, "Q5_1", 32, 24, 7},
    {DType::Q8_0, "Q8_0", 32, 34, 8},
    {DType::Q4_K, "Q4_K", 256, 144, 12},
    {DType::Q5_K, "Q5_K", 256, 176, 13},
    {DType::Q6_K, "Q6_K", 256, 210, 14},
    {DType::Q2_K, "Q2_K", 256, 84, 10},
    {DType::Q3_K, "Q3_K", 256, 110, 11},
    {DType::IQ4_NL, "IQ4_NL", 32, 18, 20},
    {DType::IQ4_XS, "IQ4_XS", 256, 136, 23},
    {DType::IQ2_XXS, "IQ2_XXS", 256, 66, 16},
    {DType::IQ2_XS, "IQ2_XS", 256, 74, 17},
    {DType::IQ2_S, "IQ2_S", 256, 82, 22},
    {DType::IQ3_XXS, "IQ3_XXS", 256, 98, 18},
    {DType::IQ3_S, "IQ3_S", 256, 110, 21},
    {DType::IQ1_S, "IQ1_S", 256, 50, 19},
    {DType::IQ1_M, "IQ1_M", 256, 56, 29},
    {DType::MXFP4, "MXFP4", 32, 17, 39},
    {DType::MXFP4_F16, "MXFP4_F16", 32, 18, kNoGgmlId},
    {DType::F8_E4M3, "F8_E4M3", 1, 1, kNoGgmlId},
    {DType::U8, "U8", 1, 1, kNoGgmlId},
}};

const DTypeInfo& info(DType t) {
  for (const auto& i : kInfo) {
    if (i.type == t) return i;
  }
  throw std::logic_error("unknown DType");
}

}  // namespace

std::string_view dtype_name(DType t) { return info(t).name; }
int64_t dtype_block_elements(DType t) { return info(t).block_elements; }
int64_t dtype_block_bytes(DType t) { return info(t).block_bytes; }

uint64_t dtype_bytes_for(DType t, int64_t elements) {
  const auto& i = info(t);
  if (elements < 0 || elements % i.block_elements != 0) {
    throw std::invalid_argument(std::to_string(elements) + " elements are not a whole number of " +
                                std::string(i.name) + " blocks of " +
                                std::to_string(i.block_elements));
  }
  return static_cast<uint64_t>(elements / i.block_elements) * static_cast<uint64_t>(i.block_bytes);
}

std::optional<DType> dtype_from_ggml(uint32_t ggml_type) {
  for (const auto& i : kInfo) {
    if (i.ggml_id == ggml_type && i.ggml_id != kNoGgmlId) return i.type;
  }
  return std::nullopt;
}

uint32_t dtype_to_ggml(DType t) { return info(t).ggml_id; }

std::string_view ggml_type_name(uint32_t ggml_type) {
  // GGML's numbering; gaps are ids that GGML retired.
  static constexpr std::array<std::string_view, 40> kNames{
      "F32",     "F16",    "Q4_0",   "Q4_1",    "(retired 4)", "(retired 5)", "Q5_0",  "Q5_1",
      "Q8_0",    "Q8_1",   "Q2_K",   "Q3_K",    "Q4_K",        "Q5_K",        "Q6_K",  "Q8_K",
      "IQ2_XXS", "IQ2_XS", "IQ3_XXS", "IQ1_S",  "IQ4_NL",      "IQ3_S",       "IQ2_S", "IQ4_XS",
      "I8",      "I16",    "I32",    "I64",     "F64",         "IQ1_M",       "BF16",  "(retired 31)",
      "(retired 32)", "(retired 33)", "TQ1_0", "TQ2_0", "(retired 36)", "(retired 37)",
      "(retired 38)", "MXFP4"};
  if (ggml_type < kNames.size()) return kNames[ggml_type];
  return "(unknown)";
}

std::optional<DType> dtype_from_safetensors(std::string_view name) {
  if (name == "F32") return DType::F32;
  if (name == "F16") return DType::F16;
  if (name == "BF16") return DType::BF16;
  if (name == "U8") return DType::U8;
  if (name == "F8_E4M3") return DType::F8_E4M3;
  return std::nullopt;
}

}  // namespace troupe
