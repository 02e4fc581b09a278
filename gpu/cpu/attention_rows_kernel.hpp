#pragma once
// The prefill tile of paged_attention.hpp with query rows in vector lanes, written once over a
// lane width and included by the AVX2 (8 lanes) and AVX-512 (16 lanes) files, each of which
// defines TROUPE_ROWS_TARGET (its target attribute) and its lane traits before including this.
//
// Why rows in lanes: the tile's rows (its tokens × the query heads of one kv head) all read the
// same keys, so with q transposed once per tile (qt[i][r] = q_r[i] · scale) a score vector for L
// rows and one key is d multiply-adds of a broadcast key value, and the softmax's running max and
// sum are lane-wise: no horizontal reduction anywhere. Per chunk of C keys and block of L rows:
//   s_j  = Σ_i k_j[i] · qt[i]                      (C accumulators, qt[i] loaded once per i)
//   m'   = max(m, s_0 .. s_{C-1}),  corr = e^(m − m'),  p_j = e^(s_j − m'),  l' = l·corr + Σ p_j
//   ot[i] = ot[i]·corr + Σ_j v_j[i] · p_j          (the output, transposed like q)
// and at the end out_r = ot[·][r] / (l_r + e^(sink − m_r)), the sink term only with sinks (gpt-oss). Keys come as float32 rows straight from the cache, or
// decoded C rows at a time when the cache is narrower (kv_dtype.hpp).
//
// Masks: a lane sees key p when first_r ≤ p ≤ pos_r (causal, sliding window); lanes past the
// tile's rows have pos = −1 and see nothing. A row that has seen nothing yet keeps m = −∞; its
// exponent is formed against 0 instead so that −∞ − (−∞) never makes a NaN, and masked p are 0.
#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <vector>

#include "gpu/cpu/kv_dtype.hpp"
#include "gpu/cpu/paged_attention.hpp"

