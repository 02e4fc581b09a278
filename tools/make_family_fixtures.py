#!/usr/bin/env python3
"""Tiny random models of the families beyond Llama/Qwen, and their reference logits.

Run from the repository root:

    /opt/refenv/bin/python tools/make_family_fixtures.py [--out tests/fixtures/models]

Same conventions as tools/make_model_fixtures.py (whose helpers this imports): float32, eager
attention, one thread, fixed seeds, weights redrawn N(0, 0.08²), norms 1 + 0.1·N(0,1) — for Gemma,
whose checkpoints store w for a (1 + w) norm, 0.1·N(0,1) — and reference.json + raw float32 logits,
every sequence run on its own through transformers. The fixtures of every set (Gemma 3, IQuest-Coder,
Phi-3, Gemma 2, Granite, SmolLM3, Mistral 3, the mixtures of experts, OLMo, Cohere, GLM-4, EXAONE, ...) hold weights
rounded to bfloat16 and saved so (their GGUFs converted with --outtype bf16): half the bytes, and
still exact, since the reference runs on those same weights in float32. Writes:

  gemma3/        Gemma3ForCausalLM: 5 layers (sliding, sliding, full, sliding, full), sliding
                 window 8 (shorter than every case but one), local RoPE base 10,000 and global 1e6
                 with linear scaling 2, query_pre_attn_scalar 24 (not head_dim 32), GELU-tanh,
                 q/k norms, sandwich norms, scaled embeddings, tied.
  gemma3_gguf/   the same weights as a gemma3 GGUF, written as llama.cpp's converter writes one
                 (matrices in BF16, norms in F32 + 1, llama.cpp's tensor names, no q/k permutation, the per-layer
                 sliding_window_pattern array); llama.cpp takes 1/sqrt(head_dim) for the query
                 scale, so its reference is the model with query_pre_attn_scalar = head_dim.
  mistral/       MistralForCausalLM with a sliding window of 8 over both layers.
  mistral3/      Mistral3ForConditionalGeneration (Mistral Small 3.1's layout): a Mistral language model
                 (no window, rope base 1e9) under model.language_model, beside a tiny Pixtral vision
                 tower and projector that a text-only server leaves unread; logits of text input.
  iquestcoder/   an IQuest-Coder-shaped model (model_type iquestcoder): Llama's layers with
                 clip_qkv 0.25 (q, k and v clamped after their projections) and a sliding window
                 of 8 on the layers from max_window_layers = 1 (use_sliding_window). IQuest's
                 modeling code is not on PyPI: the reference is Qwen2ForCausalLM (whose layers are
                 Llama's plus q/k/v biases, here all zero, and which slides the same layers) with
                 forward hooks clamping the three projections.
  llama_yarn/    LlamaForCausalLM with YaRN (factor 4 over an original 32 positions, so the 40-token
                 case runs far past it, and its attention factor 0.1·ln 4 + 1).
  phi3/          Phi3ForCausalLM: fused qkv_proj and gate_up_proj, a sliding window of 8 over both layers,
                 LongRoPE with random short and long factor sets, max_position_embeddings = original
                 context = 128: the short set, which transformers uses for every case here.
  phi3_long/     the same weights with an original context of 32 (scale 4), only the long case (40 tokens):
                 transformers takes the long set past the original context, and troupe, serving 128
                 positions, takes it for every position (as vLLM and llama.cpp); attention factor
                 sqrt(1 + ln 4 / ln 32). Its model.safetensors.index.json points at phi3's weights.
  phi3_gguf/     phi3_long converted by llama.cpp's own convert_hf_to_gguf.py (peer tree, BF16): attn_qkv,
                 ffn_up holding gate and up, rope_factors_short/long.weight, the attention factor.
  phi3_partial/  Phi-4-mini's partial rotary: partial_rotary_factor 0.75 (12 of 16 dimensions rotated,
                 6 factors a set), original context 128; and phi3_partial_gguf, its llama.cpp conversion
                 (rope.dimension_count 12).
  starcoder2/    Starcoder2ForCausalLM (--only biased_norms, after lfm2): LayerNorms with biases, biases on
                 every projection, an MLP without a gate (GELU-tanh), a sliding window of 8, tied; and
                 starcoder2_gguf, llama.cpp's conversion of the same weights without the window (its
                 converter writes none, and llama.cpp runs starcoder2 without one).
  phi/           PhiForCausalLM (Phi-2's layout; --only biased_norms): attention and the MLP side by side on
                 one biased LayerNorm, RoPE on half of each head, biases everywhere, lm_head's too; and
                 phi_gguf (phi2, q|k|v in one attn_qkv as the older files hold them).
  stablelm/      StableLmForCausalLM (StableLM 2 1.6B's layout; --only biased_norms): a gated SiLU MLP
                 behind biased LayerNorms, RoPE on a quarter of each head, q/k/v biases; and stablelm_gguf.
  stablelm_12b/  StableLM 2 12B's layout: a LayerNorm per head on q and k (qk_layernorm), attention and
                 the MLP on one norm (use_parallel_residual), two key/value heads for four; and
                 stablelm_12b_gguf (the head norms stacked, no ffn_norm).
  exaone/        EXAONE 3.5's layout (--only llama_renamed, after lfm2): Llama's layers under GPT-2's names
                 (transformer.h.N.attn.attention.*, ln_1, c_fc_0, ...) and config keys (num_layers,
                 layer_norm_epsilon, activation_function), llama3 RoPE scaling, as released (transformers
                 loads it into LlamaForCausalLM); and exaone_gguf, llama.cpp's conversion (exaone).
  internlm3/     InternLM3's layout (--only llama_renamed): Llama with its qkv_bias and bias switches on (biases
                 on q, k, v, o and on the gated MLP's three projections); and internlm3_gguf (llama).
  olmo/          OlmoForCausalLM (OLMo 1; --only llama_renamed): LayerNorms without weights, q/k/v clamped
                 at 0.3 (clip_qkv, which bites on these weights); and olmo_gguf, llama.cpp's conversion.
  helium/        HeliumForCausalLM (Kyutai's Helium-1; --only llama_renamed): Llama's layers, RMSNorm epsilon 1e-8.
  hunyuan_dense/ HunYuanDenseV1ForCausalLM (Hunyuan's dense models; --only llama_renamed): q/k RMSNorms after
                 RoPE (query_layernorm, key_layernorm), RoPE "dynamic" with NTK's alpha 1000 as released (a
                 fixed base of 10,000 · 1000^(8/6)); and hunyuan_dense_gguf, llama.cpp's conversion (hunyuan-dense).
  apertus/       ApertusForCausalLM (--only llama_renamed): per-head q/k norms, an MLP without a gate under xIELU,
                 its parameters drawn per layer; and apertus_gguf (apertus: the parameters as metadata arrays).
  glm/           GlmForCausalLM (GLM-4-9B's -hf releases, GLM-Edge; --only llama_renamed): q/k/v biases, gate|up
                 fused, RoPE on half of each head in interleaved pairs; and glm_gguf, llama.cpp's conversion (chatglm).
  dots1/         Dots1ForCausalLM (rednote's dots.llm1; --only llama_renamed): Qwen3's attention, a dense first layer,
                 then DeepSeek-V3's experts (sigmoid, a selection bias, 1 of 2 groups, not renormalized, × 2.5)
                 beside a shared one; and dots1_gguf, llama.cpp's conversion.
  gpt2/          GPT2LMHeadModel (--only gpt, after lfm2): learned positions, biased LayerNorms, Conv1D
                 projections ([in, out]), GELU-tanh, tied; saved as openai-community/gpt2 is (names without
                 "transformer."); and gpt2_gguf, llama.cpp's conversion (gpt2).
  gpt_bigcode/   GPTBigCodeForCausalLM (StarCoder 1, SantaCoder; --only gpt): GPT-2's layers with one key/value
                 head (multi_query) and nn.Linear weights, untied; and gpt_bigcode_gguf (starcoder).
  gpt_neox/      GPTNeoXForCausalLM (Pythia; --only gpt): q|k|v fused head by head, RoPE on a quarter of each
                 head, exact GELU, attention and the MLP side by side on norms of their own; its config with
                 the released keys (rotary_pct, rotary_emb_base); and gpt_neox_gguf (gptneox). gpt_neox_seq:
                 use_parallel_residual false, rotary_pct 1.
  opt/           OPTForCausalLM (opt-125m's layout; --only gpt): learned positions read from row 2 of their table on,
                 biased LayerNorms and projections, a ReLU MLP (fc1, fc2), tied. llama.cpp has no OPT.
  gptj/          GPTJForCausalLM (--only gpt): attention and the MLP side by side on one norm, RoPE on interleaved
                 pairs of the first 8 of each head's 16 dimensions, a biased lm_head. llama.cpp converts no GPT-J.
  falcon/        FalconForCausalLM (Falcon-7B's layout; --only gpt): one key/value head, attention and the MLP side
                 by side on one norm, exact GELU, no projection biases; falcon_40b/ (new_decoder_architecture:
                 two key/value groups of two heads, ln_attn and ln_mlp); each with its llama.cpp conversion
                 (_gguf: q|k|v regrouped by the converter). falcon_seq/: parallel_attn false, a key/value head
                 per query head, biases (llama.cpp's graph has no sequential Falcon).
  gemma/         GemmaForCausalLM (Gemma 1; --only gemma): (1 + w) norms, scaled embeddings, GELU-tanh under its
                 released "gelu"; and gemma_gguf, llama.cpp's conversion.
  gemma2/        Gemma2ForCausalLM: 4 layers (sliding, full, sliding, full), window 8, soft-capped
                 attention scores (cap 2.0) and logits (cap 1.5) — small caps, so that they bite on
                 random weights —, query_pre_attn_scalar 24, sandwich norms, GELU-tanh, tied.
  gemma2_gguf/   gemma2 converted by llama.cpp's convert_hf_to_gguf.py (BF16); llama.cpp scales the
                 query by 1/sqrt(head_dim), so its reference is the model with query_pre_attn_scalar
                 = head_dim.
  granite/       GraniteForCausalLM: embedding multiplier 12, residual multiplier 0.22, attention
                 multiplier 0.0625 (not 1/sqrt(16)), logits divided by 8, tied; and granite_gguf, its
                 llama.cpp conversion (embedding/residual/attention/logit scales as metadata).
  smollm3/       SmolLM3ForCausalLM: 4 layers, the fourth without RoPE (no_rope_layer_interval 4), tied
                 embeddings.
  smollm3_gguf/  smollm3 converted by llama.cpp's convert_hf_to_gguf.py (BF16; q/k rows permuted, the
                 NoPE step implied by the architecture).
  qwen3_moe/     Qwen3MoeForCausalLM: 3 layers, the second dense (mlp_only_layers), the others 8 experts
                 of 32 columns with 3 per token, probabilities not renormalized (norm_topk_prob false,
                 Qwen3MoeConfig's default); q/k norms.
  qwen3_moe_gguf/ a 2-layer Qwen3-MoE with renormalized probabilities (as Qwen3-30B-A3B), as llama.cpp's
                 convert_hf_to_gguf.py writes it (F32; experts stacked in ffn_*_exps); its vocabulary
                 taken from the SentencePiece model (the converter would want a Qwen BPE tokenizer).
  qwen3_moe_gguf_q8/ qwen3_moe_gguf quantized to Q8_0 by llama.cpp's llama-quantize (the router and norms
                 stay F32, as llama-quantize leaves them); the reference is the model holding the
                 file's dequantized weights (the gguf package's dequantize).
  qwen3_gguf_mixed/ a 2-layer Qwen3 with widths of whole 256-weight blocks (hidden 256, MLP 512), converted
                 by llama.cpp and quantized by its llama-quantize tensor by tensor into Q2_K, Q3_K,
                 IQ4_NL and IQ4_XS (MIXED_TYPES; embedding Q3_K, output IQ4_XS); the reference is the
                 model holding the file's dequantized weights (the gguf package's dequantize).
  qwen3_gguf_iq/ qwen3_gguf_mixed's shape quantized into the seven lattice types (LATTICE_TYPES; embedding
                 IQ3_S, output IQ3_XXS), llama-quantize given an importance matrix of the model's own
                 activations (write_imatrix); the reference holds the file's dequantized weights.
  glm4_moe/      Glm4MoeForCausalLM (GLM-4.5): 3 layers, the first dense, then 8 experts in 4 groups (2
                 chosen), 3 per token by sigmoid scores with a selection bias, scaled 2.5, a shared
                 expert; q/k/v biases, q/k norms, RoPE on half of each head; and glm4_moe_gguf, its
                 llama.cpp conversion (glm4moe, with an MTP block count of 1 and no MTP tensors).
  qwen2_moe/     Qwen2MoeForCausalLM: 3 layers of 8 experts, 3 per token, not renormalized, beside a
                 shared expert of 64 columns scaled by its sigmoid gate; and qwen2_moe_gguf, its
                 llama.cpp conversion.
  mixtral/       MixtralForCausalLM: 2 layers of 4 experts, 2 per token (block_sparse_moe, w1/w3/w2);
                 and mixtral_gguf, its llama.cpp conversion (architecture llama with experts).
  olmo2/         Olmo2ForCausalLM: no norms before attention and the MLP, norms on their outputs, q/k norms
                 over every head at once; and olmo2_gguf, its llama.cpp conversion (vocabulary from the
                 SentencePiece model, as for qwen3_moe_gguf).
  olmo3/         Olmo3ForCausalLM: OLMo 2's layers, 4 of them, sliding (window 8) but every fourth; and
                 olmo3_gguf, its llama.cpp conversion (olmo2 with a window pattern).
  olmoe/         OlmoeForCausalLM: pre-norm layers with q/k norms over every head, 8 experts of 32
                 columns, 3 per token, not renormalized; and olmoe_gguf, its llama.cpp conversion.
  cohere/        CohereForCausalLM (Command R, Aya): LayerNorm, attention and MLP side by side on one norm,
                 RoPE on interleaved pairs, logits × logit_scale 2.5 (CohereConfig's 0.0625 would
                 shrink random logits below the tests' floor), tied; and cohere_gguf, its llama.cpp
                 conversion (command-r).
  cohere2/       Cohere2ForCausalLM (Command R7B): cohere with 4 layers, the first three sliding (window
                 8) with RoPE, the fourth global without; and cohere2_gguf, its llama.cpp conversion.
  glm4/          Glm4ForCausalLM (GLM-4-0414): norms before and after attention and the MLP, gate|up fused,
                 q/k/v biases, RoPE on the first half of each head in interleaved pairs; and glm4_gguf,
                 its llama.cpp conversion.
  exaone4/       Exaone4ForCausalLM (EXAONE 4.0): OLMo 2's norms, per-head q/k norms, 4 layers sliding
                 (window 8) but every fourth, RoPE on the sliding layers only; and exaone4_gguf, its
                 llama.cpp conversion.
  gpt_oss/       GptOssForCausalLM: 3 layers (sliding window 8, global, sliding), 4 experts of 64 columns,
                 2 per token, biases everywhere, sinks drawn N(0, 1), YaRN (factor 4 over 32 positions,
                 truncate false); the experts' weights put on MXFP4's grid (gguf's quantizer and
                 dequantizer), bfloat16 as transformers saves it (experts fused); gpt_oss_gguf, llama.cpp's
                 conversion with the experts written as MXFP4 (float16 otherwise); and gpt_oss_mxfp4, the
                 same weights as OpenAI released gpt-oss (experts as MXFP4 _blocks/_scales), which
                 transformers' own MXFP4 loader is checked to read back to gpt_oss's logits.
  llama_dynamic/ LlamaForCausalLM with dynamic NTK (factor 2, max_position_embeddings 35), only the
                 70-token case: transformers scales the base with the sequence's length, troupe (as
                 vLLM) with the longest it serves, 35 × 2 = 70, and the two agree at that length.
  ministral3/    Mistral3ForConditionalGeneration with a Ministral3 text model (Ministral 3):
                 YaRN (factor 8 over 16 positions, mscale = mscale_all_dim = 1) and Llama 4's attention
                 temperature (beta 0.5, period 16); and ministral3_gguf, llama.cpp's conversion (mistral3).
  mistral4/      Mistral3ForConditionalGeneration with a Mistral4 text model (Mistral Small 4; --only mistral4):
                 latent attention, YaRN, Llama 4's temperature, experts routed by softmax within groups;
                 and mistral4_gguf, llama.cpp's conversion (mistral4).
  qwen2_5_vl/    Qwen2_5_VLForConditionalGeneration as released (a flat config.json, mrope, model.* and visual.*
                 tensors; --only qwen2_5_vl, after qwen3_vl, whose tokenizer it takes): its language model, for text.
  qwen3_vl/      Qwen3VLForConditionalGeneration (Qwen3-VL): its language model (interleaved multimodal RoPE,
                 which for text is Qwen3's) beside a one-block vision tower; qwen3_vl_moe_gguf, a
                 Qwen3-VL-MoE (8 experts, 3 per token, fused as released) as llama.cpp converts it
                 (qwen3vlmoe).
  seed_oss/      SeedOssForCausalLM (Seed-OSS): q/k/v biases, none on the output; and seed_oss_gguf,
                 llama.cpp's conversion.
  lfm2/          Lfm2ForCausalLM (LFM2): short-convolution layers around an attention layer, config.json
                 as released; and lfm2_gguf, llama.cpp's conversion (lfm2).
  granite_hybrid/ GraniteMoeHybridForCausalLM (Granite 4.0-H, dense; --only granite_hybrid, after lfm2): Mamba-2
                 layers around a NoPE attention layer, config.json as released; and granite_hybrid_gguf.
  granite_hybrid_moe/ the same with experts (H-Tiny's layout: 3-D expert tensors, the dense MLP as a
                 shared expert; --only granite_hybrid_moe, after lfm2); and granite_hybrid_moe_gguf.
  granite_moe/   GraniteMoeSharedForCausalLM (Granite 3's experts beside a shared MLP; --only granite_moe,
                 after lfm2); and granite_moe_gguf, llama.cpp's conversion (granitemoe).
  granite_swa/, granitemoe_swa/ GraniteSWAForCausalLM and GraniteMoeSWAForCausalLM (Granite's sliding-window
                 releases; --only granite_swa, after lfm2): sliding layers, sinks, a RoPE base per layer;
                 experts beside a shared MLP; and granitemoe_swa_gguf, llama.cpp's conversion (granite_swa).
  lfm2_moe/      Lfm2MoeForCausalLM (LFM2-8B-A1B's layout, --only lfm2_moe, after lfm2): a dense layer, then
                 experts by sigmoid scores and a selection bias; and lfm2_moe_gguf, llama.cpp's conversion.
  qwen3_5/       Qwen3_5ForConditionalGeneration (Qwen3.5): gated delta nets and a full-attention layer
                 with its output gate, as released beside a vision tower; and qwen3_5_gguf, llama.cpp's
                 conversion (qwen35: value heads reordered, −exp(A_log) stored, norms as 1 + w);
                 qwen3_5_moe/ and qwen3_5_moe_gguf (--only qwen3_5_moe), its mixture of experts as
                 released (experts in 3-D tensors) and as llama.cpp's conversion.
  qwen3_next/    Qwen3NextForCausalLM (Qwen3-Next; --only qwen3_next, after qwen3_5): qwen3_5_moe's shape with the
                 delta nets' projections fused per key head as released; and qwen3_next_gguf, llama.cpp's
                 conversion (qwen3next).
  nemotron_h/, nemotron_h_moe/, nemotron_h_latent/ NemotronHForCausalLM (Nemotron-H: Nano 2's, Nemotron 3
                 Nano's and Super's layouts; --only nemotron_h, after lfm2): layers of one sublayer each by
                 hybrid_override_pattern, relu² MLPs without a gate, experts by sigmoid scores and a
                 selection bias (in a latent space for Super's); and their llama.cpp conversions
                 (nemotron_h_gguf, nemotron_h_moe_gguf, nemotron_h_latent_gguf).
  gemma3n/       Gemma3nForCausalLM (Gemma 3n E2B/E4B's layers; --only gemma3n): AltUp's four streams,
                 LAuReL, per-layer embeddings from a table shorter than the vocabulary, Gaussian top-k on the
                 first layers' gates, shared keys and values; and gemma3n_gguf, llama.cpp's conversion.
  llama4/        Llama4ForConditionalGeneration (Llama 4 Scout's layout; --only llama4): chunked attention, a
                 NoPE layer, weightless q/k norms, experts on sigmoid-scaled inputs beside a shared expert,
                 interleaved RoPE with llama3 scaling; llama4_gguf, llama.cpp's conversion; llama4_chunked,
                 Llama4ForCausalLM in Maverick's layout with chunks of 8 and the temperature's period 4.
  lfm2_vl/, lfm3_vl/ Lfm2VlForConditionalGeneration and Lfm3VlForConditionalGeneration (--only vl_wrappers, after
                 lfm2 and lfm3): those fixtures' language models beside a tiny vision tower, their logits shared.
  solar_open/    SolarOpenForCausalLM (Solar-Open-100B's layout; --only solar_open, after lfm2): Llama's attention,
                 GLM-4.5's experts in every layer; no GGUF (llama.cpp's tree has no solar_open).
  ministral/     MinistralForCausalLM (Ministral-8B-2410's layout; --only ministral, after lfm2): Mistral's layers,
                 sliding and full attention by layer_types.
  arcee/         ArceeForCausalLM (Arcee's AFM; --only arcee, after lfm2): Llama's layers, a relu² MLP without
                 a gate; and arcee_gguf, llama.cpp's conversion.
  lfm3/          Lfm3ForCausalLM (LFM3; --only lfm3, after lfm2): convolutions, sliding and full attention
                 (proportional RoPE), a gate per head, sandwich norms; no GGUF (llama.cpp's tree has no lfm3).
  falcon_h1/     FalconH1ForCausalLM (Falcon-H1; --only falcon_h1, after lfm2): attention and Mamba-2 side by
                 side in every layer, µP multipliers away from 1; and falcon_h1_gguf, llama.cpp's conversion.
  ernie4_5/, ernie4_5_moe/ Ernie4_5ForCausalLM and Ernie4_5_MoeForCausalLM (ERNIE 4.5; --only ernie, after
                 lfm2): RoPE on interleaved pairs; experts by softmax plus a selection bias beside shared
                 experts; and their llama.cpp conversions (ernie4_5_gguf, ernie4_5_moe_gguf).
  minimax_m2/    MiniMaxM2ForCausalLM (MiniMax-M2): whole-projection q/k norms, RoPE on half of each head
                 (rotary_dim), 4 experts (2 per token, Mixtral's names) by sigmoid scores plus a selection
                 bias; and minimax_m2_gguf, llama.cpp's conversion (minimax-m2).
  deepseek_v2_gguf/, glm4_moe_lite_gguf/, deepseek_v3_fp8/, deepseek_v2_gguf_q8/ (--only deepseek):
                 multi-head latent attention — DeepSeek-V2 and GLM-4.7-Flash as llama.cpp's GGUF,
                 DeepSeek-V3 as its block-scaled FP8 checkpoint, a DeepSeek-V2 in llama-quantize's
                 Q8_0 (deepseek_fixtures, deepseek_fp8_fixture, deepseek_q8_fixture say how).
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# llama.cpp's converter, from the peer tree tools/peer/build_llamacpp.sh unpacks (phi3_gguf).
PEER = Path(os.environ.get("PEER_CACHE", Path.home() / ".cache" / "troupe")) / "llama.cpp-0.3.36"

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_model_fixtures as base  # noqa: E402
from make_bench_models import write_imatrix_gguf  # noqa: E402
from make_tokenizer_fixtures import write_gemma4_tokenizer, write_llama4_tokenizer  # noqa: E402
from make_model_fixtures import (BOS_ID, EOS_ID, INIT_STD, NORM_JITTER, build_model, logits_cases,  # noqa: E402
                                 run_logits, write_reference)

# The long case of this script's fixtures: 40 tokens (make_model_fixtures' llama, qwen2 and qwen3 keep
# 70, past llama's original context of 64), enough to cross every window, period and original context
# here, and 30 rows of logits fewer per fixture for the tree that travels to a lent GPU.
FAMILY_LONG = 40


def make_sequences(vocab: int, seed: int, long: int = FAMILY_LONG) -> list:
    return base.make_sequences(vocab, seed, long)

import gguf  # noqa: E402
from safetensors.torch import load_file, save_file  # noqa: E402
from transformers import (Qwen3Config, Qwen3ForCausalLM, MixtralConfig, MixtralForCausalLM, Qwen3MoeConfig, Qwen3MoeForCausalLM,  # noqa: E402
                          Exaone4Config, Exaone4ForCausalLM, Glm4Config, Glm4ForCausalLM, CohereConfig, CohereForCausalLM, Cohere2Config, Cohere2ForCausalLM,
                          Olmo2Config, Olmo2ForCausalLM, Olmo3Config, Olmo3ForCausalLM, OlmoeConfig, OlmoeForCausalLM,
                          Gemma2Config, Gemma2ForCausalLM, Gemma3ForCausalLM, Gemma3TextConfig, GraniteConfig,
                          GraniteForCausalLM, Mistral3Config, Mistral3ForConditionalGeneration, PixtralVisionConfig, LlamaConfig, LlamaForCausalLM,  # noqa: E402
                          MistralConfig, MistralForCausalLM, Phi3Config, Phi3ForCausalLM, Qwen2Config,
                          Qwen2ForCausalLM, SmolLM3Config, SmolLM3ForCausalLM)

# Each servable fixture gets a small SentencePiece tokenizer (trained here on the ASCII lines of the
# tokenizer corpus, with byte fallback) of exactly its vocabulary size, and a chat template in its
# family's turn format, so that `troupe serve` runs it end to end.
GEMMA_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'assistant' %}{% set role = 'model' %}"
    "{% else %}{% set role = message['role'] %}{% endif %}"
    "{{ '<start_of_turn>' + role + '\n' + message['content'] | trim + '<end_of_turn>\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<start_of_turn>model\n' }}{% endif %}")
MISTRAL_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}"
    "{{ '[INST] ' + message['content'] + ' [/INST]' }}{% else %}{{ message['content'] + eos_token }}{% endif %}"
    "{% endfor %}")
PHI3_TEMPLATE = (
    "{% for message in messages %}{{ '<|' + message['role'] + '|>\n' + message['content'] + '<|end|>\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% else %}{{ eos_token }}{% endif %}")
CHATML_TEMPLATE = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")


def tiny_tokenizer(folder: Path, vocab: int, tokenizer_class: str, pieces: dict, symbols: list, dummy_prefix: bool,
                   template: str, **config) -> None:
    import sentencepiece as spm
    corpus = ROOT / "tests" / "fixtures" / "tokenizer" / "corpus.jsonl"
    lines = [json.loads(l)["text"] for l in corpus.read_text(encoding="utf-8").split("\n") if l]
    text = folder / "train.txt"
    text.write_text("\n".join(t.replace("\n", " ") for t in lines if t.isascii() and t.strip()) + "\n")
    spm.SentencePieceTrainer.train(input=str(text), model_prefix=str(folder / "tokenizer"), model_type="bpe",
                                   vocab_size=vocab, byte_fallback=True, character_coverage=1.0, num_threads=1,
                                   unk_id=0, bos_id=1, eos_id=2, pad_id=-1, unk_piece="<unk>",
                                   bos_piece=pieces["bos"], eos_piece=pieces["eos"], user_defined_symbols=symbols,
                                   add_dummy_prefix=dummy_prefix, remove_extra_whitespaces=False,
                                   normalization_rule_name="identity", allow_whitespace_only_pieces=True,
                                   split_digits=True, input_sentence_size=0, shuffle_input_sentence=False)
    text.unlink()
    (folder / "tokenizer.vocab").unlink()
    sp = spm.SentencePieceProcessor(model_file=str(folder / "tokenizer.model"))
    assert sp.get_piece_size() == vocab
    added = {str(i): {"content": sp.id_to_piece(i), "lstrip": False, "normalized": False, "rstrip": False,
                      "single_word": False, "special": True}
             for i in range(vocab) if sp.is_control(i) or sp.is_unknown(i) or sp.id_to_piece(i) in symbols}
    cfg = {"tokenizer_class": tokenizer_class, "bos_token": pieces["bos"], "eos_token": pieces["eos"],
           "unk_token": "<unk>", "added_tokens_decoder": added, "chat_template": template, **config}
    (folder / "tokenizer_config.json").write_text(json.dumps(cfg, indent=1) + "\n")


LAYER_TYPES = ["sliding_attention", "sliding_attention", "full_attention", "sliding_attention", "full_attention"]


def gemma3_config(query_pre_attn_scalar: int) -> Gemma3TextConfig:
    return Gemma3TextConfig(
        vocab_size=512, hidden_size=64, intermediate_size=128, num_hidden_layers=5, num_attention_heads=4,
        num_key_value_heads=2, head_dim=32, hidden_activation="gelu_pytorch_tanh", max_position_embeddings=256,
        rms_norm_eps=1e-6, tie_word_embeddings=True, attention_bias=False, query_pre_attn_scalar=query_pre_attn_scalar,
        sliding_window=8, layer_types=LAYER_TYPES, final_logit_softcapping=None, attn_logit_softcapping=None,
        initializer_range=INIT_STD, bos_token_id=BOS_ID, eos_token_id=EOS_ID, pad_token_id=0,
        rope_parameters={"full_attention": {"rope_type": "linear", "factor": 2.0, "rope_theta": 1_000_000.0},
                         "sliding_attention": {"rope_type": "default", "rope_theta": 10_000.0}})


def build_gemma(config, seed: int, cls=Gemma3ForCausalLM):
    model = build_model(cls, config, seed)
    # Gemma stores w for a norm that scales by (1 + w): redraw the norms around 0.
    gen = torch.Generator().manual_seed(seed + 2000)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters(), key=lambda kv: kv[0]):
            if name.endswith("norm.weight"):
                p.copy_(NORM_JITTER * torch.randn(p.shape, generator=gen))
    return model


def llama_like(**overrides) -> dict:
    cfg = dict(vocab_size=600, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
               num_key_value_heads=2, head_dim=16, hidden_act="silu", max_position_embeddings=128, rms_norm_eps=1e-5,
               tie_word_embeddings=False, initializer_range=INIT_STD, bos_token_id=BOS_ID, eos_token_id=EOS_ID)
    cfg.update(overrides)
    return cfg


# ----------------------------------------------------------------------------------------------
# GGUF for gemma3, as llama.cpp's converter writes it


def gemma3_gguf_tensors(model) -> list:
    sd = {k: v.detach().to(torch.float32).numpy().copy() for k, v in model.state_dict().items()}
    names = {"input_layernorm": "attn_norm", "post_attention_layernorm": "post_attention_norm",
             "pre_feedforward_layernorm": "ffn_norm", "post_feedforward_layernorm": "post_ffw_norm",
             "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
             "self_attn.o_proj": "attn_output", "self_attn.q_norm": "attn_q_norm", "self_attn.k_norm": "attn_k_norm",
             "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down"}
    out = [("token_embd.weight", sd["model.embed_tokens.weight"])]
    for i in range(model.config.num_hidden_layers):
        for hf, gg in names.items():
            arr = sd[f"model.layers.{i}.{hf}.weight"]
            if gg.endswith("norm"):
                arr = arr + 1.0  # the converter's norm shift: Gemma's (1 + w) baked in
            out.append((f"blk.{i}.{gg}.weight", arr))
    out.append(("output_norm.weight", sd["model.norm.weight"] + 1.0))
    return out


def write_gemma3_gguf(model, path: Path) -> None:
    cfg = model.config
    w = gguf.GGUFWriter(str(path), "gemma3")
    w.add_name("troupe-tiny-gemma3")
    w.add_block_count(cfg.num_hidden_layers)
    w.add_context_length(cfg.max_position_embeddings)
    w.add_embedding_length(cfg.hidden_size)
    w.add_feed_forward_length(cfg.intermediate_size)
    w.add_head_count(cfg.num_attention_heads)
    w.add_head_count_kv(cfg.num_key_value_heads)
    w.add_key_length(cfg.head_dim)
    w.add_value_length(cfg.head_dim)
    w.add_layer_norm_rms_eps(float(cfg.rms_norm_eps))
    w.add_rope_freq_base(float(cfg.rope_parameters["full_attention"]["rope_theta"]))
    w.add_rope_scaling_type(gguf.RopeScalingType.LINEAR)
    w.add_rope_scaling_factor(float(cfg.rope_parameters["full_attention"]["factor"]))
    w.add_sliding_window(cfg.sliding_window)
    w.add_array("gemma3.attention.sliding_window_pattern", [t == "sliding_attention" for t in cfg.layer_types])
    w.add_file_type(gguf.LlamaFileType.MOSTLY_BF16)
    w.add_bos_token_id(BOS_ID)
    w.add_eos_token_id(EOS_ID)
    for name, arr in gemma3_gguf_tensors(model):
        arr = np.ascontiguousarray(arr, dtype=np.float32)
        if arr.ndim == 2:  # bfloat16 values already: stored so, exactly
            w.add_tensor(name, gguf.quants.quantize(arr, gguf.GGMLQuantizationType.BF16),
                         raw_dtype=gguf.GGMLQuantizationType.BF16)
        else:
            w.add_tensor(name, arr)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


# ----------------------------------------------------------------------------------------------


def bf16(model):
    """Rounds every weight to bfloat16 (held in float32): such a fixture is saved in bfloat16, half
    the bytes of float32 (the tree travels to a lent GPU within 64 MiB), and its reference logits
    are those of exactly the weights saved, still computed in float32."""
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.to(torch.bfloat16).to(torch.float32))
    return model


def save_bf16(model):
    """A saver for emit(): the model's weights as bfloat16 (a copy: the model itself, and its
    float32 RoPE buffers, stay as they are)."""
    return lambda folder: copy.deepcopy(model).to(torch.bfloat16).save_pretrained(folder)


def emit(folder: Path, model, cases, saver=None, vocab=None) -> float:
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    (saver or model.save_pretrained)(folder)
    files, scale = logits_cases(model, folder, cases)
    write_reference(folder, ".", vocab or model.config.vocab_size, cases, files)
    print(f"{folder.name}: max|logit| = {scale:.4f}")
    return scale


def emit_llamacpp_gguf(folder: Path, source: Path, reference_model, cases, vocab: int,
                       sentencepiece_class: str | None = None, outtype: str = "f32", prelude: str = "",
                       extra_args: tuple[str, ...] = ()) -> None:
    """`source` (a model directory) as llama.cpp's own converter (peer tree) writes it (`outtype`:
    f32, or bf16 for a bfloat16 source), into folder/model.gguf, with the logits of `reference_model` as its reference.
    `sentencepiece_class` names a converter class (module.Class under conversion/) whose vocabulary
    is read from tokenizer.model instead of the BPE tokenizer.json it expects; tensors and metadata
    are still the converter's own. `prelude`: Python run in the converter's process first (with
    sentencepiece_class, or alone), e.g. to store some tensors in another type."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    src = PEER / "src" / "vendor" / "llama.cpp"
    args = [str(source), "--outtype", outtype, "--outfile", str(folder / "model.gguf"), *extra_args]
    if prelude and not sentencepiece_class:
        command = [sys.executable, "-c", f"{prelude}\nimport runpy, sys; sys.argv = ['convert_hf_to_gguf.py'] + {args!r}; "
                                         f"runpy.run_path('convert_hf_to_gguf.py', run_name='__main__')"]
    elif sentencepiece_class:
        module, cls = sentencepiece_class.rsplit(".", 1)
        command = [sys.executable, "-c",
                   f"{prelude}\nimport runpy, sys; import conversion.{module} as m; "
                   f"m.{cls}.set_vocab = lambda self: self._set_vocab_sentencepiece(); "
                   f"sys.argv = ['convert_hf_to_gguf.py'] + {args!r}; "
                   f"runpy.run_path('convert_hf_to_gguf.py', run_name='__main__')"]
    else:
        command = [sys.executable, str(src / "convert_hf_to_gguf.py"), *args]
    subprocess.run(command, check=True, cwd=src, stdout=subprocess.DEVNULL,
                   env=dict(os.environ, PYTHONPATH=f"{src / 'gguf-py'}:{src}"))
    files, scale = logits_cases(reference_model, folder, cases)
    share_logits(folder, source, files)
    write_reference(folder, "model.gguf", vocab, cases, files)
    print(f"{folder.name}: max|logit| = {scale:.4f}")


