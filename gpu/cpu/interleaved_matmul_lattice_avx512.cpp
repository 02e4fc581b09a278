// The lattice types' products (interleaved_matmul.hpp) with AVX-512 VNNI, on their groups unpacked
// by lattice_unpack_avx2.hpp; bit-identical to interleaved_matmul_lattice_avx2.cpp: the same int32
// chunk sums, the same float steps.
//
// vpdpbusd multiplies unsigned by signed bytes, so each q is read as q + 64 (2..126) and the extra
// 64·Σ qx of each 16-column half is taken off again from the activation's sums per 16 (sums16):
// four multiply-adds a lane and no int16 step. A half's int32 sum times its multiplier (vpmulld) is
// exactly the AVX2 kernel's madd of it; where both halves share the multiplier, the chunk's sum is
// multiplied once (the same integer).
#include "gpu/cpu/interleaved_lanes_avx512.hpp"
#include "gpu/cpu/lattice_unpack_avx2.hpp"

namespace troupe::cpu {
namespace {

using namespace interleaved;

// The types whose two 16-column halves share one multiplier (per 32 weights): their chunk sums
// take one multiplication instead of two.
constexpr bool per_32(DType t) { return t != DType::IQ2_XS && t != DType::IQ2_S && t != DType::IQ1_M; }

// Chunks [c0, c1) of a group's 8 output columns for activation rows r0 .. r0+RM-1, added to acc:
// `chunks` holds chunk c0's unpacked record first, `units` the units of its block first.
template <DType T, int RM>
TROUPE_AVX512 inline void chunk_sums(const InterleavedMatmulJob& j, int64_t r0, const u8* chunks, const float* units, int64_t c0,
                       int64_t c1, __m256* acc) {
  const QuantizedActivations& a = *j.a;
  const __m256i bias = _mm256_set1_epi8(64), low16 = _mm256_set1_epi32(0xFFFF);
  for (int64_t c = c0; c < c1; ++c) {
    const u8* chunk = chunks + (c - c0) * lattice::kChunkBytes;
    const int8_t* x[RM];
    for (int r = 0; r < RM; ++r) x[r] = a.q(r0 + r) + 32 * c;
    __m256i dot[RM];
    constexpr int kParts = per_32(T) ? 1 : 2;  // of 32 / kParts columns, each with its multiplier
#pragma GCC unroll 2
    for (int h = 0; h < kParts; ++h) {
      __m256i sum[RM];
      for (int r = 0; r < RM; ++r) {
        const int32_t* s16 = a.sums16(r0 + r) + 2 * c;
        sum[r] = _mm256_set1_epi32(-64 * (kParts == 1 ? s16[0] + s16[1] : s16[h]));
      }
#pragma GCC unroll 8
      for (int v = 8 / kParts * h; v < 8 / kParts * (h + 1); ++v) {
        const __m256i w = _mm256_add_epi8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(chunk + 32 * v)), bias);
        for (int r = 0; r < RM; ++r) sum[r] = _mm256_dpbusd_epi32(sum[r], w, broadcast4(x[r] + 4 * v));
      }
      const __m256i mult = _mm256_and_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(chunk + 256 + 32 * h)), low16);
      for (int r = 0; r < RM; ++r) {
        const __m256i scaled = _mm256_mullo_epi32(sum[r], mult);
        dot[r] = h == 0 ? scaled : _mm256_add_epi32(dot[r], scaled);
      }
    }
    const __m256 unit = _mm256_loadu_ps(units + 8 * ((c - c0) / 8));
    for (int r = 0; r < RM; ++r) {
      acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot[r]), _mm256_mul_ps(unit, _mm256_set1_ps(a.d(r0 + r)[c])), acc[r]);
    }
  }
}

// Group g's 8 output columns for activation rows r0 .. r0+RM-1, from its whole group unpacked.
template <DType T, int RM>
TROUPE_AVX512 void group_rows(const InterleavedMatmulJob& j, int64_t g, int64_t r0, const lattice::Unpacked& u) {
  __m256 acc[RM];
  for (int r = 0; r < RM; ++r) acc[r] = _mm256_setzero_ps();
  chunk_sums<T, RM>(j, r0, u.chunks, u.units, 0, j.cols / 32, acc);
  store_rows<RM>(j, g, r0, acc);
}

// Group g for a product of RM <= 4 activation rows (decode), a block unpacked at a time into a
// buffer on the stack and used while in L1: the same sums in the same order as group_rows.
template <DType T, int RM>
TROUPE_AVX512 void one_tile(const InterleavedMatmulJob& j, int64_t g) {
  alignas(64) u8 chunks[8 * lattice::kChunkBytes];
  alignas(32) float units[8];
  const u8* rec = lattice::group_record<T>(j, g);
  __m256 acc[RM];
  for (int r = 0; r < RM; ++r) acc[r] = _mm256_setzero_ps();
  for (int64_t blk = 0; blk < j.cols / 256; ++blk, rec += lattice::kRecordBytes<T>) {
    lattice::unpack_group<T>(rec, 1, chunks, units);
    chunk_sums<T, RM>(j, 0, chunks, units, 8 * blk, 8 * blk + 8, acc);
  }
  store_rows<RM>(j, g, 0, acc);
}

// Activation rows in tiles of 8 where the chunk sums take one multiplication (AVX-512 has the
// registers: 7 % faster at 256 rows; the two-multiplier types were not), then of 4, then the rest.
template <DType T>
TROUPE_AVX512 void matmul(const InterleavedMatmulJob& j, int64_t g0, int64_t g1) {
  const int64_t m = j.a->rows();
  if (m <= 4) {
    for (int64_t g = g0; g < g1; ++g) {
      switch (m) {
        case 4: one_tile<T, 4>(j, g); break;
        case 3: one_tile<T, 3>(j, g); break;
        case 2: one_tile<T, 2>(j, g); break;
        case 1: one_tile<T, 1>(j, g); break;
        default: break;  // no activation rows
      }
    }
    return;
  }
  for (int64_t g = g0; g < g1; ++g) {
    const lattice::Unpacked u = lattice::unpack<T>(j, g);
    int64_t r0 = 0;
    if constexpr (per_32(T)) {
      for (; r0 + 8 <= m; r0 += 8) group_rows<T, 8>(j, g, r0, u);
    }
    for (; r0 + 4 <= m; r0 += 4) group_rows<T, 4>(j, g, r0, u);
    switch (m - r0) {
      case 3: group_rows<T, 3>(j, g, r0, u); break;
      case 2: group_rows<T, 2>(j, g, r0, u); break;
      case 1: group_rows<T, 1>(j, g, r0, u); break;
      default: break;
    }
  }
}

}  // namespace

void interleaved_matmul_lattice_avx512(const InterleavedMatmulJob& j, int64_t g0, int64_t g1) {
  if (!lattice::with_type(j.type, [&]<DType T>() { matmul<T>(j, g0, g1); })) interleaved_matmul_portable(j, g0, g1);
}

}  // namespace troupe::cpu
