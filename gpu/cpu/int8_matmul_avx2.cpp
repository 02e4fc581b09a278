// The AVX2 implementation of int8_matmul.hpp and of quantize_row (quantized_activations.hpp).
// Compiled for the baseline like the rest of the build; only these functions carry
// target("avx2,fma,f16c"), and callers reach them only after avx2_available().
//
// The products: _mm256_maddubs_epi16 multiplies 32 unsigned weight bytes by 32 signed activation
// bytes into 16 int16 pair sums (no saturation: |qw| <= 31 for 5-bit types gives at most
// 2·31·127 = 7874; the signed types go through abs/sign, 2·128·127 = 32512 < 32767), and
// _mm256_madd_epi16 sums pairs into 8 int32 (by ones, or by Q6_K's two 16-weight scales).
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <vector>

#define TROUPE_AVX2 __attribute__((target("avx2,fma,f16c")))

#include "gpu/cpu/int8_matmul.hpp"
#include "gpu/cpu/iq_chunks_avx2.hpp"
#include "model/dequantize.hpp"  // k_quant_scale_min, q3_k_scale, kIq4Values, iq4_xs_scale

namespace troupe::cpu {
namespace {

using u8 = std::uint8_t;

TROUPE_AVX2 inline float f16(const u8* p) {
  std::uint16_t h;
  std::memcpy(&h, p, 2);
  return _cvtsh_ss(h);
}

TROUPE_AVX2 inline float horizontal_sum(__m256 v) {
  const __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 s2 = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(s2, _mm_movehdup_ps(s2)));
}

// 16 bytes of nibbles as 32 bytes: low nibbles (weights 0..15) then high nibbles (16..31).
TROUPE_AVX2 inline __m256i nibbles_16(const u8* p) {
  const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  const __m128i m = _mm_set1_epi8(0x0F);
  return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(q, 4), m), _mm_and_si128(q, m));
}

// The 32 bits of a Q5_0/Q5_1 qh word as 32 bytes of 0x10 (bit set) or 0.
TROUPE_AVX2 inline __m256i high_bits_32(const u8* p) {
  std::uint32_t bits;
  std::memcpy(&bits, p, 4);
  const __m256i spread = _mm256_shuffle_epi8(  // byte j <- byte j/8 of the word
      _mm256_set1_epi32(static_cast<int>(bits)),
      _mm256_setr_epi64x(0x0000000000000000, 0x0101010101010101, 0x0202020202020202, 0x0303030303030303));
  // Byte j ORed with every bit but j % 8: all ones exactly when bit j % 8 is set.
  const __m256i all = _mm256_or_si256(spread, _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe));
  return _mm256_and_si256(_mm256_cmpeq_epi8(all, _mm256_set1_epi64x(-1)), _mm256_set1_epi8(0x10));
}

// IQ4_NL/IQ4_XS (MXFP4_F16: MXFP4's table): 32 bytes of table indices as the table's signed values
// (one byte shuffle).
TROUPE_AVX2 inline __m256i iq4_values(__m256i indices, const std::int8_t* values = kIq4Values) {
  const __m128i table = _mm_loadu_si128(reinterpret_cast<const __m128i*>(values));
  return _mm256_shuffle_epi8(_mm256_set_m128i(table, table), indices);
}