def emit_released(out: Path, name: str, model, cases, saver=None, tokenizer_from: str | None = "lfm2",
                  vocab: int | None = None) -> None:
    """out/name as transformers saves `model` (or `saver` writes it), checked to read back to the same
    logits, with the tokenizer files of the fixture `tokenizer_from` (None: the caller writes them)."""
    emit(out / name, model, cases, saver=saver or save_bf16(model), vocab=vocab)
    reloaded = type(model).from_pretrained(out / name, dtype=torch.float32, attn_implementation="eager").eval()
    assert np.array_equal(run_logits(reloaded, cases[-1][1]), run_logits(model, cases[-1][1])), f"{name} reload"
    for file in ("tokenizer.model", "tokenizer_config.json") if tokenizer_from else ():
        shutil.copy(out / tokenizer_from / file, out / name / file)


def emit_released_and_gguf(out: Path, name: str, model, cases, saver=None, tokenizer_from: str = "lfm2",
                           **gguf_args) -> None:
    """emit_released's out/name, and out/name_gguf, llama.cpp's conversion of that folder (BF16 unless
    gguf_args say otherwise)."""
    emit_released(out, name, model, cases, saver, tokenizer_from)
    emit_llamacpp_gguf(out / f"{name}_gguf", out / name, model, cases, 384, **{"outtype": "bf16", **gguf_args})


def share_logits(folder: Path, source: Path, files: dict[str, str]) -> None:
    """Logits files identical to those of the sibling fixture `source` (the same model, another
    format) are dropped and referenced there instead: the tree that travels stays small."""
    if source.parent != folder.parent:
        return
    for name, fname in files.items():
        theirs = source / fname
        if theirs.exists() and theirs.read_bytes() == (folder / fname).read_bytes():
            (folder / fname).unlink()
            files[name] = f"../{source.name}/{fname}"


def phi3_config(original: int, rotary: float = 1.0) -> Phi3Config:
    rng = np.random.default_rng(909)
    half = int(16 * rotary) // 2  # head_dim 16
    rope = {"rope_type": "longrope", "rope_theta": 10_000.0, "partial_rotary_factor": rotary,
            "short_factor": [float(x) for x in rng.uniform(1.0, 3.0, half)],
            "long_factor": [float(x) for x in rng.uniform(2.0, 12.0, half)]}
    return Phi3Config(**llama_like(sliding_window=8, original_max_position_embeddings=original, pad_token_id=0,
                                   partial_rotary_factor=rotary, rope_parameters=rope))


