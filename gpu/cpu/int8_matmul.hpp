#pragma once
// C = A · W^T with the weight W kept in its GGUF blocks and A quantized to int8 blocks
// (quantized_activations.hpp): integer dot products of 32 weights by 32 activations, one float
// scaling per 32. This is the CPU backend's matmul for every batch size, decode and prefill.
//
// Every weight type is read as 32-weight chunks in "integer form": w_j = scale_h · qw_j + offset_h
// for j in the chunk, with qw_j small integers and a scale and an offset per 16-weight half h (the
// halves' scales differ in Q6_K and Q3_K, their offsets only in Q2_K):
//   Q4_0    qw = nibble (0..15),          scale = d,            offset = −8·d
//   Q4_1    qw = nibble,                  scale = d,            offset = m
//   Q5_0    qw = nibble | high bit << 4,  scale = d,            offset = −16·d
//   Q5_1    qw = nibble | high bit << 4,  scale = d,            offset = m
//   Q8_0    qw = int8 (−128..127),        scale = d,            offset = 0
//   Q2_K    qw = 2 bits (0..3),           scale = d·sc_h,       offset = −dmin·m_h   (per 16)
//   Q3_K    qw = 3 bits − 4 (−4..3),      scale = d·(sc_h − 32), offset = 0         (per 16)
//   Q4_K    qw = nibble,                  scale = d·sc_j,       offset = −dmin·m_j   (sub-block j of 8)
//   Q5_K    qw = nibble | high bit << 4,  scale = d·sc_j,       offset = −dmin·m_j
//   Q6_K    qw = 6 bits − 32 (−32..31),   scale = d·sc_h (per 16), offset = 0
//   IQ4_NL  qw = table[nibble] (−127..113), scale = d,          offset = 0
//   IQ4_XS  qw = table[nibble],           scale = d·(sc_j − 32), offset = 0
//   IQ1_S, IQ1_M, IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S: qw = q, scale = unit·multiplier_h,
//           offset = 0, model/iq_quants.hpp's exact form (|q| <= 62)
// These are the weights model/dequantize.cpp computes (the same float products). With activation
// chunk x_j ≈ dx·qx_j and s = dx·Σ qx_j, a chunk's product is
//   Σ_h scale_h · dx · Σ_{j∈h} qw_j·qx_j  +  offset · s        (offsets equal in both halves)
//   Σ_h (scale_h · Σ_{j∈h} qw_j·qx_j + offset_h · Σ_{j∈h} qx_j) · dx   (Q2_K),
// where the inner sums are exact integers. The only approximation is the activations' rounding
// (|x − dx·qx| ≤ dx/2), so |C − A·W^T| ≤ Σ_chunks dx/2 · Σ_j |w_j| plus float rounding of the sums.
//
// Two implementations compute it: a portable one, the reference, written chunk by chunk from the
// table above, and an AVX2 one (maddubs/madd) in register tiles of 2 weight rows × 4 activation
// rows, chosen at run time where the CPU has AVX2, FMA and F16C.
#include <cstdint>

#include "gpu/cpu/quantized_activations.hpp"
#include "model/dtype.hpp"

namespace troupe::cpu {

// The weight types with integer dot products.
bool int8_matmul_supports(DType type);

struct Int8MatmulJob {
  DType type;                        // one of int8_matmul_supports
  const std::uint8_t* blocks;        // the weight: rows of row_bytes, `cols` weights each
  int64_t row_bytes;
  int64_t cols;                      // a whole number of the type's blocks (32 or 256)
  const QuantizedActivations* a;     // [m, cols]
  float* c;                          // C row r starts at c + r * c_stride
  int64_t c_stride;
  bool accumulate;                   // add to C instead of overwriting it
};

// Output columns (weight rows) [n0, n1) of C, for every activation row.
void int8_matmul_portable(const Int8MatmulJob& job, int64_t n0, int64_t n1);
void int8_matmul_avx2(const Int8MatmulJob& job, int64_t n0, int64_t n1);  // only where avx2_available()

// The implementation this machine runs.
void int8_matmul(const Int8MatmulJob& job, int64_t n0, int64_t n1);

// One weight chunk in the integer form above: chunk `index` (of 32 weights) of a row. Shared by the
// portable kernel and the tests.
struct WeightChunk {
  int qw[32];
  float scale[2];   // for weights 0..15 and 16..31
  float offset[2];  // the same
};
void weight_chunk(DType type, const std::uint8_t* row, int64_t index, WeightChunk& out);

}  // namespace troupe::cpu
