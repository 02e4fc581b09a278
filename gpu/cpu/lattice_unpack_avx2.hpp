#pragma once
// The lattice types' groups (IQ1_S, IQ1_M, IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S:
// model/iq_quants.hpp) unpacked for interleaved_matmul.hpp's kernels. Their group records keep the
// 8 rows' blocks as stored, one after another (interleaved_weights.hpp). A chunk costs table lookups
// to unpack (iq_chunks_avx2.hpp), so each group is unpacked once per product, for every activation
// row, into a scratch record per 32-column chunk in Q8_0's interleaved layout:
//   q[256]       byte 32·G + 4·i + t is row i's q of weight 4G + t (signed, |q| <= 62)
//   m[2][8]      int32 lane i: row i's multiplier of weights 0..15 (then 16..31) in both int16 halves
// and per block of 256 columns the 8 rows' units as floats. Row i's chunk sum
//   Σ_h m_h · Σ_{j∈h} q_j·qx_j
// is an exact int32, scaled once a chunk by unit·dx: int8_matmul.hpp's arithmetic. Included only by
// the lattice kernels' translation units (AVX2 and AVX-512 VNNI), which compute the same integers
// and the same float steps, so their results are bit-identical.
#include <vector>

#include "gpu/cpu/interleaved_kernel_parts.hpp"
#include "gpu/cpu/iq_chunks_avx2.hpp"

namespace troupe::cpu::lattice {

using interleaved::u8;
using iq_detail::u32_at;

inline constexpr int64_t kChunkBytes = 320;  // q[256], then m[2] as 8 int32 lanes each

// v[G] lane i <- v[i] lane G: 8 rows' chunks (a row per vector) as Q8_0's 8 vectors of 4 columns.
TROUPE_AVX2 inline void transpose_8x8(__m256i* v) {
  __m256i t[8], u[8];
  for (int k = 0; k < 8; k += 2) {
    t[k] = _mm256_unpacklo_epi32(v[k], v[k + 1]);      // lanes (within each 128 bits): v[k].0 v[k+1].0 v[k].1 v[k+1].1
    t[k + 1] = _mm256_unpackhi_epi32(v[k], v[k + 1]);  // v[k].2 v[k+1].2 v[k].3 v[k+1].3
  }
  for (int k = 0; k < 8; k += 4) {
    u[k] = _mm256_unpacklo_epi64(t[k], t[k + 2]);      // column 0 (4) of rows k .. k+3
    u[k + 1] = _mm256_unpackhi_epi64(t[k], t[k + 2]);  // column 1 (5)
    u[k + 2] = _mm256_unpacklo_epi64(t[k + 1], t[k + 3]);  // column 2 (6)
    u[k + 3] = _mm256_unpackhi_epi64(t[k + 1], t[k + 3]);  // column 3 (7)
  }
  for (int col = 0; col < 4; ++col) {
    v[col] = _mm256_permute2x128_si256(u[col], u[4 + col], 0x20);
    v[4 + col] = _mm256_permute2x128_si256(u[col], u[4 + col], 0x31);
  }
}

// The 32-bit word at `offset` of each of the 8 blocks of a record (blocks `bb` bytes apart), row i's
// in lane i, by inserts from memory: a hardware gather was slower on Zen 4, and set_epi32 of the
// eight words was built in general registers and stored, its vector load failing store forwarding
// (a quarter of IQ1_M's decode).
TROUPE_AVX2 inline __m256i block_words(const u8* rec, int bb, int offset) {
  const u8* p = rec + offset;
  const auto half = [&](int first) TROUPE_AVX2 {
    __m128i v = _mm_loadu_si32(p + first * bb);
    v = _mm_insert_epi32(v, static_cast<int>(u32_at(p + (first + 1) * bb)), 1);
    v = _mm_insert_epi32(v, static_cast<int>(u32_at(p + (first + 2) * bb)), 2);
    return _mm_insert_epi32(v, static_cast<int>(u32_at(p + (first + 3) * bb)), 3);
  };
  return _mm256_set_m128i(half(4), half(0));
}

TROUPE_AVX2 inline __m256i bits(__m256i w, int shift, int mask) {
  return _mm256_and_si256(_mm256_srl_epi32(w, _mm_cvtsi32_si128(shift)), _mm256_set1_epi32(mask));
}

// 2s + 1 in both int16 halves of each lane.
TROUPE_AVX2 inline __m256i odd(__m256i s) {
  const __m256i v = _mm256_add_epi32(_mm256_add_epi32(s, s), _mm256_set1_epi32(1));
  return _mm256_or_si256(v, _mm256_slli_epi32(v, 16));
}

// Row i's multipliers of chunk j (weights 0..15 in m0, 16..31 in m1) in lane i, in both int16
// halves, as iq_multipliers reads them, for the 8 rows at once: the 32-bit word that holds them in
// each row's block (placed so that it ends inside the block), then shifts.
template <DType T>
TROUPE_AVX2 inline void chunk_multipliers(const u8* rec, int j, __m256i& m0, __m256i& m1) {
  constexpr int bb = static_cast<int>(iq_block_bytes(T));
  const auto word = [&](int offset) { return block_words(rec, bb, offset); };
  if constexpr (T == DType::IQ2_XXS) {
    m0 = m1 = odd(bits(word(6 + 8 * j), 28, 15));
  } else if constexpr (T == DType::IQ2_XS || T == DType::IQ2_S) {
    const __m256i w = word((T == DType::IQ2_XS ? 63 : 71) + j);  // its top byte: the scales byte of chunk j
    m0 = odd(bits(w, 24, 15));
    m1 = odd(bits(w, 28, 15));
  } else if constexpr (T == DType::IQ3_XXS) {
    m0 = m1 = odd(bits(word(66 + 4 * j), 28, 15));
  } else if constexpr (T == DType::IQ3_S) {
    m0 = m1 = odd(bits(word(106), 4 * j, 15));
  } else if constexpr (T == DType::IQ1_S) {
    m0 = m1 = odd(bits(word(32 + 2 * j), 28, 7));
  } else {  // IQ1_M: 16-bit word j / 2 (its top half here), 3 bits per 16 weights
    static_assert(T == DType::IQ1_M);
    const __m256i w = word(46 + 2 * (j / 2));
    m0 = odd(bits(w, 16 + 6 * (j % 2), 7));
    m1 = odd(bits(w, 19 + 6 * (j % 2), 7));
  }
}

// Group record `rec` (blocks × 8 blocks of type T) unpacked into `out` (kChunkBytes a chunk) and
// `units` (8 floats a block).
template <DType T>
TROUPE_AVX2 void unpack_group(const u8* rec, int64_t blocks, u8* out, float* units) {
  constexpr int64_t block_bytes = iq_block_bytes(T), record = kInterleavedRows * block_bytes;
  for (int64_t blk = 0; blk < blocks; ++blk, rec += record) {
    for (int64_t o = 0; o < record; o += 64) {
      _mm_prefetch(reinterpret_cast<const char*>(rec + interleaved::kPrefetchBytes + o), _MM_HINT_T0);
    }
    for (int i = 0; i < kInterleavedRows; ++i) {
      units[8 * blk + i] = _cvtsh_ss(iq_d_bits(T, rec + i * block_bytes)) * iq_unit_factor(T);
    }
    for (int j = 0; j < 8; ++j) {
      u8* chunk = out + (8 * blk + j) * kChunkBytes;
      __m256i v[8];
#pragma GCC unroll 8
      for (int i = 0; i < kInterleavedRows; ++i) v[i] = iq::chunk<T>(rec + i * block_bytes, j);
      transpose_8x8(v);
      for (int k = 0; k < 8; ++k) _mm256_storeu_si256(reinterpret_cast<__m256i*>(chunk + 32 * k), v[k]);
      __m256i m0, m1;
      chunk_multipliers<T>(rec, j, m0, m1);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(chunk + 256), m0);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(chunk + 288), m1);
    }
  }
}