def llama_variant_fixtures(out: Path) -> None:
    """Mistral with a sliding window over every layer; Llama with YaRN and with dynamic NTK past the
    original context."""
    mistral = bf16(build_model(MistralForCausalLM, MistralConfig(**llama_like(
        sliding_window=8, rope_parameters={"rope_type": "default", "rope_theta": 1_000_000.0})), 505))
    emit(out / "mistral", mistral, make_sequences(600, 511), saver=save_bf16(mistral))
    tiny_tokenizer(out / "mistral", 600, "LlamaTokenizer", {"bos": "<s>", "eos": "</s>"}, [], True, MISTRAL_TEMPLATE,
                   add_bos_token=True, legacy=False)
    yarn = bf16(build_model(LlamaForCausalLM, LlamaConfig(**llama_like(rope_parameters={
        "rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 32, "rope_theta": 10_000.0})), 707))
    emit(out / "llama_yarn", yarn, make_sequences(600, 711), saver=save_bf16(yarn))
    dynamic = bf16(build_model(LlamaForCausalLM, LlamaConfig(**llama_like(max_position_embeddings=35, rope_parameters={
        "rope_type": "dynamic", "factor": 2.0, "rope_theta": 10_000.0})), 808))
    long_only = [c for c in make_sequences(600, 811, long=70) if c[0] == "long"]
    assert len(long_only[0][1][0]) == 70
    emit(out / "llama_dynamic", dynamic, long_only, saver=save_bf16(dynamic))


def phi3_fixtures(out: Path) -> None:
    """Phi-3: the model at its original context (short factors), past it (long factors), and as
    llama.cpp converts the latter."""
    phi = bf16(build_model(Phi3ForCausalLM, phi3_config(128), 909))
    emit(out / "phi3", phi, make_sequences(600, 911), saver=save_bf16(phi))
    tiny_tokenizer(out / "phi3", 600, "LlamaTokenizer", {"bos": "<s>", "eos": "<|endoftext|>"},
                   ["<|user|>", "<|assistant|>", "<|end|>"], True, PHI3_TEMPLATE, add_bos_token=False, legacy=False)
    long_phi = build_model(Phi3ForCausalLM, phi3_config(32), 909)
    long_phi.load_state_dict(phi.state_dict())
    long_only = [c for c in make_sequences(600, 911) if c[0] == "long"]
    assert len(long_only[0][1][0]) == 70
    emit(out / "phi3_long", long_phi, long_only, saver=save_bf16(long_phi))
    # The tokenizer for llama.cpp's converter only: these folders are not served, so not kept.
    tokenizer_files = ("tokenizer.model", "tokenizer_config.json")
    for name in tokenizer_files:
        shutil.copy(out / "phi3" / name, out / "phi3_long" / name)
    emit_llamacpp_gguf(out / "phi3_gguf", out / "phi3_long", long_phi, long_only, 600, outtype="bf16")
    for name in tokenizer_files:
        (out / "phi3_long" / name).unlink()
    # phi3_long's weights are phi3's: an index points at them rather than a second copy of the bytes.
    names = sorted(load_file(str(out / "phi3_long" / "model.safetensors")))
    assert (out / "phi3_long" / "model.safetensors").read_bytes() == (out / "phi3" / "model.safetensors").read_bytes()
    (out / "phi3_long" / "model.safetensors").unlink()
    index = {"metadata": {}, "weight_map": {name: "../phi3/model.safetensors" for name in names}}
    (out / "phi3_long" / "model.safetensors.index.json").write_text(json.dumps(index, indent=1) + "\n")
    partial = bf16(build_model(Phi3ForCausalLM, phi3_config(128, 0.75), 919))
    cases = make_sequences(600, 921)
    emit(out / "phi3_partial", partial, cases, saver=save_bf16(partial))
    for name in tokenizer_files:
        shutil.copy(out / "phi3" / name, out / "phi3_partial" / name)
    emit_llamacpp_gguf(out / "phi3_partial_gguf", out / "phi3_partial", partial, cases, 600, outtype="bf16")
    for name in tokenizer_files:
        (out / "phi3_partial" / name).unlink()


def gemma2_config(query_pre_attn_scalar: int) -> Gemma2Config:
    return Gemma2Config(
        vocab_size=512, hidden_size=64, intermediate_size=128, num_hidden_layers=4, num_attention_heads=4,
        num_key_value_heads=2, head_dim=32, hidden_activation="gelu_pytorch_tanh", max_position_embeddings=256,
        rms_norm_eps=1e-6, tie_word_embeddings=True, attention_bias=False, query_pre_attn_scalar=query_pre_attn_scalar,
        sliding_window=8, final_logit_softcapping=1.5, attn_logit_softcapping=2.0, initializer_range=INIT_STD,
        bos_token_id=BOS_ID, eos_token_id=EOS_ID, pad_token_id=0,
        rope_parameters={"rope_type": "default", "rope_theta": 10_000.0})


def gemma_fixtures(out: Path) -> None:
    """Gemma 1 (GemmaForCausalLM; --only gemma): (1 + w) norms, embeddings × √hidden, GELU-tanh (its
    released configs' legacy "gelu", as GemmaConfig reads it), heads of 16 over a hidden size of 32,
    one key/value head, tied embeddings; and gemma_gguf, llama.cpp's conversion (gemma)."""
    from transformers import GemmaConfig, GemmaForCausalLM
    config = GemmaConfig(vocab_size=384, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                         num_key_value_heads=1, head_dim=16, hidden_act="gelu", max_position_embeddings=128,
                         rms_norm_eps=1e-6, tie_word_embeddings=True, initializer_range=INIT_STD, bos_token_id=BOS_ID,
                         eos_token_id=EOS_ID, pad_token_id=0, rope_parameters={"rope_type": "default", "rope_theta": 10_000.0})
    model = bf16(build_gemma(config, 5901, GemmaForCausalLM))
    cases = small_cases(5911)

    def save_released(folder: Path) -> None:  # config.json as Gemma 1 is released: hidden_act "gelu"
        save_bf16(model)(folder)
        cfg = json.loads((folder / "config.json").read_text())
        cfg["hidden_act"] = "gelu"
        (folder / "config.json").write_text(json.dumps(cfg, indent=1) + "\n")

    emit(out / "gemma", model, cases, saver=save_released)
    tiny_tokenizer(out / "gemma", 384, "GemmaTokenizer", {"bos": "<bos>", "eos": "<eos>"},
                   ["<start_of_turn>", "<end_of_turn>"], False, GEMMA_TEMPLATE, add_bos_token=True)
    emit_llamacpp_gguf(out / "gemma_gguf", out / "gemma", model, cases, 384, outtype="bf16")


def gemma2_fixtures(out: Path) -> None:
    """Gemma 2: soft-capping, alternating windows; and llama.cpp's conversion."""
    model = bf16(build_gemma(gemma2_config(24), 1101, Gemma2ForCausalLM))
    assert model.config.layer_types == ["sliding_attention", "full_attention"] * 2, model.config.layer_types
    cases = make_sequences(512, 1111)
    emit(out / "gemma2", model, cases, saver=save_bf16(model))
    tiny_tokenizer(out / "gemma2", 512, "GemmaTokenizer", {"bos": "<bos>", "eos": "<eos>"},
                   ["<start_of_turn>", "<end_of_turn>"], False, GEMMA_TEMPLATE, add_bos_token=True)
    twin = build_gemma(gemma2_config(32), 1101, Gemma2ForCausalLM)
    twin.load_state_dict(model.state_dict())
    emit_llamacpp_gguf(out / "gemma2_gguf", out / "gemma2", twin, cases, 512, outtype="bf16")


def tiny_pixtral() -> PixtralVisionConfig:
    """The vision tower of the Mistral3ForConditionalGeneration fixtures, which a text-only server
    leaves unread."""
    return PixtralVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2,
                               num_channels=3, image_size=32, patch_size=16, head_dim=16)


def mistral3_fixtures(out: Path) -> None:
    """Mistral Small 3.1's multimodal checkpoint layout, read for its language model."""
    text = MistralConfig(**llama_like(sliding_window=None, rope_parameters={"rope_type": "default",
                                                                            "rope_theta": 1_000_000_000.0}))
    config = Mistral3Config(vision_config=tiny_pixtral(), text_config=text, image_token_index=10, tie_word_embeddings=False)
    model = bf16(build_model(Mistral3ForConditionalGeneration, config, 1301))
    emit(out / "mistral3", model, make_sequences(600, 1311), saver=save_bf16(model), vocab=600)
    tiny_tokenizer(out / "mistral3", 600, "LlamaTokenizer", {"bos": "<s>", "eos": "</s>"}, [], True, MISTRAL_TEMPLATE,
                   add_bos_token=True, legacy=False)


# The sizes of the newer families' fixtures (they travel to a lent GPU with the tree): hidden 32,
# heads of 8.
SMALL = dict(hidden_size=32, intermediate_size=64, head_dim=8)


def ministral3_fixtures(out: Path) -> None:
    """Ministral 3 as it is released (Mistral3ForConditionalGeneration holding a ministral3 text model):
    YaRN with mscale = mscale_all_dim, and Llama 4's attention temperature, whose period here (16
    positions) the long sequence crosses twice; and llama.cpp's conversion (mistral3)."""
    from transformers import Ministral3Config
    text = Ministral3Config(**llama_like(**SMALL, sliding_window=None, rope_parameters={
        "rope_type": "yarn", "factor": 8.0, "original_max_position_embeddings": 16, "beta_fast": 32.0,
        "beta_slow": 1.0, "mscale": 1.0, "mscale_all_dim": 1.0, "llama_4_scaling_beta": 0.5,
        "rope_theta": 1_000_000.0}))
    config = Mistral3Config(vision_config=tiny_pixtral(), text_config=text, image_token_index=10, tie_word_embeddings=False)
    model = bf16(build_model(Mistral3ForConditionalGeneration, config, 3301))
    cases = make_sequences(600, 3311)
    cold = copy.deepcopy(config)  # the same weights without the temperature
    cold.text_config.rope_parameters["llama_4_scaling_beta"] = 0.0
    twin = build_model(Mistral3ForConditionalGeneration, cold, 3301)
    twin.load_state_dict(model.state_dict())
    long = [seqs for name, seqs in cases if name == "long"][0]
    gap = float(np.abs(run_logits(model, long) - run_logits(twin, long)).max())
    assert gap > 0.1, f"the temperature moves the long case's logits by only {gap}"
    emit(out / "ministral3", model, cases, saver=save_bf16(model), vocab=600)
    tiny_tokenizer(out / "ministral3", 600, "LlamaTokenizer", {"bos": "<s>", "eos": "</s>"}, [], True, MISTRAL_TEMPLATE,
                   add_bos_token=True, legacy=False)
    emit_llamacpp_gguf(out / "ministral3_gguf", out / "ministral3", model, cases, 600, outtype="bf16")


def mistral4_fixtures(out: Path) -> None:
    """Mistral Small 4 as it is released (Mistral3ForConditionalGeneration holding a mistral4 text model;
    --only mistral4): DeepSeek-V3's latent attention (q through a rank of 32, a latent of 24, 16 + 8
    dimensions per q/k head, RoPE on interleaved pairs) under YaRN (factor 4 over 16 positions, mscale =
    mscale_all_dim = 1), Llama 4's attention temperature (beta 0.5, period 16), a dense first layer,
    then 4 experts of 16 in 2 groups, 2 per token by softmax scores from the group with the best two,
    renormalized, beside a shared expert; the experts as transformers 5 holds them (3-D tensors); and
    mistral4_gguf, llama.cpp's conversion (mistral4: deepseek2's tensors; no temperature key, so its
    cases are the ones within the temperature's period, where the two agree, their logits mistral4's)."""
    from transformers import Mistral4Config
    text = Mistral4Config(vocab_size=600, hidden_size=32, intermediate_size=64, moe_intermediate_size=16,
                          num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=4, n_routed_experts=4,
                          num_experts_per_tok=2, n_group=2, topk_group=1, n_shared_experts=1, first_k_dense_replace=1,
                          routed_scaling_factor=1.0, q_lora_rank=32, kv_lora_rank=24, qk_nope_head_dim=16,
                          qk_rope_head_dim=8, v_head_dim=16, max_position_embeddings=128, rms_norm_eps=1e-5,
                          rope_parameters={"rope_type": "yarn", "rope_theta": 10000.0, "factor": 4.0,
                                           "original_max_position_embeddings": 16, "beta_fast": 32.0, "beta_slow": 1.0,
                                           "mscale": 1.0, "mscale_all_dim": 1.0, "llama_4_scaling_beta": 0.5},
                          initializer_range=INIT_STD, bos_token_id=1, eos_token_id=2, pad_token_id=0,
                          tie_word_embeddings=False)
    config = Mistral3Config(vision_config=tiny_pixtral(), text_config=text, image_token_index=10, tie_word_embeddings=False)
    model = build_model(Mistral3ForConditionalGeneration, config, 5601)
    with torch.no_grad():  # router logits of a few units: the groups and the top 2 far from even
        for layer in model.model.language_model.layers:
            if hasattr(layer.mlp, "gate"):
                layer.mlp.gate.weight.mul_(8.0)
    model = bf16(model)
    cases = small_cases(5611)
    long = cases[2][1]
    cold = copy.deepcopy(config)  # the same weights without the temperature
    cold.text_config.rope_parameters["llama_4_scaling_beta"] = 0.0
    twin = build_model(Mistral3ForConditionalGeneration, cold, 5601)
    twin.load_state_dict(model.state_dict())
    gap = float(np.abs(run_logits(model, long) - run_logits(twin, long)).max())
    assert gap > 0.1, f"the temperature moves the long case's logits by only {gap}"
    emit(out / "mistral4", model, cases, saver=save_bf16(model), vocab=600)
    tiny_tokenizer(out / "mistral4", 600, "LlamaTokenizer", {"bos": "<s>", "eos": "</s>"}, [], True, MISTRAL_TEMPLATE,
                   add_bos_token=True, legacy=False)
    # The GGUF's cases stop short of the temperature's period (16): its single and batch logits are
    # mistral4's, its long case the first 15 tokens of mistral4's.
    within = cases[:2] + [("long", [long[0][:15]])]
    emit_llamacpp_gguf(out / "mistral4_gguf", out / "mistral4", model, within, 600, outtype="bf16",
                       prelude="import conversion.mistral3 as m; "
                               "m.Mistral3Model.Mistral4Model.set_vocab = lambda self: self._set_vocab_sentencepiece()")


def qwen3_vl_fixtures(out: Path) -> None:
    """Qwen3-VL's language model: Qwen3VLForConditionalGeneration as released (text_config qwen3_vl_text,
    its interleaved multimodal RoPE over 2 + 1 + 1 frequency pairs, a one-block vision tower beside it);
    and Qwen3-VL-MoE (experts fused as released, always renormalized) as llama.cpp converts it
    (qwen3vlmoe, its experts split and stacked). A dense qwen3vl GGUF is Qwen3's tensors under another
    name (tests/model/family_config_test.cpp)."""
    from transformers import (Qwen3VLConfig, Qwen3VLForConditionalGeneration, Qwen3VLMoeConfig,
                              Qwen3VLMoeForConditionalGeneration)
    rope = {"rope_type": "default", "rope_theta": 5_000_000.0, "mrope_section": [2, 1, 1], "mrope_interleaved": True}
    vision = dict(depth=1, hidden_size=32, intermediate_size=64, num_heads=2, out_hidden_size=32,
                  num_position_embeddings=16, deepstack_visual_indexes=[0], patch_size=8)
    text = llama_like(**SMALL, pad_token_id=0, rope_parameters=rope)
    model = bf16(build_model(Qwen3VLForConditionalGeneration, Qwen3VLConfig(
        text_config=text, vision_config=vision, tie_word_embeddings=False), 3401))
    cases = make_sequences(600, 3411)
    emit(out / "qwen3_vl", model, cases, saver=save_bf16(model), vocab=600)
    tiny_tokenizer(out / "qwen3_vl", 600, "Qwen2Tokenizer", {"bos": "<s>", "eos": "<|im_end|>"},
                   ["<|im_start|>", "<|endoftext|>"], False, CHATML_TEMPLATE, add_bos_token=False, legacy=False)

    moe_text = llama_like(**SMALL, pad_token_id=0, rope_parameters=rope, moe_intermediate_size=12, num_experts=8,
                          num_experts_per_tok=3, decoder_sparse_step=1, tie_word_embeddings=False)
    moe = bf16(build_model(Qwen3VLMoeForConditionalGeneration, Qwen3VLMoeConfig(
        text_config=moe_text, vision_config=vision, tie_word_embeddings=False), 3501))
    cases = make_sequences(600, 3511)

    # Qwen3-VL-MoE's released checkpoints hold the fused experts input-major (gate_up_proj [E, hidden,
    # 2 · width], down_proj [E, width, hidden]), as llama.cpp's converter reads them; transformers 5
    # saves them output-major (and transposes such files at load). qwen3_vl_moe is the checkpoint as
    # released, qwen3_vl_moe_gguf its conversion.
    def save_released(folder: Path) -> None:
        save_bf16(moe)(folder)
        tensors = load_file(str(folder / "model.safetensors"))
        for name in list(tensors):
            if name.endswith(("mlp.experts.gate_up_proj", "mlp.experts.down_proj")):
                tensors[name] = tensors[name].transpose(1, 2).contiguous()
        save_file(tensors, str(folder / "model.safetensors"), metadata={"format": "pt"})
    emit(out / "qwen3_vl_moe", moe, cases, saver=save_released, vocab=600)
    reloaded = Qwen3VLMoeForConditionalGeneration.from_pretrained(out / "qwen3_vl_moe", dtype=torch.float32,
                                                                  attn_implementation="eager").eval()
    assert np.array_equal(run_logits(reloaded, cases[-1][1]), run_logits(moe, cases[-1][1])), "qwen3_vl_moe reload"
    for name in ("tokenizer.model", "tokenizer_config.json"):
        shutil.copy(out / "qwen3_vl" / name, out / "qwen3_vl_moe" / name)
    emit_llamacpp_gguf(out / "qwen3_vl_moe_gguf", out / "qwen3_vl_moe", moe, cases, 600,
                       sentencepiece_class="qwen3vl.Qwen3VLMoeTextModel", outtype="bf16")


def qwen2_5_vl_fixtures(out: Path) -> None:
    """Qwen2.5-VL's language model as released (--only qwen2_5_vl): Qwen2_5_VLForConditionalGeneration with a
    one-block vision tower, its config.json flat as the Hub's (the language model's fields at the top,
    rope_scaling of type mrope) and its tensors under the names of the first releases (model.*, visual.*,
    lm_head), which transformers is checked to read back to the same logits; and qwen2_5_vl_gguf, llama.cpp's
    conversion (qwen2vl)."""
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration
    text = llama_like(**SMALL, pad_token_id=0, use_sliding_window=False,
                      rope_parameters={"rope_type": "default", "rope_theta": 1_000_000.0, "mrope_section": [2, 1, 1]})
    vision = dict(depth=1, hidden_size=32, intermediate_size=64, num_heads=2, out_hidden_size=32, patch_size=8,
                  fullatt_block_indexes=[0], window_size=16)
    model = bf16(build_model(Qwen2_5_VLForConditionalGeneration, Qwen2_5_VLConfig(
        text_config=text, vision_config=vision, tie_word_embeddings=False), 5801))
    cases = small_cases(5811)

    def save_released(folder: Path) -> None:
        save_bf16(model)(folder)
        cfg = json.loads((folder / "config.json").read_text())
        flat = {k: v for k, v in cfg["text_config"].items() if k not in ("rope_parameters", "model_type", "dtype")}
        rope = cfg["text_config"]["rope_parameters"]
        flat.update(rope_theta=rope["rope_theta"], rope_scaling={"type": "mrope", "mrope_section": rope["mrope_section"]})
        cfg.pop("text_config")
        (folder / "config.json").write_text(json.dumps({**cfg, **flat}, indent=1) + "\n")
        tensors = load_file(str(folder / "model.safetensors"))
        renamed = {}
        for name, value in tensors.items():
            if name.startswith("model.language_model."):
                name = "model." + name[len("model.language_model."):]
            elif name.startswith("model.visual."):
                name = name[len("model."):]
            renamed[name] = value
        save_file(renamed, str(folder / "model.safetensors"), metadata={"format": "pt"})

    emit_released(out, "qwen2_5_vl", model, cases, saver=save_released, tokenizer_from=None, vocab=600)
    assert "text_config" not in json.loads((out / "qwen2_5_vl" / "config.json").read_text())
    for name in ("tokenizer.model", "tokenizer_config.json"):
        shutil.copy(out / "qwen3_vl" / name, out / "qwen2_5_vl" / name)
    emit_llamacpp_gguf(out / "qwen2_5_vl_gguf", out / "qwen2_5_vl", model, cases, 600,
                       sentencepiece_class="qwenvl.Qwen2VLModel", outtype="bf16")


def seed_oss_fixtures(out: Path) -> None:
    """Seed-OSS: Llama's layers with q/k/v biases (SeedOssConfig's attention_bias, true by default)
    and none on the output (attention_out_bias false, as released); and llama.cpp's conversion
    (seed_oss, whose norm before the MLP it names attn_post_norm)."""
    from transformers import SeedOssConfig, SeedOssForCausalLM
    config = SeedOssConfig(**llama_like(**SMALL, pad_token_id=0, attention_dropout=0.0, residual_dropout=0.0,
                                        rope_parameters={"rope_type": "default", "rope_theta": 10_000_000.0}))
    assert config.attention_bias and not config.attention_out_bias
    model = build_model(SeedOssForCausalLM, config, 3701)
    assert model.model.layers[0].self_attn.q_proj.bias is not None and model.model.layers[0].self_attn.o_proj.bias is None
    emit_bf16_pair(out, "seed_oss", model, 3711, "<seed:eos>", ["<seed:bos>"], False, "olmo.SeedOssModel")


def minimax_m2_fixtures(out: Path) -> None:
    """MiniMax-M2: q/k norms over every head at once, RoPE on half of each head (rotary_dim, as its
    released config.json gives it), every MLP 4 experts (2 per token) under Mixtral's names, chosen by
    sigmoid scores plus a selection bias kept in the block and renormalized; and llama.cpp's
    conversion (minimax-m2)."""
    from transformers import MiniMaxM2Config, MiniMaxM2ForCausalLM
    config = MiniMaxM2Config(**llama_like(**{**SMALL, "head_dim": 16}, num_local_experts=4, num_experts_per_tok=2,
                                          pad_token_id=0, rope_parameters={"rope_type": "default",
                                                                           "rope_theta": 5_000_000.0,
                                                                           "partial_rotary_factor": 0.5}))
    model = build_model(MiniMaxM2ForCausalLM, config, 3601)
    gen = torch.Generator().manual_seed(3602)
    with torch.no_grad():
        for layer in model.model.layers:  # scores spread over (0, 1), a bias that changes choices
            layer.mlp.gate.weight.mul_(8.0)
            layer.mlp.e_score_correction_bias.copy_((0.1 * torch.randn(4, generator=gen)).to(torch.bfloat16).float())
    model = bf16(model)

    def save_released(folder: Path) -> None:
        save_bf16(model)(folder)
        cfg = json.loads((folder / "config.json").read_text())
        del cfg["rope_parameters"]["partial_rotary_factor"]
        cfg.update(rotary_dim=8, scoring_func="sigmoid", use_routing_bias=True)
        (folder / "config.json").write_text(json.dumps(cfg, indent=1) + "\n")

    cases = make_sequences(600, 3611)
    emit(out / "minimax_m2", model, cases, saver=save_released)
    names = load_file(str(out / "minimax_m2" / "model.safetensors"))
    assert "model.layers.0.block_sparse_moe.e_score_correction_bias" in names, sorted(names)[:8]
    assert "model.layers.0.block_sparse_moe.experts.3.w2.weight" in names
    # transformers reads the released form (rotary_dim) back to the same model.
    reloaded = MiniMaxM2ForCausalLM.from_pretrained(out / "minimax_m2", dtype=torch.float32,
                                                    attn_implementation="eager").eval()
    assert np.array_equal(run_logits(reloaded, cases[0][1]), run_logits(model, cases[0][1])), "minimax_m2 reload"
    tiny_tokenizer(out / "minimax_m2", 600, "LlamaTokenizer", {"bos": "<s>", "eos": "[e~["}, ["]~b]"], True,
                   CHATML_TEMPLATE, add_bos_token=False, legacy=False)
    emit_llamacpp_gguf(out / "minimax_m2_gguf", out / "minimax_m2", model, cases, 600,
                       sentencepiece_class="minimax.MiniMaxM2Model", outtype="bf16")


def assert_layers_count(name: str, what: str, model, cases, edit, at_least: float = 0.1) -> None:
    """`edit` applied to every layer of a copy of `model` (an edit that silences a part: `what`) moves
    the longest case's logits by at least `at_least` of their largest: the part counts in the fixture."""
    changed = copy.deepcopy(model)
    with torch.no_grad():
        for layer in changed.model.layers:
            edit(layer)
    want = run_logits(model, cases[2][1])
    moved = np.abs(run_logits(changed, cases[2][1]) - want).max() / np.abs(want).max()
    assert moved > at_least, f"{name}: {what} move the logits by {moved:.3f} of their largest only"


def small_cases(seed: int, lengths=(("single", [10]), ("batch", [3, 9]), ("long", [25]))) -> list:
    """The cases of the hybrids' fixtures (vocabulary 384, 47 positions): fewer rows of logits than
    make_sequences gives, for the room the tree that travels to a lent GPU has left."""
    rng = np.random.default_rng(seed)
    return [(name, [rng.integers(0, 384, size=n).tolist() for n in sizes]) for name, sizes in lengths]


# Qwen3.5's text model and vision tower at fixture size: four layers (three gated delta nets, two key
# heads each serving two value heads, a 4-tap convolution; then full attention, RoPE on half a head).
QWEN3_5_TEXT = dict(vocab_size=384, hidden_size=16, num_hidden_layers=4, num_attention_heads=2, num_key_value_heads=1,
                    head_dim=8, linear_num_key_heads=2, linear_num_value_heads=4, linear_key_head_dim=4,
                    linear_value_head_dim=4, linear_conv_kernel_dim=4, max_position_embeddings=128, rms_norm_eps=1e-6,
                    rope_parameters={"rope_type": "default", "rope_theta": 10_000_000.0, "partial_rotary_factor": 0.5,
                                     "mrope_section": [1, 1, 0], "mrope_interleaved": True},
                    initializer_range=INIT_STD, bos_token_id=1, eos_token_id=2, pad_token_id=0)
QWEN3_5_VISION = dict(depth=1, hidden_size=16, intermediate_size=32, num_heads=2, out_hidden_size=16,
                      num_position_embeddings=16, patch_size=4)


def spread_delta_nets(language_model, seed: int) -> None:
    """Decays between 0.5 and 0.97 per token and convolution taps that mix positions, so that a delta
    net's state matters to the logits."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for layer in language_model.layers:
            if layer.block_type == "linear_attention":
                layer.linear_attn.A_log.copy_(torch.log(0.05 + 0.95 * torch.rand(4, generator=gen)))
                layer.linear_attn.conv1d.weight.copy_(0.5 * torch.randn(layer.linear_attn.conv1d.weight.shape, generator=gen))


def lfm2_fixtures(out: Path) -> None:
    """LFM2: four layers, three of them short convolutions (kernel 3) around one attention layer
    with per-head q/k norms; the MLP's width derived as Lfm2MLP derives it (block_ff_dim 48: 2/3 of
    it, times 1.3, rounded up to a multiple of 16: 48); config.json in the released form
    (block_ff_dim, tie_embedding, rope_theta at the top), which transformers is checked to read back
    to the same logits; and lfm2_gguf, llama.cpp's conversion (per-layer head_count_kv, 0 where a
    layer convolves; the final norm as token_embd_norm). Smaller than the other families' (hidden
    16, vocabulary 384, 47 positions): the tree that travels to a lent GPU has little room left."""
    from transformers import Lfm2Config, Lfm2ForCausalLM
    layer_types = ["conv", "full_attention", "conv", "conv"]
    config = Lfm2Config(vocab_size=384, hidden_size=16, intermediate_size=48, num_hidden_layers=4,
                        num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=128, norm_eps=1e-5,
                        conv_L_cache=3, block_multiple_of=16, block_ffn_dim_multiplier=1.3, layer_types=layer_types,
                        rope_parameters={"rope_type": "default", "rope_theta": 1_000_000.0},
                        initializer_range=INIT_STD, bos_token_id=1, eos_token_id=2, pad_token_id=0)
    model = build_model(Lfm2ForCausalLM, config, 3801)
    assert model.model.layers[0].feed_forward.w1.weight.shape[0] == 48
    gen = torch.Generator().manual_seed(3802)
    with torch.no_grad():  # B, C and x' of order 1 and taps that mix positions: the convolutions count
        for layer in model.model.layers:
            if hasattr(layer, "conv"):
                layer.conv.in_proj.weight.mul_(4.0)
                layer.conv.conv.weight.copy_(torch.randn(layer.conv.conv.weight.shape, generator=gen))
    model = bf16(model)
    cases = small_cases(3811)
    # The earlier positions reach each output through the convolutions: without their older taps the
    # logits move.
    local = copy.deepcopy(model)
    with torch.no_grad():
        for layer in local.model.layers:
            if hasattr(layer, "conv"):
                layer.conv.conv.weight[:, :, :2] = 0.0
    moved = np.abs(run_logits(local, cases[2][1]) - run_logits(model, cases[2][1])).max()
    assert moved > 0.5, f"the convolutions' history moves the logits by {moved} only"

    def save_released(folder: Path) -> None:
        save_bf16(model)(folder)
        cfg = json.loads((folder / "config.json").read_text())
        for key in ("intermediate_size", "tie_word_embeddings", "rope_parameters", "full_attn_idxs"):
            cfg.pop(key, None)
        cfg.update(block_ff_dim=48, tie_embedding=True, rope_theta=1_000_000.0)
        (folder / "config.json").write_text(json.dumps(cfg, indent=1) + "\n")

    emit(out / "lfm2", model, cases, saver=save_released)
    names = load_file(str(out / "lfm2" / "model.safetensors"))
    assert "model.layers.0.conv.conv.weight" in names and "model.embedding_norm.weight" in names, sorted(names)[:8]
    reloaded = Lfm2ForCausalLM.from_pretrained(out / "lfm2", dtype=torch.float32, attn_implementation="eager").eval()
    assert np.array_equal(run_logits(reloaded, cases[2][1]), run_logits(model, cases[2][1])), "lfm2 reload"
    tiny_tokenizer(out / "lfm2", 384, "LlamaTokenizer", {"bos": "<|startoftext|>", "eos": "<|im_end|>"},
                   ["<|im_start|>"], True, CHATML_TEMPLATE, add_bos_token=False, legacy=False)
    emit_llamacpp_gguf(out / "lfm2_gguf", out / "lfm2", model, cases, 384, sentencepiece_class="lfm2.LFM2Model",
                       outtype="bf16")


def lfm2_moe_fixtures(out: Path) -> None:
    """LFM2's mixture of experts (LFM2-8B-A1B's layout): lfm2's four layers, the first MLP dense
    (num_dense_layers 1, intermediate_size 32 as it is: no width rule), the others 4 experts of 16
    columns under LFM2's w1/w3/w2 names, 2 per token by sigmoid scores plus a selection bias
    (expert_bias) that changes choices, renormalized; and lfm2_moe_gguf, llama.cpp's conversion
    (lfm2moe: stacked experts, exp_probs_b). The tokenizer is lfm2's."""
    from transformers import Lfm2MoeConfig, Lfm2MoeForCausalLM
    config = Lfm2MoeConfig(vocab_size=384, hidden_size=16, intermediate_size=32, moe_intermediate_size=16,
                           num_hidden_layers=4, num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=128,
                           norm_eps=1e-5, conv_L_cache=3, layer_types=["conv", "full_attention", "conv", "conv"],
                           num_dense_layers=1, num_experts=4, num_experts_per_tok=2, use_expert_bias=True,
                           norm_topk_prob=True, routed_scaling_factor=1.0,
                           rope_parameters={"rope_type": "default", "rope_theta": 1_000_000.0},
                           initializer_range=INIT_STD, bos_token_id=1, eos_token_id=2, pad_token_id=0)
    model = build_model(Lfm2MoeForCausalLM, config, 4101)
    gen = torch.Generator().manual_seed(4102)
    with torch.no_grad():
        for layer in model.model.layers:
            if hasattr(layer, "conv"):  # taps that mix positions, as lfm2's
                layer.conv.in_proj.weight.mul_(4.0)
                layer.conv.conv.weight.copy_(torch.randn(layer.conv.conv.weight.shape, generator=gen))
            block = layer.feed_forward
            if hasattr(block, "gate"):  # scores spread over (0, 1), a bias that changes choices
                block.gate.weight.mul_(8.0)
                block.expert_bias.copy_((0.1 * torch.randn(4, generator=gen)).to(torch.bfloat16).float())
    model = bf16(model)
    cases = small_cases(4111)
    emit(out / "lfm2_moe", model, cases, saver=save_bf16(model))
    names = load_file(str(out / "lfm2_moe" / "model.safetensors"))
    assert "model.layers.1.feed_forward.experts.3.w2.weight" in names, sorted(names)[:12]
    assert "model.layers.1.feed_forward.expert_bias" in names and "model.layers.0.feed_forward.w1.weight" in names
    reloaded = Lfm2MoeForCausalLM.from_pretrained(out / "lfm2_moe", dtype=torch.float32, attn_implementation="eager").eval()
    assert np.array_equal(run_logits(reloaded, cases[2][1]), run_logits(model, cases[2][1])), "lfm2_moe reload"
    for name in ("tokenizer.model", "tokenizer_config.json"):
        shutil.copy(out / "lfm2" / name, out / "lfm2_moe" / name)
    emit_llamacpp_gguf(out / "lfm2_moe_gguf", out / "lfm2_moe", model, cases, 384,
                       sentencepiece_class="lfm2.LFM2MoeModel", outtype="bf16")


