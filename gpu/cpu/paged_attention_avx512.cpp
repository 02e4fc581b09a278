// The AVX-512 prefill tile of paged_attention.hpp: attention_rows_kernel.hpp on 16 lanes, 16 keys
// a chunk (16 score accumulators and the query vector fit the 32 zmm registers; so do the 16
// weights, the output accumulator and the rescale factor of the value step). Only these functions
// carry the AVX-512 target; the dispatcher calls them only when cpu_isa() says so.
#include <immintrin.h>

#include <cmath>

// GCC 12 reports its own AVX-512 intrinsics' undefined-register placeholders as "may be used
// uninitialized" once they are inlined into a template; they are not read.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#define TROUPE_AVX512 __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl")))
#define TROUPE_ROWS_TARGET TROUPE_AVX512
#include "gpu/cpu/attention_rows_kernel.hpp"

namespace troupe::cpu {
namespace {

struct Zmm {
  using vf = __m512;
  using vi = __m512i;
  using mask = __mmask16;
  static constexpr int kLanes = 16;
  static constexpr int kKeys = 16;

  TROUPE_AVX512 static vf zero() { return _mm512_setzero_ps(); }
  TROUPE_AVX512 static vf set1(float x) { return _mm512_set1_ps(x); }
  TROUPE_AVX512 static vf load(const float* p) { return _mm512_loadu_ps(p); }
  TROUPE_AVX512 static void store(float* p, vf x) { _mm512_storeu_ps(p, x); }
  TROUPE_AVX512 static vi load_i32(const int32_t* p) { return _mm512_loadu_si512(p); }
  TROUPE_AVX512 static vf fmadd(vf a, vf b, vf c) { return _mm512_fmadd_ps(a, b, c); }
  TROUPE_AVX512 static vf mul(vf a, vf b) { return _mm512_mul_ps(a, b); }
  TROUPE_AVX512 static vf add(vf a, vf b) { return _mm512_add_ps(a, b); }
  TROUPE_AVX512 static vf sub(vf a, vf b) { return _mm512_sub_ps(a, b); }
  TROUPE_AVX512 static vf div(vf a, vf b) { return _mm512_div_ps(a, b); }
  TROUPE_AVX512 static vf max(vf a, vf b) { return _mm512_max_ps(a, b); }
  // first ≤ p ≤ pos, lane by lane.
  TROUPE_AVX512 static mask visible(vi pos, vi first, int32_t p) {
    const vi pv = _mm512_set1_epi32(p);
    return _mm512_cmp_epi32_mask(pv, pos, _MM_CMPINT_LE) & _mm512_cmp_epi32_mask(first, pv, _MM_CMPINT_LE);
  }
  TROUPE_AVX512 static vf select(mask m, vf a, vf b) { return _mm512_mask_blend_ps(m, b, a); }  // m ? a : b
  TROUPE_AVX512 static mask is_neg_inf(vf x) { return _mm512_cmp_ps_mask(x, _mm512_set1_ps(-INFINITY), _CMP_EQ_OQ); }
  // e^x as the AVX2 tile's exp_ps computes it (Cephes' expf, relative error about 2e-7), on 16 lanes.
  TROUPE_AVX512 static vf exp(vf x) {
    x = _mm512_min_ps(x, _mm512_set1_ps(88.3762626647949f));
    x = _mm512_max_ps(x, _mm512_set1_ps(-87.3365447505531f));
    const vf n = _mm512_roundscale_ps(_mm512_fmadd_ps(x, _mm512_set1_ps(1.44269504088896341f), _mm512_set1_ps(0.5f)),
                                      _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
    x = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    x = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), x);
    vf y = _mm512_set1_ps(1.9875691500E-4f);
    y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(1.3981999507E-3f));
    y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(8.3334519073E-3f));
    y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(4.1665795894E-2f));
    y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(1.6666665459E-1f));
    y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(5.0000001201E-1f));
    y = _mm512_fmadd_ps(y, _mm512_mul_ps(x, x), _mm512_add_ps(x, _mm512_set1_ps(1.0f)));
    const vi pow2n = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
    return _mm512_mul_ps(y, _mm512_castsi512_ps(pow2n));
  }
};

}  // namespace

void paged_attention_rows_avx512(const PagedKv& kv, const AttentionSequence& seq, int64_t q_stride, int64_t heads,
                                 const AttentionOptions& options, int64_t g, int64_t t0, int64_t t1, int64_t h0, int64_t h1) {
  rows_kernel::tile<Zmm>(kv, seq, q_stride, heads, options, g, t0, t1, h0, h1 < 0 ? heads / kv.kv_heads : h1);
}

}  // namespace troupe::cpu
