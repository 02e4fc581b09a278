#pragma once
// A Mamba-2 layer (ModelSpec::mamba, whose comment gives the recurrence) over a step's sequences:
// the convolution over x, B and C (short_conv.hpp's causal_conv, with its bias and SiLU), each
// head's state H [head_dim, state] carried token by token, and the gated group RMSNorm after it. A
// plain loop over (sequence, head) pairs: its work per token, about 3 · inner · state, is a small
// part of the layer's projections (in_proj and out_proj, about 3 · inner · hidden · 2).
#include <cstdint>
#include <vector>

#include "gpu/backend.hpp"
#include "gpu/cpu/sequence_states.hpp"
#include "gpu/cpu/thread_pool.hpp"

namespace troupe::cpu {

struct Mamba2Weights {
  std::vector<float> taps;       // [conv width, kernel], the oldest position's first
  std::vector<float> conv_bias;  // [conv width], or empty
  std::vector<float> decay;      // [heads]: A = −exp(A_log)
  std::vector<float> dt_bias;    // [heads]
  std::vector<float> skip;       // [heads]: D
  std::vector<float> norm;       // [inner], or empty: y ⊙ SiLU(z) is not normed
};

// Floats of one sequence's state in one layer: the convolution's last kernel − 1 inputs
// [kernel − 1, conv width], then each head's H [head_dim, state].
int64_t mamba2_state_floats(const Mamba2Spec& spec);

// One layer over the batch's tokens (rows of its sequences, in order).
//   proj   [tokens, inner + conv width + heads]: each token's z, x B C (before the convolution)
//          and dt, as in_proj gives them
//   out    [tokens, inner]: what goes into out_proj
// `eps`: the gated norm's. Each sequence's state comes from layer `layer`'s current copy in
// `states` (zeros at num_cached 0) and goes into the next; `scratch` holds the convolution's output.
void mamba2(const float* proj, const StepBatch& batch, const Mamba2Spec& spec, const Mamba2Weights& w, float eps,
            SequenceStates& states, int64_t layer, float* out, std::vector<float>& scratch, ThreadPool* pool);

}  // namespace troupe::cpu