def spread_mamba2(model, seed: int) -> None:
    """Decays and steps of order 1 and taps that mix positions in every Mamba-2 layer (4 heads), so
    that the state counts in the logits."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for layer in model.model.layers:
            if layer.mamba is not None:
                layer.mamba.A_log.copy_(torch.log(0.2 + 0.8 * torch.rand(4, generator=gen)))
                layer.mamba.dt_bias.copy_(0.5 * torch.randn(4, generator=gen))
                layer.mamba.D.copy_(1.0 + 0.1 * torch.randn(4, generator=gen))
                layer.mamba.conv1d.weight.copy_(0.5 * torch.randn(layer.mamba.conv1d.weight.shape, generator=gen))
                layer.mamba.in_proj.weight.mul_(4.0)


def save_granite_hybrid_released(model):
    """A saver for emit(): bfloat16 weights, config.json as Granite 4.0-H is released (layer_types
    "mamba" / "attention"; time_step_limit written as transformers writes its default, with
    Python's bare Infinity, which JSON has not)."""
    def save(folder: Path) -> None:
        save_bf16(model)(folder)
        cfg = json.loads((folder / "config.json").read_text())
        cfg.update(layer_types=["mamba", "attention", "mamba", "mamba"], time_step_limit=[0.0, float("inf")])
        (folder / "config.json").write_text(json.dumps(cfg, indent=1) + "\n")
    return save


def granite_hybrid_fixtures(out: Path) -> None:
    """Granite 4.0-H (GraniteMoeHybridForCausalLM, dense as H-Micro): four layers, three Mamba-2 (4
    heads of 8 in 2 groups, a state of 8, a 4-tap convolution with its bias) around one attention
    layer without RoPE; Granite's multipliers; the MLP as one fused input_linear. config.json in the
    released form (layer_types "mamba" / "attention"; time_step_limit [0.0, Infinity], which Python's
    json writes and JSON has not), and granite_hybrid_gguf, llama.cpp's
    conversion (granitehybrid: per-layer head_count_kv, −exp(A_log), no RoPE). The tokenizer is
    lfm2's (run --only lfm2 first)."""
    from transformers import GraniteMoeHybridConfig, GraniteMoeHybridForCausalLM
    config = GraniteMoeHybridConfig(
        vocab_size=384, hidden_size=16, intermediate_size=32, shared_intermediate_size=32, num_hidden_layers=4,
        num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=128, rms_norm_eps=1e-5,
        layer_types=["mamba", "attention", "mamba", "mamba"], num_local_experts=0, num_experts_per_tok=0,
        mamba_n_heads=4, mamba_d_head=8, mamba_expand=2, mamba_d_state=8, mamba_n_groups=2, mamba_d_conv=4,
        mamba_conv_bias=True, mamba_proj_bias=False, position_embedding_type=None, embedding_multiplier=4.0,
        attention_multiplier=0.3, residual_multiplier=0.5, logits_scaling=2.0, tie_word_embeddings=True,
        initializer_range=INIT_STD, bos_token_id=1, eos_token_id=2, pad_token_id=0)
    model = build_model(GraniteMoeHybridForCausalLM, config, 4201)
    spread_mamba2(model, 4202)
    model = bf16(model)
    cases = small_cases(4211)
    forgetful = copy.deepcopy(model)
    with torch.no_grad():
        for layer in forgetful.model.layers:
            if layer.mamba is not None:
                layer.mamba.A_log.fill_(6.0)
    moved = np.abs(run_logits(forgetful, cases[2][1]) - run_logits(model, cases[2][1])).max()
    assert moved > 0.1, f"the Mamba-2 state moves the logits by {moved} only"

    emit_released_and_gguf(out, "granite_hybrid", model, cases, saver=save_granite_hybrid_released(model))
    names = load_file(str(out / "granite_hybrid" / "model.safetensors"))
    assert "model.layers.0.mamba.A_log" in names and "model.layers.0.shared_mlp.input_linear.weight" in names, sorted(names)[:8]


def granite_moe_config(**overrides) -> dict:
    """Granite 4.0-H's mixture of experts in granite_hybrid's shape: every MLP 4 experts of 16
    columns, 2 per token, beside the dense MLP (shared_intermediate_size 32)."""
    return dict(dict(vocab_size=384, hidden_size=16, intermediate_size=16, shared_intermediate_size=32,
                     num_hidden_layers=4, num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=128,
                     rms_norm_eps=1e-5, num_local_experts=4, num_experts_per_tok=2, embedding_multiplier=4.0,
                     attention_multiplier=0.3, residual_multiplier=0.5, logits_scaling=2.0, tie_word_embeddings=True,
                     initializer_range=INIT_STD, bos_token_id=1, eos_token_id=2, pad_token_id=0), **overrides)


def spread_granite_router(model) -> None:
    """Router logits of a few units: the softmax over the top 2 is far from even."""
    with torch.no_grad():
        for layer in model.model.layers:
            layer.block_sparse_moe.router.weight.mul_(8.0)


def granite_hybrid_moe_fixtures(out: Path) -> None:
    """Granite 4.0-H with experts (H-Tiny's and H-Small's layout; --only granite_hybrid_moe, after
    lfm2): granite_hybrid's four layers (three Mamba-2 around one NoPE attention layer), every MLP 4
    experts of 16 columns chosen 2 per token by a softmax over the top 2 router logits, beside the
    dense MLP (32 columns) as a shared expert; the experts as released, one 3-D tensor per projection
    (block_sparse_moe.input_linear [4, 32, 16]: each expert's gate rows then its up rows;
    output_linear [4, 16, 16]; router.layer); and granite_hybrid_moe_gguf, llama.cpp's conversion
    (experts stacked, the dense MLP as the shared expert, ffn_*_shexp)."""
    from transformers import GraniteMoeHybridConfig, GraniteMoeHybridForCausalLM
    config = GraniteMoeHybridConfig(**granite_moe_config(
        layer_types=["mamba", "attention", "mamba", "mamba"], mamba_n_heads=4, mamba_d_head=8, mamba_expand=2,
        mamba_d_state=8, mamba_n_groups=2, mamba_d_conv=4, mamba_conv_bias=True, mamba_proj_bias=False,
        position_embedding_type=None))
    model = build_model(GraniteMoeHybridForCausalLM, config, 4301)
    spread_mamba2(model, 4302)
    spread_granite_router(model)
    model = bf16(model)
    cases = small_cases(4311)
    # The experts count: without them (the dense MLP alone) the logits move.
    dense = copy.deepcopy(model)
    with torch.no_grad():
        for layer in dense.model.layers:
            layer.block_sparse_moe.experts.down_proj.zero_()
    moved = np.abs(run_logits(dense, cases[2][1]) - run_logits(model, cases[2][1])).max()
    assert moved > 0.1, f"the experts move the logits by {moved} only"

    emit_released_and_gguf(out, "granite_hybrid_moe", model, cases, saver=save_granite_hybrid_released(model))
    names = load_file(str(out / "granite_hybrid_moe" / "model.safetensors"))
    assert list(names["model.layers.0.block_sparse_moe.input_linear.weight"].shape) == [4, 32, 16], sorted(names)[:8]
    assert "model.layers.0.block_sparse_moe.router.layer.weight" in names, sorted(names)[:8]


# Nemotron-H at fixture size: five layers of one sublayer each (Mamba-2 with 4 heads of 16 in 2
# groups, a state of 8 and a 4-tap convolution; attention of 2 heads over 1 KV head, no RoPE; relu²
# MLPs without a gate). llama.cpp's converter wants the Mamba-2 width a multiple of 64.
NEMOTRON_H = dict(vocab_size=384, hidden_size=16, num_attention_heads=2, num_key_value_heads=1, head_dim=8,
                  intermediate_size=32, mamba_num_heads=4, mamba_head_dim=16, n_groups=2, ssm_state_size=8,
                  conv_kernel=4, use_conv_bias=True, layer_norm_epsilon=1e-5, max_position_embeddings=128,
                  tie_word_embeddings=False, initializer_range=INIT_STD, bos_token_id=1, eos_token_id=2, pad_token_id=0)
NEMOTRON_H_EXPERTS = dict(n_routed_experts=4, num_experts_per_tok=2, moe_intermediate_size=16,
                          moe_shared_expert_intermediate_size=32, n_group=1, topk_group=1, norm_topk_prob=True,
                          routed_scaling_factor=2.5)
NEMOTRON_H_MOE_KEYS = ("n_routed_experts", "num_experts_per_tok", "moe_intermediate_size",
                       "moe_shared_expert_intermediate_size", "moe_latent_size", "moe_shared_expert_overlap",
                       "n_shared_experts", "n_group", "topk_group", "norm_topk_prob", "routed_scaling_factor")


# The converter reads a model's config through transformers' AutoConfig when it can, and
# transformers 5's NemotronHConfig fills in the experts' defaults for a dense model too, which the
# converter takes for a mixture of experts (nemotron_h_moe with no MLP widths). The released GGUFs
# were converted from config.json as it stands (before transformers had the class): so here.
NEMOTRON_H_CONFIG_JSON = ("import transformers\n"
                          "def _from_config_json(*args, **kwargs): raise ValueError('config.json as released')\n"
                          "transformers.AutoConfig.from_pretrained = _from_config_json")


def spread_nemotron_h(model, seed: int) -> None:
    """spread_mamba2's decays, steps and taps for Nemotron-H's Mamba-2 mixers; router logits of a
    few units and a selection bias that changes choices in its experts' layers; the output
    projection scaled so that the logits are of a few units."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        model.lm_head.weight.mul_(8.0)  # logits of a few units, as the other fixtures'
        for layer in model.model.layers:
            mixer = layer.mixer
            if layer.block_type == "linear_attention":
                mixer.A_log.copy_(torch.log(0.2 + 0.8 * torch.rand(4, generator=gen)))
                mixer.dt_bias.copy_(0.5 * torch.randn(4, generator=gen))
                mixer.D.copy_(1.0 + 0.1 * torch.randn(4, generator=gen))
                mixer.conv1d.weight.copy_(0.5 * torch.randn(mixer.conv1d.weight.shape, generator=gen))
                mixer.in_proj.weight.mul_(4.0)
            elif layer.block_type == "moe":
                mixer.gate.weight.mul_(8.0)
                if isinstance(mixer.fc1_latent_proj, torch.nn.Linear):  # experts in a latent space: of a few units too
                    mixer.fc1_latent_proj.weight.mul_(8.0)
                    mixer.fc2_latent_proj.weight.mul_(8.0)
                mixer.gate.e_score_correction_bias.copy_(0.3 * torch.randn(mixer.gate.e_score_correction_bias.shape, generator=gen))


def save_nemotron_h_released(model, pattern: str):
    """A saver for emit(): bfloat16 weights (transformers 5 writes them under the released names,
    backbone.*, one tensor per expert), config.json as NVIDIA releases Nemotron-H: the layers as
    hybrid_override_pattern, num_hidden_layers beside it, time_step_limit with Python's bare
    Infinity, and the dense models without the experts' keys (llama.cpp's converter takes their
    presence for a mixture of experts)."""
    def save(folder: Path) -> None:
        save_bf16(model)(folder)
        cfg = json.loads((folder / "config.json").read_text())
        for key in ("layers_block_type", "mtp_layers_block_type", *(() if "E" in pattern else NEMOTRON_H_MOE_KEYS)):
            cfg.pop(key, None)
        cfg.update(hybrid_override_pattern=pattern, num_hidden_layers=len(pattern), time_step_limit=[0.0, float("inf")])
        (folder / "config.json").write_text(json.dumps(cfg, indent=1) + "\n")
    return save


def nemotron_h_fixtures(out: Path) -> None:
    """Nemotron-H (NemotronHForCausalLM; --only nemotron_h, after lfm2): nemotron_h, Nemotron Nano
    2's layout at fixture size (hybrid_override_pattern "M-M*-": Mamba-2, MLP, Mamba-2, attention,
    MLP), nemotron_h_moe, Nemotron 3 Nano's ("MEM*E": the MLP layers 4 experts of 16 columns, 2
    per token by sigmoid scores plus a selection bias, renormalized, times 2.5, beside an ungated
    shared expert of 32), and nemotron_h_latent, Nemotron 3 Super's (the same experts in a latent
    space of 8: moe_latent_size, fc1_latent_proj / fc2_latent_proj around them); each as released
    and as llama.cpp's conversion (nemotron_h, nemotron_h_moe: per-layer head_count_kv and
    feed_forward_length, −exp(A_log), experts stacked, ffn_latent_down / ffn_latent_up)."""
    from transformers import NemotronHConfig, NemotronHForCausalLM
    for name, pattern, seed, extra in (
            ("nemotron_h", "M-M*-", 4601, {}),
            ("nemotron_h_moe", "MEM*E", 4701, NEMOTRON_H_EXPERTS),
            ("nemotron_h_latent", "MEM*E", 4901, dict(NEMOTRON_H_EXPERTS, moe_latent_size=8))):
        config = NemotronHConfig(hybrid_override_pattern=pattern, **NEMOTRON_H, **extra)
        model = build_model(NemotronHForCausalLM, config, seed)
        spread_nemotron_h(model, seed + 1)
        model = bf16(model)
        cases = small_cases(seed + 10)
        # Each part of the layers the pattern has counts in the logits.
        checks = (("M", "the Mamba-2 state", lambda m: m.A_log.fill_(6.0)),
                  ("-", "the MLPs", lambda m: m.down_proj.weight.zero_()),
                  ("E", "the experts", lambda m: m.experts.down_proj.zero_()),
                  ("E", "the selection bias", lambda m: m.gate.e_score_correction_bias.zero_()))
        kinds = {"M": "linear_attention", "-": "mlp", "E": "moe"}
        for letter, what, change in checks:
            if letter in pattern:
                assert_layers_count(name, what, model, cases,
                                    lambda layer: change(layer.mixer) if layer.block_type == kinds[letter] else None)
        emit_released_and_gguf(out, name, model, cases, saver=save_nemotron_h_released(model, pattern),
                               sentencepiece_class="nemotron.NemotronHModel", prelude=NEMOTRON_H_CONFIG_JSON)
        names = load_file(str(out / name / "model.safetensors"))
        assert "backbone.layers.0.mixer.A_log" in names and "backbone.embeddings.weight" in names, sorted(names)[:8]


def falcon_h1_fixtures(out: Path) -> None:
    """Falcon-H1 (FalconH1ForCausalLM; --only falcon_h1, after lfm2): three layers, each attention (2
    heads over 1 KV head, RoPE) and a Mamba-2 layer (4 heads of 16 in 2 groups, a state of 8, no
    gated norm: mamba_rms_norm false, as released) side by side on its input norm, then a SwiGLU
    MLP; every µP multiplier away from 1, each a power of two so that llama.cpp's folding of them into
    the bfloat16 weights is exact; and falcon_h1_gguf, llama.cpp's conversion (falcon-h1: the
    multipliers folded into the weights)."""
    from transformers import FalconH1Config, FalconH1ForCausalLM
    config = FalconH1Config(
        vocab_size=384, hidden_size=16, intermediate_size=32, num_hidden_layers=3, num_attention_heads=2,
        num_key_value_heads=1, head_dim=8, max_position_embeddings=128, rms_norm_eps=1e-5,
        rope_parameters={"rope_type": "default", "rope_theta": 1_000_000.0}, mamba_d_ssm=64, mamba_n_heads=4,
        mamba_d_head=16, mamba_n_groups=2, mamba_d_state=8, mamba_d_conv=4, mamba_conv_bias=True,
        mamba_proj_bias=False, mamba_rms_norm=False, mamba_norm_before_gate=False, projectors_bias=False,
        attention_in_multiplier=0.5, key_multiplier=0.5, attention_out_multiplier=2.0, ssm_in_multiplier=0.5,
        ssm_multipliers=[0.5, 2.0, 0.25, 4.0, 0.5], ssm_out_multiplier=0.5, mlp_multipliers=[2.0, 0.5],
        embedding_multiplier=2.0, lm_head_multiplier=0.5, tie_word_embeddings=False, initializer_range=INIT_STD,
        bos_token_id=1, eos_token_id=2, pad_token_id=0)
    model = build_model(FalconH1ForCausalLM, config, 4801)
    gen = torch.Generator().manual_seed(4802)
    with torch.no_grad():  # decays, steps and taps of order 1 (spread_mamba2's), logits of a few units
        for layer in model.model.layers:
            mixer = layer.mamba
            mixer.A_log.copy_(torch.log(0.2 + 0.8 * torch.rand(4, generator=gen)))
            mixer.dt_bias.copy_(0.5 * torch.randn(4, generator=gen))
            mixer.D.copy_(1.0 + 0.1 * torch.randn(4, generator=gen))
            mixer.conv1d.weight.copy_(0.5 * torch.randn(mixer.conv1d.weight.shape, generator=gen))
            mixer.in_proj.weight.mul_(4.0)
        model.lm_head.weight.mul_(8.0)
    model = bf16(model)
    cases = small_cases(4811)
    # The Mamba-2 layers and the attention both count in the logits.
    assert_layers_count("falcon_h1", "the Mamba-2 layers", model, cases, lambda layer: layer.mamba.out_proj.weight.zero_())
    assert_layers_count("falcon_h1", "the attention", model, cases, lambda layer: layer.self_attn.o_proj.weight.zero_())
    emit_released_and_gguf(out, "falcon_h1", model, cases, sentencepiece_class="falcon_h1.FalconH1Model")
    names = load_file(str(out / "falcon_h1" / "model.safetensors"))
    assert "model.layers.0.mamba.in_proj.weight" in names and "model.final_layernorm.weight" in names, sorted(names)[:8]


def lfm3_fixtures(out: Path) -> None:
    """LFM3 (Lfm3ForCausalLM; --only lfm3, after lfm2): five layers — convolutions (4 taps), attention
    sliding over 4 positions (RoPE base 10,000) and full attention (proportional RoPE on half of
    each head, base 1,000,000) — with per-head q/k norms, a sigmoid gate per head (g_proj) and norms
    on the mixer's and the MLP's outputs; config.json as transformers writes it. No GGUF: the
    llama.cpp tree troupe compares against has no lfm3."""
    from transformers import Lfm3Config, Lfm3ForCausalLM
    config = Lfm3Config(vocab_size=384, hidden_size=16, intermediate_size=32, num_hidden_layers=5,
                        num_attention_heads=2, num_key_value_heads=1, head_dim=8, max_position_embeddings=128,
                        norm_eps=1e-5, conv_L_cache=4, sliding_window=4,
                        layer_types=["conv", "sliding_attention", "full_attention", "conv", "sliding_attention"],
                        initializer_range=INIT_STD, bos_token_id=1, eos_token_id=2, pad_token_id=0)
    model = build_model(Lfm3ForCausalLM, config, 5001)
    gen = torch.Generator().manual_seed(5002)
    with torch.no_grad():  # convolutions whose history counts, gates away from ½, logits of a few units
        for layer in model.model.layers:
            if hasattr(layer, "conv"):
                layer.conv.in_proj.weight.mul_(4.0)
                layer.conv.conv.weight.copy_(torch.randn(layer.conv.conv.weight.shape, generator=gen))
            else:
                layer.self_attn.g_proj.weight.mul_(40.0)
        model.model.embed_tokens.weight.mul_(4.0)
    model = bf16(model)
    cases = small_cases(5011)
    assert_layers_count("lfm3", "the gates", model, cases,
                        lambda layer: None if hasattr(layer, "conv") else layer.self_attn.g_proj.weight.zero_(), 0.05)
    assert_layers_count("lfm3", "the output norms", model, cases, lambda layer: layer.post_ffn_norm.weight.fill_(1.0), 0.05)
    emit_released(out, "lfm3", model, cases)


def gemma4_config(**overrides):
    """Gemma 4 31B's layout in miniature: sliding layers (window 4) of 2 key/value heads of 8 around
    full layers of one key/value head of 16 whose values are their keys' projection
    (attention_k_eq_v), proportional RoPE on a quarter of the full layers' heads, soft-capped logits."""
    from transformers import Gemma4TextConfig
    args = dict(vocab_size=384, hidden_size=32, intermediate_size=48, num_hidden_layers=5, num_attention_heads=4,
                num_key_value_heads=2, head_dim=8, global_head_dim=16, num_global_key_value_heads=1,
                attention_k_eq_v=True, sliding_window=4, hidden_size_per_layer_input=0, vocab_size_per_layer_input=384,
                final_logit_softcapping=8.0,
                layer_types=["sliding_attention", "sliding_attention", "full_attention", "sliding_attention",
                             "full_attention"],
                max_position_embeddings=512, initializer_range=INIT_STD, bos_token_id=1, eos_token_id=2, pad_token_id=0)
    args.update(overrides)
    return Gemma4TextConfig(**args)


def spread_norms_around_one(model, seed: int):
    """Every norm weight (a 1-D parameter named "norm") 1 + 0.2 · N(0, 1), for the families whose
    norms scale by w itself; returns the generator, seeded with `seed`, for what the caller spreads next."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 1 and "norm" in name:
                p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=gen))
    return gen


def spread_gemma4(model, seed: int) -> None:
    """Norm weights around 1 (Gemma 4's norms scale by w, not 1 + w) and layer scalars between 0.5
    and 1.5, so that a (1 + w) reading or a missing scalar moves the logits."""
    gen = spread_norms_around_one(model, seed)
    with torch.no_grad():
        for layer in model.model.layers:
            layer.layer_scalar.copy_((0.5 + torch.rand(1, generator=gen)).to(torch.bfloat16).float())
        model.model.embed_tokens.weight.mul_(4.0)


def gemma4_tokenizer(folder: Path) -> None:
    """A vocabulary of 384 in Gemma 4's tokenizer.json layout (make_tokenizer_fixtures'), trained on
    the tokenizer corpus, with Gemma 4's chat template (the parity fixture's copy of llama.cpp's)."""
    import lzma
    corpus = [json.loads(line)["text"] for line in
              (ROOT / "tests/fixtures/tokenizer/corpus.jsonl").read_text(encoding="utf-8").split("\n") if line]
    template = json.loads(lzma.decompress((ROOT / "tests/fixtures/chat_template/gemma4.json.xz").read_bytes()))["template"]
    assert write_gemma4_tokenizer(folder, corpus, 384, template) == 384


def gemma4_fixtures(out: Path) -> None:
    """Gemma 4 (Gemma4ForCausalLM; --only gemma4, after lfm2): gemma4_config's dense model (gemma4)
    and one with experts beside the dense MLPs (gemma4_moe), as transformers saves them
    (per_layer_config for the full layers' heads, the experts as two 3-D tensors), with a vocabulary
    in Gemma 4's tokenizer.json layout and its chat template (gemma4_tokenizer), and as llama.cpp's
    converter writes their GGUFs (gemma4_gguf, gemma4_moe_gguf: its gemma4 vocabulary)."""
    from transformers import Gemma4ForCausalLM
    model = build_model(Gemma4ForCausalLM, gemma4_config(), 5201)
    spread_gemma4(model, 5202)
    model = bf16(model)
    cases = small_cases(5211)
    assert_layers_count("gemma4", "the layer scalars", model, cases, lambda layer: layer.layer_scalar.fill_(1.0), 0.05)
    emit_released(out, "gemma4", model, cases, tokenizer_from=None)
    gemma4_tokenizer(out / "gemma4")
    emit_llamacpp_gguf(out / "gemma4_gguf", out / "gemma4", model, cases, 384, outtype="bf16")

    # Gemma 4 26B-A4B's layers: the experts (4 of 16 columns, 2 per token) beside a dense MLP.
    moe_config = gemma4_config(num_hidden_layers=3, layer_types=["sliding_attention", "sliding_attention", "full_attention"],
                               intermediate_size=24, enable_moe_block=True, num_experts=4, top_k_experts=2,
                               moe_intermediate_size=16)
    model = build_model(Gemma4ForCausalLM, moe_config, 5261)
    spread_gemma4(model, 5222)
    gen = torch.Generator().manual_seed(5223)
    with torch.no_grad():  # router logits of a few units; expert scales away from 1
        for layer in model.model.layers:
            layer.router.scale.copy_(1.0 + 0.2 * torch.randn(layer.router.scale.shape, generator=gen))
            layer.router.proj.weight.mul_(16.0)
            layer.router.per_expert_scale.copy_(0.5 + torch.rand(layer.router.per_expert_scale.shape, generator=gen))
    model = bf16(model)
    cases = small_cases(5231)
    assert_layers_count("gemma4_moe", "the experts", model, cases, lambda layer: layer.experts.down_proj.zero_(), 0.05)
    assert_layers_count("gemma4_moe", "the expert scales", model, cases,
                        lambda layer: layer.router.per_expert_scale.fill_(1.0), 0.02)
    emit_released(out, "gemma4_moe", model, cases, tokenizer_from=None)
    gemma4_tokenizer(out / "gemma4_moe")
    emit_llamacpp_gguf(out / "gemma4_moe_gguf", out / "gemma4_moe", model, cases, 384, outtype="bf16")

    # Gemma 4 E2B/E4B's layers: per-layer embeddings (8 values per layer), the last two layers
    # attending over the keys and values of layers 3 (sliding) and 2 (full), their MLPs twice as wide;
    # no attention_k_eq_v, the full layers keeping 2 key/value heads (of 16).
    edge_config = gemma4_config(num_hidden_layers=6, layer_types=["sliding_attention", "sliding_attention", "full_attention",
                                                                  "sliding_attention", "sliding_attention", "full_attention"],
                                attention_k_eq_v=False, num_global_key_value_heads=None, hidden_size_per_layer_input=8,
                                num_kv_shared_layers=2, use_double_wide_mlp=True)
    model = build_model(Gemma4ForCausalLM, edge_config, 5241)
    spread_gemma4(model, 5242)
    with torch.no_grad():
        model.model.embed_tokens_per_layer.weight.mul_(4.0)
    model = bf16(model)
    cases = small_cases(5251)
    assert_layers_count("gemma4_e", "the per-layer inputs", model, cases,
                        lambda layer: layer.per_layer_projection.weight.zero_(), 0.05)
    emit_released(out, "gemma4_e", model, cases, tokenizer_from=None)
    gemma4_tokenizer(out / "gemma4_e")
    emit_llamacpp_gguf(out / "gemma4_e_gguf", out / "gemma4_e", model, cases, 384, outtype="bf16")


def gemma3n_config(**overrides):
    """Gemma 3n E2B/E4B's layout in miniature: four AltUp streams, LAuReL of rank 4, per-layer
    embeddings of 8 values a layer from a table of 320 rows (the ids past it read row 0), MLPs of
    per-layer widths whose gates keep their top 5 % and 10 % in the first two layers (Gaussian top-k),
    sliding layers (window 4) around full ones, the last two layers attending over the keys and values
    of layers 3 (sliding) and 2 (full), soft-capped logits."""
    from transformers import Gemma3nTextConfig
    args = dict(vocab_size=384, vocab_size_per_layer_input=320, hidden_size=32, intermediate_size=[48, 48, 64, 48, 32, 48],
                num_hidden_layers=6, num_attention_heads=4, num_key_value_heads=2, head_dim=8,
                hidden_size_per_layer_input=8, laurel_rank=4, altup_num_inputs=4, num_kv_shared_layers=2,
                activation_sparsity_pattern=[0.95, 0.9, 0.0, 0.0, 0.0, 0.0], sliding_window=4,
                final_logit_softcapping=8.0,
                layer_types=["sliding_attention", "sliding_attention", "full_attention", "sliding_attention",
                             "sliding_attention", "full_attention"],
                max_position_embeddings=512, initializer_range=INIT_STD, bos_token_id=1, eos_token_id=2, pad_token_id=0)
    args.update(overrides)
    return Gemma3nTextConfig(**args)


def spread_gemma3n(model, seed: int) -> None:
    """Norm weights around 1 (Gemma 3n's norms scale by w), AltUp's output scales around 1 (zero at
    initialization, which silences the per-layer inputs) and its prediction and correction
    coefficients, router and stream projections large enough that every stream moves the logits."""
    gen = spread_norms_around_one(model, seed)
    with torch.no_grad():
        for layer in model.model.layers:
            altup = layer.altup
            altup.correct_output_scale.copy_(1.0 + 0.3 * torch.randn(altup.correct_output_scale.shape, generator=gen))
            altup.prediction_coefs.weight.copy_(0.3 * torch.randn(altup.prediction_coefs.weight.shape, generator=gen))
            altup.correction_coefs.weight.copy_(0.3 * torch.randn(altup.correction_coefs.weight.shape, generator=gen))
            altup.modality_router.weight.copy_(20.0 * torch.randn(altup.modality_router.weight.shape, generator=gen))
        for proj in list(model.model.altup_projections) + list(model.model.altup_unembed_projections):
            proj.weight.copy_(torch.randn(proj.weight.shape, generator=gen) / 6.0)
        model.model.embed_tokens.weight.mul_(4.0)
        model.model.embed_tokens_per_layer.weight.mul_(4.0)


def gemma3n_fixtures(out: Path) -> None:
    """Gemma 3n (Gemma3nForCausalLM; --only gemma3n): gemma3n_config's model as transformers saves it
    (gemma3n), with a SentencePiece vocabulary and Gemma's chat template, and as llama.cpp's converter
    writes its GGUF (gemma3n_gguf), whose per-layer table the converter pads with zero rows to the
    vocabulary (which llama.cpp reads for the ids past the table): that fixture's reference is the
    same model with those zero rows in its table."""
    from transformers import Gemma3nForCausalLM
    model = build_model(Gemma3nForCausalLM, gemma3n_config(), 5301)
    spread_gemma3n(model, 5302)
    model = bf16(model)
    cases = small_cases(5311)
    assert any(t >= 320 for _, seqs in cases for s in seqs for t in s), "no id past the per-layer table"
    def silence_altup(layer):
        layer.altup.prediction_coefs.weight.zero_()
        layer.altup.correction_coefs.weight.fill_(0.0)
    assert_layers_count("gemma3n", "AltUp's coefficients", model, cases, silence_altup, 0.05)
    assert_layers_count("gemma3n", "LAuReL", model, cases, lambda layer: layer.laurel.linear_right.weight.zero_(), 0.05)
    assert_layers_count("gemma3n", "the per-layer inputs", model, cases,
                        lambda layer: layer.per_layer_projection.weight.zero_(), 0.05)
    assert_layers_count("gemma3n", "the gates' top-k", model, cases,
                        lambda layer: setattr(layer.mlp, "activation_sparsity", 0.0), 0.02)
    emit_released(out, "gemma3n", model, cases, tokenizer_from=None)
    tiny_tokenizer(out / "gemma3n", 384, "GemmaTokenizer", {"bos": "<bos>", "eos": "<eos>"},
                   ["<start_of_turn>", "<end_of_turn>"], False, GEMMA_TEMPLATE, add_bos_token=True)

    gemma3n_released(out)

    # llama.cpp's reading of its file: the table 384 rows, its rows from 320 on zero.
    twin = build_model(Gemma3nForCausalLM, gemma3n_config(vocab_size_per_layer_input=384), 5301)
    state = model.state_dict()
    table = state["model.embed_tokens_per_layer.weight"]
    state["model.embed_tokens_per_layer.weight"] = torch.cat([table, torch.zeros(384 - table.shape[0], table.shape[1])])
    twin.load_state_dict(state)
    twin.eval()
    emit_llamacpp_gguf(out / "gemma3n_gguf", out / "gemma3n", twin, cases, 384, outtype="bf16")


def gemma3n_released(out: Path) -> None:
    """gemma3n_released: the gemma3n fixture in the layout google/gemma-3n-E2B-it and E4B-it are released
    in (Gemma3nForConditionalGeneration: config.json's text_config beside vision and audio configs, the
    language model's tensors under model.language_model., tensors of the vision and audio towers and
    their embedders beside them, which a text server leaves unread). Its weights are gemma3n's, so
    its reference is gemma3n's cases and logits. (transformers' Gemma 3n vision tower needs timm, which
    the reference environment has not: the layout is written here rather than saved by transformers.)"""
    folder = out / "gemma3n_released"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    tensors = {name.replace("model.", "model.language_model.", 1): value
               for name, value in load_file(str(out / "gemma3n" / "model.safetensors")).items()}
    gen = torch.Generator().manual_seed(5321)
    for name, shape in (("model.vision_tower.timm_model.conv_stem.conv.weight", [8, 3, 3, 3]),
                        ("model.embed_vision.embedding.weight", [4, 32]),
                        ("model.embed_vision.embedding_projection.weight", [32, 32]),
                        ("model.audio_tower.subsample_conv_projection.conv_0.conv.weight", [8, 1, 3, 3]),
                        ("model.embed_audio.embedding.weight", [4, 32])):
        tensors[name] = torch.randn(shape, generator=gen).to(torch.bfloat16)
    save_file(tensors, str(folder / "model.safetensors"), metadata={"format": "pt"})
    text = json.loads((out / "gemma3n" / "config.json").read_text())
    text.pop("architectures", None)
    config = {"architectures": ["Gemma3nForConditionalGeneration"], "model_type": "gemma3n", "text_config": text,
              "vision_config": {"model_type": "gemma3n_vision", "architecture": "mobilenetv5_300m_enc", "hidden_size": 2048},
              "audio_config": {"model_type": "gemma3n_audio", "hidden_size": 1536}, "audio_soft_tokens_per_image": 188,
              "vision_soft_tokens_per_image": 256, "image_token_id": 380, "audio_token_id": 381, "boi_token_id": 382,
              "eoi_token_id": 383, "initializer_range": 0.02, "dtype": "bfloat16", "transformers_version": "4.53.0"}
    (folder / "config.json").write_text(json.dumps(config, indent=1) + "\n")
    for name in ("generation_config.json", "tokenizer.model", "tokenizer_config.json"):
        shutil.copy(out / "gemma3n" / name, folder / name)
    reference = json.loads((out / "gemma3n" / "reference.json").read_text())
    for case in reference["cases"]:
        case["logits"] = "../gemma3n/" + case["logits"].split("/")[-1]
    (folder / "reference.json").write_text(base.dumps(reference))
    print("gemma3n_released: gemma3n's weights in the released layout")


def llama4_text_config(**overrides):
    """Llama 4 Scout's layout in miniature: four layers, the fourth without RoPE, the others attending
    within chunks (8,192 positions: llama.cpp's fixed size), weightless q/k norms on the RoPE layers,
    in every layer 4 experts of 12 columns (one per token, its sigmoid on the expert's input) beside a
    shared expert as wide, dense MLPs of 48 where there are any; RoPE on interleaved pairs with
    Scout's llama3 scaling (factor 16 over 8,192 positions, both frequency factors 1)."""
    from transformers import Llama4TextConfig
    args = dict(vocab_size=384, hidden_size=32, intermediate_size=12, intermediate_size_mlp=48, num_hidden_layers=4,
                num_attention_heads=4, num_key_value_heads=2, head_dim=8, num_local_experts=4, num_experts_per_tok=1,
                interleave_moe_layer_step=1, use_qk_norm=True, attention_chunk_size=8192, attn_temperature_tuning=True,
                floor_scale=8192, attn_scale=0.1, max_position_embeddings=512, rms_norm_eps=1e-5,
                rope_parameters={"rope_type": "llama3", "rope_theta": 500000.0, "factor": 16.0, "low_freq_factor": 1.0,
                                 "high_freq_factor": 1.0, "original_max_position_embeddings": 8192},
                initializer_range=INIT_STD, bos_token_id=375, eos_token_id=379, pad_token_id=383, tie_word_embeddings=False)
    args.update(overrides)
    return Llama4TextConfig(**args)


