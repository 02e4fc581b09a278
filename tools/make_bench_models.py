#!/usr/bin/env python3
"""Random-weight GGUFs in the shapes people run, for CPU benchmarks (issue 19).

    python3 tools/make_bench_models.py [--shapes 1b,3b,a3b] [--types Q4_0,Q4_K_M,Q8_0] [--out DIR]

Writes DIR/<arch>-<shape>.F16.gguf (weights from a seeded normal distribution, std 0.02; norms 1)
with the tokenizer metadata of the default model (SmolLM2's byte-level BPE, 49,152 tokens, from
tools/fetch_default_model.sh), then quantizes it with llama.cpp's `llama-quantize` (built by
tools/peer/build_llamacpp.sh) into DIR/<arch>-<shape>.<type>.gguf, and prints each path. Files
already there are kept. Nothing this size is committed: the script makes them.

Shapes (Llama 2/3 style, SwiGLU, GQA):
  1b  hidden 2048, 22 layers, 32 heads / 4 KV heads, FFN 5632  (TinyLlama-1.1B's shape)
  3b  hidden 3072, 28 layers, 24 heads / 8 KV heads, FFN 8192  (Llama-3.2-3B's shape)
Mixture of experts (qwen3moe: q/k norms, experts stacked as llama.cpp's converter writes them):
  a3b Qwen3-30B-A3B's layer: hidden 2048, 32 heads / 4 KV heads of 128, 128 experts of FFN 768,
      8 per token; 8 of its 48 layers (a decode step reads a sixth of the real model's bytes, in
      the same proportions: the comparison is per layer)
  air GLM-4.5-Air's layers (glm4moe: q/k/v biases, RoPE on half of each head): hidden 4096, 96
      heads / 8 KV heads of 128; its dense first layer (FFN 10944) and 2 of its 45 expert layers (128
      experts of FFN 1408, 8 per token, routed by sigmoid scores with a selection bias, and one
      shared expert); quantize it as Q4_K_M
  flash GLM-4.7-Flash's layers (deepseek2: latent attention): hidden 2048, 20 heads, q through a rank
      of 768, a latent of 512, q/k heads of 192 + 64 rotated dimensions, values of 256; its dense
      first layer (FFN 10240) and 5 of its 46 expert layers (64 experts of FFN 1536, 4 per token,
      sigmoid scores with a selection bias, one shared expert); quantize it as Q4_K_M
  e2b Gemma 3n E2B's shape (gemma3n): hidden 2048, 30 layers of 8 heads / 2 KV heads of 256, FFN 8192,
      4 AltUp streams, LAuReL of rank 64, per-layer embeddings of 256, the last 10 layers attending
      over earlier layers' keys and values; its 262,144-token vocabulary (SmolLM2's, padded)
  oss20b gpt-oss-20b's layer (gpt-oss: biases, sinks, every other layer sliding over 128 positions,
      YaRN): hidden 2880, 64 heads / 8 KV heads of 64, 32 experts of FFN 2880, 4 per token; 4 of its
      24 layers. Quantize it as MXFP4_MOE (experts MXFP4, the rest Q8_0: llama.cpp's gpt-oss files)

Hybrid (qwen35: Qwen3.5's gated delta nets, three layers in four, and full attention with an output
gate, as llama.cpp's converter writes them):
  q35 Qwen3.5-2B's shape: hidden 2048, 24 layers (18 delta nets of 16 key and 16 value heads of 128, a
      4-tap convolution; 6 attention layers of 8 heads / 2 KV heads of 256, RoPE on 64 dimensions),
      FFN 6144, tied embeddings

The lattice types (IQ1_S, IQ1_M, IQ2_XXS, IQ2_XS, IQ2_S, IQ2_M, IQ3_XXS, IQ3_XS) need an importance
matrix: for those, llama-quantize is given DIR/<arch>-<shape>.imatrix.gguf, written here in
llama-imatrix's format with every column equally important (random weights have no better one).

Needs the `gguf` and `numpy` packages (PyPI). DIR defaults to ~/.cache/troupe/bench-models.
Random weights give speed, not text: every figure taken with them is tokens per second.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

import gguf

ROOT = Path(__file__).resolve().parents[1]

SHAPES = {
    "1b": dict(arch="llama", hidden=2048, layers=22, heads=32, kv_heads=4, ffn=5632),
    "q35": dict(arch="qwen35", hidden=2048, layers=24, heads=8, kv_heads=2, head_dim=256, ffn=6144, k_heads=16,
                v_heads=16, state=128, conv=4),
    "3b": dict(arch="llama", hidden=3072, layers=28, heads=24, kv_heads=8, ffn=8192),
    "a3b": dict(arch="qwen3moe", hidden=2048, layers=8, heads=32, kv_heads=4, head_dim=128, ffn=6144, experts=128,
                experts_used=8, expert_ffn=768),
    "air": dict(arch="glm4moe", hidden=4096, layers=3, heads=96, kv_heads=8, head_dim=128, ffn=10944, experts=128,
                experts_used=8, expert_ffn=1408, shared_experts=1, dense_layers=1),
    "flash": dict(arch="deepseek2", hidden=2048, layers=6, heads=20, kv_heads=1, ffn=10240, experts=64, experts_used=4,
                  expert_ffn=1536, shared_experts=1, dense_layers=1, q_lora=768, kv_lora=512, nope=192, rope=64,
                  v_head=256),
    # Gemma 3n E2B's shape (gemma3n: AltUp's 4 streams, LAuReL of rank 64, per-layer embeddings of 256
    # a layer, the last 10 layers sharing keys and values, every fifth layer full, Gaussian top-k on
    # the first 10 MLP gates; the vocabulary padded to its 262,144: tools/bench_gemma3n_model.py).
    "e2b": dict(arch="gemma3n", hidden=2048, layers=30, heads=8, kv_heads=2, head_dim=256, ffn=8192, per_layer=256,
                laurel=64, streams=4, shared_kv=10, vocab=262144),
    "oss20b": dict(arch="gpt-oss", hidden=2880, layers=4, heads=64, kv_heads=8, head_dim=64, ffn=2880, experts=32,
                   experts_used=4, expert_ffn=2880),
}
TOKENIZER_KEYS = ("tokenizer.",)


def default_model() -> Path:
    return Path(subprocess.run(["bash", str(ROOT / "tools/fetch_default_model.sh")], check=True,
                               capture_output=True, text=True).stdout.strip().splitlines()[-1])


def llama_quantize() -> Path:
    version = os.environ.get("LLAMA_CPP_PYTHON_VERSION", "0.3.36")
    binary = Path(os.environ.get("PEER_CACHE", Path.home() / ".cache/troupe")) / f"llama.cpp-{version}/build/bin/llama-quantize"
    if not binary.exists():
        bin_dir = subprocess.run(["bash", str(ROOT / "tools/peer/build_llamacpp.sh")], check=True,
                                 capture_output=True, text=True).stdout.strip().splitlines()[-1]
        binary = Path(bin_dir) / "llama-quantize"
    return binary


def copy_tokenizer(writer: gguf.GGUFWriter, source: Path, pad_to: int = 0) -> int:
    """The tokenizer.* fields of `source`, as they are — with `pad_to`, the vocabulary padded to that
    many tokens with control tokens "<unusedN>" (a real model's vocabulary size, for the output
    projection's bytes); returns the vocabulary size."""
    reader = gguf.GGUFReader(str(source))
    vocab = 0
    for name, field in reader.fields.items():
        if not name.startswith(TOKENIZER_KEYS):
            continue
        kind = field.types[0]
        if kind == gguf.GGUFValueType.ARRAY:
            sub = field.types[1]
            if sub == gguf.GGUFValueType.STRING:
                values = [bytes(field.parts[i]).decode("utf-8", errors="surrogateescape") for i in field.data]
            else:
                values = [field.parts[i].tolist()[0] for i in field.data]
            if name == "tokenizer.ggml.tokens" and pad_to > len(values):
                values += [f"<unused{i}>" for i in range(pad_to - len(values))]
            elif name in ("tokenizer.ggml.token_type", "tokenizer.ggml.scores") and pad_to > len(values):
                values += [gguf.TokenType.CONTROL if name.endswith("type") else 0.0] * (pad_to - len(values))
            writer.add_array(name, values)
            if name == "tokenizer.ggml.tokens":
                vocab = len(values)
        elif kind == gguf.GGUFValueType.STRING:
            writer.add_string(name, bytes(field.parts[field.data[0]]).decode("utf-8"))
        else:
            value = field.parts[field.data[0]].tolist()[0]
            {gguf.GGUFValueType.BOOL: writer.add_bool, gguf.GGUFValueType.UINT32: writer.add_uint32,
             gguf.GGUFValueType.INT32: writer.add_int32, gguf.GGUFValueType.FLOAT32: writer.add_float32}[kind](name, value)
    if vocab == 0:
        raise SystemExit(f"{source}: no tokenizer.ggml.tokens")
    return vocab


def write_f16(path: Path, shape: dict, tokenizer_source: Path, seed: int) -> None:
    rng = np.random.default_rng(seed)
    arch = shape["arch"]
    tmp = path.with_suffix(".tmp")  # written under a temporary name, renamed when whole
    writer = gguf.GGUFWriter(str(tmp), arch)
    writer.add_name(f"troupe bench {arch} {path.stem}")
    head_dim = shape.get("head_dim", shape["hidden"] // shape["heads"])
    writer.add_block_count(shape["layers"])
    writer.add_context_length(131072)
    writer.add_embedding_length(shape["hidden"])
    writer.add_feed_forward_length(shape["ffn"])
    writer.add_head_count(shape["heads"])
    writer.add_head_count_kv(shape["kv_heads"])
    gpt_oss, glm, mla, qwen35 = arch == "gpt-oss", arch == "glm4moe", arch == "deepseek2", arch == "qwen35"
    if mla:  # as llama.cpp's converter writes GLM-4.7-Flash's config (the gating function too)
        writer.add_q_lora_rank(shape["q_lora"])
        writer.add_kv_lora_rank(shape["kv_lora"])
        writer.add_key_length(shape["kv_lora"] + shape["rope"])
        writer.add_value_length(shape["kv_lora"])
        writer.add_key_length_mla(shape["nope"] + shape["rope"])
        writer.add_value_length_mla(shape["v_head"])
        writer.add_rope_dimension_count(shape["rope"])
        writer.add_expert_shared_count(shape["shared_experts"])
        writer.add_leading_dense_block_count(shape["dense_layers"])
        writer.add_expert_gating_func(gguf.ExpertGatingFuncType.SIGMOID)
        writer.add_expert_weights_scale(1.8)
        writer.add_expert_weights_norm(True)
    else:
        writer.add_key_length(head_dim)
        writer.add_value_length(head_dim)
    if qwen35:  # as llama.cpp's converter writes Qwen3.5's config
        writer.add_rope_dimension_count(head_dim // 4)
        writer.add_rope_dimension_sections([11, 11, 10, 0])
        writer.add_ssm_conv_kernel(shape["conv"])
        writer.add_ssm_state_size(shape["state"])
        writer.add_ssm_group_count(shape["k_heads"])
        writer.add_ssm_time_step_rank(shape["v_heads"])
        writer.add_ssm_inner_size(shape["state"] * shape["v_heads"])
        writer.add_full_attention_interval(4)
    elif arch not in ("glm4moe", "deepseek2"):
        writer.add_rope_dimension_count(head_dim)
    writer.add_rope_freq_base(150000.0 if gpt_oss else 500000.0)
    if glm:  # as llama.cpp's converter writes GLM-4.5-Air's config
        writer.add_rope_dimension_count(head_dim // 2)
        writer.add_expert_shared_count(shape["shared_experts"])
        writer.add_leading_dense_block_count(shape["dense_layers"])
        writer.add_expert_gating_func(gguf.ExpertGatingFuncType.SIGMOID)
        writer.add_expert_weights_scale(1.0)
        writer.add_expert_weights_norm(True)
    writer.add_layer_norm_rms_eps(1e-5)
    if gpt_oss:  # as llama.cpp's converter writes gpt-oss-20b's config
        writer.add_sliding_window(128)
        writer.add_rope_scaling_type(gguf.RopeScalingType.YARN)
        writer.add_rope_scaling_factor(32.0)
        writer.add_rope_scaling_orig_ctx_len(4096)
    if "experts" in shape:
        writer.add_expert_count(shape["experts"])
        writer.add_expert_used_count(shape["experts_used"])
        writer.add_expert_feed_forward_length(shape["expert_ffn"])
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
    vocab = copy_tokenizer(writer, tokenizer_source)
    writer.add_vocab_size(vocab)

    def weight(*dims: int) -> np.ndarray:
        return (rng.standard_normal(dims, dtype=np.float32) * 0.02).astype(np.float16)

    def bias(*dims: int) -> np.ndarray:
        return rng.standard_normal(dims, dtype=np.float32) * 0.02

    h, q, kv = shape["hidden"], head_dim * shape["heads"], head_dim * shape["kv_heads"]
    writer.add_tensor("token_embd.weight", weight(vocab, h))
    for layer in range(shape["layers"]):
        p = f"blk.{layer}."
        writer.add_tensor(p + "attn_norm.weight", np.ones(h, dtype=np.float32))
        if qwen35 and (layer + 1) % 4 != 0:  # a gated delta net
            key, value = shape["k_heads"] * shape["state"], shape["v_heads"] * shape["state"]
            writer.add_tensor(p + "attn_qkv.weight", weight(2 * key + value, h))
            writer.add_tensor(p + "attn_gate.weight", weight(value, h))
            writer.add_tensor(p + "ssm_conv1d.weight", rng.standard_normal((2 * key + value, shape["conv"]), dtype=np.float32) * 0.5)
            writer.add_tensor(p + "ssm_dt.bias", bias(shape["v_heads"]))
            writer.add_tensor(p + "ssm_a", -rng.uniform(0.05, 1.0, shape["v_heads"]).astype(np.float32))
            writer.add_tensor(p + "ssm_beta.weight", rng.standard_normal((shape["v_heads"], h), dtype=np.float32) * 0.02)
            writer.add_tensor(p + "ssm_alpha.weight", rng.standard_normal((shape["v_heads"], h), dtype=np.float32) * 0.02)
            writer.add_tensor(p + "ssm_norm.weight", np.ones(shape["state"], dtype=np.float32))
            writer.add_tensor(p + "ssm_out.weight", weight(h, value))
        elif qwen35:  # full attention, q_proj giving each head's queries and then its gate
            writer.add_tensor(p + "attn_q.weight", weight(2 * q, h))
            writer.add_tensor(p + "attn_k.weight", weight(kv, h))
            writer.add_tensor(p + "attn_v.weight", weight(kv, h))
            writer.add_tensor(p + "attn_output.weight", weight(h, q))
            writer.add_tensor(p + "attn_q_norm.weight", np.ones(head_dim, dtype=np.float32))
            writer.add_tensor(p + "attn_k_norm.weight", np.ones(head_dim, dtype=np.float32))
        elif mla:  # kv_b split as llama.cpp's converter does: k_b [heads, latent, nope], v_b [heads, v, latent]
            heads, c, r = shape["heads"], shape["kv_lora"], shape["rope"]
            writer.add_tensor(p + "attn_q_a.weight", weight(shape["q_lora"], h))
            writer.add_tensor(p + "attn_q_a_norm.weight", np.ones(shape["q_lora"], dtype=np.float32))
            writer.add_tensor(p + "attn_q_b.weight", weight(heads * (shape["nope"] + r), shape["q_lora"]))
            writer.add_tensor(p + "attn_kv_a_mqa.weight", weight(c + r, h))
            writer.add_tensor(p + "attn_kv_a_norm.weight", np.ones(c, dtype=np.float32))
            writer.add_tensor(p + "attn_k_b.weight", weight(heads, c, shape["nope"]))
            writer.add_tensor(p + "attn_v_b.weight", weight(heads, shape["v_head"], c))
            writer.add_tensor(p + "attn_output.weight", weight(h, heads * shape["v_head"]))
        else:
            writer.add_tensor(p + "attn_q.weight", weight(q, h))
            writer.add_tensor(p + "attn_k.weight", weight(kv, h))
            writer.add_tensor(p + "attn_v.weight", weight(kv, h))
            writer.add_tensor(p + "attn_output.weight", weight(h, q))
        if glm:
            for name, size in (("attn_q", q), ("attn_k", kv), ("attn_v", kv)):
                writer.add_tensor(p + name + ".bias", bias(size))
        if gpt_oss:
            for name, size in (("attn_q", q), ("attn_k", kv), ("attn_v", kv), ("attn_output", h)):
                writer.add_tensor(p + name + ".bias", bias(size))
            writer.add_tensor(p + "attn_sinks.weight", bias(shape["heads"]))
        if arch == "qwen3moe":
            writer.add_tensor(p + "attn_q_norm.weight", np.ones(head_dim, dtype=np.float32))
            writer.add_tensor(p + "attn_k_norm.weight", np.ones(head_dim, dtype=np.float32))
        writer.add_tensor(p + ("post_attention_norm" if gpt_oss or glm or qwen35 else "ffn_norm") + ".weight",
                          np.ones(h, dtype=np.float32))
        if "experts" in shape and layer >= shape.get("dense_layers", 0):  # the router in float32, as llama.cpp keeps it; experts stacked
            n, f = shape["experts"], shape["expert_ffn"]
            writer.add_tensor(p + "ffn_gate_inp.weight", rng.standard_normal((n, h), dtype=np.float32) * 0.02)
            if gpt_oss:
                writer.add_tensor(p + "ffn_gate_inp.bias", bias(n))
                writer.add_tensor(p + "ffn_gate_exps.bias", bias(n, f))
                writer.add_tensor(p + "ffn_up_exps.bias", bias(n, f))
                writer.add_tensor(p + "ffn_down_exps.bias", bias(n, h))
            if glm or mla:
                writer.add_tensor(p + "exp_probs_b.bias", bias(n))
                shared = shape["shared_experts"] * f
                writer.add_tensor(p + "ffn_gate_shexp.weight", weight(shared, h))
                writer.add_tensor(p + "ffn_up_shexp.weight", weight(shared, h))
                writer.add_tensor(p + "ffn_down_shexp.weight", weight(h, shared))
            writer.add_tensor(p + "ffn_gate_exps.weight", weight(n, f, h))
            writer.add_tensor(p + "ffn_up_exps.weight", weight(n, f, h))
            writer.add_tensor(p + "ffn_down_exps.weight", weight(n, h, f))
        else:
            writer.add_tensor(p + "ffn_gate.weight", weight(shape["ffn"], h))
            writer.add_tensor(p + "ffn_up.weight", weight(shape["ffn"], h))
            writer.add_tensor(p + "ffn_down.weight", weight(h, shape["ffn"]))
    writer.add_tensor("output_norm.weight", np.ones(h, dtype=np.float32))
    if not qwen35:  # Qwen3.5's small models tie the output to the embeddings
        writer.add_tensor("output.weight", weight(vocab, h))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    tmp.rename(path)


# llama-quantize file types that refuse to run without an importance matrix.
NEEDS_IMATRIX = {"IQ1_S", "IQ1_M", "IQ2_XXS", "IQ2_XS", "IQ2_S", "IQ2_M", "IQ3_XXS", "IQ3_XS", "Q2_K_S"}


def write_imatrix_gguf(path: Path, entries: dict[str, tuple[np.ndarray, np.ndarray]], dataset: str, chunks: int) -> None:
    """An importance matrix in llama-imatrix's GGUF layout, which llama-quantize reads: per weight
    NAME, `NAME.in_sum2` [matrices, columns] (each input column's sum of squares) and `NAME.counts`
    [matrices, 1] (the rows summed), in `entries`' order."""
    writer = gguf.GGUFWriter(str(path), arch="imatrix")
    writer.add_type("imatrix")
    writer.add_array("imatrix.datasets", [dataset])
    writer.add_uint32("imatrix.chunk_count", chunks)
    writer.add_uint32("imatrix.chunk_size", 1)
    for name, (sums, counts) in entries.items():
        writer.add_tensor(f"{name}.in_sum2", sums.astype(np.float32))
        writer.add_tensor(f"{name}.counts", counts.astype(np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def write_uniform_imatrix(path: Path, f16: Path) -> None:
    """An importance matrix giving every column of every 2-D weight of `f16` the same importance."""
    entries = {}
    for t in gguf.GGUFReader(str(f16)).tensors:
        if len(t.shape) < 2 or not t.name.endswith(".weight"):
            continue
        matrices = int(np.prod(t.shape[2:])) if len(t.shape) > 2 else 1  # stacked experts: one row each
        entries[t.name] = (np.ones((matrices, int(t.shape[0]))), np.ones((matrices, 1)))
    write_imatrix_gguf(path, entries, "uniform", 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shapes", default="1b,3b")
    ap.add_argument("--types", default="Q4_0,Q4_K_M,Q8_0")
    ap.add_argument("--out", type=Path, default=Path.home() / ".cache/troupe/bench-models")
    ap.add_argument("--seed", type=int, default=19)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    tokenizer_source = default_model()
    quantize = None
    for name in args.shapes.split(","):
        shape = SHAPES[name]
        stem = f"{shape['arch']}-{name}"
        f16 = args.out / f"{stem}.F16.gguf"
        if not f16.exists():
            print(f"writing {f16}", file=sys.stderr)
            if shape["arch"] == "gemma3n":
                from bench_gemma3n_model import write_gemma3n_f16
                write_gemma3n_f16(f16, shape, tokenizer_source, args.seed, copy_tokenizer)
            else:
                write_f16(f16, shape, tokenizer_source, args.seed)
        for kind in args.types.split(","):
            out = args.out / f"{stem}.{kind}.gguf"
            if not out.exists():
                quantize = quantize or llama_quantize()
                tmp = out.with_suffix(".tmp")
                command = [str(quantize)]
                if kind in NEEDS_IMATRIX:
                    imatrix = args.out / f"{stem}.imatrix.gguf"
                    if not imatrix.exists():
                        write_uniform_imatrix(imatrix, f16)
                    command += ["--imatrix", str(imatrix)]
                run = subprocess.run(command + [str(f16), str(tmp), kind], capture_output=True, text=True)
                if run.returncode != 0:
                    raise SystemExit(f"llama-quantize {kind} failed: {run.stderr[-2000:]}")
                tmp.rename(out)
            print(out)


if __name__ == "__main__":
    main()
