#pragma once
// Random inputs for the CPU kernels' checkers: GGUF blocks of any type with sane scales, and
// activation rows shaped like a model's (normal values, a block of zeros, one outlier).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "common/float16.hpp"
#include "model/dtype.hpp"

namespace troupe::test {

inline void put_f16(std::byte* p, float v) {
  const std::uint16_t h = float_to_fp16(v);
  std::memcpy(p, &h, 2);
}

// Random blocks: every quant, scale and min byte random; the f16 scales set to sane values of
// either sign (random bytes could be inf or NaN halves).
inline std::vector<std::byte> random_blocks(DType type, int64_t rows, int64_t cols, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> scale(0.001f, 0.05f);
  std::uniform_int_distribution<int> byte(0, 255);
  const int64_t blocks = rows * cols / dtype_block_elements(type), block_bytes = dtype_block_bytes(type);
  std::vector<std::byte> out(static_cast<std::size_t>(blocks * block_bytes));
  for (auto& b : out) b = std::byte(byte(rng));
  const auto sign = [&] { return byte(rng) % 2 ? 1.0f : -1.0f; };
  for (int64_t i = 0; i < blocks; ++i) {
    std::byte* p = out.data() + i * block_bytes;
    switch (type) {
      case DType::Q6_K: put_f16(p + 208, sign() * scale(rng) * 0.01f); break;
      case DType::Q2_K:
        put_f16(p + 80, scale(rng) * 0.2f);
        put_f16(p + 82, scale(rng) * 0.2f);
        break;
      case DType::Q3_K: put_f16(p + 108, sign() * scale(rng) * 0.1f); break;
      case DType::IQ4_NL: put_f16(p, sign() * scale(rng) * 0.05f); break;
      case DType::IQ4_XS: put_f16(p, sign() * scale(rng) * 0.002f); break;
      case DType::MXFP4_F16: put_f16(p, scale(rng)); break;  // from a power of two 2^(e - 128) > 0
      case DType::IQ1_M: {  // d's nibbles on top of the four 16-bit scale words
        const std::uint16_t d = float_to_fp16(sign() * scale(rng));
        for (int w = 0; w < 4; ++w) {
          std::uint16_t word;
          std::memcpy(&word, p + 48 + 2 * w, 2);
          word = static_cast<std::uint16_t>((word & 0x0FFF) | (((d >> (4 * w)) & 0xF) << 12));
          std::memcpy(p + 48 + 2 * w, &word, 2);
        }
        break;
      }
      case DType::Q4_K:
      case DType::Q5_K:
        put_f16(p, scale(rng) * 0.05f);
        put_f16(p + 2, scale(rng) * 0.05f);
        break;
      case DType::Q4_1:
      case DType::Q5_1:
        put_f16(p, sign() * scale(rng));
        put_f16(p + 2, -8.0f * scale(rng));
        break;
      default: put_f16(p, sign() * scale(rng)); break;
    }
  }
  return out;
}

// n values drawn uniformly from [-1, 1).
inline std::vector<float> random_uniform(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> v(static_cast<std::size_t>(n));
  for (auto& x : v) x = u(rng);
  return v;
}

inline std::vector<float> random_activations(int64_t rows, int64_t cols, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> v(static_cast<std::size_t>(rows * cols));
  for (auto& x : v) x = normal(rng);
  // A block of zeros (scale 0) and one outlier, as real activations have.
  if (cols >= 64) {
    std::fill(v.begin() + 32, v.begin() + 64, 0.0f);
    v[5] = 40.0f;
  }
  return v;
}

}  // namespace troupe::test