def llama4_tokenizer(folder: Path) -> None:
    """A vocabulary of 384 in Llama 4's tokenizer.json layout (make_tokenizer_fixtures'), trained on the
    tokenizer corpus, with Llama 4's chat template as transformers ships it (Llama4Processor's)."""
    from transformers.models.llama4 import processing_llama4
    corpus = [json.loads(line)["text"] for line in
              (ROOT / "tests/fixtures/tokenizer/corpus.jsonl").read_text(encoding="utf-8").split("\n") if line]
    assert write_llama4_tokenizer(folder, corpus, 384, processing_llama4.chat_template) == 384


def spread_llama4(layers) -> None:
    """Router logits of a few units (the choice and its sigmoid far from even), logits of a few units."""
    with torch.no_grad():
        for layer in layers:
            if hasattr(layer.feed_forward, "router"):
                layer.feed_forward.router.weight.mul_(8.0)


def llama4_fixtures(out: Path) -> None:
    """Llama 4 (--only llama4, after lfm2): llama4, Llama4ForConditionalGeneration as released (the
    language model under language_model, a one-layer vision tower beside it, the experts fused
    input-major: gate_up_proj [experts, hidden, 2 · width]) in llama4_text_config's layout, with a
    vocabulary in Llama 4's tokenizer.json layout and its chat template, and llama4_gguf, llama.cpp's
    conversion (llama4: q/k rows as stored, the experts split and stacked, rope_freqs); and
    llama4_chunked, Llama4ForCausalLM (llama4_text) in Maverick's layout — experts every other layer
    (interleave_moe_layer_step 2), no q/k norms — with what llama.cpp fixes at 8,192 made small
    enough to bite: chunks of 8 positions, the temperature's period 4 (attn_scale 0.5), two experts
    per token. No GGUF for it: llama.cpp's llama4 files have no key for either."""
    from transformers import Llama4Config, Llama4ForCausalLM, Llama4ForConditionalGeneration, Llama4VisionConfig
    vision = Llama4VisionConfig(hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
                                image_size=56, patch_size=14, vision_output_dim=32, projector_input_dim=32,
                                projector_output_dim=32, pixel_shuffle_ratio=0.5)
    config = Llama4Config(text_config=llama4_text_config().to_dict(), vision_config=vision.to_dict(),
                          boi_token_index=0, eoi_token_index=1, image_token_index=2, tie_word_embeddings=False)
    model = build_model(Llama4ForConditionalGeneration, config, 5401)
    text_layers = model.language_model.model.layers
    spread_llama4(text_layers)
    with torch.no_grad():
        model.language_model.lm_head.weight.mul_(4.0)
    model = bf16(model)
    cases = small_cases(5411)
    long = cases[2][1]
    want = run_logits(model, long)
    for what, edit in (("the experts", lambda layer: layer.feed_forward.experts.down_proj.zero_()),
                       ("the shared experts", lambda layer: layer.feed_forward.shared_expert.down_proj.weight.zero_())):
        changed = copy.deepcopy(model)
        with torch.no_grad():
            for layer in changed.language_model.model.layers:
                edit(layer)
        moved = np.abs(run_logits(changed, long) - want).max() / np.abs(want).max()
        assert moved > 0.05, f"llama4: {what} move the logits by {moved:.3f} of their largest only"
    unnormed = copy.deepcopy(config)
    unnormed.text_config.use_qk_norm = False
    twin = build_model(Llama4ForConditionalGeneration, unnormed, 5401)
    twin.load_state_dict(model.state_dict())
    assert np.abs(run_logits(twin, long) - want).max() > 0.05 * np.abs(want).max(), "llama4: the q/k norms do not count"
    emit_released(out, "llama4", model, cases, tokenizer_from=None, vocab=384)
    llama4_tokenizer(out / "llama4")
    emit_llamacpp_gguf(out / "llama4_gguf", out / "llama4", model, cases, 384, outtype="bf16",
                       prelude="import conversion.llama as l; l.Llama4Model.get_vocab_base_pre = lambda self, t: 'llama4'")

    # Maverick's layout, with the chunks and the temperature small enough to bite in 47 positions.
    chunked = llama4_text_config(num_hidden_layers=5, interleave_moe_layer_step=2, use_qk_norm=False, num_experts_per_tok=2,
                                 attention_chunk_size=8, floor_scale=4, attn_scale=0.5,
                                 rope_parameters={"rope_type": "default", "rope_theta": 500000.0})
    model = build_model(Llama4ForCausalLM, chunked, 5421)
    spread_llama4(model.model.layers)
    with torch.no_grad():
        model.lm_head.weight.mul_(4.0)
    model = bf16(model)
    cases = small_cases(5431)
    long = cases[2][1]
    want = run_logits(model, long)
    for what, change in (("the chunks", {"attention_chunk_size": None, "layer_types": ["full_attention"] * 5}),
                         ("the temperature", {"attn_temperature_tuning": False})):
        other = copy.deepcopy(chunked)
        for key, value in change.items():
            setattr(other, key, value)
        twin = build_model(Llama4ForCausalLM, other, 5421)
        twin.load_state_dict(model.state_dict())
        moved = np.abs(run_logits(twin, long) - want).max() / np.abs(want).max()
        assert moved > 0.02, f"llama4_chunked: {what} move the logits by {moved:.3f} of their largest only"
    emit_released(out, "llama4_chunked", model, cases, tokenizer_from=None)
    llama4_tokenizer(out / "llama4_chunked")


def borrow_reference(out: Path, source: str, folder: Path, model, tolerance: float = 0.0) -> None:
    """folder/reference.json: the cases of the fixture `source`, whose logits `model` (folder's
    weights, loaded back) is checked to reproduce — within `tolerance` of their largest, 0: bit for
    bit —, pointing at source's logits files."""
    reference = json.loads((out / source / "reference.json").read_text())
    for case in reference["cases"]:
        want = np.fromfile(out / source / case["logits"], dtype="<f4")
        got = np.concatenate([run_logits(model, [seq]).reshape(-1) for seq in case["sequences"]])
        assert np.abs(got - want).max() <= tolerance * np.abs(want).max(), (folder.name, case["name"], np.abs(got - want).max())
        case["logits"] = f"../{source}/" + case["logits"].split("/")[-1]
    reference["model"] = "."
    (folder / "reference.json").write_text(base.dumps(reference))


def wrapped_fixture(out: Path, name: str, source: str, wrapper_cls, config) -> None:
    """out/name: the language model of the fixture `source` (its weights, loaded back) inside the
    multimodal wrapper `wrapper_cls` as transformers saves it (model.language_model.*, a vision tower
    and projector beside it, which a text server leaves unread); checked by transformers to give the
    source's logits on its cases, which it shares (their files stay the source's), with its tokenizer."""
    import transformers
    text = getattr(transformers, json.loads((out / source / "config.json").read_text())["architectures"][0])
    language = text.from_pretrained(out / source, dtype=torch.float32, attn_implementation="eager").eval()
    model = build_model(wrapper_cls, config, 5501)
    with torch.no_grad():
        model.model.language_model.load_state_dict(language.model.state_dict())
        model.lm_head.load_state_dict(language.lm_head.state_dict())
    model = bf16(model)
    folder = out / name
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    save_bf16(model)(folder)
    reloaded = wrapper_cls.from_pretrained(folder, dtype=torch.float32, attn_implementation="eager").eval()
    borrow_reference(out, source, folder, reloaded)
    for file in ("tokenizer.model", "tokenizer.json", "tokenizer_config.json"):
        if (out / source / file).exists():
            shutil.copy(out / source / file, folder / file)
    print(f"{name}: {source}'s language model in {wrapper_cls.__name__}, its logits")


def vl_wrapper_fixtures(out: Path) -> None:
    """LFM2-VL and LFM3-VL (--only vl_wrappers, after lfm2 and lfm3): the lfm2 and lfm3 fixtures'
    language models inside Lfm2VlForConditionalGeneration (beside a one-layer SigLIP 2 tower) and
    Lfm3VlForConditionalGeneration, as transformers saves them: lfm2_vl, lfm3_vl."""
    from transformers import Lfm2VlConfig, Lfm2VlForConditionalGeneration, Lfm3VlConfig, Lfm3VlForConditionalGeneration
    tiny_vision = dict(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2)
    lfm2 = json.loads((out / "lfm2" / "config.json").read_text())
    lfm2.update(tie_word_embeddings=True)
    wrapped_fixture(out, "lfm2_vl", "lfm2", Lfm2VlForConditionalGeneration, Lfm2VlConfig(
        text_config=lfm2, vision_config=dict(model_type="siglip2_vision_model", num_patches=16, patch_size=4, **tiny_vision),
        projector_hidden_size=32, image_token_id=5))
    lfm3 = json.loads((out / "lfm3" / "config.json").read_text())
    vision = Lfm3VlConfig().vision_config.to_dict()
    vision.update(tiny_vision, num_key_value_heads=1, layer_types=["full_attention"])
    wrapped_fixture(out, "lfm3_vl", "lfm3", Lfm3VlForConditionalGeneration, Lfm3VlConfig(
        text_config=lfm3, vision_config=vision, projector_hidden_size=32, image_token_id=5))


def arcee_fixtures(out: Path) -> None:
    """Arcee's AFM (ArceeForCausalLM; --only arcee, after lfm2): Llama's layers (2 of them, RoPE, 2
    heads over 1 KV head) with a relu² MLP without a gate; as transformers saves it, and arcee_gguf,
    llama.cpp's conversion (arcee: q/k rows permuted as for llama)."""
    from transformers import ArceeConfig, ArceeForCausalLM
    config = ArceeConfig(vocab_size=384, hidden_size=16, intermediate_size=48, num_hidden_layers=2,
                         num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=128, rms_norm_eps=1e-5,
                         rope_parameters={"rope_type": "default", "rope_theta": 10000.0}, tie_word_embeddings=False,
                         initializer_range=INIT_STD, bos_token_id=1, eos_token_id=2, pad_token_id=0)
    model = build_model(ArceeForCausalLM, config, 5101)
    with torch.no_grad():
        model.lm_head.weight.mul_(4.0)  # logits of a few units
    model = bf16(model)
    emit_released_and_gguf(out, "arcee", model, small_cases(5111))


# The peer tree's StableLM converter returns the generator that stacks a layer's head norms from
# inside its own generator (modify_tensors), so the stacked tensors never reach the file and it stops
# at "Unprocessed norms": this runs the returned generator too.
STABLELM_HEAD_NORMS = ("import conversion.stablelm as m\n"
                       "orig = m.StableLMModel.modify_tensors\n"
                       "def stacked(self, data, name, bid):\n"
                       "    rest = yield from orig(self, data, name, bid)\n"
                       "    if rest is not None:\n"
                       "        yield from rest\n"
                       "m.StableLMModel.modify_tensors = stacked\n")


def biased_norm_fixtures(out: Path) -> None:
    """The families whose LayerNorms carry biases (--only biased_norms, after lfm2, whose tokenizer they
    take): StarCoder2, Phi-2 and StableLM (1.6B's and 12B's layouts), each as transformers saves it
    and as llama.cpp's converter writes it."""
    from transformers import (PhiConfig, PhiForCausalLM, StableLmConfig, StableLmForCausalLM, Starcoder2Config,
                              Starcoder2ForCausalLM)
    common = dict(vocab_size=384, max_position_embeddings=128, initializer_range=INIT_STD, bos_token_id=1,
                  eos_token_id=2, pad_token_id=0)

    # StarCoder2: the window bites transformers' run; llama.cpp's file has none, so its reference is
    # the same weights without it (a folder of their own, converted).
    def starcoder2(window):
        return Starcoder2Config(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                                num_key_value_heads=2, norm_epsilon=1e-5, use_bias=True, sliding_window=window,
                                hidden_act="gelu_pytorch_tanh", tie_word_embeddings=True,
                                rope_parameters={"rope_type": "default", "rope_theta": 999999.4420358813}, **common)
    model = bf16(build_model(Starcoder2ForCausalLM, starcoder2(8), 6101))
    cases = small_cases(6111)
    emit_released(out, "starcoder2", model, cases)
    unwindowed = build_model(Starcoder2ForCausalLM, starcoder2(None), 6101)
    unwindowed.load_state_dict(model.state_dict())
    with tempfile.TemporaryDirectory() as scratch:  # outside `out`: its logits are not shared
        source = Path(scratch) / "starcoder2_unwindowed"
        emit(source, unwindowed, cases, saver=save_bf16(unwindowed))
        for file in ("tokenizer.model", "tokenizer_config.json"):
            shutil.copy(out / "lfm2" / file, source / file)
        emit_llamacpp_gguf(out / "starcoder2_gguf", source, unwindowed, cases, 384, outtype="bf16",
                           sentencepiece_class="starcoder.StarCoder2Model")

    # Phi-2: llama.cpp's file writes feed_forward_length as 4 × hidden, so the MLP is that wide.
    config = PhiConfig(hidden_size=32, intermediate_size=128, num_hidden_layers=2, num_attention_heads=2,
                       layer_norm_eps=1e-5, hidden_act="gelu_new", tie_word_embeddings=False, qk_layernorm=False,
                       rope_parameters={"rope_type": "default", "rope_theta": 10000.0, "partial_rotary_factor": 0.5},
                       **common)
    model = build_model(PhiForCausalLM, config, 6201)
    with torch.no_grad():
        model.lm_head.weight.mul_(4.0)  # logits of a few units
    model = bf16(model)
    # Older phi2 GGUFs (converted from the checkpoints before transformers had Phi) hold q|k|v as one
    # attn_qkv: the converter is told to write them so.
    fuse = ("import torch, conversion.phi as m\n"
            "orig = m.Phi2Model.modify_tensors\n"
            "parts = {}\n"
            "def fused(self, data, name, bid):\n"
            "    for kind in ('q_proj', 'k_proj', 'v_proj'):\n"
            "        if f'self_attn.{kind}.' in name:\n"
            "            key = (bid, name.rsplit('.', 1)[1])\n"
            "            parts.setdefault(key, {})[kind] = data\n"
            "            if len(parts[key]) < 3:\n"
            "                return\n"
            "            p = parts.pop(key)\n"
            "            yield self.format_tensor_name(m.gguf.MODEL_TENSOR.ATTN_QKV, bid, '.' + key[1]), torch.cat([p['q_proj'], p['k_proj'], p['v_proj']])\n"
            "            return\n"
            "    yield from orig(self, data, name, bid)\n"
            "m.Phi2Model.modify_tensors = fused\n")
    emit_released_and_gguf(out, "phi", model, small_cases(6211), sentencepiece_class="phi.Phi2Model", prelude=fuse)

    # StableLM 2 1.6B's layout, and 12B's (per-head q/k LayerNorms, attention and the MLP in parallel).
    def stablelm(**extra):
        return StableLmConfig(hidden_size=32, intermediate_size=48, num_hidden_layers=2, layer_norm_eps=1e-5, hidden_act="silu", tie_word_embeddings=False,
                              rope_parameters={"rope_type": "default", "rope_theta": 10000.0, "partial_rotary_factor": 0.25},
                              **common, **extra)
    for name, seed, extra in (("stablelm", 6301, dict(num_attention_heads=2, num_key_value_heads=2, use_qkv_bias=True)),
                              ("stablelm_12b", 6401, dict(num_attention_heads=4, num_key_value_heads=2, qk_layernorm=True,
                                                          use_parallel_residual=True))):
        model = build_model(StableLmForCausalLM, stablelm(**extra), seed)
        with torch.no_grad():
            model.lm_head.weight.mul_(4.0)
            gen = torch.Generator().manual_seed(seed + 7)
            for pname, p in model.named_parameters():  # the heads' norms: 1 + jitter, as every norm here
                if ".norms." in pname:
                    p.copy_(1.0 + NORM_JITTER * torch.randn(p.shape, generator=gen))
        model = bf16(model)
        emit_released_and_gguf(out, name, model, small_cases(seed + 10), sentencepiece_class="stablelm.StableLMModel",
                               prelude=STABLELM_HEAD_NORMS)


# The converter reads config.json through transformers 5, which moves rotary_pct into rope_parameters
# (partial_rotary_factor); its GPTNeoXModel still asks for rotary_pct.
NEOX_ROTARY_PCT = ("import conversion.gptneox as g\n"
                   "orig = g.GPTNeoXModel.set_gguf_parameters\n"
                   "def with_rotary_pct(self):\n"
                   "    rope = self.hparams.get('rope_parameters') or {}\n"
                   "    self.hparams.setdefault('rotary_pct', rope.get('partial_rotary_factor', 0.25))\n"
                   "    orig(self)\n"
                   "g.GPTNeoXModel.set_gguf_parameters = with_rotary_pct\n")


# The converter reads config.json through transformers, whose FalconConfig fills num_kv_heads with the
# query heads' count where falcon-7b's config gives none (multi_query): its groups are then wrong. The
# key/value heads transformers computes (num_key_value_heads) are the groups.
FALCON_KV_GROUPS = ("import conversion.falcon as f\n"
                    "orig_init = f.FalconModel.__init__\n"
                    "def with_groups(self, *args, **kwargs):\n"
                    "    orig_init(self, *args, **kwargs)\n"
                    "    self.hparams['num_kv_heads'] = self.hparams.get('num_key_value_heads', self.hparams.get('num_kv_heads'))\n"
                    "f.FalconModel.__init__ = with_groups\n")


def layer_norms_jittered(model, seed: int) -> None:
    """GPT-2's LayerNorm weights (ln_1, ln_2, ln_f: not "…norm.weight", which build_model jitters around
    1) as 1 + jitter too."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if (".ln_" in name or "layernorm" in name) and name.endswith(".weight"):
                p.copy_(1.0 + NORM_JITTER * torch.randn(p.shape, generator=gen))


def gpt_fixtures(out: Path) -> None:
    """GPT-2, GPTBigCode, GPT-NeoX, OPT, GPT-J and Falcon (--only gpt, after lfm2, whose tokenizer they take), each as
    released and as llama.cpp's converter writes it."""
    from safetensors.torch import load_file, save_file
    from transformers import (GPT2Config, GPT2LMHeadModel, GPTBigCodeConfig, GPTBigCodeForCausalLM, GPTNeoXConfig,
                              GPTNeoXForCausalLM, OPTConfig, OPTForCausalLM, FalconConfig, FalconForCausalLM, GPTJConfig,
                              GPTJForCausalLM)
    common = dict(vocab_size=384, initializer_range=INIT_STD, bos_token_id=1, eos_token_id=2)

    # GPT-2: openai-community/gpt2's checkpoint names its tensors without "transformer." (it was saved
    # from GPT2Model) and has no lm_head (tied); transformers reads it so.
    config = GPT2Config(n_embd=32, n_layer=2, n_head=4, n_positions=128, n_inner=None, activation_function="gelu_new",
                        layer_norm_epsilon=1e-5, **common)
    model = build_model(GPT2LMHeadModel, config, 6701)
    layer_norms_jittered(model, 6702)
    model = bf16(model)

    def save_gpt2(folder: Path) -> None:
        save_bf16(model)(folder)
        weights = load_file(str(folder / "model.safetensors"))
        weights = {k.removeprefix("transformer."): v for k, v in weights.items() if k != "lm_head.weight"}
        save_file(weights, str(folder / "model.safetensors"), metadata={"format": "pt"})
        cfg = json.loads((folder / "config.json").read_text())
        cfg["n_ctx"] = cfg["n_positions"]  # as released (llama.cpp's converter reads it)
        (folder / "config.json").write_text(json.dumps(cfg, indent=1) + "\n")
    emit_released_and_gguf(out, "gpt2", model, small_cases(6711), saver=save_gpt2, sentencepiece_class="gpt2.GPT2Model")

    # GPTBigCode: one key/value head; llama.cpp's starcoder files assume it, and an MLP 4 × n_embd wide
    # (its converter writes that, whatever n_inner says; StarCoder's and SantaCoder's are so).
    config = GPTBigCodeConfig(n_embd=32, n_layer=2, n_head=4, n_positions=128, n_inner=128, multi_query=True,
                              activation_function="gelu_pytorch_tanh", layer_norm_epsilon=1e-5,
                              tie_word_embeddings=False, **common)
    model = build_model(GPTBigCodeForCausalLM, config, 6801)
    layer_norms_jittered(model, 6802)
    with torch.no_grad():
        model.lm_head.weight.mul_(4.0)  # logits of a few units
    emit_released_and_gguf(out, "gpt_bigcode", bf16(model), small_cases(6811), sentencepiece_class="starcoder.StarCoderModel")

    # GPT-NeoX (Pythia's layout), its config.json with the keys Pythia's have (transformers 5 writes
    # rope_parameters; llama.cpp's converter reads rotary_pct).
    def neox(parallel: bool, rotary_pct: float):
        return GPTNeoXConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                             max_position_embeddings=128, layer_norm_eps=1e-5, hidden_act="gelu",
                             use_parallel_residual=parallel, tie_word_embeddings=False,
                             rope_parameters={"rope_type": "default", "rope_theta": 10000.0,
                                              "partial_rotary_factor": rotary_pct}, **common)
    for name, seed, parallel, rotary_pct in (("gpt_neox", 6901, True, 0.25), ("gpt_neox_seq", 6951, False, 1.0)):
        model = build_model(GPTNeoXForCausalLM, neox(parallel, rotary_pct), seed)
        with torch.no_grad():
            model.lm_head.weight.mul_(4.0)
        model = bf16(model)
        # Pythia's checkpoints name the vocabulary projection embed_out (transformers 5 reads it as lm_head).
        emit_released_keys(out, name, model, small_cases(seed + 10), drop=("rope_parameters",),
                           add={"rotary_pct": rotary_pct, "rotary_emb_base": 10000}, prefixes={"lm_head.": "embed_out."})
        if name == "gpt_neox":
            emit_llamacpp_gguf(out / "gpt_neox_gguf", out / name, model, small_cases(seed + 10), 384, outtype="bf16",
                               sentencepiece_class="gptneox.GPTNeoXModel", prelude=NEOX_ROTARY_PCT)

    # OPT (opt-125m's layout): positions from row 2 of their table, ReLU; llama.cpp has no converter.
    config = OPTConfig(hidden_size=32, ffn_dim=64, num_hidden_layers=2, num_attention_heads=4, max_position_embeddings=128,
                       word_embed_proj_dim=32, activation_function="relu", do_layer_norm_before=True, enable_bias=True,
                       tie_word_embeddings=True, pad_token_id=0, **common)
    model = build_model(OPTForCausalLM, config, 7001)
    with torch.no_grad():
        model.model.decoder.embed_tokens.weight.mul_(4.0)  # tied: logits of a few units
    emit_released(out, "opt", bf16(model), small_cases(7011))

    # GPT-J: RoPE on interleaved pairs of each head's first 8 of 16 dimensions; llama.cpp has no converter.
    config = GPTJConfig(n_embd=32, n_layer=2, n_head=2, n_positions=128, rotary_dim=8, n_inner=None,
                        activation_function="gelu_new", layer_norm_epsilon=1e-5, tie_word_embeddings=False, **common)
    model = build_model(GPTJForCausalLM, config, 7401)
    layer_norms_jittered(model, 7402)
    with torch.no_grad():
        model.lm_head.weight.mul_(4.0)
    emit_released(out, "gptj", bf16(model), small_cases(7411))

    # Falcon: 7B's layers (one key/value head, attention and the MLP side by side on one norm, no
    # biases), 40B's (new_decoder_architecture: two key/value groups, ln_attn and ln_mlp), and the
    # sequential layout with biases and a key/value head per query head (not converted: llama.cpp's
    # falcon graph is always parallel).
    def falcon(**extra):
        return FalconConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, max_position_embeddings=128,
                            layer_norm_epsilon=1e-5, ffn_hidden_size=None, activation="gelu", alibi=False,
                            tie_word_embeddings=False, rope_parameters={"rope_type": "default", "rope_theta": 10000.0},
                            **common, **extra)
    for name, seed, extra in (("falcon", 7101, dict(multi_query=True, new_decoder_architecture=False, parallel_attn=True, bias=False)),
                              ("falcon_40b", 7201, dict(new_decoder_architecture=True, num_kv_heads=2, bias=False)),
                              ("falcon_seq", 7301, dict(multi_query=False, new_decoder_architecture=False, parallel_attn=False,
                                                        bias=True))):
        model = build_model(FalconForCausalLM, falcon(**extra), seed)
        layer_norms_jittered(model, seed + 1)
        with torch.no_grad():
            model.lm_head.weight.mul_(4.0)
        model = bf16(model)

        def save_falcon(folder: Path, model=model, multi_query=extra.get("multi_query") and not extra["new_decoder_architecture"]) -> None:
            save_bf16(model)(folder)
            if multi_query:  # falcon-7b's config has no num_kv_heads (llama.cpp's converter reads one as the groups)
                cfg = json.loads((folder / "config.json").read_text())
                cfg.pop("num_kv_heads")
                (folder / "config.json").write_text(json.dumps(cfg, indent=1) + "\n")
        if name == "falcon_seq":
            emit_released(out, name, model, small_cases(seed + 10), saver=save_falcon)
        else:
            emit_released_and_gguf(out, name, model, small_cases(seed + 10), saver=save_falcon,
                                   sentencepiece_class="falcon.FalconModel", prelude=FALCON_KV_GROUPS)


def emit_released_keys(out: Path, name: str, model, cases, drop: tuple, add: dict, prefixes: dict | None = None) -> None:
    """out/name as released where transformers writes a config under other keys than the release's (it
    reads both): saved in bfloat16, its config.json without `drop` and with `add`, its tensor names
    starting with a key of `prefixes` starting with its value instead, checked to read back through
    AutoModelForCausalLM to the same logits, with lfm2's tokenizer files."""
    def save(folder: Path) -> None:
        save_bf16(model)(folder)
        if prefixes:
            from safetensors.torch import load_file, save_file
            weights = load_file(str(folder / "model.safetensors"))
            for old, new in prefixes.items():
                weights = {new + k[len(old):] if k.startswith(old) else k: v for k, v in weights.items()}
            save_file(weights, str(folder / "model.safetensors"), metadata={"format": "pt"})
        cfg = json.loads((folder / "config.json").read_text())
        for key in drop:
            cfg.pop(key)
        cfg.update(add)
        (folder / "config.json").write_text(json.dumps(cfg, indent=1) + "\n")

    from transformers import AutoModelForCausalLM
    emit(out / name, model, cases, saver=save)
    reloaded = AutoModelForCausalLM.from_pretrained(out / name, dtype=torch.float32, attn_implementation="eager").eval()
    assert np.array_equal(run_logits(reloaded, cases[-1][1]), run_logits(model, cases[-1][1])), f"{name} reload"
    for file in ("tokenizer.model", "tokenizer_config.json"):
        shutil.copy(out / "lfm2" / file, out / name / file)


