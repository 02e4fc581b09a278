// The AVX2 tile of paged_attention.hpp: attention_rows_kernel.hpp on 8 lanes, 8 keys a chunk.
// Only these functions carry target("avx2,fma,f16c"); the dispatcher calls them only where
// cpu_isa() says so.
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
  TROUPE_AVX2 static vf div(vf a, vf b) { return _mm256_div_ps(a, b); }
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
};

}  // namespace

void paged_attention_rows_avx2(const PagedKv& kv, const AttentionSequence& seq, int64_t q_stride, int64_t heads,
                               const AttentionOptions& options, int64_t g, int64_t t0, int64_t t1, int64_t h0, int64_t h1) {
  rows_kernel::tile<Ymm>(kv, seq, q_stride, heads, options, g, t0, t1, h0, h1 < 0 ? heads / kv.kv_heads : h1);
}

}  // namespace troupe::cpu