// Per type: block geometry, whether its integer form is signed (abs/sign trick), and whether it
// has an offset per chunk (times the activation block sum) or per 16 weights (Q2_K's mins: a
// second integer product, of the mins by the activation bytes).
template <DType T> struct Format;
template <> struct Format<DType::Q4_0> { static constexpr int64_t kChunks = 1, kBytes = 18; static constexpr bool kSigned = false, kOffset = true; };
template <> struct Format<DType::Q4_1> { static constexpr int64_t kChunks = 1, kBytes = 20; static constexpr bool kSigned = false, kOffset = true; };
template <> struct Format<DType::Q5_0> { static constexpr int64_t kChunks = 1, kBytes = 22; static constexpr bool kSigned = false, kOffset = true; };
template <> struct Format<DType::Q5_1> { static constexpr int64_t kChunks = 1, kBytes = 24; static constexpr bool kSigned = false, kOffset = true; };
template <> struct Format<DType::Q8_0> { static constexpr int64_t kChunks = 1, kBytes = 34; static constexpr bool kSigned = true, kOffset = false; };
template <> struct Format<DType::Q4_K> { static constexpr int64_t kChunks = 8, kBytes = 144; static constexpr bool kSigned = false, kOffset = true; };
template <> struct Format<DType::Q5_K> { static constexpr int64_t kChunks = 8, kBytes = 176; static constexpr bool kSigned = false, kOffset = true; };
template <> struct Format<DType::Q6_K> { static constexpr int64_t kChunks = 8, kBytes = 210; static constexpr bool kSigned = true, kOffset = false; };
template <> struct Format<DType::Q2_K> { static constexpr int64_t kChunks = 8, kBytes = 84; static constexpr bool kSigned = false, kOffset = false, kMins = true; };
template <> struct Format<DType::Q3_K> { static constexpr int64_t kChunks = 8, kBytes = 110; static constexpr bool kSigned = true, kOffset = false; };
template <> struct Format<DType::IQ4_NL> { static constexpr int64_t kChunks = 1, kBytes = 18; static constexpr bool kSigned = true, kOffset = false; };
template <> struct Format<DType::MXFP4_F16> { static constexpr int64_t kChunks = 1, kBytes = 18; static constexpr bool kSigned = true, kOffset = false; };
template <> struct Format<DType::IQ4_XS> { static constexpr int64_t kChunks = 8, kBytes = 136; static constexpr bool kSigned = true, kOffset = false; };
// The lattice types (model/iq_quants.hpp): signed q, the chunk's two multipliers through madd. Their
// chunks cost table lookups to unpack, so a weight row is unpacked once for all activation rows
// (decode_lattice_row) and the tiles read the unpacked row: 36 bytes a chunk, its 32 q then its two
// int16 multipliers. Format describes that unpacked layout.
struct LatticeFormat { static constexpr int64_t kChunks = 1, kBytes = 36; static constexpr bool kSigned = true, kOffset = false; };
template <> struct Format<DType::IQ2_XXS> : LatticeFormat {};
template <> struct Format<DType::IQ2_XS> : LatticeFormat {};
template <> struct Format<DType::IQ2_S> : LatticeFormat {};
template <> struct Format<DType::IQ3_XXS> : LatticeFormat {};
template <> struct Format<DType::IQ3_S> : LatticeFormat {};
template <> struct Format<DType::IQ1_S> : LatticeFormat {};
template <> struct Format<DType::IQ1_M> : LatticeFormat {};


template <DType T> constexpr bool has_mins() {
  if constexpr (requires { Format<T>::kMins; }) {
    return Format<T>::kMins;
  } else {
    return false;
  }
}

// The float scale and offset of every chunk of one weight row (for Q6_K, Q3_K and Q2_K the scale
// is d, their per-16 integer scales going through madd; Q2_K's offset is −dmin, which multiplies
// its mins' product; the lattice types' is their unit, their multipliers going through madd).
// Computed once per weight row, outside the tile loops.
template <DType T>
TROUPE_AVX2 void chunk_scales(const u8* row, int64_t chunks, float* scale, float* offset) {
  using F = Format<T>;
  for (int64_t c = 0; c < chunks; ++c) {
    const u8* b = row + (c / F::kChunks) * F::kBytes;
    if constexpr (T == DType::Q4_0) {
      scale[c] = f16(b);
      offset[c] = -8.0f * scale[c];
    } else if constexpr (T == DType::Q5_0) {
      scale[c] = f16(b);
      offset[c] = -16.0f * scale[c];
    } else if constexpr (T == DType::Q4_1 || T == DType::Q5_1) {
      scale[c] = f16(b);
      offset[c] = f16(b + 2);
    } else if constexpr (T == DType::Q8_0) {
      scale[c] = f16(b);
    } else if constexpr (T == DType::Q6_K) {
      scale[c] = f16(b + 208);
    } else if constexpr (T == DType::Q2_K) {
      scale[c] = f16(b + 80);
      offset[c] = -f16(b + 82);
    } else if constexpr (T == DType::Q3_K) {
      scale[c] = f16(b + 108);
    } else if constexpr (T == DType::IQ4_NL || T == DType::MXFP4_F16) {
      scale[c] = f16(b);
    } else if constexpr (T == DType::IQ4_XS) {
      scale[c] = f16(b) * static_cast<float>(iq4_xs_scale(static_cast<int>(c % 8), b) - 32);
    } else {  // Q4_K, Q5_K: sub-block j's 6-bit scale and min
      const int j = static_cast<int>(c % 8);
      const u8* q = b + 4;
      int sc, m;
      k_quant_scale_min(j, q, sc, m);
      scale[c] = f16(b) * static_cast<float>(sc);
      offset[c] = -(f16(b + 2) * static_cast<float>(m));
    }
  }
}

