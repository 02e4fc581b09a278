#pragma once
// The CPU backend: GGUF blocks kept as stored and multiplied by int8-quantized activations
// (cpu_weight.hpp, int8_matmul.hpp), or exact float32 arithmetic on float32 weights (widened or
// dequantized at load) and on Q4_0/Q4_1/Q8_0 blocks; OpenBLAS GEMMs for float32 weights, the
// kernels of cpu_kernels.hpp for the rest, and a paged KV cache in host memory. It walks the
// model's DecoderLayout (model/decoder_layout.hpp), as the CUDA backend does.
// It is the fallback executor where no GPU is present and the reference for the CUDA backend.
#include <limits>
#include <memory>
#include <vector>

#include "gpu/backend.hpp"
#include "gpu/cpu/altup.hpp"
#include "gpu/cpu/cpu_kernels.hpp"
#include "gpu/cpu/cpu_weight.hpp"
#include "gpu/cpu/embedding_rows.hpp"
#include "gpu/cpu/expert_mlp.hpp"
#include "gpu/cpu/latent_attention.hpp"
#include "gpu/cpu/gated_delta_net.hpp"
#include "gpu/cpu/mamba2.hpp"
#include "gpu/cpu/sequence_states.hpp"
#include "gpu/cpu/thread_pool.hpp"
#include "model/decoder_layout.hpp"
#include "model/tensor_split.hpp"

namespace troupe {

class CpuBackend final : public Backend {
 public:
  CpuBackend(const ModelFiles& model, const BackendOptions& options);

  std::string_view name() const override { return "cpu"; }
  std::string device_label() const override { return label_.empty() ? "cpu" : label_; }
  const ModelSpec& spec() const override { return spec_; }
  int64_t kv_block_size() const override { return block_size_; }
  int64_t kv_num_blocks() const override { return num_blocks_; }
  int64_t weight_bytes() const override { return weight_bytes_; }
  int64_t kv_cache_bytes() const override;
  int64_t sequence_state_bytes() const override { return states_ ? states_->bytes_per_slot() : 0; }
  cpu::KvDtype kv_dtype() const { return kv_dtype_; }
  void forward(const StepBatch& batch, StepLogits& out) override;

