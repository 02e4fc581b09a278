#pragma once
// Causal depthwise convolutions over a step's sequences, whose earlier inputs come from each
// sequence's state: LFM2's short convolution, and the one in front of Qwen3.5's delta net.
#include <cstdint>
#include <vector>

#include "gpu/backend.hpp"
#include "gpu/cpu/sequence_states.hpp"
#include "gpu/cpu/thread_pool.hpp"

namespace troupe::cpu {

// For each of `channels` channels and each token t of the batch's sequences (rows in order):
//   out[t][c] = act(bias[c] + Σ_k taps[c][k] · in[t − kernel + 1 + k][c])
// `in` rows have stride in_stride, `out` rows out_stride; `taps` [channels, kernel], the oldest
// position's weight first; `bias` [channels] or nullptr; act is SiLU when `silu`, else none. Inputs
// before a sequence's first position are zero; those before this step's first token are the
// kernel − 1 rows [kernel − 1, channels] at the start of layer `layer`'s state in `states` (current
// copy; zeros at num_cached 0), and each sequence's last kernel − 1 inputs are written there in the
// next copy.
void causal_conv(const float* in, int64_t in_stride, int64_t channels, const float* taps, const float* bias,
                 int64_t kernel, bool silu, const StepBatch& batch, SequenceStates& states, int64_t layer, float* out,
                 int64_t out_stride, ThreadPool* pool);

// LFM2's short convolution (ModelSpec::short_conv) of one layer, `width` = hidden:
//   bcx    [tokens, 3 width]: B, C and x' of each token (in_proj's output, its bias added)
//   out    [tokens, width]: C ⊙ causal_conv(B ⊙ x')
// `scratch` holds B ⊙ x' between the two.
void short_conv(const float* bcx, const StepBatch& batch, const float* taps, const float* bias, int64_t kernel,
                int64_t width, SequenceStates& states, int64_t layer, float* out, std::vector<float>& scratch,
                ThreadPool* pool);

}  // namespace troupe::cpu