// Chunk c of a weight row as 32 bytes of qw (unsigned, or signed for Q8_0, Q6_K, Q3_K and the IQ
// types), and the madd multipliers (ones, or the two 16-weight scales of Q6_K, Q3_K, Q2_K and the
// lattice types).
template <DType T>
TROUPE_AVX2 inline __m256i chunk_quants(const u8* row, int64_t c, __m256i& multiplier) {
  using F = Format<T>;
  const u8* b = row + (c / F::kChunks) * F::kBytes;
  const int j = static_cast<int>(c % F::kChunks);
  multiplier = _mm256_set1_epi16(1);
  if constexpr (T == DType::Q4_0) {
    return nibbles_16(b + 2);
  } else if constexpr (T == DType::Q4_1) {
    return nibbles_16(b + 4);
  } else if constexpr (T == DType::Q5_0) {
    return _mm256_or_si256(nibbles_16(b + 6), high_bits_32(b + 2));
  } else if constexpr (T == DType::Q5_1) {
    return _mm256_or_si256(nibbles_16(b + 8), high_bits_32(b + 4));
  } else if constexpr (T == DType::Q8_0) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 2));
  } else if constexpr (T == DType::Q4_K || T == DType::Q5_K) {
    const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + (T == DType::Q4_K ? 16 : 48) + 32 * (j / 2)));
    const __m256i m = _mm256_set1_epi8(0x0F);
    __m256i v = j % 2 == 0 ? _mm256_and_si256(q, m) : _mm256_and_si256(_mm256_srli_epi16(q, 4), m);
    if constexpr (T == DType::Q5_K) {
      const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 16));
      const __m256i bit = _mm256_set1_epi8(static_cast<char>(1 << j));
      v = _mm256_or_si256(v, _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(qh, bit), bit), _mm256_set1_epi8(0x10)));
    }
    return v;
  } else if constexpr (T == DType::Q2_K || T == DType::Q3_K) {
    constexpr bool q3 = T == DType::Q3_K;
    const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + (q3 ? 32 : 16) + 32 * (j / 4)));
    __m256i v = _mm256_and_si256(_mm256_srl_epi16(q, _mm_cvtsi32_si128(2 * (j % 4))), _mm256_set1_epi8(3));
    if constexpr (q3) {  // minus 4 where bit j of the hmask byte is clear
      const __m256i hm = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b));
      const __m256i bit = _mm256_set1_epi8(static_cast<char>(1 << j));
      const __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(hm, bit), bit);
      v = _mm256_sub_epi8(v, _mm256_andnot_si256(set, _mm256_set1_epi8(4)));
      multiplier = _mm256_set_m128i(_mm_set1_epi16(static_cast<short>(q3_k_scale(2 * j + 1, b + 96) - 32)),
                                    _mm_set1_epi16(static_cast<short>(q3_k_scale(2 * j, b + 96) - 32)));
    } else {
      multiplier = _mm256_set_m128i(_mm_set1_epi16(b[2 * j + 1] & 0x0F), _mm_set1_epi16(b[2 * j] & 0x0F));
    }
    return v;
  } else if constexpr (T == DType::IQ4_NL) {
    return iq4_values(nibbles_16(b + 2));
  } else if constexpr (T == DType::MXFP4_F16) {
    return iq4_values(nibbles_16(b + 2), kMxfp4Values);
  } else if constexpr (T == DType::IQ4_XS) {
    return iq4_values(nibbles_16(b + 8 + 16 * j));
  } else if constexpr (is_iq_lattice(T)) {  // an unpacked chunk (decode_lattice_row)
    std::int16_t m[2];
    std::memcpy(m, b + 32, 4);
    multiplier = _mm256_set_m128i(_mm_set1_epi16(m[1]), _mm_set1_epi16(m[0]));
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b));
  } else {  // Q6_K
    const int half = j / 4, k = j % 4;
    const __m256i ql = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 64 * half + (k % 2 == 1 ? 32 : 0)));
    const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 128 + 32 * half));
    const __m256i m = _mm256_set1_epi8(0x0F);
    const __m256i low = k < 2 ? _mm256_and_si256(ql, m) : _mm256_and_si256(_mm256_srli_epi16(ql, 4), m);
    const __m256i high = _mm256_and_si256(_mm256_srl_epi16(qh, _mm_cvtsi32_si128(2 * k)), _mm256_set1_epi8(3));
    const auto* sc = reinterpret_cast<const int8_t*>(b + 192) + 8 * half + 2 * k;
    multiplier = _mm256_set_m128i(_mm_set1_epi16(sc[1]), _mm_set1_epi16(sc[0]));
    return _mm256_sub_epi8(_mm256_or_si256(low, _mm256_slli_epi16(high, 4)), _mm256_set1_epi8(32));
  }
}