 private:
  // A norm's weights are [size], or with ModelSpec::norm_bias (the attention, MLP and final norms)
  // [2 size]: the weight, then the bias (norm_rows reads both).
  struct Layer {
    std::vector<float> attention_norm;      // [hidden] or empty
    // A short-convolution layer (LFM2) in place of attention: qkv holds in_proj [3 hidden, hidden]
    // (qkv_bias its bias), o out_proj (o_bias its bias). A gated delta net (Qwen3.5): qkv holds
    // in_proj_qkv, in_proj_z, in_proj_b and in_proj_a stacked, o out_proj. Either keeps its state
    // per sequence in states_ under the layer's index.
    Mixer mixer = Mixer::Attention;
    int64_t index = 0;
    std::vector<float> conv_taps;           // [hidden, kernel]
    std::vector<float> conv_bias;           // [hidden] or empty
    cpu::DeltaNetWeights delta;
    cpu::Mamba2Weights mamba;
    // A Mamba-2 layer beside the attention (Falcon-H1): its in_proj and out_proj (the mixer's own
    // Mamba-2 layer keeps them in qkv and o); empty otherwise.
    cpu::CpuWeight beside_in, beside_out;
    bool mamba_beside = false;
    // The layer's head dimension and local key/value heads (ModelSpec::head_dim_of, kv_heads_of),
    // the layer whose KV cache it attends over (its own index, or Gemma 4's sharing), its MLP's
    // local width.
    int64_t head_dim = 0, kv_heads = 0, kv_source = 0, intermediate = 0;
    // Per-layer embeddings' step after the MLP (ModelSpec::per_layer_input_size): gate [P, hidden],
    // out [hidden, P], the norm [hidden]; empty without.
    cpu::CpuWeight per_layer_gate, per_layer_out;
    std::vector<float> per_layer_norm;
    // Gemma 3n: AltUp's weights (altup.hpp); LAuReL's projections ([rank, hidden], [hidden, rank]) and
    // norm; the MLP gate's Gaussian top-k multiplier (NaN: the whole gate). Empty without.
    cpu::AltUpWeights altup;
    cpu::CpuWeight laurel_left, laurel_right;
    std::vector<float> laurel_norm;
    float gate_cutoff = std::numeric_limits<float>::quiet_NaN();
    bool value_norm = false;                // values RMS-normed per head without a weight (Gemma 4)
    float out_scale = 1.0f;                 // the residual stream × this at the layer's end (Gemma 4's layer_scalar)
    cpu::CpuWeight qkv;                     // [(heads + 2 kv_heads) head_dim, hidden]: q, k, v rows stacked (local heads)
    std::unique_ptr<cpu::LatentAttention> latent;  // latent attention instead of qkv (ModelSpec::mla)
    std::vector<float> qkv_bias;            // [(heads + 2 kv_heads) head_dim] or empty
    std::vector<float> q_norm, k_norm;      // [head_dim], [heads head_dim] (qk_norm_whole, qk_norm_per_head: local heads) or empty
    cpu::CpuWeight o;                       // [hidden, heads head_dim]
    std::vector<float> o_bias;              // [hidden] or empty
    std::vector<float> sinks;               // [heads] sink logits (local heads) or empty
    std::vector<float> attention_out_norm;  // [hidden] or empty
    std::vector<float> mlp_norm;            // [hidden] or empty
    cpu::CpuWeight gate_up;                 // [2 intermediate, hidden]: gate rows then up rows (local intermediate; ungated: up's)
    cpu::CpuWeight down;                    // [hidden, intermediate]
    std::vector<float> gate_up_bias;        // [2 intermediate] (gate's then up's; ungated: up's) or empty
    std::vector<float> down_bias;           // [hidden] or empty
    cpu::XieluParams xielu;                 // the layer's xIELU (Activation::Xielu; αp and αn as used)
    bool mlp = true;                        // false: the layer is its mixer alone (Nemotron-H)
    std::unique_ptr<cpu::ExpertMlp> experts;  // a mixture-of-experts MLP instead of gate_up and down
    // A dense MLP (gate_up, down) beside the experts (Gemma 4): its output norm, the experts' input
    // and output norms, the router's input norm (× hidden^-½); empty otherwise.
    std::vector<float> dense_out_norm, experts_norm, experts_out_norm, router_norm;
    std::vector<float> mlp_out_norm;        // [hidden] or empty
    bool parallel_mlp = false;              // the MLP reads the attention's normed input (Cohere)
    const std::vector<double>* inv_freq = nullptr;  // the layer's RoPE (global or local); nullptr: none
    cpu::AttentionOptions attention;        // its scale, sliding window or chunks
    cpu::HugePageBytes k_cache, v_cache;        // [num_blocks, block_size, kv_heads] rows of kv_dtype_ (latent: k_cache alone; none in a convolution layer)
  };

  void load_weights(const ModelFiles& model);
  // One plane of an attention layer's KV cache: every block's rows of its heads.
  int64_t layer_cache_bytes(const Layer& layer) const;
  // An attention layer's weights (q, k, v [and the output gate] stacked in qkv; o; biases, norms,
  // sinks), or latent attention's.
  void load_attention(const ModelFiles& model, const LayerLayout& names, Layer& L);
  // A short-convolution layer's weights (LayerLayout::conv_in, conv, conv_out and their biases).
  void load_short_conv(const ModelFiles& model, const LayerLayout& names, Layer& L);
  // A gated delta net's (LayerLayout::delta).
  void load_delta_net(const ModelFiles& model, const LayerLayout& names, Layer& L);
  // A Mamba-2 layer's weights: in_proj and out_proj into `in` and `out`, the rest into L.mamba.
  void load_mamba2(const ModelFiles& model, const LayerLayout& names, Layer& L, cpu::CpuWeight& in, cpu::CpuWeight& out);
  // A convolution's taps, [channels, 1, kernel] as Hugging Face's Conv1d keeps them or [channels,
  // kernel] as llama.cpp's converter writes them.
  std::vector<float> load_taps(const ModelFiles& model, const std::string& name, int64_t channels, int64_t kernel) const;
  // A norm's weights ([size]), and its bias after them when `bias` (name's ".weight" → ".bias").
  std::vector<float> load_norm(const ModelFiles& model, const std::string& name, int64_t size, bool bias = false) const;
  void run_layer(Layer& layer, const StepBatch& batch, const std::vector<int32_t>& positions);
  // Per-layer embeddings (Gemma 4 E2B/E4B): every layer's inputs for the step's tokens, from their
  // ids and the scaled embeddings in x_, into per_layer_in_ [tokens, layers · P]; and layer L's step
  // with its part of them, after its MLP.
  void per_layer_inputs(const std::vector<int32_t>& ids);
  // Layer L's per-layer step on `input` [tokens, hidden] (the stream, or Gemma 3n's scaled active
  // stream): norm(W_out(gelu(W_gate input) ⊙ its per-layer inputs)), into delta_.
  void per_layer_step(Layer& L, const float* input, int64_t tokens);
  // Gemma 3n (cpu_backend_altup.cpp): the streams made from the embeddings in x_; a layer run on the
  // active stream's prediction, then the streams corrected and given its per-layer step; the streams
  // merged back into x_ at the end; LAuReL's output for the attention's normed input, into laurel_.
  void altup_expand(int64_t tokens);
  void run_altup_layer(Layer& L, const StepBatch& batch, const std::vector<int32_t>& positions);
  void altup_merge(int64_t tokens);
  void run_laurel(Layer& L, const float* normed, int64_t tokens);
  // `rows` rows of the hidden size through a norm of weights `weight` (RMSNorm, or LayerNorm, its
  // bias after the weight with ModelSpec::norm_bias).
  void norm_rows(const float* x, const float* weight, float* out, int64_t rows, cpu::ThreadPool* pool) const;
  // The attention temperature's factor on each of the step's tokens' queries, once per step (into
  // query_scale_, left empty when it is 1 for every token); and layer `layer`'s share of them: those
  // factors, or null where it puts none (1 for every token, or not this layer).
  void step_query_scales(const std::vector<int32_t>& positions);
  const float* query_scales(int64_t layer) const;
  // The residual stream's `tokens` rows through `norm` (into xn_), or the stream itself without one.
  const float* normed_input(const std::vector<float>& norm, int64_t tokens);
  // Tensor parallelism: sums a row-parallel product's partial outputs over the ranks.
  void all_reduce(float* data, int64_t count);

