#include "gpu/cpu/int8_matmul.hpp"


#include <stdexcept>
#include <string>

#include "gpu/cpu/cpu_features.hpp"
#include "common/float16.hpp"
#include "model/dequantize.hpp"  // k_quant_scale_min
#include "model/iq_quants.hpp"

namespace troupe::cpu {
namespace {

using u8 = std::uint8_t;

// The high bit of weight j of a Q5_0/Q5_1 block, from its 32-bit little-endian qh word.
int q5_high(const u8* qh, int j) { return (qh[j / 8] >> (j % 8)) & 1; }

}  // namespace

bool int8_matmul_supports(DType type) {
  switch (type) {
    case DType::Q4_0: case DType::Q4_1: case DType::Q5_0: case DType::Q5_1: case DType::Q8_0:
    case DType::Q2_K: case DType::Q3_K: case DType::Q4_K: case DType::Q5_K: case DType::Q6_K:
    case DType::IQ4_NL: case DType::IQ4_XS: case DType::MXFP4_F16:
    case DType::IQ2_XXS: case DType::IQ2_XS: case DType::IQ2_S: case DType::IQ3_XXS: case DType::IQ3_S:
    case DType::IQ1_S: case DType::IQ1_M:
      return true;
    default:
      return false;
  }
}

void weight_chunk(DType type, const u8* row, int64_t index, WeightChunk& w) {
  const int64_t per_block = dtype_block_elements(type) / 32;  // chunks per block: 1 or 8
  const u8* b = row + (index / per_block) * dtype_block_bytes(type);
  const int j = static_cast<int>(index % per_block);  // sub-block of a K-quant super-block
  w.offset[0] = w.offset[1] = 0.0f;
  switch (type) {
    case DType::Q4_0:
    case DType::Q4_1: {
      const u8* qs = b + (type == DType::Q4_0 ? 2 : 4);
      for (int l = 0; l < 16; ++l) {
        w.qw[l] = qs[l] & 0x0F;
        w.qw[l + 16] = qs[l] >> 4;
      }
      w.scale[0] = w.scale[1] = fp16_load(b);
      w.offset[0] = w.offset[1] = type == DType::Q4_0 ? -8.0f * fp16_load(b) : fp16_load(b + 2);
      break;
    }
    case DType::Q5_0:
    case DType::Q5_1: {
      const bool with_min = type == DType::Q5_1;
      const u8* qh = b + (with_min ? 4 : 2);
      const u8* qs = qh + 4;
      for (int l = 0; l < 16; ++l) {
        w.qw[l] = (qs[l] & 0x0F) | (q5_high(qh, l) << 4);
        w.qw[l + 16] = (qs[l] >> 4) | (q5_high(qh, l + 16) << 4);
      }
      w.scale[0] = w.scale[1] = fp16_load(b);
      w.offset[0] = w.offset[1] = with_min ? fp16_load(b + 2) : -16.0f * fp16_load(b);
      break;
    }
    case DType::Q8_0: {
      for (int l = 0; l < 32; ++l) w.qw[l] = static_cast<int8_t>(b[2 + l]);
      w.scale[0] = w.scale[1] = fp16_load(b);
      break;
    }
    case DType::Q4_K:
    case DType::Q5_K: {
      int sc, m;
      k_quant_scale_min(j, b + 4, sc, m);
      // Sub-blocks 2p and 2p+1 share 32 bytes of nibbles: low nibbles, then high.
      const u8* qs = b + (type == DType::Q4_K ? 16 : 48) + 32 * (j / 2);
      for (int l = 0; l < 32; ++l) {
        w.qw[l] = j % 2 == 0 ? (qs[l] & 0x0F) : (qs[l] >> 4);
        if (type == DType::Q5_K) w.qw[l] |= ((b[16 + l] >> j) & 1) << 4;
      }
      w.scale[0] = w.scale[1] = fp16_load(b) * static_cast<float>(sc);
      w.offset[0] = w.offset[1] = -(fp16_load(b + 2) * static_cast<float>(m));
      break;
    }
    case DType::Q6_K: {
      // Halves of 128 weights; in each, chunk k takes low or high nibbles of ql[0..31] or
      // ql[32..63] and 2 bits of qh at shift 2k.
      const int half = j / 4, k = j % 4;
      const u8* ql = b + 64 * half + (k % 2 == 1 ? 32 : 0);
      const u8* qh = b + 128 + 32 * half;
      const auto* sc = reinterpret_cast<const int8_t*>(b + 192) + 8 * half + 2 * k;
      for (int l = 0; l < 32; ++l) {
        const int low = k < 2 ? (ql[l] & 0x0F) : (ql[l] >> 4);
        w.qw[l] = (low | (((qh[l] >> (2 * k)) & 3) << 4)) - 32;
      }
      const float d = fp16_load(b + 208);
      w.scale[0] = d * static_cast<float>(sc[0]);
      w.scale[1] = d * static_cast<float>(sc[1]);
      break;
    }
    case DType::Q2_K:
    case DType::Q3_K: {
      // Halves of 128 weights, 32 bytes of 2-bit quants each; chunk j takes shift 2·(j % 4), and
      // Q3_K's third bit is bit j of the 32 hmask bytes. Each 16 weights have their own scale
      // (and Q2_K's min).
      const bool q3 = type == DType::Q3_K;
      const u8* q = b + (q3 ? 32 : 16) + 32 * (j / 4);
      const int shift = 2 * (j % 4);
      for (int l = 0; l < 32; ++l) {
        w.qw[l] = (q[l] >> shift) & 3;
        if (q3) w.qw[l] -= (b[l] >> j) & 1 ? 0 : 4;
      }
      for (int h = 0; h < 2; ++h) {
        if (q3) {
          w.scale[h] = fp16_load(b + 108) * static_cast<float>(q3_k_scale(2 * j + h, b + 96) - 32);
        } else {
          const u8 sc = b[2 * j + h];
          w.scale[h] = fp16_load(b + 80) * static_cast<float>(sc & 0x0F);
          w.offset[h] = -(fp16_load(b + 82) * static_cast<float>(sc >> 4));
        }
      }
      break;
    }
    case DType::IQ4_NL:
    case DType::IQ4_XS:
    case DType::MXFP4_F16: {
      const bool xs = type == DType::IQ4_XS;
      const u8* qs = b + (xs ? 8 + 16 * j : 2);
      const std::int8_t* table = type == DType::MXFP4_F16 ? kMxfp4Values : kIq4Values;
      for (int l = 0; l < 16; ++l) {
        w.qw[l] = table[qs[l] & 0x0F];
        w.qw[l + 16] = table[qs[l] >> 4];
      }
      w.scale[0] = w.scale[1] = xs ? fp16_load(b) * static_cast<float>(iq4_xs_scale(j, b) - 32) : fp16_load(b);
      break;
    }
    case DType::IQ2_XXS: case DType::IQ2_XS: case DType::IQ2_S: case DType::IQ3_XXS: case DType::IQ3_S:
    case DType::IQ1_S: case DType::IQ1_M: {
      IqChunk c;
      iq_chunk(type, b, j, c);
      for (int l = 0; l < 32; ++l) w.qw[l] = c.q[l];
      for (int h = 0; h < 2; ++h) w.scale[h] = c.unit * static_cast<float>(c.multiplier[h]);
      break;
    }
    default:
      throw std::logic_error("weight_chunk: " + std::string(dtype_name(type)) + " has no integer form");
  }
}

void int8_matmul_portable(const Int8MatmulJob& j, int64_t n0, int64_t n1) {
  const QuantizedActivations& a = *j.a;
  const int64_t chunks = j.cols / 32;
  WeightChunk w;
  for (int64_t n = n0; n < n1; ++n) {
    const u8* row = j.blocks + n * j.row_bytes;
    for (int64_t r = 0; r < a.rows(); ++r) {
      float sum = 0.0f;
      for (int64_t c = 0; c < chunks; ++c) {
        weight_chunk(j.type, row, c, w);
        const int8_t* qx = a.q(r) + c * 32;
        int dot[2] = {0, 0};  // exact: |qw·qx| <= 128·127 per product, 16 products per half
        int qsum[2] = {0, 0};
        for (int l = 0; l < 32; ++l) {
          dot[l / 16] += w.qw[l] * qx[l];
          qsum[l / 16] += qx[l];
        }
        const float dx = a.d(r)[c];
        sum += w.scale[0] * dx * static_cast<float>(dot[0]) + w.scale[1] * dx * static_cast<float>(dot[1]);
        if (w.offset[0] == w.offset[1]) {  // every type but Q2_K: s = dx·Σ qx, as the fast kernels read it
          sum += w.offset[0] * a.s(r)[c];
        } else {
          sum += (w.offset[0] * static_cast<float>(qsum[0]) + w.offset[1] * static_cast<float>(qsum[1])) * dx;
        }
      }
      float& out = j.c[r * j.c_stride + n];
      out = j.accumulate ? out + sum : sum;
    }
  }
}

void int8_matmul(const Int8MatmulJob& job, int64_t n0, int64_t n1) {
  static const bool simd = cpu_isa() >= CpuIsa::Avx2;
  if (simd) {
    int8_matmul_avx2(job, n0, n1);
  } else {
    int8_matmul_portable(job, n0, n1);
  }
}

}  // namespace troupe::cpu
