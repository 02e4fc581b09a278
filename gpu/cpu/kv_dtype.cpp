#include "gpu/cpu/kv_dtype.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>

#include "common/float16.hpp"

namespace troupe::cpu {

namespace {

constexpr int64_t kQ8Block = 32;
constexpr int64_t kQ8BlockBytes = 2 + kQ8Block;  // half scale, then 32 int8

}  // namespace

KvDtype parse_kv_dtype(std::string_view name) {
  if (name == "float32" || name == "fp32") return KvDtype::Float32;
  if (name == "float16" || name == "fp16" || name == "half") return KvDtype::Float16;
  if (name == "bfloat16" || name == "bf16") return KvDtype::BFloat16;
  if (name == "fp8" || name == "fp8_e4m3") return KvDtype::Fp8E4m3;
  if (name == "q8_0") return KvDtype::Q8_0;
  throw std::invalid_argument("unknown KV cache dtype '" + std::string(name) +
                              "': expected auto, float32, float16, bfloat16, fp8 (fp8_e4m3) or q8_0");
}

KvDtype resolve_kv_dtype(std::string_view name, std::string_view model_dtype) {
  if (name != "auto") return parse_kv_dtype(name);
  if (model_dtype == "float32") return KvDtype::Float32;
  if (model_dtype == "bfloat16") return KvDtype::BFloat16;
  return KvDtype::Float16;
}

const char* kv_dtype_name(KvDtype dtype) {
  switch (dtype) {
    case KvDtype::Float32: return "float32";
    case KvDtype::Float16: return "float16";
    case KvDtype::BFloat16: return "bfloat16";
    case KvDtype::Fp8E4m3: return "fp8_e4m3";
    case KvDtype::Q8_0: return "q8_0";
  }
  return "?";
}

int64_t kv_row_bytes(KvDtype dtype, int64_t head_dim) {
  switch (dtype) {
    case KvDtype::Float32: return 4 * head_dim;
    case KvDtype::Float16:
    case KvDtype::BFloat16: return 2 * head_dim;
    case KvDtype::Fp8E4m3: return head_dim;
    case KvDtype::Q8_0: return head_dim / kQ8Block * kQ8BlockBytes;
  }
  return 0;
}

std::string kv_dtype_unsupported(KvDtype dtype, int64_t head_dim) {
  if (dtype == KvDtype::Q8_0 && head_dim % kQ8Block != 0) {
    return "a q8_0 KV cache needs a head_dim that is a multiple of 32; this model's is " + std::to_string(head_dim);
  }
  return {};
}

std::uint8_t float_to_fp8_e4m3(float x) {
  const std::uint32_t u = std::bit_cast<std::uint32_t>(x);
  const auto sign = static_cast<std::uint8_t>((u >> 24) & 0x80u);
  const std::uint32_t abs = u & 0x7fffffffu;
  if (abs > 0x7f800000u) return sign | 0x7f;  // NaN stays NaN
  const float a = std::bit_cast<float>(abs);
  if (a >= 448.0f) return sign | 0x7e;  // saturate (infinity included)
  if (a < 0x1p-6f) {
    // Subnormal (or zero): a multiple of 2^-9, rounded to nearest even. 8 · 2^-9 is the smallest
    // normal, whose encoding 0x08 the same integer gives.
    const float v = a * 0x1p9f;
    auto r = static_cast<std::uint32_t>(v);
    const float frac = v - static_cast<float>(r);
    if (frac > 0.5f || (frac == 0.5f && (r & 1u))) ++r;
    return static_cast<std::uint8_t>(sign | r);
  }
  const std::uint32_t exponent = (abs >> 23) - 127 + 7;  // 1 .. 15
  const std::uint32_t mantissa = abs & 0x7fffffu;
  std::uint32_t bits = (exponent << 3) | (mantissa >> 20);
  const std::uint32_t rest = mantissa & 0xfffffu;
  if (rest > 0x80000u || (rest == 0x80000u && (bits & 1u))) ++bits;  // a carry moves into the exponent
  return static_cast<std::uint8_t>(sign | std::min<std::uint32_t>(bits, 0x7e));
}

float fp8_e4m3_to_float(std::uint8_t v) {
  // The 7 magnitude bits placed at float32's exponent/mantissa boundary (exponent field 0..15,
  // mantissa's top 3 bits) and scaled by 2^(127 - 7): exact for normals and subnormals alike.
  if ((v & 0x7f) == 0x7f) return std::numeric_limits<float>::quiet_NaN();
  const float magnitude = std::bit_cast<float>(std::uint32_t{v & 0x7fu} << 20) * 0x1p120f;
  return (v & 0x80) ? -magnitude : magnitude;
}

void kv_encode_row(KvDtype dtype, const float* src, int64_t n, std::byte* dst) {
  switch (dtype) {
    case KvDtype::Float32:
      std::memcpy(dst, src, static_cast<std::size_t>(n) * 4);
      return;
    case KvDtype::Float16:
    case KvDtype::BFloat16:
      for (int64_t i = 0; i < n; ++i) {
        const std::uint16_t h = dtype == KvDtype::Float16 ? float_to_fp16(src[i]) : float_to_bf16(src[i]);
        std::memcpy(dst + 2 * i, &h, 2);
      }
      return;
    case KvDtype::Fp8E4m3:
      for (int64_t i = 0; i < n; ++i) dst[i] = std::byte{float_to_fp8_e4m3(src[i])};
      return;
    case KvDtype::Q8_0:
      for (int64_t b = 0; b < n / kQ8Block; ++b) {
        const float* x = src + b * kQ8Block;
        std::byte* out = dst + b * kQ8BlockBytes;
        float amax = 0.0f;
        for (int64_t i = 0; i < kQ8Block; ++i) amax = std::max(amax, std::abs(x[i]));
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        const std::uint16_t dh = float_to_fp16(d);
        std::memcpy(out, &dh, 2);
        for (int64_t i = 0; i < kQ8Block; ++i) {
          out[2 + i] = std::byte{static_cast<std::uint8_t>(static_cast<std::int8_t>(std::round(x[i] * id)))};
        }
      }
      return;
  }
}

void kv_decode_row(KvDtype dtype, const std::byte* src, int64_t n, float* dst) {
  switch (dtype) {
    case KvDtype::Float32:
      std::memcpy(dst, src, static_cast<std::size_t>(n) * 4);
      return;
    case KvDtype::Float16:
    case KvDtype::BFloat16:
      for (int64_t i = 0; i < n; ++i) {
        std::uint16_t h;
        std::memcpy(&h, src + 2 * i, 2);
        dst[i] = dtype == KvDtype::Float16 ? fp16_to_float(h) : bf16_to_float(h);
      }
      return;
    case KvDtype::Fp8E4m3:
      for (int64_t i = 0; i < n; ++i) dst[i] = fp8_e4m3_to_float(std::to_integer<std::uint8_t>(src[i]));
      return;
    case KvDtype::Q8_0:
      for (int64_t b = 0; b < n / kQ8Block; ++b) {
        const std::byte* in = src + b * kQ8BlockBytes;
        const float d = fp16_load(in);
        for (int64_t i = 0; i < kQ8Block; ++i) {
          dst[b * kQ8Block + i] = d * static_cast<float>(static_cast<std::int8_t>(std::to_integer<std::uint8_t>(in[2 + i])));
        }
      }
      return;
  }
}

}  // namespace troupe::cpu