def llama_renamed_fixtures(out: Path) -> None:
    """Llama's layers under other names or with a twist (--only llama_renamed, after lfm2): EXAONE 3.5's
    checkpoint and config as released, InternLM3 with its bias switches, OLMo 1, Helium, Hunyuan's dense
    models and Apertus; each but Helium with llama.cpp's conversion."""
    from transformers import ExaoneConfig, InternLM3Config
    common = dict(vocab_size=384, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                  num_key_value_heads=2, max_position_embeddings=128, initializer_range=INIT_STD, bos_token_id=1,
                  eos_token_id=2, pad_token_id=0)

    # EXAONE 3.5: saved by transformers under the checkpoint's names, its config then written with the
    # released keys (transformers reads them through ExaoneConfig's attribute_map).
    rope = {"rope_type": "llama3", "rope_theta": 1_000_000.0, "factor": 8.0, "low_freq_factor": 1.0,
            "high_freq_factor": 4.0, "original_max_position_embeddings": 16}
    exaone = bf16(build_model(LlamaForCausalLM, ExaoneConfig(rms_norm_eps=1e-5, rope_parameters=rope, **common), 6501))
    with torch.no_grad():
        exaone.lm_head.weight.mul_(4.0)

    cases = small_cases(6511)
    emit_released_keys(out, "exaone", exaone, cases,
                       drop=("num_hidden_layers", "rms_norm_eps", "hidden_act", "rope_parameters", "mlp_bias", "attention_bias"),
                       add={"architectures": ["ExaoneForCausalLM"], "num_layers": 2, "layer_norm_epsilon": 1e-5,
                            "activation_function": "silu", "rope_theta": rope["rope_theta"],
                            "rope_scaling": {k: v for k, v in rope.items() if k != "rope_theta"}})
    # The converter reads the config through transformers, whose ExaoneConfig gives activation_function
    # back as hidden_act; its check for the former is fed the latter.
    activation = ("import conversion.exaone as m\n"
                  "orig = m.ExaoneModel.set_gguf_parameters\n"
                  "def params(self):\n"
                  "    self.hparams.setdefault('activation_function', self.hparams.get('hidden_act'))\n"
                  "    orig(self)\n"
                  "m.ExaoneModel.set_gguf_parameters = params\n")
    emit_llamacpp_gguf(out / "exaone_gguf", out / "exaone", exaone, cases, 384, outtype="bf16",
                       sentencepiece_class="exaone.ExaoneModel", prelude=activation)

    # InternLM3 with biases (its released 8B has neither; the switches are what differs from Llama).
    config = InternLM3Config(rms_norm_eps=1e-5, head_dim=8, attention_bias=True, mlp_bias=True,
                             rope_parameters={"rope_type": "default", "rope_theta": 50_000_000.0}, **common)
    internlm3 = build_model(LlamaForCausalLM, config, 6601)
    with torch.no_grad():
        internlm3.lm_head.weight.mul_(4.0)
    internlm3 = bf16(internlm3)

    cases = small_cases(6611)
    emit_released_keys(out, "internlm3", internlm3, cases, drop=("attention_bias", "mlp_bias"),  # its keys: qkv_bias, bias
                       add={"architectures": ["InternLM3ForCausalLM"], "qkv_bias": True, "bias": True})
    emit_llamacpp_gguf(out / "internlm3_gguf", out / "internlm3", internlm3, cases, 384, outtype="bf16")

    # OLMo 1 and Helium: Llama's layers with other norms.
    from transformers import HeliumConfig, HeliumForCausalLM, OlmoConfig, OlmoForCausalLM
    olmo = build_model(OlmoForCausalLM, OlmoConfig(clip_qkv=0.3, tie_word_embeddings=False,
                                                   rope_parameters={"rope_type": "default", "rope_theta": 10000.0},
                                                   **common), 6701)
    with torch.no_grad():
        olmo.lm_head.weight.mul_(4.0)
    olmo = bf16(olmo)
    unclipped = copy.deepcopy(olmo)
    unclipped.config.clip_qkv = None
    probe = small_cases(6711)[-1][1]
    assert not np.allclose(run_logits(unclipped, probe), run_logits(olmo, probe), atol=1e-3), "olmo's clip_qkv does not bite"
    emit_released_and_gguf(out, "olmo", olmo, small_cases(6711), sentencepiece_class="olmo.OlmoModel")
    helium = build_model(HeliumForCausalLM, HeliumConfig(head_dim=8, rms_norm_eps=1e-8, tie_word_embeddings=False,
                                                         rope_parameters={"rope_type": "default", "rope_theta": 100000.0},
                                                         **common), 6801)
    with torch.no_grad():
        helium.lm_head.weight.mul_(4.0)
    emit_released(out, "helium", bf16(helium), small_cases(6811))

    from transformers import HunYuanDenseV1Config, HunYuanDenseV1ForCausalLM
    rope = {"rope_type": "dynamic", "alpha": 1000.0, "rope_theta": 10000.0, "factor": 1.0}
    # llama.cpp's converter takes alpha's base for contexts of 32K or 256K alone, as released.
    config = HunYuanDenseV1Config(head_dim=8, rms_norm_eps=1e-5, tie_word_embeddings=False, rope_parameters=rope,
                                  **{**common, "max_position_embeddings": 32768})
    hunyuan = build_model(HunYuanDenseV1ForCausalLM, config, 6901)
    with torch.no_grad():
        hunyuan.lm_head.weight.mul_(4.0)
        gen = torch.Generator().manual_seed(6907)
        for pname, p in hunyuan.named_parameters():  # the q/k norms ("…layernorm.weight"): 1 + jitter
            if "query_layernorm" in pname or "key_layernorm" in pname:
                p.copy_(1.0 + NORM_JITTER * torch.randn(p.shape, generator=gen))
    emit_released_and_gguf(out, "hunyuan_dense", bf16(hunyuan), small_cases(6911), sentencepiece_class="hunyuan.HunYuanModel")

    from transformers import ApertusConfig, ApertusForCausalLM
    apertus = build_model(ApertusForCausalLM, ApertusConfig(head_dim=8, rms_norm_eps=1e-5, tie_word_embeddings=False,
                                                            rope_parameters={"rope_type": "default", "rope_theta": 12_000_000.0},
                                                            **common), 7001)
    with torch.no_grad():
        apertus.lm_head.weight.mul_(4.0)
        gen = torch.Generator().manual_seed(7007)
        for pname, p in apertus.named_parameters():
            if pname.endswith(("q_norm.weight", "k_norm.weight")):
                p.copy_(1.0 + NORM_JITTER * torch.randn(p.shape, generator=gen))
            elif ".act_fn.alpha" in pname:  # each layer's own xIELU (the stored values, before softplus)
                p.copy_(0.5 * torch.randn(p.shape, generator=gen))
    emit_released_and_gguf(out, "apertus", bf16(apertus), small_cases(7011), sentencepiece_class="llama.ApertusModel")

    from transformers import GlmConfig, GlmForCausalLM
    # epsilon 1e-5: llama.cpp's converter writes ChatGLM's layernorm_epsilon, or 1e-5, whatever rms_norm_eps says
    # (the -hf releases' 1.5625e-7 becomes 1e-5 in their GGUFs, as llama.cpp then runs them).
    glm = build_model(GlmForCausalLM, GlmConfig(head_dim=8, rms_norm_eps=1e-5, attention_bias=True, tie_word_embeddings=False,
                                                rope_parameters={"rope_type": "default", "rope_theta": 10000.0,
                                                                 "partial_rotary_factor": 0.5}, **common), 7101)
    with torch.no_grad():
        glm.lm_head.weight.mul_(4.0)
    from transformers import Dots1Config, Dots1ForCausalLM
    config = Dots1Config(head_dim=8, rms_norm_eps=1e-6, tie_word_embeddings=False, moe_intermediate_size=16, n_routed_experts=4,
                         num_experts_per_tok=2, n_shared_experts=1, first_k_dense_replace=1, n_group=2, topk_group=1,
                         routed_scaling_factor=2.5, norm_topk_prob=False, sliding_window=None,
                         rope_parameters={"rope_type": "default", "rope_theta": 10000.0}, **{**common, "num_hidden_layers": 3})
    dots1 = build_model(Dots1ForCausalLM, config, 7201)
    gen = torch.Generator().manual_seed(7202)
    with torch.no_grad():
        dots1.lm_head.weight.mul_(4.0)
        for pname, p in dots1.named_parameters():
            if pname.endswith(("q_norm.weight", "k_norm.weight")):
                p.copy_(1.0 + NORM_JITTER * torch.randn(p.shape, generator=gen))
        for layer in dots1.model.layers[1:]:  # router logits of a few units, a bias that changes choices
            layer.mlp.gate.weight.mul_(8.0)
            layer.mlp.gate.e_score_correction_bias.copy_((0.1 * torch.randn(4, generator=gen)).to(torch.bfloat16).float())
    assert hasattr(dots1.model.layers[1].mlp, "shared_experts") and not hasattr(dots1.model.layers[0].mlp, "experts")
    emit_released_and_gguf(out, "dots1", bf16(dots1), small_cases(7211), sentencepiece_class="dots1.Dots1Model")

    # The converter takes the context from ChatGLM's seq_length, else the hidden size: given the former.
    context = ("import conversion.chatglm as m\n"
               "orig = m.ChatGLMModel.set_gguf_parameters\n"
               "def params(self):\n"
               "    self.hparams.setdefault('seq_length', self.hparams['max_position_embeddings'])\n"
               "    orig(self)\n"
               "m.ChatGLMModel.set_gguf_parameters = params\n")
    emit_released_and_gguf(out, "glm", bf16(glm), small_cases(7111), sentencepiece_class="chatglm.ChatGLMModel",
                           prelude=context)


def ministral_fixtures(out: Path) -> None:
    """Ministral (MinistralForCausalLM, Ministral-8B-2410's layout; --only ministral, after lfm2): Mistral's
    layers, sliding (over 4 positions) and full attention interleaved by layer_types."""
    from transformers import MinistralConfig, MinistralForCausalLM
    config = MinistralConfig(vocab_size=384, hidden_size=16, intermediate_size=32, num_hidden_layers=4,
                             num_attention_heads=2, num_key_value_heads=1, head_dim=8, max_position_embeddings=128,
                             rms_norm_eps=1e-5, sliding_window=4,
                             layer_types=["full_attention", "sliding_attention", "sliding_attention", "full_attention"],
                             rope_parameters={"rope_type": "default", "rope_theta": 100000.0}, tie_word_embeddings=False,
                             initializer_range=INIT_STD, bos_token_id=1, eos_token_id=2, pad_token_id=0)
    model = build_model(MinistralForCausalLM, config, 5201)
    with torch.no_grad():
        model.lm_head.weight.mul_(4.0)  # logits of a few units
    model = bf16(model)
    cases = small_cases(5211)
    emit_released(out, "ministral", model, cases)


def solar_open_fixtures(out: Path) -> None:
    """Solar Open (SolarOpenForCausalLM, Solar-Open-100B's layout; --only solar_open, after lfm2): Llama's
    attention (RoPE on the whole head) and in every layer GLM-4.5's experts: 4 of 16 columns, 2 per
    token by sigmoid scores plus a selection bias, renormalized, times 2.5, beside a shared expert.
    No GGUF: the llama.cpp tree troupe compares against has no solar_open."""
    from transformers import SolarOpenConfig, SolarOpenForCausalLM
    config = SolarOpenConfig(vocab_size=384, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                             num_key_value_heads=1, head_dim=8, n_routed_experts=4, num_experts_per_tok=2,
                             moe_intermediate_size=16, n_shared_experts=1, routed_scaling_factor=2.5,
                             max_position_embeddings=128, rms_norm_eps=1e-5, tie_word_embeddings=False,
                             initializer_range=INIT_STD, bos_token_id=1, eos_token_id=2, pad_token_id=0)
    model = build_model(SolarOpenForCausalLM, config, 5301)
    gen = torch.Generator().manual_seed(5302)
    with torch.no_grad():  # routers of a few units, a selection bias that changes choices, logits of a few units
        for layer in model.model.layers:
            layer.mlp.gate.weight.mul_(8.0)
            layer.mlp.gate.e_score_correction_bias.copy_(0.3 * torch.randn(4, generator=gen))
        model.lm_head.weight.mul_(4.0)
    model = bf16(model)
    cases = small_cases(5311)
    assert_layers_count("solar_open", "the selection bias", model, cases,
                        lambda layer: layer.mlp.gate.e_score_correction_bias.zero_(), 0.05)
    emit_released(out, "solar_open", model, cases)


def granite_moe_fixtures(out: Path) -> None:
    """Granite 3's mixture of experts with a shared MLP (GraniteMoeSharedForCausalLM, granitemoeshared;
    --only granite_moe, after lfm2): four attention layers with RoPE and Granite's multipliers, every
    MLP 4 experts of 16 columns (2 per token, softmax over the top 2 logits) beside a shared MLP of
    32, stored as released (block_sparse_moe.input_linear 3-D, shared_mlp.input_linear fused); and
    granite_moe_gguf, llama.cpp's conversion (granitemoe)."""
    from transformers import GraniteMoeSharedConfig, GraniteMoeSharedForCausalLM
    config = GraniteMoeSharedConfig(**granite_moe_config(
        rope_parameters={"rope_type": "default", "rope_theta": 10_000.0}))
    model = build_model(GraniteMoeSharedForCausalLM, config, 4401)
    spread_granite_router(model)
    model = bf16(model)
    cases = small_cases(4411)
    emit_released_and_gguf(out, "granite_moe", model, cases)
    names = load_file(str(out / "granite_moe" / "model.safetensors"))
    assert list(names["model.layers.0.block_sparse_moe.input_linear.weight"].shape) == [4, 32, 16], sorted(names)[:8]
    assert "model.layers.0.shared_mlp.input_linear.weight" in names, sorted(names)[:8]