// Group g of a product unpacked (into thread-local scratch, valid until the next call on the thread).
struct Unpacked {
  const u8* chunks;    // kChunkBytes a chunk
  const float* units;  // 8 a block
};

// Group g's record of a product: blocks of 8 rows, kRecordBytes<T> each.
template <DType T> inline constexpr int64_t kRecordBytes = kInterleavedRows * iq_block_bytes(T);
template <DType T>
inline const u8* group_record(const InterleavedMatmulJob& j, int64_t g) { return j.groups + g * (j.cols / 256) * kRecordBytes<T>; }

template <DType T>
TROUPE_AVX2 Unpacked unpack(const InterleavedMatmulJob& j, int64_t g) {
  const int64_t blocks = j.cols / 256;
  thread_local std::vector<u8> chunks;
  thread_local std::vector<float> units;
  chunks.resize(static_cast<std::size_t>(8 * blocks * kChunkBytes));
  units.resize(static_cast<std::size_t>(8 * blocks));
  unpack_group<T>(group_record<T>(j, g), blocks, chunks.data(), units.data());
  return {chunks.data(), units.data()};
}

// Calls f.template operator()<T>() with the lattice type T that `type` names: the kernels' one
// dispatch. False (and no call) for any other type.
template <class F>
bool with_type(DType type, F&& f) {
  switch (type) {
    case DType::IQ2_XXS: f.template operator()<DType::IQ2_XXS>(); return true;
    case DType::IQ2_XS: f.template operator()<DType::IQ2_XS>(); return true;
    case DType::IQ2_S: f.template operator()<DType::IQ2_S>(); return true;
    case DType::IQ3_XXS: f.template operator()<DType::IQ3_XXS>(); return true;
    case DType::IQ3_S: f.template operator()<DType::IQ3_S>(); return true;
    case DType::IQ1_S: f.template operator()<DType::IQ1_S>(); return true;
    case DType::IQ1_M: f.template operator()<DType::IQ1_M>(); return true;
    default: return false;
  }
}

}  // namespace troupe::cpu::lattice
