"""A random-weight Gemma 3n GGUF in a real model's shape, as llama.cpp's converter writes one
(tools/make_bench_models.py's "e2b" shape calls it): every tensor and metadata key llama.cpp's
gemma3n graph reads, weights from a seeded normal distribution (std 0.02), norms 1, AltUp's
coefficients and scales small. Speed, not text."""
from __future__ import annotations

from pathlib import Path

import numpy as np

import gguf


def write_gemma3n_f16(path: Path, shape: dict, tokenizer_source: Path, seed: int, copy_tokenizer) -> None:
    rng = np.random.default_rng(seed)
    tmp = path.with_suffix(".tmp")  # written under a temporary name, renamed when whole
    writer = gguf.GGUFWriter(str(tmp), "gemma3n")
    writer.add_name(f"troupe bench gemma3n {path.stem}")
    h, layers, d = shape["hidden"], shape["layers"], shape["head_dim"]
    q, kv, ffn, p_size, n = d * shape["heads"], d * shape["kv_heads"], shape["ffn"], shape["per_layer"], shape["streams"]
    writer.add_block_count(layers)
    writer.add_context_length(32768)
    writer.add_embedding_length(h)
    writer.add_feed_forward_length([ffn] * layers)
    writer.add_head_count(shape["heads"])
    writer.add_head_count_kv(shape["kv_heads"])
    writer.add_key_length(d)
    writer.add_value_length(d)
    writer.add_rope_freq_base(1_000_000.0)
    writer.add_float32("gemma3n.rope.freq_base_swa", 10_000.0)
    writer.add_layer_norm_rms_eps(1e-6)
    writer.add_final_logit_softcapping(30.0)
    writer.add_sliding_window(512)
    writer.add_sliding_window_pattern([(i + 1) % 5 != 0 for i in range(layers)])
    writer.add_altup_active_idx(0)
    writer.add_altup_num_inputs(n)
    writer.add_embedding_length_per_layer_input(p_size)
    writer.add_shared_kv_layers(shape["shared_kv"])
    # Normal(0, 1).icdf(0.95) on the first 10 layers' gates, −∞ (the whole gate) on the others.
    writer.add_activation_sparsity_scale([1.6448533535003662 if i < 10 else float("-inf") for i in range(layers)])
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
    vocab = copy_tokenizer(writer, tokenizer_source, pad_to=shape["vocab"])
    writer.add_vocab_size(vocab)

    def weight(*dims: int) -> np.ndarray:
        out = np.empty(dims, dtype=np.float16)
        rows = out.reshape(-1, dims[-1])
        for start in range(0, rows.shape[0], 4096):  # in slices: the per-layer table is 2 billion weights
            block = rows[start:start + 4096]
            block[:] = rng.standard_normal(block.shape, dtype=np.float32) * 0.02
        return out

    def ones(size: int) -> np.ndarray:
        return np.ones(size, dtype=np.float32)

    def small(*dims: int) -> np.ndarray:
        return rng.standard_normal(dims, dtype=np.float32) * 0.02

    writer.add_tensor("token_embd.weight", weight(vocab, h))
    writer.add_tensor("per_layer_token_embd.weight", weight(vocab, layers * p_size))
    writer.add_tensor("per_layer_model_proj.weight", weight(layers * p_size, h))
    writer.add_tensor("per_layer_proj_norm.weight", ones(p_size))
    writer.add_tensor("altup_proj.weight", weight(n - 1, h, h))
    writer.add_tensor("altup_unembd_proj.weight", weight(n - 1, h, h))
    for layer in range(layers):
        b = f"blk.{layer}."
        for name in ("attn_norm", "post_attention_norm", "ffn_norm", "post_ffw_norm", "post_norm", "altup_router_norm",
                     "laurel_post_norm"):
            writer.add_tensor(b + name + ".weight", ones(h))
        writer.add_tensor(b + "attn_q.weight", weight(q, h))
        writer.add_tensor(b + "attn_k.weight", weight(kv, h))  # the sharing layers' too, as released
        writer.add_tensor(b + "attn_v.weight", weight(kv, h))
        writer.add_tensor(b + "attn_output.weight", weight(h, q))
        writer.add_tensor(b + "attn_q_norm.weight", ones(d))
        writer.add_tensor(b + "attn_k_norm.weight", ones(d))
        writer.add_tensor(b + "ffn_gate.weight", weight(ffn, h))
        writer.add_tensor(b + "ffn_up.weight", weight(ffn, h))
        writer.add_tensor(b + "ffn_down.weight", weight(h, ffn))
        writer.add_tensor(b + "inp_gate.weight", weight(p_size, h))
        writer.add_tensor(b + "proj.weight", weight(h, p_size))
        writer.add_tensor(b + "laurel_l.weight", weight(shape["laurel"], h))
        writer.add_tensor(b + "laurel_r.weight", weight(h, shape["laurel"]))
        writer.add_tensor(b + "altup_router.weight", weight(n, h))
        writer.add_tensor(b + "altup_predict_coef.weight", small(n * n, n))
        writer.add_tensor(b + "altup_correct_coef.weight", small(n, n))
        writer.add_tensor(b + "altup_correct_scale.weight", ones(h))
    writer.add_tensor("output_norm.weight", ones(h))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    tmp.rename(path)
