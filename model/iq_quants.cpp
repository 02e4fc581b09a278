#include "model/iq_quants.hpp"

#include <cstring>
#include <stdexcept>
#include <string>

#include "common/float16.hpp"

namespace troupe {

#include "model/iq_grids.inc"

namespace {

using u8 = std::uint8_t;

using iq_detail::u16_at;
using iq_detail::u32_at;

// Byte k of a table entry as a signed value.
int entry_value(std::uint64_t entry, int k) { return static_cast<std::int8_t>(static_cast<u8>(entry >> (8 * k))); }

// 8 values of an IQ2/IQ3 entry (`width` 8, or two entries of 4) with their signs (bit k: negative).
void signed_values(std::uint64_t values, u8 signs, std::int8_t* q) {
  for (int k = 0; k < 8; ++k) q[k] = static_cast<std::int8_t>((signs >> k) & 1 ? -entry_value(values, k) : entry_value(values, k));
}

// IQ1: 8·g ± 1 for the entry's values g in {−1, 0, 1}: the ±1/8 shift the block stores as a bit.
void shifted_values(std::uint64_t values, bool negative_shift, std::int8_t* q) {
  for (int k = 0; k < 8; ++k) q[k] = static_cast<std::int8_t>(8 * entry_value(values, k) + (negative_shift ? -1 : 1));
}

}  // namespace

void iq_detail::not_lattice(DType type) {
  throw std::logic_error(std::string(dtype_name(type)) + " is not a lattice type");
}

void iq_chunk(DType type, const u8* b, int j, IqChunk& out) {
  out.unit = iq_unit(type, b);
  iq_multipliers(type, b, j, out.multiplier);
  std::int8_t* q = out.q;
  switch (type) {
    case DType::IQ2_XXS: {
      const u8* idx = b + 2 + 8 * j;
      const std::uint32_t signs = u32_at(idx + 4);
      for (int l = 0; l < 4; ++l) signed_values(kIq2xxsGrid[idx[l]], iq_signs((signs >> (7 * l)) & 127), q + 8 * l);
      return;
    }
    case DType::IQ2_XS:
      for (int l = 0; l < 4; ++l) {
        const std::uint16_t e = u16_at(b + 2 + 2 * (4 * j + l));
        signed_values(kIq2xsGrid[e & 511], iq_signs(e >> 9), q + 8 * l);
      }
      return;
    case DType::IQ2_S:
      for (int l = 0; l < 4; ++l) {
        const int index = b[2 + 4 * j + l] | (((b[66 + j] >> (2 * l)) & 3) << 8);
        signed_values(kIq2sGrid[index], b[34 + 4 * j + l], q + 8 * l);
      }
      return;
    case DType::IQ3_XXS: {
      const std::uint32_t signs = u32_at(b + 66 + 4 * j);
      for (int l = 0; l < 4; ++l) {
        const u8* idx = b + 2 + 8 * j + 2 * l;
        const std::uint64_t values = kIq3xxsGrid[idx[0]] | (std::uint64_t{kIq3xxsGrid[idx[1]]} << 32);
        signed_values(values, iq_signs((signs >> (7 * l)) & 127), q + 8 * l);
      }
      return;
    }
    case DType::IQ3_S:
      for (int l = 0; l < 4; ++l) {
        const auto index = [&](int k) { return b[2 + 8 * j + k] | (((b[66 + j] >> k) & 1) << 8); };
        const std::uint64_t values = kIq3sGrid[index(2 * l)] | (std::uint64_t{kIq3sGrid[index(2 * l + 1)]} << 32);
        signed_values(values, b[74 + 4 * j + l], q + 8 * l);
      }
      return;
    case DType::IQ1_S: {
      const std::uint16_t h = u16_at(b + 34 + 2 * j);
      for (int l = 0; l < 4; ++l) shifted_values(kIq1sGrid[b[2 + 4 * j + l] | (((h >> (3 * l)) & 7) << 8)], h & 0x8000, q + 8 * l);
      return;
    }
    case DType::IQ1_M:
      for (int l = 0; l < 4; ++l) {
        const int nibble = (b[32 + 2 * j + l / 2] >> (4 * (l % 2))) & 0x0F;
        shifted_values(kIq1sGrid[b[4 * j + l] | ((nibble & 7) << 8)], nibble & 8, q + 8 * l);
      }
      return;
    default: iq_detail::not_lattice(type);
  }
}

void iq_dequantize_block(DType type, const u8* b, float* y) {
  IqChunk c;
  for (int j = 0; j < 8; ++j) {
    iq_chunk(type, b, j, c);
    for (int k = 0; k < 32; ++k) y[32 * j + k] = c.unit * static_cast<float>(c.multiplier[k / 16]) * static_cast<float>(c.q[k]);
  }
}

}  // namespace troupe
