#pragma once
// Qwen3.5's gated delta net (ModelSpec::delta_net, whose comment gives the recurrence) over a
// step's sequences: the convolution in front of it (short_conv.hpp's causal_conv, with SiLU), each
// value head's state S [k_dim, v_dim] carried token by token, and the gated RMSNorm after it. A
// plain loop over (sequence, value head) pairs: its work per token, 4 · k_dim · v_dim per head, is a
// few percent of the layer's projections.
#include <cstdint>
#include <vector>

#include "gpu/backend.hpp"
#include "gpu/cpu/sequence_states.hpp"
#include "gpu/cpu/thread_pool.hpp"

namespace troupe::cpu {

struct DeltaNetWeights {
  std::vector<float> taps;     // [conv width, kernel], the oldest position's first
  std::vector<float> decay;    // [v_heads]: −exp(A_log)
  std::vector<float> dt_bias;  // [v_heads]
  std::vector<float> norm;     // [v_dim], as stored (no 1 + w)
};

// Floats of one sequence's state in one layer: the convolution's last kernel − 1 inputs
// [kernel − 1, conv width], then each value head's S [k_dim, v_dim].
int64_t delta_net_state_floats(const DeltaNetSpec& spec);

// One layer over the batch's tokens (rows of its sequences, in order).
//   proj   [tokens, conv width + value width + 2 v_heads]: each token's q, k, v (before the
//          convolution), z, b and a, as in_proj_qkv, in_proj_z, in_proj_b and in_proj_a give them
//   out    [tokens, value width]: what goes into out_proj
// `eps`: the gated norm's. Each sequence's state comes from layer `layer`'s current copy in
// `states` (zeros at num_cached 0) and goes into the next; `scratch` holds the convolution's output.
void gated_delta_net(const float* proj, const StepBatch& batch, const DeltaNetSpec& spec, const DeltaNetWeights& w,
                     float eps, SequenceStates& states, int64_t layer, float* out, std::vector<float>& scratch,
                     ThreadPool* pool);

}  // namespace troupe::cpu
