// The AVX2 tile of paged_attention.hpp. For one (sequence, kv head, query tile) it walks the
// context 8 positions at a time: 8 scores per query row from 8 dot products reduced together, a
// causal mask, an online softmax (running max m and sum l; earlier sums rescaled by exp(m_old −
// m_new) when the max grows) and the weighted values added into the row's output accumulator.
// Only these functions carry target("avx2,fma"); callers check avx2_available() first.
#include <immintrin.h>

#include <cmath>
#include <vector>

#define TROUPE_AVX2 __attribute__((target("avx2,fma,f16c")))
#define TROUPE_ROWS_TARGET TROUPE_AVX2
#include "gpu/cpu/attention_rows_kernel.hpp"
#include "gpu/cpu/kv_dtype.hpp"
#include "gpu/cpu/paged_attention.hpp"

namespace troupe::cpu {
namespace {

// e^x for 8 lanes, relative error about 2e-7 (Cephes' expf: x = n·ln2 + r, a degree-6 polynomial
// in r, 2^n built in the exponent bits). Inputs below −87.3 give about 1e-38 rather than 0; the
// caller masks lanes that must be exactly 0.
TROUPE_AVX2 inline __m256 exp_ps(__m256 x) {
  x = _mm256_min_ps(x, _mm256_set1_ps(88.3762626647949f));
  x = _mm256_max_ps(x, _mm256_set1_ps(-87.3365447505531f));
  const __m256 n = _mm256_floor_ps(_mm256_fmadd_ps(x, _mm256_set1_ps(1.44269504088896341f), _mm256_set1_ps(0.5f)));
  x = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  x = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), x);
  __m256 y = _mm256_set1_ps(1.9875691500E-4f);
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.3981999507E-3f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(8.3334519073E-3f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(4.1665795894E-2f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.6666665459E-1f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(5.0000001201E-1f));
  y = _mm256_fmadd_ps(y, _mm256_mul_ps(x, x), _mm256_add_ps(x, _mm256_set1_ps(1.0f)));
  const __m256i pow2n = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(y, _mm256_castsi256_ps(pow2n));
}

// Lane j = the sum of the 8 lanes of v[j].
TROUPE_AVX2 inline __m256 reduce_8x8(const __m256* v) {
  const __m256 s01 = _mm256_hadd_ps(v[0], v[1]), s23 = _mm256_hadd_ps(v[2], v[3]);
  const __m256 s45 = _mm256_hadd_ps(v[4], v[5]), s67 = _mm256_hadd_ps(v[6], v[7]);
  const __m256 s0123 = _mm256_hadd_ps(s01, s23), s4567 = _mm256_hadd_ps(s45, s67);
  // s0123 = [v0..v3 low-half sums | v0..v3 high-half sums], likewise s4567 for v4..v7.
  return _mm256_add_ps(_mm256_permute2f128_ps(s0123, s4567, 0x20), _mm256_permute2f128_ps(s0123, s4567, 0x31));
}

TROUPE_AVX2 inline float hmax(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  return _mm_cvtss_f32(_mm_max_ss(m, _mm_movehdup_ps(m)));
}

TROUPE_AVX2 inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}

// attention_rows_kernel.hpp's lane traits on 8 lanes, 8 keys a chunk (8 accumulators and the
// query vector, or 8 weights, the output accumulator and the rescale factor: within 16 ymm).
struct Ymm {
  using vf = __m256;
  using vi = __m256i;
  using mask = __m256;  // all ones in a visible lane
  static constexpr int kLanes = 8;
  static constexpr int kKeys = 8;

