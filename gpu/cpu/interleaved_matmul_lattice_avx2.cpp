// The lattice types' products (interleaved_matmul.hpp), AVX2, on their groups unpacked by
// lattice_unpack_avx2.hpp: 8 rows a vector, as Q8_0's loop.
//
// int16 sums without overflow: a maddubs lane of |q| <= 62 by |qx| <= 127 is at most 2·62·127 =
// 15,748, so two of them (4 columns × 2) are added in int16 (31,496) before madd by the multipliers
// widens them.
#include "gpu/cpu/lattice_unpack_avx2.hpp"

namespace troupe::cpu {
namespace {

using namespace interleaved;

// Chunks [c0, c1) of a group's 8 output columns for activation rows r0 .. r0+RM-1, added to acc:
// `chunks` holds chunk c0's unpacked record first, `units` the units of its block first.
template <int RM>
TROUPE_AVX2 inline void chunk_sums(const InterleavedMatmulJob& j, int64_t r0, const u8* chunks, const float* units, int64_t c0,
                       int64_t c1, __m256* acc) {
  const QuantizedActivations& a = *j.a;
  for (int64_t c = c0; c < c1; ++c) {
    const u8* chunk = chunks + (c - c0) * lattice::kChunkBytes;
    const int8_t* x[RM];
    for (int r = 0; r < RM; ++r) x[r] = a.q(r0 + r) + 32 * c;
    __m256i dot[RM];
#pragma GCC unroll 4
    for (int p = 0; p < 4; ++p) {  // columns 8p .. 8p+7: vectors 2p and 2p + 1, half p / 2
      const __m256i w0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(chunk + 64 * p));
      const __m256i w1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(chunk + 64 * p + 32));
      const __m256i a0 = _mm256_sign_epi8(w0, w0), a1 = _mm256_sign_epi8(w1, w1);
      const __m256i mult = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(chunk + 256 + 32 * (p / 2)));
      for (int r = 0; r < RM; ++r) {
        const __m256i s0 = _mm256_maddubs_epi16(a0, _mm256_sign_epi8(broadcast4(x[r] + 8 * p), w0));
        const __m256i s1 = _mm256_maddubs_epi16(a1, _mm256_sign_epi8(broadcast4(x[r] + 8 * p + 4), w1));
        const __m256i wide = _mm256_madd_epi16(_mm256_add_epi16(s0, s1), mult);
        dot[r] = p == 0 ? wide : _mm256_add_epi32(dot[r], wide);
      }
    }
    const __m256 unit = _mm256_loadu_ps(units + 8 * ((c - c0) / 8));
    for (int r = 0; r < RM; ++r) {
      acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot[r]), _mm256_mul_ps(unit, _mm256_set1_ps(a.d(r0 + r)[c])), acc[r]);
    }
  }
}

// Group g's 8 output columns for activation rows r0 .. r0+RM-1, from its whole group unpacked.
template <int RM>
TROUPE_AVX2 void group_rows(const InterleavedMatmulJob& j, int64_t g, int64_t r0, const lattice::Unpacked& u) {
  __m256 acc[RM];
  for (int r = 0; r < RM; ++r) acc[r] = _mm256_setzero_ps();
  chunk_sums<RM>(j, r0, u.chunks, u.units, 0, j.cols / 32, acc);
  store_rows<RM>(j, g, r0, acc);
}

// Group g for a product of RM <= 4 activation rows (decode), a block unpacked at a time into a
// buffer on the stack and used while in L1: the same sums in the same order as group_rows.
template <DType T, int RM>
TROUPE_AVX2 void one_tile(const InterleavedMatmulJob& j, int64_t g) {
  alignas(64) u8 chunks[8 * lattice::kChunkBytes];
  alignas(32) float units[8];
  const u8* rec = lattice::group_record<T>(j, g);
  __m256 acc[RM];
  for (int r = 0; r < RM; ++r) acc[r] = _mm256_setzero_ps();
  for (int64_t blk = 0; blk < j.cols / 256; ++blk, rec += lattice::kRecordBytes<T>) {
    lattice::unpack_group<T>(rec, 1, chunks, units);
    chunk_sums<RM>(j, 0, chunks, units, 8 * blk, 8 * blk + 8, acc);
  }
  store_rows<RM>(j, g, 0, acc);
}

template <DType T>
TROUPE_AVX2 void matmul(const InterleavedMatmulJob& j, int64_t g0, int64_t g1) {
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
    for (; r0 + 4 <= m; r0 += 4) group_rows<4>(j, g, r0, u);
    switch (m - r0) {
      case 3: group_rows<3>(j, g, r0, u); break;
      case 2: group_rows<2>(j, g, r0, u); break;
      case 1: group_rows<1>(j, g, r0, u); break;
      default: break;
    }
  }
}

}  // namespace

void interleaved_matmul_lattice_avx2(const InterleavedMatmulJob& j, int64_t g0, int64_t g1) {
  if (!lattice::with_type(j.type, [&]<DType T>() { matmul<T>(j, g0, g1); })) interleaved_matmul_portable(j, g0, g1);
}

}  // namespace troupe::cpu