  ModelSpec spec_;
  std::string label_;
  // This backend's part of the model: the whole of it without a communicator. The local head and
  // FFN counts below are what the layers' weights and KV cache hold.
  std::shared_ptr<Communicator> communicator_;
  RankShard shard_;
  int64_t heads_ = 0, kv_heads_ = 0, intermediate_ = 0;
  int64_t block_size_;
  int64_t num_blocks_;
  cpu::KvDtype kv_dtype_;
  int64_t weight_bytes_ = 0;
  std::vector<double> inv_freq_, local_inv_freq_;
  cpu::CpuWeight::Mode weight_mode_;
  cpu::CpuWeight embed_;           // [vocab, hidden] (a rank: its shard_.vocab rows)
  cpu::CpuWeight position_embed_;  // [positions, hidden], learned positions (GPT-2); no rows without
  std::vector<float> final_norm_;  // [hidden]
  cpu::CpuWeight lm_head_;         // [vocab, hidden]; no rows when tied to embed_
  std::vector<float> lm_head_bias_;  // [vocab] (a rank: its slice); empty without
  std::vector<Layer> layers_;
  std::unique_ptr<cpu::SequenceStates> states_;  // the recurrent layers' per-sequence state; null without
  std::unique_ptr<cpu::ThreadPool> pool_;

  // Scratch for one step, grown as needed: residual stream, normed input, fused qkv, attention
  // output, gate|up, activation, a sublayer's output before its norm (sandwich norms).
  std::vector<float> x_, xn_, qkv_, attn_, gate_up_, act_, delta_;
  std::vector<float> beside_proj_, beside_out_;  // a Mamba-2 layer beside the attention: in_proj's rows, its output
  std::vector<float> router_in_, experts_out_;   // experts beside a dense MLP: the router's normed rows, their output
  // Per-layer embeddings: the table [vocab, layers · P], the projection [layers · P, hidden], its
  // norm [P]; the step's inputs and the gate's scratch.
  cpu::EmbeddingRows per_layer_embedding_;  // read where the file keeps it (embedding_rows.hpp)
  cpu::CpuWeight per_layer_projection_;
  std::vector<float> per_layer_projection_norm_, per_layer_in_, per_layer_gate_;
  // Gemma 3n: each stream's but the active one's projection from the embeddings and back (AltUp);
  // the streams and their predictions [streams, tokens, hidden]; LAuReL's output [tokens, hidden] and
  // its low-rank rows.
  std::vector<cpu::CpuWeight> altup_in_, altup_out_;
  std::vector<float> streams_, predictions_, laurel_, laurel_low_;
  std::vector<float> state_scratch_;     // a recurrent layer's intermediate rows (its convolution's output)
  cpu::LatentScratch latent_scratch_;
  std::vector<float> query_scale_;  // per token of the step, the attention temperature's factor; empty: none
  std::vector<float> local_logits_;      // a rank's vocabulary slice of the logits
  cpu::QuantizedActivations quantized_;  // the input of the next projection, as int8 blocks
};

}  // namespace troupe