  TROUPE_AVX2 static vf zero() { return _mm256_setzero_ps(); }
  TROUPE_AVX2 static vf set1(float x) { return _mm256_set1_ps(x); }
  TROUPE_AVX2 static vf load(const float* p) { return _mm256_loadu_ps(p); }
  TROUPE_AVX2 static void store(float* p, vf x) { _mm256_storeu_ps(p, x); }
  TROUPE_AVX2 static vi load_i32(const int32_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
  TROUPE_AVX2 static vf fmadd(vf a, vf b, vf c) { return _mm256_fmadd_ps(a, b, c); }
  TROUPE_AVX2 static vf mul(vf a, vf b) { return _mm256_mul_ps(a, b); }
  TROUPE_AVX2 static vf add(vf a, vf b) { return _mm256_add_ps(a, b); }
  TROUPE_AVX2 static vf sub(vf a, vf b) { return _mm256_sub_ps(a, b); }
  TROUPE_AVX2 static vf max(vf a, vf b) { return _mm256_max_ps(a, b); }
  // first ≤ p ≤ pos, lane by lane: neither p > pos nor first > p.
  TROUPE_AVX2 static mask visible(vi pos, vi first, int32_t p) {
    const vi pv = _mm256_set1_epi32(p);
    const vi hidden = _mm256_or_si256(_mm256_cmpgt_epi32(pv, pos), _mm256_cmpgt_epi32(first, pv));
    return _mm256_castsi256_ps(_mm256_xor_si256(hidden, _mm256_set1_epi32(-1)));
  }
  TROUPE_AVX2 static vf select(mask m, vf a, vf b) { return _mm256_blendv_ps(b, a, m); }  // m ? a : b
  TROUPE_AVX2 static mask is_neg_inf(vf x) { return _mm256_cmp_ps(x, _mm256_set1_ps(-INFINITY), _CMP_EQ_OQ); }
  TROUPE_AVX2 static vf exp(vf x) { return exp_ps(x); }
  static void decode_row(KvDtype dtype, const std::byte* src, int64_t n, float* dst) {
    if (n % 8 == 0) {
      kv_decode_row_avx2(dtype, src, n, dst);
    } else {
      kv_decode_row(dtype, src, n, dst);
    }
  }
};

}  // namespace

void paged_attention_rows_avx2(const PagedKv& kv, const AttentionSequence& seq, int64_t q_stride, int64_t heads,
                               const AttentionOptions& options, int64_t g, int64_t t0, int64_t t1) {
  rows_kernel::tile<Ymm>(kv, seq, q_stride, heads, options, g, t0, t1);
}