// Q2_K chunk c's two 4-bit mins, each repeated over its 16 weights' bytes.
TROUPE_AVX2 inline __m256i chunk_mins_q2k(const u8* row, int64_t c) {
  const u8* sc = row + (c / 8) * Format<DType::Q2_K>::kBytes + 2 * (c % 8);
  return _mm256_set_m128i(_mm_set1_epi8(static_cast<char>(sc[1] >> 4)), _mm_set1_epi8(static_cast<char>(sc[0] >> 4)));
}

// Weight rows n .. n+RN-1 against activation rows r0 .. r0+RM-1: RN·RM float accumulators, each
// weight chunk unpacked once for the RM rows.
template <DType T, int RN, int RM>
TROUPE_AVX2 void tile(const Int8MatmulJob& j, int64_t n, int64_t r0, const float* const* scale, const float* const* offset) {
  using F = Format<T>;
  const QuantizedActivations& a = *j.a;
  const int64_t chunks = j.cols / 32;
  const u8* rows[RN];
  for (int i = 0; i < RN; ++i) rows[i] = j.blocks + (n + i) * j.row_bytes;
  const int8_t* xq[RM];
  const float* xd[RM];
  for (int r = 0; r < RM; ++r) {
    xq[r] = a.q(r0 + r);
    xd[r] = a.d(r0 + r);
  }
  __m256 acc[RN][RM];
  for (int i = 0; i < RN; ++i) {
    for (int r = 0; r < RM; ++r) acc[i][r] = _mm256_setzero_ps();
  }
  for (int64_t c = 0; c < chunks; ++c) {
    __m256i w[RN], mult[RN];
    for (int i = 0; i < RN; ++i) w[i] = chunk_quants<T>(rows[i], c, mult[i]);
    __m256i w_abs[RN], mins[RN];
    if constexpr (F::kSigned) {
      for (int i = 0; i < RN; ++i) w_abs[i] = _mm256_sign_epi8(w[i], w[i]);
    }
    if constexpr (has_mins<T>()) {
      for (int i = 0; i < RN; ++i) mins[i] = chunk_mins_q2k(rows[i], c);
    }
    for (int r = 0; r < RM; ++r) {
      const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq[r] + 32 * c));
      for (int i = 0; i < RN; ++i) {
        __m256i pairs;
        if constexpr (F::kSigned) {
          pairs = _mm256_maddubs_epi16(w_abs[i], _mm256_sign_epi8(x, w[i]));
        } else {
          pairs = _mm256_maddubs_epi16(w[i], x);
        }
        const __m256 dot = _mm256_cvtepi32_ps(_mm256_madd_epi16(pairs, mult[i]));
        acc[i][r] = _mm256_fmadd_ps(dot, _mm256_set1_ps(scale[i][c] * xd[r][c]), acc[i][r]);
        if constexpr (has_mins<T>()) {  // 4-bit mins by int8 activations: pair sums <= 2·15·127
          const __m256 min_dot = _mm256_cvtepi32_ps(_mm256_madd_epi16(_mm256_maddubs_epi16(mins[i], x), _mm256_set1_epi16(1)));
          acc[i][r] = _mm256_fmadd_ps(min_dot, _mm256_set1_ps(offset[i][c] * xd[r][c]), acc[i][r]);
        }
      }
    }
  }
  for (int i = 0; i < RN; ++i) {
    for (int r = 0; r < RM; ++r) {
      float sum = horizontal_sum(acc[i][r]);
      if constexpr (F::kOffset) {  // Σ offset·s over the chunks: a short dot product
        const float* s = a.s(r0 + r);
        __m256 o = _mm256_setzero_ps();
        int64_t c = 0;
        for (; c + 8 <= chunks; c += 8) o = _mm256_fmadd_ps(_mm256_loadu_ps(offset[i] + c), _mm256_loadu_ps(s + c), o);
        sum += horizontal_sum(o);
        for (; c < chunks; ++c) sum += offset[i][c] * s[c];
      }
      float& out = j.c[(r0 + r) * j.c_stride + n + i];
      out = j.accumulate ? out + sum : sum;
    }
  }
}