def spread_sinks(layers, seed: int) -> None:
    """Sink logits drawn N(0, 1), so that each head's sink takes a share of its softmax."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for layer in layers:
            layer.self_attn.sinks.copy_(torch.randn(layer.self_attn.sinks.shape, generator=gen))


def granite_swa_fixtures(out: Path) -> None:
    """Granite's sliding-window releases (--only granite_swa, after lfm2): granite_swa, GraniteSWAForCausalLM
    — Granite's multipliers, four layers, the first full and the others sliding over 4 positions (the
    default pattern), a sink per head, a RoPE base per layer (layer_rope_theta: none in the full layer,
    1,000 in the sliding ones) —; granitemoe_swa, GraniteMoeSWAForCausalLM with experts (4 of 16, 2 per
    token) beside a shared MLP of 32, one RoPE base, stored as transformers 5 holds them
    (block_sparse_moe.experts.gate_up_proj 3-D); and granitemoe_swa_gguf, llama.cpp's conversion
    (granite_swa: the window pattern, sinks, the experts and the shared MLP's gate and up fused). No
    GGUF of granite_swa: llama.cpp's converter writes no per-layer base."""
    from transformers import GraniteMoeSWAConfig, GraniteMoeSWAForCausalLM, GraniteSWAConfig, GraniteSWAForCausalLM
    common = dict(vocab_size=384, hidden_size=16, num_hidden_layers=4, num_attention_heads=2, num_key_value_heads=1,
                  max_position_embeddings=128, rms_norm_eps=1e-5, embedding_multiplier=4.0, attention_multiplier=0.3,
                  residual_multiplier=0.5, logits_scaling=2.0, sliding_window=4, initializer_range=INIT_STD,
                  bos_token_id=1, eos_token_id=2, pad_token_id=0, tie_word_embeddings=True)
    dense = GraniteSWAConfig(**common, intermediate_size=32, rope_parameters={"rope_type": "default", "rope_theta": 10000.0},
                             layer_rope_theta=[0, 1000.0, 1000.0, 1000.0])
    model = build_model(GraniteSWAForCausalLM, dense, 5701)
    spread_sinks(model.model.layers, 5702)
    model = bf16(model)
    cases = small_cases(5711)
    assert_layers_count("granite_swa", "the sinks", model, cases, lambda layer: layer.self_attn.sinks.fill_(-30.0), 0.05)
    emit_released(out, "granite_swa", model, cases)

    moe = GraniteMoeSWAConfig(**common, intermediate_size=16, shared_intermediate_size=32, num_local_experts=4,
                              num_experts_per_tok=2, rope_parameters={"rope_type": "default", "rope_theta": 10000.0})
    model = build_model(GraniteMoeSWAForCausalLM, moe, 5721)
    spread_sinks(model.model.layers, 5722)
    spread_granite_router(model)
    model = bf16(model)
    cases = small_cases(5731)
    emit_released_and_gguf(out, "granitemoe_swa", model, cases)
    names = load_file(str(out / "granitemoe_swa" / "model.safetensors"))
    assert list(names["model.layers.0.block_sparse_moe.experts.gate_up_proj"].shape) == [4, 32, 16], sorted(names)[:8]


def qwen3_5_fixtures(out: Path) -> None:
    """Qwen3.5: Qwen3_5ForConditionalGeneration as released (text_config qwen3_5_text, a one-block
    vision tower beside it), four layers of which the first three are gated delta nets (two key heads
    each serving two value heads, which llama.cpp's conversion reorders; a 4-tap convolution) and the fourth full attention with its output gate,
    (1 + w) q/k norms and RoPE on half of each head; tied embeddings, as the small releases. Hidden 16
    and a 384-token vocabulary: the tree that travels to a lent GPU has little room left."""
    from transformers import Qwen3_5Config, Qwen3_5ForConditionalGeneration
    text = dict(copy.deepcopy(QWEN3_5_TEXT), intermediate_size=32, tie_word_embeddings=True)
    model = build_model(Qwen3_5ForConditionalGeneration,
                        Qwen3_5Config(text_config=text, vision_config=QWEN3_5_VISION, tie_word_embeddings=True), 3901)
    lm = model.model.language_model
    assert [layer.block_type for layer in lm.layers] == ["linear_attention"] * 3 + ["full_attention"]
    spread_delta_nets(lm, 3902)
    model = bf16(model)
    cases = small_cases(3911)
    # The state carries the past: with every decay at 0 (A_log large) the logits move.
    forgetful = copy.deepcopy(model)
    with torch.no_grad():
        for layer in forgetful.model.language_model.layers:
            if layer.block_type == "linear_attention":
                layer.linear_attn.A_log.fill_(8.0)
    moved = np.abs(run_logits(forgetful, cases[2][1]) - run_logits(model, cases[2][1])).max()
    assert moved > 0.1, f"the delta nets' state moves the logits by {moved} only"
    emit(out / "qwen3_5", model, cases, saver=save_bf16(model), vocab=384)
    names = load_file(str(out / "qwen3_5" / "model.safetensors"))
    assert "model.language_model.layers.0.linear_attn.in_proj_qkv.weight" in names, sorted(names)[:8]
    tiny_tokenizer(out / "qwen3_5", 384, "Qwen2Tokenizer", {"bos": "<s>", "eos": "<|im_end|>"},
                   ["<|im_start|>", "<|endoftext|>"], False, CHATML_TEMPLATE, add_bos_token=False, legacy=False)
    # The released checkpoints carry a multi-token-prediction layer, which this one has not (--no-mtp).
    emit_llamacpp_gguf(out / "qwen3_5_gguf", out / "qwen3_5", model, cases, 384,
                       sentencepiece_class="qwen.Qwen3_5TextModel", outtype="bf16", extra_args=("--no-mtp",))


def qwen3_5_moe_fixtures(out: Path) -> None:
    """Qwen3.5's mixture of experts as released (Qwen3_5MoeForConditionalGeneration: the experts of a
    layer in two 3-D tensors, mlp.experts.gate_up_proj [4, 32, 16] and down_proj [4, 16, 16], as
    transformers 5 holds them) and as llama.cpp's converter writes it (qwen3_5_moe_gguf, qwen35moe):
    qwen3_5's layers with every MLP 4 experts of 16 columns, 2 per token (softmax, renormalized),
    beside a shared expert scaled by its sigmoid gate. Run after --only qwen3_5 (its tokenizer)."""
    from transformers import Qwen3_5MoeConfig, Qwen3_5MoeForConditionalGeneration
    text = dict(copy.deepcopy(QWEN3_5_TEXT), num_experts=4, num_experts_per_tok=2, moe_intermediate_size=16,
                shared_expert_intermediate_size=16, tie_word_embeddings=False)
    model = build_model(Qwen3_5MoeForConditionalGeneration,
                        Qwen3_5MoeConfig(text_config=text, vision_config=QWEN3_5_VISION, tie_word_embeddings=False), 4001)
    with torch.no_grad():  # router scores spread over the experts
        for layer in model.model.language_model.layers:
            layer.mlp.gate.weight.mul_(8.0)
    spread_delta_nets(model.model.language_model, 4002)
    model = bf16(model)
    cases = small_cases(4011, (("batch", [3, 9]), ("long", [25])))
    source = out / "qwen3_5_moe"

    def save_released(folder: Path) -> None:
        """transformers 5 saves the experts one by one; the released checkpoints keep them as it holds
        them, each layer's in two 3-D tensors (gate rows then up rows per expert)."""
        save_bf16(model)(folder)
        tensors = load_file(str(folder / "model.safetensors"))
        for layer in range(text["num_hidden_layers"]):
            p = f"model.language_model.layers.{layer}.mlp.experts."
            per = [[tensors.pop(f"{p}{e}.{kind}_proj.weight") for e in range(4)] for kind in ("gate", "up", "down")]
            tensors[p + "gate_up_proj"] = torch.stack([torch.cat([g, u]) for g, u in zip(per[0], per[1])]).contiguous()
            tensors[p + "down_proj"] = torch.stack(per[2]).contiguous()
        save_file(tensors, str(folder / "model.safetensors"), metadata={"format": "pt"})

    emit(source, model, cases, saver=save_released, vocab=384)
    names = load_file(str(source / "model.safetensors"))
    fused = "model.language_model.layers.0.mlp.experts.gate_up_proj"
    assert list(names[fused].shape) == [4, 32, 16], sorted(names)[:8]
    reloaded = Qwen3_5MoeForConditionalGeneration.from_pretrained(source, dtype=torch.float32,
                                                                  attn_implementation="eager").eval()
    assert np.array_equal(run_logits(reloaded, cases[1][1]), run_logits(model, cases[1][1])), "qwen3_5_moe reload"
    for name in ("tokenizer.model", "tokenizer_config.json"):
        shutil.copy(out / "qwen3_5" / name, source / name)
    emit_llamacpp_gguf(out / "qwen3_5_moe_gguf", source, model, cases, 384,
                       sentencepiece_class="qwen.Qwen3_5MoeTextModel", outtype="bf16", extra_args=("--no-mtp",))


def qwen3_next_fixtures(out: Path) -> None:
    """Qwen3-Next (Qwen3NextForCausalLM; --only qwen3_next, after qwen3_5): qwen3_5_moe's shape
    (three gated delta nets, two key heads each serving two value heads, then a gated attention layer;
    every MLP 4 experts of 16 columns, 2 per token, renormalized, beside a gated shared expert), its
    delta nets' projections fused per key head as released (in_proj_qkvz, in_proj_ba); and
    qwen3_next_gguf, llama.cpp's conversion (qwen3next: attn_qkv and attn_gate apart, ssm_ba fused,
    the value heads untiled)."""
    from transformers import Qwen3NextConfig, Qwen3NextForCausalLM
    text = {k: v for k, v in QWEN3_5_TEXT.items() if k != "rope_parameters"}
    config = Qwen3NextConfig(**dict(text, num_experts=4, num_experts_per_tok=2, moe_intermediate_size=16,
                                    shared_expert_intermediate_size=16, intermediate_size=32, norm_topk_prob=True,
                                    tie_word_embeddings=False,
                                    rope_parameters={"rope_type": "default", "rope_theta": 10_000_000.0,
                                                     "partial_rotary_factor": 0.5}))
    model = build_model(Qwen3NextForCausalLM, config, 4501)
    assert [layer.block_type for layer in model.model.layers] == ["linear_attention"] * 3 + ["full_attention"]
    with torch.no_grad():  # router scores spread over the experts
        for layer in model.model.layers:
            layer.mlp.gate.weight.mul_(8.0)
    spread_delta_nets(model.model, 4502)
    model = bf16(model)
    cases = small_cases(4511, (("batch", [3, 9]), ("long", [25])))
    emit_released_and_gguf(out, "qwen3_next", model, cases, tokenizer_from="qwen3_5",
                           sentencepiece_class="qwen.Qwen3NextModel", extra_args=("--no-mtp",))
    names = load_file(str(out / "qwen3_next" / "model.safetensors"))
    assert list(names["model.layers.0.linear_attn.in_proj_qkvz.weight"].shape) == [2 * (4 + 4 + 8 + 8), 16], sorted(names)[:8]
    assert "model.layers.0.linear_attn.in_proj_ba.weight" in names and "model.layers.0.mlp.experts.3.up_proj.weight" in names


def ernie_fixtures(out: Path) -> None:
    """ERNIE 4.5 (--only ernie, after lfm2, whose SentencePiece tokenizer they take): ernie4_5, four
    Llama layers with RoPE on interleaved pairs (tied embeddings, as the 0.3B); ernie4_5_moe, the
    first layer dense, then every layer 4 experts of 16 columns, 2 per token by softmax probabilities
    plus a selection bias (moe_statics) that changes choices, renormalized, beside 2 shared experts
    (one MLP of 32 columns); and each as llama.cpp's conversion (ernie4_5, ernie4_5-moe; the rows as
    stored, the experts stacked)."""
    from transformers import Ernie4_5Config, Ernie4_5ForCausalLM, Ernie4_5_MoeConfig, Ernie4_5_MoeForCausalLM
    shape = dict(vocab_size=384, hidden_size=16, intermediate_size=32, num_hidden_layers=4, num_attention_heads=2,
                 num_key_value_heads=1, head_dim=8, max_position_embeddings=128, rms_norm_eps=1e-5, use_bias=False,
                 rope_parameters={"rope_type": "default", "rope_theta": 500_000.0},
                 initializer_range=INIT_STD, bos_token_id=1, eos_token_id=2, pad_token_id=0)
    dense = bf16(build_model(Ernie4_5ForCausalLM, Ernie4_5Config(**shape, tie_word_embeddings=True), 4601))
    moe = build_model(Ernie4_5_MoeForCausalLM, Ernie4_5_MoeConfig(
        **shape, tie_word_embeddings=False, moe_num_experts=4, moe_k=2, moe_intermediate_size=16,
        moe_num_shared_experts=2, moe_layer_start_index=1, moe_layer_interval=1), 4701)
    gen = torch.Generator().manual_seed(4702)
    with torch.no_grad():  # router scores spread over the experts, a bias that changes choices
        for layer in moe.model.layers[1:]:
            layer.mlp.gate.weight.mul_(8.0)
            layer.mlp.gate.moe_statics.e_score_correction_bias.copy_(0.1 * torch.randn(1, 4, generator=gen))
    moe = bf16(moe)
    for name, model, seed in (("ernie4_5", dense, 4611), ("ernie4_5_moe", moe, 4711)):
        emit_released_and_gguf(out, name, model, small_cases(seed))
    names = load_file(str(out / "ernie4_5_moe" / "model.safetensors"))
    assert list(names["model.layers.1.mlp.moe_statics.e_score_correction_bias"].shape) == [1, 4], sorted(names)[:12]
    assert "model.layers.1.mlp.experts.3.up_proj.weight" in names and "model.layers.0.mlp.gate_proj.weight" in names


def granite_fixtures(out: Path) -> None:
    """Granite 3: its four multipliers; and llama.cpp's conversion."""
    config = GraniteConfig(**llama_like(tie_word_embeddings=True, embedding_multiplier=12.0, residual_multiplier=0.22,
                                        attention_multiplier=0.0625, logits_scaling=8.0, pad_token_id=0,
                                        rope_parameters={"rope_type": "default", "rope_theta": 10_000.0}))
    model = bf16(build_model(GraniteForCausalLM, config, 1201))
    cases = make_sequences(600, 1211)
    emit(out / "granite", model, cases, saver=save_bf16(model))
    tiny_tokenizer(out / "granite", 600, "LlamaTokenizer", {"bos": "<s>", "eos": "<|end_of_text|>"},
                   ["<|start_of_role|>", "<|end_of_role|>"], True, CHATML_TEMPLATE, add_bos_token=False, legacy=False)
    emit_llamacpp_gguf(out / "granite_gguf", out / "granite", model, cases, 600, outtype="bf16")


def smollm3_fixtures(out: Path) -> None:
    """SmolLM3: a NoPE layer every fourth, and llama.cpp's conversion."""
    config = SmolLM3Config(**llama_like(num_hidden_layers=4, tie_word_embeddings=True, no_rope_layer_interval=4,
                                        pad_token_id=0, rope_parameters={"rope_type": "default",
                                                                         "rope_theta": 5_000_000.0}))
    assert config.no_rope_layers == [1, 1, 1, 0], config.no_rope_layers
    model = bf16(build_model(SmolLM3ForCausalLM, config, 1001))
    cases = make_sequences(600, 1011)
    emit(out / "smollm3", model, cases, saver=save_bf16(model))
    tiny_tokenizer(out / "smollm3", 600, "LlamaTokenizer", {"bos": "<s>", "eos": "<|im_end|>"},
                   ["<|im_start|>"], True, CHATML_TEMPLATE, add_bos_token=False, legacy=False)
    emit_llamacpp_gguf(out / "smollm3_gguf", out / "smollm3", model, cases, 600, outtype="bf16")


def qwen3_moe_config(layers: int, dense: list[int], normalize: bool) -> Qwen3MoeConfig:
    return Qwen3MoeConfig(**llama_like(num_hidden_layers=layers, intermediate_size=96, moe_intermediate_size=32,
                                       num_experts=8, num_experts_per_tok=3, norm_topk_prob=normalize,
                                       decoder_sparse_step=1, mlp_only_layers=dense, pad_token_id=0,
                                       rope_parameters={"rope_type": "default", "rope_theta": 1_000_000.0}))


def load_gguf_weights(model, path: Path, names: dict, split=None) -> None:
    """The weights of a GGUF as llama.cpp's converter (and llama-quantize) writes them, dequantized
    by the gguf package, into `model`: the embedding, output and final norm, each layer's tensors
    by `names` (llama.cpp's name -> Hugging Face's under model.layers.N), and the stacked experts
    (ffn_*_exps) into transformers 5's fused gate_up_proj [experts, 2 inter, hidden] (gate rows
    first) and down_proj [experts, hidden, inter]. `split(layer, name, values)`, when given, takes the
    tensors the file splits from one of the model's and returns {Hugging Face name: values} once it
    has their parts (None until then)."""
    state = model.state_dict()
    loaded = set()

    def put(target: str, values: torch.Tensor) -> None:
        state[target].copy_(values.reshape(state[target].shape))
        loaded.add(target)

    globals_ = {"token_embd.weight": "model.embed_tokens.weight", "output.weight": "lm_head.weight",
                "output_norm.weight": "model.norm.weight"}
    for t in gguf.GGUFReader(str(path)).tensors:
        values = torch.from_numpy(np.array(gguf.quants.dequantize(t.data, t.tensor_type), dtype=np.float32))
        parts = t.name.split(".")
        if t.name in globals_:
            put(globals_[t.name], values)
        elif parts[2] == "ffn_down_exps":
            put(f"model.layers.{parts[1]}.mlp.experts.down_proj", values)
        elif parts[2] in ("ffn_gate_exps", "ffn_up_exps"):
            fused, inter = f"model.layers.{parts[1]}.mlp.experts.gate_up_proj", model.config.moe_intermediate_size
            rows = slice(0, inter) if parts[2] == "ffn_gate_exps" else slice(inter, 2 * inter)
            state[fused][:, rows, :].copy_(values)
            loaded.add(fused)
        elif parts[2] in names:
            put(f"model.layers.{parts[1]}.{names[parts[2]]}.weight", values)
        elif split is not None:
            for target, joined in (split(parts[1], parts[2], values) or {}).items():
                put(target, joined)
        else:
            raise KeyError(f"{path}: no Hugging Face name for {t.name}")
    assert loaded == set(state), set(state) - loaded
    model.load_state_dict(state)


def load_qwen3_gguf(model, path: Path) -> None:
    """The weights of a qwen3 or qwen3moe GGUF (llama.cpp's names, experts stacked), dequantized, into
    `model`."""
    load_gguf_weights(model, path, {
        "attn_norm": "input_layernorm", "ffn_norm": "post_attention_layernorm", "attn_q": "self_attn.q_proj",
        "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj", "attn_output": "self_attn.o_proj",
        "attn_q_norm": "self_attn.q_norm", "attn_k_norm": "self_attn.k_norm", "ffn_gate_inp": "mlp.gate",
        "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj", "ffn_down": "mlp.down_proj"})


def quantized_moe_fixture(out: Path, model, cases) -> None:
    folder = out / "qwen3_moe_gguf_q8"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    subprocess.run([str(PEER / "build" / "bin" / "llama-quantize"), str(out / "qwen3_moe_gguf" / "model.gguf"),
                    str(folder / "model.gguf"), "Q8_0"], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    types = {t.name: t.tensor_type.name for t in gguf.GGUFReader(str(folder / "model.gguf")).tensors}
    assert types["blk.0.ffn_gate_exps.weight"] == "Q8_0" and types["blk.0.ffn_gate_inp.weight"] == "F32", types
    twin = build_model(Qwen3MoeForCausalLM, model.config, 1421)
    load_qwen3_gguf(twin, out / "qwen3_moe_gguf" / "model.gguf")  # the loader's self-check: the F32 file
    assert np.array_equal(run_logits(twin, cases[0][1]), run_logits(model, cases[0][1]))
    load_qwen3_gguf(twin, folder / "model.gguf")
    short = [c for c in cases if c[0] != "long"]
    files, scale = logits_cases(twin, folder, short)
    write_reference(folder, "model.gguf", 600, short, files)
    print(f"{folder.name}: max|logit| = {scale:.4f}")


# The block types of quantized_types_fixture's files, tensor by tensor: each type in attention and
# in the MLP, in both layers, and in the embedding and the output projection.
MIXED_TYPES = {"blk\\.0\\.attn_q": "q2_k", "blk\\.0\\.attn_k": "q3_k", "blk\\.0\\.attn_v": "iq4_xs",
               "blk\\.0\\.attn_output": "iq4_nl", "blk\\.0\\.ffn_gate": "q3_k", "blk\\.0\\.ffn_up": "iq4_xs",
               "blk\\.0\\.ffn_down": "q2_k", "blk\\.1\\.attn_q": "iq4_nl", "blk\\.1\\.attn_k": "iq4_xs",
               "blk\\.1\\.attn_v": "q3_k", "blk\\.1\\.attn_output": "q2_k", "blk\\.1\\.ffn_gate": "q2_k",
               "blk\\.1\\.ffn_up": "iq4_nl", "blk\\.1\\.ffn_down": "q3_k"}
# The lattice types (IQ1_S, IQ1_M, IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S), each twice or more.
LATTICE_TYPES = {"blk\\.0\\.attn_q": "iq2_xxs", "blk\\.0\\.attn_k": "iq2_xs", "blk\\.0\\.attn_v": "iq2_s",
                 "blk\\.0\\.attn_output": "iq3_xxs", "blk\\.0\\.ffn_gate": "iq3_s", "blk\\.0\\.ffn_up": "iq1_s",
                 "blk\\.0\\.ffn_down": "iq1_m", "blk\\.1\\.attn_q": "iq1_m", "blk\\.1\\.attn_k": "iq1_s",
                 "blk\\.1\\.attn_v": "iq3_s", "blk\\.1\\.attn_output": "iq3_xxs", "blk\\.1\\.ffn_gate": "iq2_s",
                 "blk\\.1\\.ffn_up": "iq2_xs", "blk\\.1\\.ffn_down": "iq2_xxs"}
# HF projection names -> GGUF's, for the importance matrix.
GGUF_PROJECTIONS = {"self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
                    "self_attn.o_proj": "attn_output", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up",
                    "mlp.down_proj": "ffn_down"}


def write_imatrix(model, cases, path: Path) -> None:
    """An importance matrix as llama.cpp's llama-imatrix writes it (GGUF: per weight `NAME.in_sum2`,
    the sum over tokens of each input column's square, and `NAME.counts`, the tokens summed), from
    `model`'s own activations over the token sequences of `cases`. llama-quantize needs one for
    IQ1_*, IQ2_* and IQ3_XXS tensors."""
    sums: dict[str, torch.Tensor] = {}
    counts: dict[str, int] = {}
    hooks = []
    for i, layer in enumerate(model.model.layers):
        for hf, gguf_name in GGUF_PROJECTIONS.items():
            module = layer.get_submodule(hf)
            name = f"blk.{i}.{gguf_name}.weight"

            def record(_module, inputs, _output, name=name):
                x = inputs[0].detach().to(torch.float32).reshape(-1, inputs[0].shape[-1])
                sums[name] = sums.get(name, torch.zeros(x.shape[1])) + (x * x).sum(0)
                counts[name] = counts.get(name, 0) + x.shape[0]
            hooks.append(module.register_forward_hook(record))
    chunks = 0
    with torch.no_grad():
        for _, sequences in cases:
            for tokens in sequences:
                model(torch.tensor([tokens]))
                chunks += 1
    for h in hooks:
        h.remove()
    entries = {name: (sums[name].numpy().reshape(1, -1), np.array([[counts[name]]])) for name in sorted(sums)}
    write_imatrix_gguf(path, entries, "troupe fixture sequences", chunks)


def quantized_types_fixture(out: Path, name: str = "qwen3_gguf_mixed", types: dict[str, str] = MIXED_TYPES,
                            embedding: str = "q3_k", output: str = "iq4_xs", seed: int = 2301) -> None:
    """A Qwen3 whose widths are whole 256-weight blocks (hidden 256, MLP 512), converted by llama.cpp
    and quantized by its llama-quantize tensor by tensor as `types` says (Q2_K, Q3_K, IQ4_NL and IQ4_XS
    for qwen3_gguf_mixed), the embedding and the output projection as named; the reference holds the
    file's dequantized weights (the gguf package's dequantize). With lattice types llama-quantize is
    given an importance matrix from the model's own activations (write_imatrix)."""
    config = Qwen3Config(**llama_like(hidden_size=256, intermediate_size=512, head_dim=64, pad_token_id=0,
                                      rope_parameters={"rope_type": "default", "rope_theta": 1_000_000.0}))
    model = bf16(build_model(Qwen3ForCausalLM, config, seed))
    folder = out / name
    source = out / f"{name}.src"
    for f in (folder, source):
        if f.exists():
            shutil.rmtree(f)
    source.mkdir(parents=True)
    save_bf16(model)(source)
    tiny_tokenizer(source, 600, "Qwen2Tokenizer", {"bos": "<s>", "eos": "<|im_end|>"},
                   ["<|im_start|>", "<|endoftext|>"], False, CHATML_TEMPLATE, add_bos_token=False, legacy=False)
    cases = make_sequences(600, seed + 10)
    emit_llamacpp_gguf(folder, source, model, cases, 600, sentencepiece_class="qwen.Qwen3Model", outtype="bf16")
    shutil.rmtree(source)
    bf16_file = folder / "model.bf16.gguf"
    (folder / "model.gguf").rename(bf16_file)
    command = [str(PEER / "build" / "bin" / "llama-quantize"), "--token-embedding-type", embedding,
               "--output-tensor-type", output]
    imatrix = folder / "imatrix.gguf"
    if any(t.startswith(("iq1", "iq2", "iq3")) for t in types.values()):
        write_imatrix(model, make_sequences(600, seed + 20, long=70), imatrix)
        command += ["--imatrix", str(imatrix)]
    for pattern, qtype in types.items():
        command += ["--tensor-type", f"{pattern}={qtype}"]
    subprocess.run(command + [str(bf16_file), str(folder / "model.gguf"), "Q4_K_M"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    imatrix.unlink(missing_ok=True)
    found = {t.name: t.tensor_type.name for t in gguf.GGUFReader(str(folder / "model.gguf")).tensors}
    for pattern, qtype in types.items():
        assert found[pattern.replace("\\", "") + ".weight"] == qtype.upper(), (pattern, found)
    assert found["token_embd.weight"] == embedding.upper() and found["output.weight"] == output.upper(), found
    reference_on_file_weights(folder, bf16_file, model, build_model(Qwen3ForCausalLM, config, seed), load_qwen3_gguf,
                              cases, found)


def reference_on_file_weights(folder: Path, bf16_file: Path, model, twin, load, cases, found: dict) -> None:
    """folder/model.gguf's reference: `twin` (a model of `model`'s class and config) holding the
    file's dequantized weights, read by `load` (load_qwen3_gguf, load_deepseek_gguf). First the
    loader's self-check: the bfloat16 file it was quantized from holds `model`'s weights exactly."""
    load(twin, bf16_file)
    assert np.array_equal(run_logits(twin, cases[0][1]), run_logits(model, cases[0][1]))
    bf16_file.unlink()
    load(twin, folder / "model.gguf")
    for f in folder.glob("logits_*.f32"):
        f.unlink()
    files, scale = logits_cases(twin, folder, cases)
    write_reference(folder, "model.gguf", 600, cases, files)
    print(f"{folder.name}: max|logit| = {scale:.4f}, types {sorted(set(found.values()))}")


def lattice_types_fixture(out: Path) -> None:
    """qwen3_gguf_iq: quantized_types_fixture's model with every lattice type (LATTICE_TYPES), the
    embedding IQ3_S and the output IQ3_XXS."""
    quantized_types_fixture(out, "qwen3_gguf_iq", LATTICE_TYPES, "iq3_s", "iq3_xxs", 2601)


def emit_bf16_pair(out: Path, name: str, model, seed: int, eos: str, symbols: list, add_bos_token: bool,
                   converter: str | None, template: str = CHATML_TEMPLATE, prelude: str = "",
                   outtype: str = "bf16") -> None:
    """A family's tiny model in bfloat16 (out/name, with a SentencePiece tokenizer of Llama's kind and
    its turn markers) and as llama.cpp's converter writes it (out/name_gguf; `converter` names the
    converter class whose vocabulary comes from tokenizer.model, or None when it reads that itself)."""
    cases = make_sequences(600, seed)
    emit(out / name, bf16(model), cases, saver=save_bf16(model))
    tiny_tokenizer(out / name, 600, "LlamaTokenizer", {"bos": "<s>", "eos": eos}, symbols, True, template,
                   add_bos_token=add_bos_token, legacy=False)
    emit_llamacpp_gguf(out / f"{name}_gguf", out / name, model, cases, 600, sentencepiece_class=converter,
                       outtype=outtype, prelude=prelude)


def moe_fixtures(out: Path) -> None:
    """Mixtures of experts: Qwen3-MoE (a dense layer among sparse ones, unnormalized top-k) and its
    renormalized twin as llama.cpp converts it; Mixtral and its llama.cpp conversion."""
    qwen = bf16(build_model(Qwen3MoeForCausalLM, qwen3_moe_config(3, [1], False), 1401))
    assert not hasattr(qwen.model.layers[1].mlp, "experts") and hasattr(qwen.model.layers[0].mlp, "experts")
    emit(out / "qwen3_moe", qwen, make_sequences(600, 1411), saver=save_bf16(qwen))
    tiny_tokenizer(out / "qwen3_moe", 600, "Qwen2Tokenizer", {"bos": "<s>", "eos": "<|im_end|>"},
                   ["<|im_start|>", "<|endoftext|>"], False, CHATML_TEMPLATE, add_bos_token=False, legacy=False)
    normalized = bf16(build_model(Qwen3MoeForCausalLM, qwen3_moe_config(2, [], True), 1421))
    cases = make_sequences(600, 1431)
    source = out / "qwen3_moe_gguf.src"
    save_bf16(normalized)(source)
    for name in ("tokenizer.model", "tokenizer_config.json"):
        shutil.copy(out / "qwen3_moe" / name, source / name)
    emit_llamacpp_gguf(out / "qwen3_moe_gguf", source, normalized, cases, 600, sentencepiece_class="qwen.Qwen3MoeModel",
                       outtype="bf16")
    shutil.rmtree(source)
    quantized_moe_fixture(out, normalized, cases)

    mixtral = build_model(MixtralForCausalLM, MixtralConfig(**llama_like(
        num_local_experts=4, num_experts_per_tok=2, sliding_window=None,
        rope_parameters={"rope_type": "default", "rope_theta": 1_000_000.0})), 1501)
    emit_bf16_pair(out, "mixtral", mixtral, 1511, "</s>", [], True, None, MISTRAL_TEMPLATE)


def olmo_fixtures(out: Path) -> None:
    """OLMo 2 and 3 (outputs normed, not inputs; whole-projection q/k norms) and OLMoE, each with
    llama.cpp's conversion."""
    rope = {"rope_type": "default", "rope_theta": 500_000.0}
    olmo2 = build_model(Olmo2ForCausalLM, Olmo2Config(**llama_like(pad_token_id=0, rope_parameters=rope)), 1601)
    assert tuple(olmo2.model.layers[0].self_attn.q_norm.weight.shape) == (64,)
    olmo3 = build_model(Olmo3ForCausalLM, Olmo3Config(**llama_like(
        num_hidden_layers=4, sliding_window=8, pad_token_id=0, rope_parameters=rope,
        layer_types=["sliding_attention", "sliding_attention", "sliding_attention", "full_attention"])), 1701)
    olmoe = build_model(OlmoeForCausalLM, OlmoeConfig(**llama_like(
        intermediate_size=32, num_experts=8, num_experts_per_tok=3, norm_topk_prob=False, pad_token_id=0,
        rope_parameters=rope)), 1801)
    for name, model, seed, converter in (("olmo2", olmo2, 1611, "olmo.Olmo2Model"),
                                         ("olmo3", olmo3, 1711, "olmo.Olmo2Model"),
                                         ("olmoe", olmoe, 1811, "olmo.OlmoeModel")):
        emit_bf16_pair(out, name, model, seed, "<|im_end|>", ["<|im_start|>"], False, converter)


def cohere_fixtures(out: Path) -> None:
    """Cohere's parallel block with LayerNorm and interleaved RoPE, and Cohere 2's windows; each with
    llama.cpp's conversion."""
    rope = {"rope_type": "default", "rope_theta": 10_000.0}
    cohere = build_model(CohereForCausalLM, CohereConfig(**llama_like(
        tie_word_embeddings=True, logit_scale=2.5, pad_token_id=0, rope_parameters=rope)), 1901)
    cohere2 = build_model(Cohere2ForCausalLM, Cohere2Config(**llama_like(
        num_hidden_layers=4, tie_word_embeddings=True, logit_scale=2.5, sliding_window=8, pad_token_id=0, rotary_pct=1.0,
        layer_types=["sliding_attention"] * 3 + ["full_attention"], rope_parameters=rope)), 2001)
    for name, model, seed, converter in (("cohere", cohere, 1911, "command_r.CommandR2Model"),
                                         ("cohere2", cohere2, 2011, "command_r.Cohere2Model")):
        emit_bf16_pair(out, name, model, seed, "<|END_OF_TURN_TOKEN|>", ["<|START_OF_TURN_TOKEN|>"], True, converter)


def glm4_fixtures(out: Path) -> None:
    """GLM-4-0414: sandwich norms under GLM's names, fused gate|up, partial interleaved RoPE; and
    llama.cpp's conversion."""
    model = build_model(Glm4ForCausalLM, Glm4Config(**llama_like(
        attention_bias=True, pad_token_id=0,
        rope_parameters={"rope_type": "default", "rope_theta": 10_000.0, "partial_rotary_factor": 0.5})), 2101)
    assert model.model.layers[0].self_attn.q_proj.bias is not None
    emit_bf16_pair(out, "glm4", model, 2111, "<|endoftext|>", ["<|user|>"], False, "glm.Glm4Model")


def exaone4_fixtures(out: Path) -> None:
    """EXAONE 4.0's hybrid attention (sliding layers with RoPE, global ones without) and output-only
    norms; and llama.cpp's conversion."""
    model = build_model(Exaone4ForCausalLM, Exaone4Config(**llama_like(
        num_hidden_layers=4, sliding_window=8, pad_token_id=0,
        layer_types=["sliding_attention"] * 3 + ["full_attention"],
        rope_parameters={"rope_type": "default", "rope_theta": 1_000_000.0})), 2201)
    emit_bf16_pair(out, "exaone4", model, 2211, "[|endofturn|]", ["[|user|]"], False, "exaone.Exaone4Model")


def glm4_moe_fixtures(out: Path) -> None:
    """GLM-4.5's mixture of experts: a dense first layer (first_k_dense_replace), then experts routed
    as DeepSeek-V3 routes them (sigmoid scores, a selection bias, 2 of 4 groups, renormalized, scaled
    by 2.5) beside a shared expert; q/k/v biases, per-head q/k norms (use_qk_norm, GLM-4.5's), RoPE
    on half of each head; and llama.cpp's conversion."""
    from transformers import Glm4MoeConfig, Glm4MoeForCausalLM
    config = Glm4MoeConfig(**llama_like(
        num_hidden_layers=3, intermediate_size=96, moe_intermediate_size=32, n_routed_experts=8,
        num_experts_per_tok=3, n_shared_experts=1, first_k_dense_replace=1, n_group=4, topk_group=2,
        routed_scaling_factor=2.5, norm_topk_prob=True, attention_bias=True, use_qk_norm=True, pad_token_id=0,
        rope_parameters={"rope_type": "default", "rope_theta": 1_000_000.0, "partial_rotary_factor": 0.5}))
    model = build_model(Glm4MoeForCausalLM, config, 2701)
    gen = torch.Generator().manual_seed(2702)
    with torch.no_grad():
        for layer in model.model.layers[1:]:
            # Router logits of a few units (scores spread over (0, 1)) and a selection bias of the
            # size of their differences, so that it changes choices; bfloat16 values (the file's).
            layer.mlp.gate.weight.mul_(8.0)
            layer.mlp.gate.e_score_correction_bias.copy_(
                (0.1 * torch.randn(config.n_routed_experts, generator=gen)).to(torch.bfloat16).float())
    model = bf16(model)
    assert not hasattr(model.model.layers[0].mlp, "experts") and hasattr(model.model.layers[1].mlp, "shared_experts")
    emit_bf16_pair(out, "glm4_moe", model, 2711, "<|endoftext|>", ["<|user|>"], False, "glm.Glm4MoeModel")


def qwen2_moe_fixtures(out: Path) -> None:
    """Qwen1.5-MoE / Qwen2-57B-A14B: Qwen2's attention (q/k/v biases), experts in every layer (softmax,
    not renormalized) beside a shared expert scaled by its sigmoid gate (llama.cpp's qwen2moe has no
    dense layers, nor do those models); and llama.cpp's conversion."""
    from transformers import Qwen2MoeConfig, Qwen2MoeForCausalLM
    config = Qwen2MoeConfig(**llama_like(
        num_hidden_layers=3, intermediate_size=96, moe_intermediate_size=32, shared_expert_intermediate_size=64,
        num_experts=8, num_experts_per_tok=3, norm_topk_prob=False, decoder_sparse_step=1, mlp_only_layers=[],
        pad_token_id=0, rope_parameters={"rope_type": "default", "rope_theta": 1_000_000.0}))
    model = build_model(Qwen2MoeForCausalLM, config, 2801)
    with torch.no_grad():
        for layer in model.model.layers:
            layer.mlp.gate.weight.mul_(8.0)  # router logits of a few units: the choice is not a near-tie
            layer.mlp.shared_expert_gate.weight.mul_(20.0)  # gate values across (0, 1), not all near 1/2
    model = bf16(model)
    assert all(hasattr(layer.mlp, "shared_expert_gate") for layer in model.model.layers)
    emit_bf16_pair(out, "qwen2_moe", model, 2811, "<|im_end|>", ["<|im_start|>"], False, "qwen.Qwen2MoeModel")


def mla_like(**overrides) -> dict:
    """llama_like's sizes for a latent-attention model, kept small (the fixtures travel to a lent GPU
    with the tree): hidden 32, a dense layer, then one of 4 experts (2 per token); no head_dim (DeepSeek-V3's
    config maps it to qk_rope_head_dim), a latent of 24 and heads of 16 + 8 q/k dimensions (the
    cache row 32, a q8_0 block), values of 24 (neither the latent's width nor q/k's)."""
    cfg = llama_like(hidden_size=32, num_hidden_layers=2, num_key_value_heads=4, intermediate_size=64, moe_intermediate_size=32,
                     n_routed_experts=4, num_experts_per_tok=2, first_k_dense_replace=1, kv_lora_rank=24,
                     qk_nope_head_dim=16, qk_rope_head_dim=8, v_head_dim=24, pad_token_id=0)
    del cfg["head_dim"]
    cfg.update(overrides)
    return cfg


def spread_router(model, seed: int, bias: bool) -> None:
    """Router logits of a few units (scores spread over (0, 1)) and, with `bias`, a selection bias of
    the size of their differences, so that it changes choices (as glm4_moe_fixtures)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for layer in model.model.layers:
            if not hasattr(layer.mlp, "gate"):
                continue
            layer.mlp.gate.weight.mul_(8.0)
            if bias:
                layer.mlp.gate.e_score_correction_bias.copy_(
                    (0.1 * torch.randn(model.config.n_routed_experts, generator=gen)).to(torch.bfloat16).float())


def emit_gguf_only(out: Path, name: str, model, seed: int, eos: str, symbols: list, add_bos_token: bool,
                   converter: str) -> None:
    """A family's tiny model only as llama.cpp's converter writes it (out/name), from a bfloat16
    Hugging Face folder made for the conversion and removed after; cases without the long one.
    Saves the tree the Hugging Face twin would take where another fixture covers that format."""
    source = out / f"{name}.src"
    if source.exists():
        shutil.rmtree(source)
    source.mkdir(parents=True)
    save_bf16(model)(source)
    tiny_tokenizer(source, 600, "LlamaTokenizer", {"bos": "<s>", "eos": eos}, symbols, True, CHATML_TEMPLATE,
                   add_bos_token=add_bos_token, legacy=False)
    cases = [c for c in make_sequences(600, seed) if c[0] != "long"]
    emit_llamacpp_gguf(out / name, source, model, cases, 600, sentencepiece_class=converter, outtype="bf16")
    shutil.rmtree(source)


def deepseek_v3_model():
    """DeepseekV3ForCausalLM: q through its low-rank q_a / norm / q_b, YaRN (factor 4 over 32
    positions) with mscale 1 and mscale_all_dim 0.5 (so RoPE's attention factor on the rotated
    dimensions and the softmax scale differ), routing as DeepSeek-V3 (sigmoid scores, a selection
    bias, 1 of 2 groups by its two best, renormalized, scaled 2.5), one shared expert."""
    from transformers import DeepseekV3Config, DeepseekV3ForCausalLM
    v3 = build_model(DeepseekV3ForCausalLM, DeepseekV3Config(**mla_like(
        q_lora_rank=32, n_shared_experts=1, n_group=2, topk_group=1, routed_scaling_factor=2.5, norm_topk_prob=True,
        rope_interleave=True, rope_parameters=dict(DEEPSEEK_YARN, mscale=1.0, mscale_all_dim=0.5))), 3001)
    spread_router(v3, 3002, bias=True)
    return bf16(v3)


DEEPSEEK_YARN = {"rope_type": "yarn", "rope_theta": 10_000.0, "factor": 4.0, "original_max_position_embeddings": 32,
                 "beta_fast": 32.0, "beta_slow": 1.0}


def deepseek_fixtures(out: Path) -> None:
    """Multi-head latent attention, each model a dense layer, then experts beside shared ones, as
    llama.cpp's converter writes them (deepseek2, kv_b split into k_b and v_b; the safetensors
    reading is deepseek_v3_fp8's):
      deepseek_v2_gguf:   DeepseekV2ForCausalLM as DeepSeek-V2-Lite (q from one projection) with V2's
                          YaRN (mscale = mscale_all_dim = 0.707) and routing by softmax from 1 of 2
                          groups ranked by their best expert (group_limited_greedy), not renormalized,
                          scaled 1.5, two shared experts.
      glm4_moe_lite_gguf: Glm4MoeLiteForCausalLM (GLM-4.7-Flash): V3's attention without YaRN, routing
                          by sigmoid with a selection bias in one group, scaled 1.8 (the converter
                          writes no gating function for it, as for GLM-4.7-Flash).
    then deepseek_v3_fp8 (deepseek_fp8_fixture) and deepseek_v2_gguf_q8 (deepseek_q8_fixture)."""
    from transformers import DeepseekV2Config, DeepseekV2ForCausalLM, Glm4MoeLiteConfig, Glm4MoeLiteForCausalLM
    v2 = build_model(DeepseekV2ForCausalLM, DeepseekV2Config(**mla_like(
        q_lora_rank=None, n_shared_experts=2, topk_method="group_limited_greedy", n_group=2, topk_group=1,
        routed_scaling_factor=1.5, norm_topk_prob=False,
        rope_parameters=dict(DEEPSEEK_YARN, mscale=0.707, mscale_all_dim=0.707))), 2901)
    spread_router(v2, 2902, bias=False)
    v2 = bf16(v2)
    assert v2.model.layers[0].self_attn.q_proj is not None and hasattr(v2.model.layers[1].mlp, "shared_experts")
    emit_gguf_only(out, "deepseek_v2_gguf", v2, 2911, "<|end▁of▁sentence|>", ["<|User|>"], True, "deepseek.DeepseekV2Model")

    glm = build_model(Glm4MoeLiteForCausalLM, Glm4MoeLiteConfig(**mla_like(
        q_lora_rank=32, n_shared_experts=1, routed_scaling_factor=1.8, norm_topk_prob=True,
        rope_parameters={"rope_type": "default", "rope_theta": 1_000_000.0})), 3101)
    spread_router(glm, 3102, bias=True)
    glm = bf16(glm)
    emit_gguf_only(out, "glm4_moe_lite_gguf", glm, 3111, "<|endoftext|>", ["<|user|>"], False, "glm.Glm4MoeLiteModel")
    deepseek_fp8_fixture(out)
    deepseek_q8_fixture(out)


def load_deepseek_gguf(model, path: Path) -> None:
    """The weights of a deepseek2 GGUF as llama.cpp's converter and llama-quantize write them
    (experts stacked, kv_b split into k_b [heads, latent, nope] and v_b [heads, v, latent]),
    dequantized by the gguf package, into `model` (a DeepseekV2ForCausalLM)."""
    halves: dict = {}

    def join_kv_b(layer: str, name: str, values: torch.Tensor):
        # kv_b's rows per head: the k_b rows transposed, then v_b's.
        halves.setdefault(layer, {})[name] = values
        if len(halves[layer]) < 2:
            return None
        k, v = halves[layer]["attn_k_b"].transpose(1, 2), halves[layer]["attn_v_b"]
        return {f"model.layers.{layer}.self_attn.kv_b_proj.weight": torch.cat([k, v], dim=1)}

    load_gguf_weights(model, path, {
        "attn_norm": "input_layernorm", "ffn_norm": "post_attention_layernorm", "attn_q": "self_attn.q_proj",
        "attn_q_a": "self_attn.q_a_proj", "attn_q_a_norm": "self_attn.q_a_layernorm", "attn_q_b": "self_attn.q_b_proj",
        "attn_kv_a_mqa": "self_attn.kv_a_proj_with_mqa", "attn_kv_a_norm": "self_attn.kv_a_layernorm",
        "attn_output": "self_attn.o_proj", "ffn_gate_inp": "mlp.gate", "ffn_gate": "mlp.gate_proj",
        "ffn_up": "mlp.up_proj", "ffn_down": "mlp.down_proj", "ffn_gate_shexp": "mlp.shared_experts.gate_proj",
        "ffn_up_shexp": "mlp.shared_experts.up_proj", "ffn_down_shexp": "mlp.shared_experts.down_proj"}, join_kv_b)


def deepseek_q8_fixture(out: Path) -> None:
    """deepseek_v2_gguf_q8: a DeepSeek-V2 model (q through a rank of 32: llama.cpp reads V2-Lite's
    single q projection only in V2-Lite's layer counts) whose latent (32), q/k heads (32 + 8) and
    value heads (32) are whole 32-weight blocks, converted by llama.cpp and quantized by its
    llama-quantize to Q8_0 — each head's k_b and v_b too, which troupe then multiplies by int8
    activations head by head; the reference holds the file's dequantized weights."""
    from transformers import DeepseekV2Config, DeepseekV2ForCausalLM
    config = DeepseekV2Config(**mla_like(q_lora_rank=32, kv_lora_rank=32, qk_nope_head_dim=32, v_head_dim=32,
                                         n_shared_experts=1, topk_method="greedy", routed_scaling_factor=1.0,
                                         norm_topk_prob=False,
                                         rope_parameters={"rope_type": "default", "rope_theta": 10_000.0}))
    model = build_model(DeepseekV2ForCausalLM, config, 3201)
    spread_router(model, 3202, bias=False)
    model = bf16(model)
    folder, source = out / "deepseek_v2_gguf_q8", out / "deepseek_v2_gguf_q8.src"
    for f in (folder, source):
        if f.exists():
            shutil.rmtree(f)
    source.mkdir(parents=True)
    save_bf16(model)(source)
    tiny_tokenizer(source, 600, "LlamaTokenizer", {"bos": "<s>", "eos": "<|end▁of▁sentence|>"}, ["<|User|>"], True,
                   CHATML_TEMPLATE, add_bos_token=True, legacy=False)
    cases = [c for c in make_sequences(600, 3211) if c[0] != "long"]
    emit_llamacpp_gguf(folder, source, model, cases, 600, sentencepiece_class="deepseek.DeepseekV2Model", outtype="bf16")
    shutil.rmtree(source)
    bf16_file = folder / "model.bf16.gguf"
    (folder / "model.gguf").rename(bf16_file)
    subprocess.run([str(PEER / "build" / "bin" / "llama-quantize"), str(bf16_file), str(folder / "model.gguf"), "Q8_0"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    found = {t.name: t.tensor_type.name for t in gguf.GGUFReader(str(folder / "model.gguf")).tensors}
    for name in ("blk.1.attn_k_b.weight", "blk.1.attn_v_b.weight", "blk.1.ffn_gate_exps.weight", "blk.0.attn_q_b.weight"):
        assert found[name] == "Q8_0", (name, found[name])
    reference_on_file_weights(folder, bf16_file, model, build_model(DeepseekV2ForCausalLM, config, 3201),
                              load_deepseek_gguf, cases, found)


def fp8_blocks(weight: torch.Tensor, block: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
    """`weight` [rows, cols] quantized as DeepSeek-V3's FP8 checkpoints are: per block of
    block[0] x block[1] weights (the last ones partial), scale = max|block| / 448 and values
    round(w / scale) in e4m3; returns (values, scale_inv [ceil(rows/b0), ceil(cols/b1)]), a weight
    being value x scale_inv."""
    rows, cols = weight.shape
    b0, b1 = block
    scale = torch.zeros((rows + b0 - 1) // b0, (cols + b1 - 1) // b1)
    values = torch.empty(rows, cols, dtype=torch.float8_e4m3fn)
    for i in range(scale.shape[0]):
        for j in range(scale.shape[1]):
            part = weight[i * b0:(i + 1) * b0, j * b1:(j + 1) * b1].float()
            s = max(float(part.abs().max()) / 448.0, 1e-12)
            scale[i, j] = s
            values[i * b0:(i + 1) * b0, j * b1:(j + 1) * b1] = (part / s).to(torch.float8_e4m3fn)
    return values, scale


def fp8_dequantized(values: torch.Tensor, scale: torch.Tensor, block: tuple[int, int]) -> torch.Tensor:
    full = scale.repeat_interleave(block[0], 0)[:values.shape[0]].repeat_interleave(block[1], 1)[:, :values.shape[1]]
    return values.float() * full


def q8_0_round(weight: torch.Tensor) -> torch.Tensor:
    """The weights as GGML's Q8_0 holds them (the gguf package's quantizer, bit-exact with ggml's)."""
    q = gguf.quants.quantize(weight.numpy().astype(np.float32), gguf.GGMLQuantizationType.Q8_0)
    return torch.from_numpy(np.ascontiguousarray(gguf.quants.dequantize(q, gguf.GGMLQuantizationType.Q8_0)))


def deepseek_fp8_fixture(out: Path) -> None:
    """deepseek_v3_fp8: deepseek_v3_model()'s weights as DeepSeek-V3's own checkpoints store them, every
    linear layer but the router in block-scaled FP8 (e4m3 values and a float32 weight_scale_inv per
    32x32 block, quantization_config fp8; partial blocks where a side is not a multiple of 32). troupe
    turns such a weight into Q8_0 blocks (model/fp8_weights.hpp), or float32 where its rows are not
    whole 32-weight blocks (kv_b_proj here): the reference is the model holding exactly those weights
    (the FP8 values times their scales, then Q8_0's rounding by the gguf package where troupe applies
    it). Checked first: transformers' own FP8 loader (FineGrainedFP8Config(dequantize=True)) reads the
    folder back to the FP8 values' logits."""
    from safetensors.torch import load_file, save_file
    from transformers import DeepseekV3ForCausalLM, FineGrainedFP8Config
    source, folder = out / "deepseek_v3_fp8.bf16", out / "deepseek_v3_fp8"
    block = (32, 32)
    for f in (folder, source):
        if f.exists():
            shutil.rmtree(f)
    folder.mkdir(parents=True)
    source.mkdir(parents=True)
    save_bf16(deepseek_v3_model())(source)
    tiny_tokenizer(source, 600, "LlamaTokenizer", {"bos": "<s>", "eos": "<|end▁of▁sentence|>"}, ["<|User|>"], True,
                   CHATML_TEMPLATE, add_bos_token=True, legacy=False)
    state = load_file(str(source / "model.safetensors"))
    fp8_state, exact, reference = {}, {}, {}
    for name, tensor in state.items():
        quantized = name.endswith("_proj.weight") and tensor.dim() == 2
        if not quantized:
            fp8_state[name] = tensor
            exact[name] = reference[name] = tensor.float()
            continue
        values, scale = fp8_blocks(tensor.float(), block)
        fp8_state[name] = values
        fp8_state[name + "_scale_inv"] = scale
        exact[name] = fp8_dequantized(values, scale, block)
        reference[name] = q8_0_round(exact[name]) if tensor.shape[1] % 32 == 0 else exact[name]
    save_file(fp8_state, str(folder / "model.safetensors"), metadata={"format": "pt"})
    config = json.loads((source / "config.json").read_text())
    config["quantization_config"] = {"quant_method": "fp8", "fmt": "e4m3", "activation_scheme": "dynamic",
                                     "weight_block_size": list(block)}
    (folder / "config.json").write_text(json.dumps(config, indent=1) + "\n")
    for name in ("generation_config.json", "tokenizer.model", "tokenizer_config.json"):
        shutil.copy(source / name, folder / name)

    def model_with(weights: dict):
        scratch = out / "deepseek_v3_fp8.src"
        if scratch.exists():
            shutil.rmtree(scratch)
        scratch.mkdir()
        save_file({k: v.contiguous() for k, v in weights.items()}, str(scratch / "model.safetensors"), metadata={"format": "pt"})
        shutil.copy(source / "config.json", scratch / "config.json")
        model = DeepseekV3ForCausalLM.from_pretrained(scratch, dtype=torch.float32, attn_implementation="eager").eval()
        shutil.rmtree(scratch)
        return model

    cases = [c for c in make_sequences(600, 3011) if c[0] != "long"]
    loaded = DeepseekV3ForCausalLM.from_pretrained(folder, quantization_config=FineGrainedFP8Config(dequantize=True),
                                                   dtype=torch.float32, attn_implementation="eager").eval()
    want = run_logits(model_with(exact), cases[0][1])
    got = run_logits(loaded, cases[0][1])
    assert np.abs(got - want).max() <= 1e-4 * np.abs(want).max(), np.abs(got - want).max()
    files, scale = logits_cases(model_with(reference), folder, cases)
    write_reference(folder, ".", 600, cases, files)
    shutil.rmtree(source)
    print(f"deepseek_v3_fp8: max|logit| = {scale:.4f}; transformers' FP8 loader agrees")


def gemma3_fixtures(out: Path) -> None:
    """Gemma 3 (bfloat16 weights), and its GGUF twin (query scale 1/sqrt(head_dim), as llama.cpp
    takes it; matrices in BF16, norms in F32 with the converter's + 1)."""
    gemma = bf16(build_gemma(gemma3_config(24), 404))
    cases = make_sequences(gemma.config.vocab_size, 411)
    emit(out / "gemma3", gemma, cases, saver=save_bf16(gemma))
    tiny_tokenizer(out / "gemma3", 512, "GemmaTokenizer", {"bos": "<bos>", "eos": "<eos>"},
                   ["<start_of_turn>", "<end_of_turn>"], False, GEMMA_TEMPLATE, add_bos_token=True)
    reloaded = Gemma3ForCausalLM.from_pretrained(out / "gemma3", dtype=torch.float32, attn_implementation="eager").eval()
    for _, seqs in cases:
        assert np.array_equal(run_logits(reloaded, seqs), run_logits(gemma, seqs)), "gemma3 reload"
    twin = build_gemma(gemma3_config(32), 404)
    twin.load_state_dict(gemma.state_dict())
    folder = out / "gemma3_gguf"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    write_gemma3_gguf(twin, folder / "model.gguf")
    files, scale = logits_cases(twin, folder, cases)
    write_reference(folder, "model.gguf", twin.config.vocab_size, cases, files)
    print(f"gemma3_gguf: max|logit| = {scale:.4f}")



def iquestcoder_fixtures(out: Path) -> None:
    """IQuest-Coder-shaped (bfloat16 weights): Llama's layers, clip_qkv, sliding window on the layers
    from 1 on."""
    clip = 0.25
    qwen = build_model(Qwen2ForCausalLM, Qwen2Config(**llama_like(
        use_sliding_window=True, sliding_window=8, max_window_layers=1,
        layer_types=["full_attention", "sliding_attention"],
        rope_parameters={"rope_type": "default", "rope_theta": 500_000.0})), 606)
    with torch.no_grad():
        for name, p in qwen.named_parameters():
            if name.endswith(".bias"):
                p.zero_()
    bf16(qwen)
    for layer in qwen.model.layers:
        for proj in (layer.self_attn.q_proj, layer.self_attn.k_proj, layer.self_attn.v_proj):
            proj.register_forward_hook(lambda _m, _i, o: o.clamp(-clip, clip))

    def save_iquest(folder: Path) -> None:
        tensors = {k: v.to(torch.bfloat16).contiguous() for k, v in qwen.state_dict().items() if not k.endswith(".bias")}
        save_file(tensors, str(folder / "model.safetensors"), metadata={"format": "pt"})
        config = llama_like(architectures=["IQuestCoderForCausalLM"], model_type="iquestcoder", clip_qkv=clip,
                            use_sliding_window=True, sliding_window=8, max_window_layers=1, rope_theta=500_000.0,
                            attention_bias=False, mlp_bias=False, eos_token_id=[EOS_ID, 5, 7])
        (folder / "config.json").write_text(json.dumps(config, indent=1) + "\n")

    seen = []
    probe = qwen.model.layers[0].self_attn.q_proj.register_forward_hook(lambda _m, i, _o: seen.append(
        float((i[0] @ qwen.model.layers[0].self_attn.q_proj.weight.T).abs().gt(clip).float().mean())))
    cases = make_sequences(600, 611)
    emit(out / "iquestcoder", qwen, cases, saver=save_iquest)
    tiny_tokenizer(out / "iquestcoder", 600, "IQuestCoderTokenizer", {"bos": "<s>", "eos": "</s>"},
                   ["<|im_start|>", "<|endoftext|>", "<|im_end|>", "<|fim_prefix|>", "<|fim_middle|>"], True,
                   CHATML_TEMPLATE, add_bos_token=False, add_eos_token=False, add_prefix_space=False)
    probe.remove()
    print(f"iquestcoder: {100 * np.mean(seen):.0f}% of layer 0's q values are clamped")
    assert np.mean(seen) > 0.1



# The sets --only writes (each also written by a run without it).
# The converter's process stores the experts' stacked weights (ffn_*_exps) as MXFP4, as llama.cpp
# ships gpt-oss; their values are on MXFP4's grid already (gpt_oss_fixtures), so nothing is lost.
MXFP4_EXPERTS = """
import gguf, numpy as np
_add = gguf.GGUFWriter.add_tensor
def _mxfp4(self, name, tensor, raw_shape=None, raw_dtype=None, tensor_endianess=None):
    if not name.endswith('_exps.weight'):
        return _add(self, name, tensor, raw_shape=raw_shape, raw_dtype=raw_dtype, tensor_endianess=tensor_endianess)
    if raw_dtype == gguf.GGMLQuantizationType.BF16:
        tensor = (tensor.view(np.uint16).astype(np.uint32) << 16).view(np.float32)
    mxfp4 = gguf.GGMLQuantizationType.MXFP4
    return _add(self, name, gguf.quants.quantize(tensor.astype(np.float32), mxfp4), raw_dtype=mxfp4)
gguf.GGUFWriter.add_tensor = _mxfp4
"""


def mxfp4_round_trip(weights: torch.Tensor) -> torch.Tensor:
    """`weights` [..., rows, cols] with each row's 32-column blocks quantized to MXFP4 and back (the
    gguf package's quantizer and dequantizer)."""
    flat = weights.detach().to(torch.float32).numpy().reshape(-1, weights.shape[-1])
    q = gguf.quants.quantize(flat, gguf.GGMLQuantizationType.MXFP4)
    back = gguf.quants.dequantize(q, gguf.GGMLQuantizationType.MXFP4).reshape(weights.shape)
    return torch.from_numpy(np.ascontiguousarray(back))


def gpt_oss_fixtures(out: Path) -> None:
    """gpt-oss: attention sinks, biases everywhere, alternate sliding layers, YaRN without rounding
    (truncate false), experts with biases and the clamped SwiGLU, a biased router. The experts'
    weights are put on MXFP4's grid, so that gpt_oss_gguf, llama.cpp's conversion with the experts
    stored as MXFP4 (as llama.cpp ships gpt-oss), has exactly the reference's weights."""
    from transformers import GptOssConfig, GptOssForCausalLM
    config = GptOssConfig(**llama_like(
        intermediate_size=64, num_local_experts=4, num_experts_per_tok=2, sliding_window=8, attention_bias=True,
        num_hidden_layers=3, layer_types=["sliding_attention", "full_attention", "sliding_attention"],
        pad_token_id=0, rope_parameters={"rope_type": "yarn", "factor": 4.0, "beta_fast": 32.0, "beta_slow": 1.0,
                                         "truncate": False, "original_max_position_embeddings": 32,
                                         "rope_theta": 150_000.0}))
    model = bf16(build_model(GptOssForCausalLM, config, 1901))
    gen = torch.Generator().manual_seed(1902)
    with torch.no_grad():
        for layer in model.model.layers:
            # Sinks of the order of the scores, so that they take a real share of each softmax.
            layer.self_attn.sinks.copy_(torch.randn(layer.self_attn.sinks.shape, generator=gen).to(torch.bfloat16).float())
            experts = layer.mlp.experts  # gate_up_proj [E, hidden, 2 inter], down_proj [E, inter, hidden]: in x out
            # Blocks run along each output's inputs, as the GGUF stores them ([E, out, in] rows).
            experts.gate_up_proj.copy_(mxfp4_round_trip(experts.gate_up_proj.transpose(1, 2)).transpose(1, 2))
            experts.down_proj.copy_(mxfp4_round_trip(experts.down_proj.transpose(1, 2)).transpose(1, 2))
            # Some gate values past the clamp (7) and some up values past ±7 would need |x|·|w| sums
            # far above these weights' scale; the clamp is exercised by the unit test of `gated`.
    # The converter's bfloat16 output fails on the experts' transposed views: float16 (the bfloat16 weights
    # within float16 rounding of their smallest values), then MXFP4 for the experts.
    emit_bf16_pair(out, "gpt_oss", model, 1911, "<|im_end|>", ["<|im_start|>"], False, "gpt_oss.GptOssModel",
                   prelude=MXFP4_EXPERTS, outtype="f16")
    gpt_oss_mxfp4_checkpoint(out, model)


def hf_mxfp4(weights: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """[E, rows, cols] float weights on MXFP4's grid as OpenAI's checkpoints store them: U8 blocks
    [E, rows, cols / 32, 16] (element 2i in the low nibble of byte i, 2i + 1 in the high one) and U8
    scales [E, rows, cols / 32] (the exponent byte, scale 2^(e - 127))."""
    E, rows, cols = weights.shape
    q = gguf.quants.quantize(weights.to(torch.float32).numpy().reshape(-1, cols), gguf.GGMLQuantizationType.MXFP4)
    q = q.reshape(E, rows, cols // 32, 17)
    scales, packed = q[..., 0], q[..., 1:]
    values = np.concatenate([packed & 0x0F, packed >> 4], axis=-1)  # GGML: byte i holds i and i + 16
    blocks = values[..., 0::2] | (values[..., 1::2] << 4)
    return torch.from_numpy(np.ascontiguousarray(blocks)), torch.from_numpy(np.ascontiguousarray(scales))


def gpt_oss_mxfp4_checkpoint(out: Path, model) -> None:
    """gpt_oss_mxfp4: the gpt_oss fixture's weights in the layout OpenAI released gpt-oss in (experts
    as MXFP4 blocks and scales, the rest bfloat16), checked here by transformers' own MXFP4 loader
    (dequantized on the CPU) to give the reference logits; troupe is tested against gpt_oss's."""
    from transformers import GptOssForCausalLM, Mxfp4Config
    folder = out / "gpt_oss_mxfp4"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    tensors = {}
    for name, value in model.state_dict().items():
        if name.endswith("experts.gate_up_proj") or name.endswith("experts.down_proj"):
            blocks, scales = hf_mxfp4(value.transpose(1, 2))  # stored [E, out, in]
            tensors[name + "_blocks"], tensors[name + "_scales"] = blocks, scales
        else:
            tensors[name] = value.to(torch.bfloat16).contiguous()
    save_file(tensors, str(folder / "model.safetensors"), metadata={"format": "pt"})
    config = json.loads((out / "gpt_oss" / "config.json").read_text())
    config["quantization_config"] = {"quant_method": "mxfp4", "modules_to_not_convert": [
        "model.layers.*.self_attn", "model.layers.*.mlp.router", "model.embed_tokens", "lm_head"]}
    (folder / "config.json").write_text(json.dumps(config, indent=1) + "\n")
    for name in ("generation_config.json", "tokenizer.model", "tokenizer_config.json"):
        shutil.copy(out / "gpt_oss" / name, folder / name)
    loaded = GptOssForCausalLM.from_pretrained(folder, quantization_config=Mxfp4Config(dequantize=True),
                                               dtype=torch.float32, attn_implementation="eager").eval()
    borrow_reference(out, "gpt_oss", folder, loaded, tolerance=1e-4)
    print("gpt_oss_mxfp4: transformers' MXFP4 loader reproduces gpt_oss's logits")


SETS = {"gemma3": gemma3_fixtures, "iquestcoder": iquestcoder_fixtures, "llama_variants": llama_variant_fixtures, "phi3": phi3_fixtures, "smollm3": smollm3_fixtures, "gemma": gemma_fixtures, "gemma2": gemma2_fixtures, "granite": granite_fixtures,
        "mistral3": mistral3_fixtures, "ministral3": ministral3_fixtures, "mistral4": mistral4_fixtures,
        "qwen3_vl": qwen3_vl_fixtures, "qwen2_5_vl": qwen2_5_vl_fixtures, "minimax_m2": minimax_m2_fixtures,
        "seed_oss": seed_oss_fixtures, "lfm2": lfm2_fixtures, "lfm2_moe": lfm2_moe_fixtures, "granite_hybrid": granite_hybrid_fixtures, "granite_hybrid_moe": granite_hybrid_moe_fixtures, "granite_moe": granite_moe_fixtures, "granite_swa": granite_swa_fixtures, "qwen3_5": qwen3_5_fixtures, "qwen3_5_moe": qwen3_5_moe_fixtures, "qwen3_next": qwen3_next_fixtures, "ernie": ernie_fixtures, "nemotron_h": nemotron_h_fixtures, "falcon_h1": falcon_h1_fixtures, "lfm3": lfm3_fixtures, "gemma4": gemma4_fixtures, "gemma3n": gemma3n_fixtures, "llama4": llama4_fixtures, "vl_wrappers": vl_wrapper_fixtures, "arcee": arcee_fixtures, "biased_norms": biased_norm_fixtures, "gpt": gpt_fixtures, "llama_renamed": llama_renamed_fixtures, "ministral": ministral_fixtures, "solar_open": solar_open_fixtures, "moe": moe_fixtures, "olmo": olmo_fixtures, "cohere": cohere_fixtures,
        "glm4": glm4_fixtures, "exaone4": exaone4_fixtures, "quant_types": quantized_types_fixture,
        "lattice_types": lattice_types_fixture, "glm4_moe": glm4_moe_fixtures,
        "qwen2_moe": qwen2_moe_fixtures,
        "gpt_oss": gpt_oss_fixtures, "deepseek": deepseek_fixtures,
        "deepseek_fp8": deepseek_fp8_fixture, "deepseek_q8": deepseek_q8_fixture}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="tests/fixtures/models")
    ap.add_argument("--only", choices=list(SETS), help="write only these fixtures")
    args = ap.parse_args()
    out = Path(args.out).resolve()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    if args.only:
        SETS[args.only](out)
        return 0

    for write in SETS.values():
        write(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