TROUPE_AVX2 void paged_attention_tile_avx2(const PagedKv& kv, const AttentionSequence& seq, int64_t q_stride,
                                           int64_t heads, const AttentionOptions& options, int64_t g, int64_t t0,
                                           int64_t t1) {
  const int64_t d = kv.head_dim, group = heads / kv.kv_heads, dv = d / 8;
  const int64_t rows = (t1 - t0) * group;
  const float scale = options.scale;
  thread_local std::vector<float> acc;  // [rows, d]: unnormalised outputs
  thread_local std::vector<float> row_max, row_sum;
  acc.assign(static_cast<std::size_t>(rows * d), 0.0f);
  row_max.assign(static_cast<std::size_t>(rows), -INFINITY);
  row_sum.assign(static_cast<std::size_t>(rows), 0.0f);

  const int64_t last = seq.start + t1 - 1;  // the furthest position any row sees
  // The earliest position any row sees (the first row's window start), rounded down to a lane group.
  const int64_t begin = options.first_visible(seq.start + t0) / 8 * 8;
  const float* k[8];
  const float* v[8];
  // A cache stored narrower than float32 is decoded 8 rows at a time into these.
  thread_local std::vector<float> k_rows, v_rows;
  const bool decode = kv.dtype != KvDtype::Float32;
  if (decode) {
    k_rows.resize(static_cast<std::size_t>(8 * d));
    v_rows.resize(static_cast<std::size_t>(8 * d));
  }
  for (int64_t p0 = begin; p0 <= last; p0 += 8) {
    const int64_t np = std::min<int64_t>(8, last + 1 - p0);
    for (int64_t j = 0; j < 8; ++j) {  // lanes past the context repeat position p0, masked below
      const int64_t p = j < np ? p0 + j : p0;
      const std::byte* kr = kv.row(kv.keys, seq.block_table, p, g);
      const std::byte* vr = kv.row(kv.values, seq.block_table, p, g);
      if (decode) {
        kv_decode_row_avx2(kv.dtype, kr, d, k_rows.data() + j * d);
        kv_decode_row_avx2(kv.dtype, vr, d, v_rows.data() + j * d);
        k[j] = k_rows.data() + j * d;
        v[j] = v_rows.data() + j * d;
      } else {
        k[j] = reinterpret_cast<const float*>(kr);
        v[j] = reinterpret_cast<const float*>(vr);
      }
    }
    for (int64_t i = 0; i < rows; ++i) {
      const int64_t t = t0 + i / group, h = g * group + i % group;
      const int64_t pos = seq.start + t;
      if (pos < p0) continue;  // causal: nothing in these 8 positions for this row
      const int64_t first = options.first_visible(pos);
      if (p0 + 8 <= first) continue;  // all 8 positions before this row's window
      const float* q = seq.q + t * q_stride + h * d;
      __m256 dots[8];
      for (int j = 0; j < 8; ++j) dots[j] = _mm256_setzero_ps();
      for (int64_t c = 0; c < dv; ++c) {
        const __m256 qc = _mm256_loadu_ps(q + 8 * c);
        for (int j = 0; j < 8; ++j) dots[j] = _mm256_fmadd_ps(qc, _mm256_loadu_ps(k[j] + 8 * c), dots[j]);
      }
      // Lanes at positions past this row's own (or past the context), or before its window, take
      // no weight.
      const int64_t visible = std::min<int64_t>(np, pos - p0 + 1);
      const int64_t hidden = std::max<int64_t>(0, first - p0);
      const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
      const __m256 live = _mm256_castsi256_ps(
          _mm256_andnot_si256(_mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(hidden)), lane),
                              _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(visible)), lane)));
      const __m256 s = _mm256_blendv_ps(_mm256_set1_ps(-INFINITY), _mm256_mul_ps(reduce_8x8(dots), _mm256_set1_ps(scale)), live);
      const float m_old = row_max[i];
      const float m_new = std::max(m_old, hmax(s));
      const __m256 p = _mm256_and_ps(exp_ps(_mm256_sub_ps(s, _mm256_set1_ps(m_new))), live);
      alignas(32) float w[8];
      _mm256_store_ps(w, p);
      float* o = acc.data() + i * d;
      if (m_new == m_old) {  // the common case once the context's largest scores are behind
        row_sum[i] += hsum(p);
        for (int64_t c = 0; c < dv; ++c) {
          __m256 oc = _mm256_loadu_ps(o + 8 * c);
          for (int64_t j = 0; j < np; ++j) oc = _mm256_fmadd_ps(_mm256_set1_ps(w[j]), _mm256_loadu_ps(v[j] + 8 * c), oc);
          _mm256_storeu_ps(o + 8 * c, oc);
        }
      } else {
        const float correction = m_old == -INFINITY ? 0.0f : std::exp(m_old - m_new);
        row_max[i] = m_new;
        row_sum[i] = row_sum[i] * correction + hsum(p);
        const __m256 corr = _mm256_set1_ps(correction);
        for (int64_t c = 0; c < dv; ++c) {
          __m256 oc = _mm256_mul_ps(_mm256_loadu_ps(o + 8 * c), corr);
          for (int64_t j = 0; j < np; ++j) oc = _mm256_fmadd_ps(_mm256_set1_ps(w[j]), _mm256_loadu_ps(v[j] + 8 * c), oc);
          _mm256_storeu_ps(o + 8 * c, oc);
        }
      }
    }
  }
  for (int64_t i = 0; i < rows; ++i) {
    const int64_t t = t0 + i / group, h = g * group + i % group;
    float* out = seq.out + (t * heads + h) * d;
    const __m256 inv = _mm256_set1_ps(1.0f / row_sum[i]);
    for (int64_t c = 0; c < dv; ++c) _mm256_storeu_ps(out + 8 * c, _mm256_mul_ps(_mm256_loadu_ps(acc.data() + i * d + 8 * c), inv));
  }
}

}  // namespace troupe::cpu