template <DType T, int RN>
TROUPE_AVX2 void rows_tile(const Int8MatmulJob& j, int64_t n, const float* const* scale, const float* const* offset) {
  const int64_t m = j.a->rows();
  int64_t r0 = 0;
  for (; r0 + 4 <= m; r0 += 4) tile<T, RN, 4>(j, n, r0, scale, offset);
  switch (m - r0) {
    case 3: tile<T, RN, 3>(j, n, r0, scale, offset); break;
    case 2: tile<T, RN, 2>(j, n, r0, scale, offset); break;
    case 1: tile<T, RN, 1>(j, n, r0, scale, offset); break;
    default: break;
  }
}

// A lattice type's weight row unpacked into LatticeFormat's layout, and each chunk's scale (the
// block's unit).
template <DType T>
TROUPE_AVX2 void decode_lattice_row(const u8* row, int64_t chunks, u8* out, float* scale) {
  constexpr int64_t block_bytes = iq_block_bytes(T);
  for (int64_t block = 0; block < chunks / 8; ++block) {
    const u8* b = row + block * block_bytes;
    const float unit = _cvtsh_ss(iq_d_bits(T, b)) * iq_unit_factor(T);  // F16C, not the portable conversion
    for (int j = 0; j < 8; ++j) {
      u8* o = out + (8 * block + j) * LatticeFormat::kBytes;
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(o), iq::chunk<T>(b, j));
      int m[2];
      iq_multipliers(T, b, j, m);
      const std::int16_t m16[2] = {static_cast<std::int16_t>(m[0]), static_cast<std::int16_t>(m[1])};
      std::memcpy(o + 32, m16, 4);
      scale[8 * block + j] = unit;
    }
  }
}

template <DType T>
TROUPE_AVX2 void lattice_matmul(const Int8MatmulJob& j, int64_t n0, int64_t n1) {
  const int64_t chunks = j.cols / 32;
  thread_local std::vector<float> scratch;
  thread_local std::vector<u8> unpacked;
  scratch.resize(static_cast<std::size_t>(2 * chunks));
  unpacked.resize(static_cast<std::size_t>(2 * chunks * LatticeFormat::kBytes));
  float* scale[2] = {scratch.data(), scratch.data() + chunks};
  const float* const no_offset[2] = {nullptr, nullptr};
  // The tiles read weight rows 0 and 1 of the unpacked pair and write C's columns n, n + 1.
  Int8MatmulJob pair = j;
  pair.blocks = unpacked.data();
  pair.row_bytes = chunks * LatticeFormat::kBytes;
  for (int64_t n = n0; n < n1; n += 2) {
    const int64_t rows = std::min<int64_t>(2, n1 - n);
    for (int64_t i = 0; i < rows; ++i) {
      decode_lattice_row<T>(j.blocks + (n + i) * j.row_bytes, chunks, unpacked.data() + i * pair.row_bytes, scale[i]);
    }
    pair.c = j.c + n;
    if (rows == 2) {
      rows_tile<T, 2>(pair, 0, scale, no_offset);
    } else {
      rows_tile<T, 1>(pair, 0, scale, no_offset);
    }
  }
}

template <DType T>
TROUPE_AVX2 void matmul(const Int8MatmulJob& j, int64_t n0, int64_t n1) {
  if constexpr (is_iq_lattice(T)) {
    lattice_matmul<T>(j, n0, n1);
    return;
  }
  const int64_t chunks = j.cols / 32;
  thread_local std::vector<float> scratch;
  scratch.resize(static_cast<std::size_t>(4 * chunks));
  float* scale[2] = {scratch.data(), scratch.data() + chunks};
  float* offset[2] = {scratch.data() + 2 * chunks, scratch.data() + 3 * chunks};
  int64_t n = n0;
  for (; n + 2 <= n1; n += 2) {
    for (int i = 0; i < 2; ++i) chunk_scales<T>(j.blocks + (n + i) * j.row_bytes, chunks, scale[i], offset[i]);
    rows_tile<T, 2>(j, n, scale, offset);
  }
  if (n < n1) {
    chunk_scales<T>(j.blocks + n * j.row_bytes, chunks, scale[0], offset[0]);
    rows_tile<T, 1>(j, n, scale, offset);
  }
}

}  // namespace