namespace troupe::cpu::rows_kernel {

// A 64-byte aligned float buffer of a thread's own (grown, never shrunk).
inline float* scratch(std::vector<float>& buf, std::size_t floats) {
  buf.resize(floats + 16);
  auto p = reinterpret_cast<std::uintptr_t>(buf.data());
  return reinterpret_cast<float*>((p + 63) & ~std::uintptr_t{63});
}

// One cached row as float32: the AVX2 decoder (both lane widths run where AVX2 is present) for
// whole 8-value runs, the scalar one otherwise; the two give the same bits.
inline void decode_row(KvDtype dtype, const std::byte* src, int64_t n, float* dst) {
  if (n % 8 == 0) {
    kv_decode_row_avx2(dtype, src, n, dst);
  } else {
    kv_decode_row(dtype, src, n, dst);
  }
}

template <class V>
TROUPE_ROWS_TARGET void tile(const PagedKv& kv, const AttentionSequence& seq, int64_t q_stride, int64_t heads,
                             const AttentionOptions& options, int64_t g, int64_t t0, int64_t t1, int64_t h0,
                             int64_t h1) {
  using vf = typename V::vf;
  using vi = typename V::vi;
  constexpr int L = V::kLanes;
  constexpr int C = V::kKeys;
  const int64_t d = kv.head_dim, group = heads / kv.kv_heads;
  const int64_t span = h1 - h0;  // the query heads g·group + h0 .. + h1 of kv head g
  const int64_t rows = (t1 - t0) * span, width = (rows + L - 1) / L * L;

  thread_local std::vector<float> qt_buf, ot_buf, stat_buf, kc_buf, vc_buf;
  thread_local std::vector<int32_t> lane_pos, lane_first;
  float* qt = scratch(qt_buf, static_cast<std::size_t>(d * width));
  float* ot = scratch(ot_buf, static_cast<std::size_t>(d * width));
  float* row_max = scratch(stat_buf, static_cast<std::size_t>(2 * width));
  float* row_sum = row_max + width;
  lane_pos.assign(static_cast<std::size_t>(width), -1);
  lane_first.assign(static_cast<std::size_t>(width), 0);
  for (int64_t r = 0; r < width; ++r) {
    row_max[r] = -INFINITY;
    row_sum[r] = 0.0f;
    for (int64_t i = 0; i < d; ++i) ot[i * width + r] = 0.0f;
    if (r >= rows) {
      for (int64_t i = 0; i < d; ++i) qt[i * width + r] = 0.0f;
      continue;
    }
    const int64_t t = t0 + r / span, h = g * group + h0 + r % span;
    const float* q = seq.q + t * q_stride + h * d;
    for (int64_t i = 0; i < d; ++i) qt[i * width + r] = q[i] * options.scale;
    lane_pos[r] = static_cast<int32_t>(seq.start + t);
    lane_first[r] = static_cast<int32_t>(options.first_visible(seq.start + t));
  }

  const bool decode = kv.dtype != KvDtype::Float32;
  const bool values_are_keys = kv.values == kv.keys;  // latent attention: one plane, decoded once
  float* kc = decode ? scratch(kc_buf, static_cast<std::size_t>(C * d)) : nullptr;
  float* vc = decode ? scratch(vc_buf, static_cast<std::size_t>(C * d)) : nullptr;
  const int64_t last = seq.start + t1 - 1;                   // the furthest key any row sees
  const int64_t earliest_row = seq.start + t0;               // the nearest key every row sees
  const int64_t latest_first = options.first_visible(last);  // every row's window has begun here
  const int64_t begin = options.first_visible(seq.start + t0) / C * C;
  const vf neg_inf = V::set1(-INFINITY), zero = V::zero();
  const float* k[C];
  const float* v[C];
  for (int64_t p0 = begin; p0 <= last; p0 += C) {
    const int64_t n = std::min<int64_t>(C, last + 1 - p0);
    for (int64_t j = 0; j < C; ++j) {  // keys past the context repeat p0 and are masked
      const int64_t p = j < n ? p0 + j : p0;
      const std::byte* kr = kv.row(kv.keys, seq.block_table, p, g);
      const std::byte* vr = kv.row(kv.values, seq.block_table, p, g);
      if (decode) {
        if (j < n) {
          decode_row(kv.dtype, kr, d, kc + j * d);
          if (!values_are_keys) decode_row(kv.dtype, vr, d, vc + j * d);
        }
        k[j] = kc + (j < n ? j : 0) * d;
        v[j] = (values_are_keys ? kc : vc) + (j < n ? j : 0) * d;
      } else {
        k[j] = reinterpret_cast<const float*>(kr);
        v[j] = reinterpret_cast<const float*>(vr);
      }
    }
    // Every row sees every key of the chunk: no masks (padding lanes then score 0 against a zero
    // query, finite, and are never written out).
    const bool full = n == C && p0 + C - 1 <= earliest_row && p0 >= latest_first;
    for (int64_t rb = 0; rb < width; rb += L) {
      vf s[C];
      for (int j = 0; j < C; ++j) s[j] = zero;
      for (int64_t i = 0; i < d; ++i) {
        const vf qi = V::load(qt + i * width + rb);
        for (int j = 0; j < C; ++j) s[j] = V::fmadd(V::set1(k[j][i]), qi, s[j]);
      }
      if (options.softcap > 0.0f) {
        // cap · tanh(s / cap) with tanh(x) = 1 − 2 / (e^{2x} + 1): e^{2x} saturates at both ends
        // (V::exp clamps its argument), giving ±1 there.
        const vf two_over_cap = V::set1(2.0f / options.softcap), cap = V::set1(options.softcap);
        const vf one = V::set1(1.0f), two = V::set1(2.0f);
        for (int j = 0; j < C; ++j) {
          const vf e = V::exp(V::mul(s[j], two_over_cap));
          s[j] = V::mul(cap, V::sub(one, V::div(two, V::add(e, one))));
        }
      }
      typename V::mask visible[C];
      if (!full) {
        const vi pos = V::load_i32(lane_pos.data() + rb), first = V::load_i32(lane_first.data() + rb);
        for (int j = 0; j < C; ++j) {
          visible[j] = V::visible(pos, first, static_cast<int32_t>(j < n ? p0 + j : INT_MAX));
          s[j] = V::select(visible[j], s[j], neg_inf);
        }
      }
      const vf m_old = V::load(row_max + rb);
      vf m_new = m_old;
      for (int j = 0; j < C; ++j) m_new = V::max(m_new, s[j]);
      const vf m_use = V::select(V::is_neg_inf(m_new), zero, m_new);
      const vf corr = V::exp(V::sub(m_old, m_use));
      vf sum = V::mul(V::load(row_sum + rb), corr);
      for (int j = 0; j < C; ++j) {
        s[j] = V::exp(V::sub(s[j], m_use));
        if (!full) s[j] = V::select(visible[j], s[j], zero);
        sum = V::add(sum, s[j]);
      }
      V::store(row_max + rb, m_new);
      V::store(row_sum + rb, sum);
      for (int64_t i = 0; i < d; ++i) {
        float* o = ot + i * width + rb;
        vf acc = V::mul(V::load(o), corr);
        for (int j = 0; j < C; ++j) acc = V::fmadd(V::set1(v[j][i]), s[j], acc);
        V::store(o, acc);
      }
    }
  }
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t t = t0 + r / span, h = g * group + h0 + r % span;
    float* out = seq.out + (t * heads + h) * d;
    const float inv = 1.0f / (row_sum[r] + options.sink_term(h, row_max[r]));
    for (int64_t i = 0; i < d; ++i) out[i] = ot[i * width + r] * inv;
  }
}

}  // namespace troupe::cpu::rows_kernel