void int8_matmul_avx2(const Int8MatmulJob& j, int64_t n0, int64_t n1) {
  switch (j.type) {
    case DType::Q4_0: return matmul<DType::Q4_0>(j, n0, n1);
    case DType::Q4_1: return matmul<DType::Q4_1>(j, n0, n1);
    case DType::Q5_0: return matmul<DType::Q5_0>(j, n0, n1);
    case DType::Q5_1: return matmul<DType::Q5_1>(j, n0, n1);
    case DType::Q8_0: return matmul<DType::Q8_0>(j, n0, n1);
    case DType::Q4_K: return matmul<DType::Q4_K>(j, n0, n1);
    case DType::Q5_K: return matmul<DType::Q5_K>(j, n0, n1);
    case DType::Q6_K: return matmul<DType::Q6_K>(j, n0, n1);
    case DType::Q2_K: return matmul<DType::Q2_K>(j, n0, n1);
    case DType::Q3_K: return matmul<DType::Q3_K>(j, n0, n1);
    case DType::IQ4_NL: return matmul<DType::IQ4_NL>(j, n0, n1);
    case DType::IQ4_XS: return matmul<DType::IQ4_XS>(j, n0, n1);
    case DType::MXFP4_F16: return matmul<DType::MXFP4_F16>(j, n0, n1);
    case DType::IQ2_XXS: return matmul<DType::IQ2_XXS>(j, n0, n1);
    case DType::IQ2_XS: return matmul<DType::IQ2_XS>(j, n0, n1);
    case DType::IQ2_S: return matmul<DType::IQ2_S>(j, n0, n1);
    case DType::IQ3_XXS: return matmul<DType::IQ3_XXS>(j, n0, n1);
    case DType::IQ3_S: return matmul<DType::IQ3_S>(j, n0, n1);
    case DType::IQ1_S: return matmul<DType::IQ1_S>(j, n0, n1);
    case DType::IQ1_M: return matmul<DType::IQ1_M>(j, n0, n1);
    default: return int8_matmul_portable(j, n0, n1);
  }
}

TROUPE_AVX2 void quantize_row_avx2(const float* x, int64_t cols, int8_t* q, float* d, float* s) {
  const __m256 sign_bit = _mm256_set1_ps(-0.0f);
  for (int64_t b = 0; b < cols / 32; ++b) {
    __m256 v[4];
    __m256 amax = _mm256_setzero_ps();
    for (int k = 0; k < 4; ++k) {
      v[k] = _mm256_loadu_ps(x + 32 * b + 8 * k);
      amax = _mm256_max_ps(amax, _mm256_andnot_ps(sign_bit, v[k]));
    }
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(amax), _mm256_extractf128_ps(amax, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    const float max_abs = _mm_cvtss_f32(m);
    const float scale = max_abs / 127.0f;
    const __m256 inverse = _mm256_set1_ps(max_abs > 0.0f ? 127.0f / max_abs : 0.0f);
    __m256i i32[4];
    for (int k = 0; k < 4; ++k) {
      i32[k] = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v[k], inverse), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    }
    const __m256i sum32 = _mm256_add_epi32(_mm256_add_epi32(i32[0], i32[1]), _mm256_add_epi32(i32[2], i32[3]));
    // Pack to bytes: packs interleave the two 128-bit lanes, the permute puts them back in order.
    const __m256i i16a = _mm256_packs_epi32(i32[0], i32[1]), i16b = _mm256_packs_epi32(i32[2], i32[3]);
    const __m256i i8 = _mm256_permutevar8x32_epi32(_mm256_packs_epi16(i16a, i16b), _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + 32 * b), i8);
    __m128i t = _mm_add_epi32(_mm256_castsi256_si128(sum32), _mm256_extracti128_si256(sum32, 1));
    t = _mm_add_epi32(t, _mm_shuffle_epi32(t, 0x4E));
    t = _mm_add_epi32(t, _mm_shuffle_epi32(t, 0xB1));
    d[b] = scale;
    s[b] = scale * static_cast<float>(_mm_cvtsi128_si32(t));
  }
}

}  // namespace troupe::cpu
