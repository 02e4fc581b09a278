#!/usr/bin/env python3
"""Build the tiny random reference models and their reference logits.

Run from the repository root:

    /opt/refenv/bin/python tools/make_model_fixtures.py [--out tests/fixtures/models]

Everything is deterministic (fixed seeds, fp32, eager attention, one CPU thread).
Writes, under the output folder:

  llama/        LlamaForCausalLM, tied embeddings, GQA, llama3 rope scaling (safetensors)
  qwen2/        Qwen2ForCausalLM, untied, q/k/v biases, sharded safetensors + index
  qwen3/        Qwen3ForCausalLM, tied embeddings, q/k RMSNorm, head_dim != hidden/heads
  llama_gguf/   the llama model as an F32 GGUF (llama.cpp tensor names, q/k rows permuted,
                rope_freqs.weight for the llama3 scaling); reuses llama/'s logits
  llama_gguf_q8/  same, every 2-D weight Q8_0; logits of the dequantized weights (cases
                single and batch only)
  qwen2_gguf/   the qwen2 model as an F32 GGUF (no permutation); reuses qwen2/'s logits
  dtypes/       dtypes.safetensors with F32/F16/BF16 tensors + expected.json

Each model folder has reference.json:
  {"model": <path relative to the folder>, "vocab_size": V,
   "cases": [{"name", "sequences": [[ids]...], "logits": <path relative to the folder>}]}
A logits file is raw little-endian float32 [sum of sequence lengths, V]: the rows of each
sequence (row i = logits after token i), sequences concatenated in order, each sequence run
on its own through transformers (no padding).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import math
import os
import re
import shutil
import sys
from pathlib import Path

import numpy as np
import torch

import gguf
import safetensors
import transformers
from safetensors.torch import save_file
from transformers import (
    LlamaConfig,
    LlamaForCausalLM,
    Qwen2Config,
    Qwen2ForCausalLM,
    Qwen3Config,
    Qwen3ForCausalLM,
)

INIT_STD = 0.08  # weight init std; large enough that logits are O(1)
NORM_JITTER = 0.1  # norm weights = 1 + NORM_JITTER * N(0,1)
BIAS_STD = 0.1  # biases = BIAS_STD * N(0,1)
BOS_ID = 1
EOS_ID = 2

# Sequence lengths of the cases (same for every model).
CASES = [
    ("single", [12]),
    ("batch", [3, 9, 17]),
    ("long", [70]),  # crosses llama's original_max_position_embeddings (64)
]


Q8_CASES = ("single", "batch")  # cases recorded for llama_gguf_q8

# ----------------------------------------------------------------------------
# model construction


def llama_config() -> LlamaConfig:
    return LlamaConfig(
        vocab_size=1000,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=16,
        hidden_act="silu",
        max_position_embeddings=256,
        rms_norm_eps=1e-5,
        tie_word_embeddings=True,
        attention_bias=False,
        mlp_bias=False,
        initializer_range=INIT_STD,
        bos_token_id=BOS_ID,
        eos_token_id=EOS_ID,
        rope_parameters={
            "rope_type": "llama3",
            "rope_theta": 10000.0,
            "factor": 8.0,
            "low_freq_factor": 1.0,
            "high_freq_factor": 4.0,
            "original_max_position_embeddings": 64,
        },
    )


def qwen2_config() -> Qwen2Config:
    return Qwen2Config(
        vocab_size=600,  # not 1200: keeps all fixtures near 6 MB (qwen2 is stored twice, untied)
        hidden_size=96,
        intermediate_size=160,
        num_hidden_layers=3,
        num_attention_heads=6,
        num_key_value_heads=2,
        hidden_act="silu",
        max_position_embeddings=512,
        rms_norm_eps=1e-6,
        tie_word_embeddings=False,
        use_sliding_window=False,
        initializer_range=INIT_STD,
        bos_token_id=BOS_ID,
        eos_token_id=EOS_ID,
        rope_parameters={"rope_type": "default", "rope_theta": 1000000.0},
    )


def qwen3_config() -> Qwen3Config:
    return Qwen3Config(
        vocab_size=1100,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=32,
        hidden_act="silu",
        max_position_embeddings=512,
        rms_norm_eps=1e-6,
        tie_word_embeddings=True,
        attention_bias=False,
        use_sliding_window=False,
        initializer_range=INIT_STD,
        bos_token_id=BOS_ID,
        eos_token_id=EOS_ID,
        rope_parameters={"rope_type": "default", "rope_theta": 1000000.0},
    )


def build_model(cls, config, seed: int):
    config._attn_implementation = "eager"
    torch.manual_seed(seed)
    model = cls(config).to(torch.float32)
    model.eval()
    gen = torch.Generator().manual_seed(seed + 1000)
    with torch.no_grad():
        # Re-draw every weight explicitly so the result does not depend on the library's
        # init scheme: linear weights and embeddings N(0, INIT_STD^2).
        for name, p in sorted(model.named_parameters(), key=lambda kv: kv[0]):
            if name.endswith("norm.weight"):
                p.copy_(1.0 + NORM_JITTER * torch.randn(p.shape, generator=gen))
            elif name.endswith(".bias"):
                p.copy_(BIAS_STD * torch.randn(p.shape, generator=gen))
            else:
                p.copy_(INIT_STD * torch.randn(p.shape, generator=gen))
    if config.tie_word_embeddings:
        assert model.lm_head.weight.data_ptr() == model.get_input_embeddings().weight.data_ptr()
    return model


def check_randomized(model) -> None:
    for name, p in model.named_parameters():
        if name.endswith("norm.weight"):
            assert not torch.allclose(p, torch.ones_like(p)), name
        if name.endswith(".bias"):
            assert not torch.allclose(p, torch.zeros_like(p)), name


# ----------------------------------------------------------------------------
# reference logits


def make_sequences(vocab: int, seed: int, long: int | None = None) -> list[tuple[str, list[list[int]]]]:
    """CASES' sequences, drawn from `seed`; `long` tokens in the long case instead of 70 (its first
    `long` of the same draw)."""
    rng = np.random.default_rng(seed)
    out = []
    for name, lengths in CASES:
        if long is not None and name == "long":
            lengths = [long]
        seqs = [rng.integers(0, vocab, size=n).tolist() for n in lengths]
        out.append((name, seqs))
    return out


@torch.no_grad()
def run_logits(model, seqs: list[list[int]]) -> np.ndarray:
    rows = []
    for ids in seqs:
        out = model(torch.tensor([ids], dtype=torch.long), use_cache=False)
        rows.append(out.logits[0].to(torch.float32).numpy())
    return np.ascontiguousarray(np.concatenate(rows, axis=0), dtype="<f4")


def dumps(obj) -> str:
    """JSON with one line per list of numbers (keeps the files readable and small)."""
    text = json.dumps(obj, indent=1)
    return re.sub(r"\[\s*([-+0-9.eE,\s]+?)\s*\]",
                  lambda m: "[" + ", ".join(x.strip() for x in m.group(1).split(",")) + "]",
                  text) + "\n"


def write_reference(folder: Path, model_rel: str, vocab: int, cases, logits_by_case: dict[str, str]):
    ref = {
        "model": model_rel,
        "vocab_size": vocab,
        "cases": [
            {"name": name, "sequences": seqs, "logits": logits_by_case[name]}
            for name, seqs in cases
        ],
    }
    (folder / "reference.json").write_text(dumps(ref))


def logits_cases(model, folder: Path, cases, prefix: str = "logits_") -> tuple[dict[str, str], float]:
    files = {}
    scale = 0.0
    for name, seqs in cases:
        arr = run_logits(model, seqs)
        fname = f"{prefix}{name}.f32"
        arr.tofile(folder / fname)
        files[name] = fname
        scale = max(scale, float(np.abs(arr).max()))
    return files, scale


# ----------------------------------------------------------------------------
# GGUF


def llama3_rope_factors(rp: dict, head_dim: int) -> np.ndarray:
    """Per-dimension-pair frequency divisors, as llama.cpp's HF converter stores them in
    rope_freqs.weight for rope_type llama3 (float32, head_dim/2 values)."""
    base = rp.get("rope_theta", 10000.0)
    factor = rp.get("factor", 8.0)
    lo = rp.get("low_freq_factor", 1.0)
    hi = rp.get("high_freq_factor", 4.0)
    old_ctx = rp.get("original_max_position_embeddings", 8192)
    inv = 1.0 / (base ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
    lo_wavelen = old_ctx / lo
    hi_wavelen = old_ctx / hi
    vals = []
    for f in inv:
        wavelen = 2 * math.pi / f
        if wavelen < hi_wavelen:
            vals.append(1)
        elif wavelen > lo_wavelen:
            vals.append(factor)
        else:
            s = (old_ctx / wavelen - lo) / (hi - lo)
            vals.append(1 / ((1 - s) / factor + s))
    return torch.tensor(vals, dtype=torch.float32).numpy()


def permute_rows(w: np.ndarray, n_head: int) -> np.ndarray:
    """HF half-split rotary layout -> GGML interleaved layout, per head: within each head the
    rows [first half | second half] become [h0[0], h1[0], h0[1], h1[1], ...]."""
    shape = w.shape
    return w.reshape(n_head, 2, shape[0] // n_head // 2, *shape[1:]).swapaxes(1, 2).reshape(shape)


def unpermute_rows(w: np.ndarray, n_head: int) -> np.ndarray:
    shape = w.shape
    return w.reshape(n_head, shape[0] // n_head // 2, 2, *shape[1:]).swapaxes(1, 2).reshape(shape)


def hf_to_gguf_tensors(model, arch: str) -> list[tuple[str, np.ndarray]]:
    """(gguf name, fp32 array in HF [out, in] row layout) for every tensor, in file order."""
    cfg = model.config
    sd = {k: v.detach().to(torch.float32).numpy().copy() for k, v in model.state_dict().items()}
    n_head = cfg.num_attention_heads
    n_kv = cfg.num_key_value_heads
    out = [("token_embd.weight", sd["model.embed_tokens.weight"])]
    if arch == "llama":
        rp = cfg.rope_parameters
        if rp.get("rope_type") == "llama3":
            out.append(("rope_freqs.weight", llama3_rope_factors(rp, cfg.head_dim)))
    for i in range(cfg.num_hidden_layers):
        p = f"model.layers.{i}."
        b = f"blk.{i}."
        q = sd[p + "self_attn.q_proj.weight"]
        k = sd[p + "self_attn.k_proj.weight"]
        if arch == "llama":
            q = permute_rows(q, n_head)
            k = permute_rows(k, n_kv)
        out.append((b + "attn_norm.weight", sd[p + "input_layernorm.weight"]))
        out.append((b + "attn_q.weight", q))
        out.append((b + "attn_k.weight", k))
        out.append((b + "attn_v.weight", sd[p + "self_attn.v_proj.weight"]))
        for proj, gname in (("q_proj", "attn_q"), ("k_proj", "attn_k"), ("v_proj", "attn_v")):
            key = p + f"self_attn.{proj}.bias"
            if key in sd:
                assert arch != "llama"
                out.append((b + f"{gname}.bias", sd[key]))
        if p + "self_attn.q_norm.weight" in sd:
            out.append((b + "attn_q_norm.weight", sd[p + "self_attn.q_norm.weight"]))
            out.append((b + "attn_k_norm.weight", sd[p + "self_attn.k_norm.weight"]))
        out.append((b + "attn_output.weight", sd[p + "self_attn.o_proj.weight"]))
        out.append((b + "ffn_norm.weight", sd[p + "post_attention_layernorm.weight"]))
        out.append((b + "ffn_gate.weight", sd[p + "mlp.gate_proj.weight"]))
        out.append((b + "ffn_up.weight", sd[p + "mlp.up_proj.weight"]))
        out.append((b + "ffn_down.weight", sd[p + "mlp.down_proj.weight"]))
    out.append(("output_norm.weight", sd["model.norm.weight"]))
    if not cfg.tie_word_embeddings:
        out.append(("output.weight", sd["lm_head.weight"]))
    return out


def write_gguf(model, arch: str, path: Path, name: str, quant: gguf.GGMLQuantizationType | None):
    cfg = model.config
    rp = cfg.rope_parameters
    w = gguf.GGUFWriter(str(path), arch)
    w.add_name(name)
    w.add_block_count(cfg.num_hidden_layers)
    w.add_context_length(cfg.max_position_embeddings)
    w.add_embedding_length(cfg.hidden_size)
    w.add_feed_forward_length(cfg.intermediate_size)
    w.add_head_count(cfg.num_attention_heads)
    w.add_head_count_kv(cfg.num_key_value_heads)
    w.add_rope_freq_base(float(rp["rope_theta"]))
    w.add_layer_norm_rms_eps(float(cfg.rms_norm_eps))
    if arch == "llama":
        head_dim = cfg.head_dim
        w.add_vocab_size(cfg.vocab_size)
        w.add_rope_dimension_count(head_dim)
        w.add_key_length(head_dim)
        w.add_value_length(head_dim)
    w.add_file_type(gguf.LlamaFileType.MOSTLY_Q8_0 if quant == gguf.GGMLQuantizationType.Q8_0
                    else gguf.LlamaFileType.ALL_F32)
    if quant is not None:
        w.add_quantization_version(gguf.GGML_QUANT_VERSION)
    w.add_bos_token_id(BOS_ID)
    w.add_eos_token_id(EOS_ID)
    for tname, arr in hf_to_gguf_tensors(model, arch):
        arr = np.ascontiguousarray(arr, dtype=np.float32)
        if quant is not None and arr.ndim == 2:
            q = gguf.quants.quantize(arr, quant)
            w.add_tensor(tname, q, raw_shape=q.shape, raw_dtype=quant)
        else:
            w.add_tensor(tname, arr)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def load_gguf_into(model, arch: str, path: Path) -> None:
    """Read a GGUF written above back into an HF model (dequantizing, un-permuting): used to
    check the file and to get the exact weights the Q8_0 reference is computed with."""
    cfg = model.config
    reader = gguf.GGUFReader(str(path))
    tensors = {}
    for t in reader.tensors:
        data = np.array(t.data)
        if t.tensor_type in (gguf.GGMLQuantizationType.F32,):
            arr = data.astype(np.float32).reshape([int(x) for x in reversed(t.shape)])
        else:
            arr = gguf.quants.dequantize(data, t.tensor_type)
        tensors[t.name] = arr
    expected = dict(hf_to_gguf_tensors(model, arch))
    assert set(tensors) == set(expected), (set(tensors) ^ set(expected))
    inv = {}
    for i in range(cfg.num_hidden_layers):
        p = f"model.layers.{i}."
        b = f"blk.{i}."
        inv[b + "attn_norm.weight"] = p + "input_layernorm.weight"
        inv[b + "attn_q.weight"] = p + "self_attn.q_proj.weight"
        inv[b + "attn_k.weight"] = p + "self_attn.k_proj.weight"
        inv[b + "attn_v.weight"] = p + "self_attn.v_proj.weight"
        inv[b + "attn_q.bias"] = p + "self_attn.q_proj.bias"
        inv[b + "attn_k.bias"] = p + "self_attn.k_proj.bias"
        inv[b + "attn_v.bias"] = p + "self_attn.v_proj.bias"
        inv[b + "attn_q_norm.weight"] = p + "self_attn.q_norm.weight"
        inv[b + "attn_k_norm.weight"] = p + "self_attn.k_norm.weight"
        inv[b + "attn_output.weight"] = p + "self_attn.o_proj.weight"
        inv[b + "ffn_norm.weight"] = p + "post_attention_layernorm.weight"
        inv[b + "ffn_gate.weight"] = p + "mlp.gate_proj.weight"
        inv[b + "ffn_up.weight"] = p + "mlp.up_proj.weight"
        inv[b + "ffn_down.weight"] = p + "mlp.down_proj.weight"
    inv["token_embd.weight"] = "model.embed_tokens.weight"
    inv["output_norm.weight"] = "model.norm.weight"
    inv["output.weight"] = "lm_head.weight"
    params = dict(model.named_parameters())
    with torch.no_grad():
        for gname, arr in tensors.items():
            if gname == "rope_freqs.weight":
                ref = llama3_rope_factors(cfg.rope_parameters, cfg.head_dim)
                assert np.array_equal(arr, ref)
                continue
            if arch == "llama" and gname.endswith("attn_q.weight"):
                arr = unpermute_rows(arr, cfg.num_attention_heads)
            if arch == "llama" and gname.endswith("attn_k.weight"):
                arr = unpermute_rows(arr, cfg.num_key_value_heads)
            p = params[inv[gname]]
            assert tuple(p.shape) == arr.shape, (gname, p.shape, arr.shape)
            p.copy_(torch.from_numpy(np.ascontiguousarray(arr)))


# ----------------------------------------------------------------------------
# dtypes fixture


def f32_repr(x) -> float:
    return float(np.float32(x))


def write_dtypes(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    gen = torch.Generator().manual_seed(7)
    a = (torch.randn(3, 5, generator=gen) * 3.0).to(torch.float32)
    a[0, 0] = 1.0
    a[0, 1] = -0.0
    a[0, 2] = 1e-40  # f32 subnormal
    b = (torch.randn(4, 7, generator=gen) * 10.0).to(torch.float16)
    b[0, 0] = 65504.0  # f16 max
    b[0, 1] = -(2.0 ** -24)  # smallest f16 subnormal
    b[0, 2] = 2.0 ** -14  # smallest f16 normal
    b[0, 3] = 0.1
    b[0, 4] = -0.0
    c = (torch.randn(2, 3, 4, generator=gen) * 100.0).to(torch.bfloat16)
    c[0, 0, 0] = 3.0e38
    c[0, 0, 1] = 1e-40  # bf16 subnormal
    c[0, 0, 2] = -1.0 / 3.0
    d = torch.tensor([-2.5], dtype=torch.float32)
    tensors = {"a_f32": a, "b_f16": b, "c_bf16": c, "d_scalarish": d}
    save_file(tensors, str(folder / "dtypes.safetensors"), metadata={"format": "pt"})
    expected = {}
    dt_names = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16"}
    for name, t in tensors.items():
        vals = t.to(torch.float32).flatten().tolist()
        expected[name] = {
            "dtype": dt_names[t.dtype],
            "shape": list(t.shape),
            "values": [f32_repr(v) for v in vals],
        }
    (folder / "expected.json").write_text(dumps(expected))
    # Self-check: widen the stored raw bytes by hand.
    with safetensors.safe_open(str(folder / "dtypes.safetensors"), "pt") as f:
        for name in tensors:
            t = f.get_tensor(name)
            assert t.to(torch.float32).flatten().tolist() == expected[name]["values"], name


# ----------------------------------------------------------------------------


def dir_size(p: Path) -> int:
    return sum(f.stat().st_size for f in p.rglob("*") if f.is_file())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="tests/fixtures/models")
    args = ap.parse_args()
    out = Path(args.out)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    summary = {}

    specs = [
        ("llama", LlamaForCausalLM, llama_config(), 101, None),
        ("qwen2", Qwen2ForCausalLM, qwen2_config(), 202, "200KB"),
        ("qwen3", Qwen3ForCausalLM, qwen3_config(), 303, None),
    ]
    models = {}
    cases_by = {}
    for name, cls, cfg, seed, shard in specs:
        folder = out / name
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        model = build_model(cls, cfg, seed)
        check_randomized(model)
        if shard:
            model.save_pretrained(folder, max_shard_size=shard)
        else:
            model.save_pretrained(folder)
        # Round trip: the saved files alone must reproduce the model.
        reloaded = cls.from_pretrained(folder, dtype=torch.float32, attn_implementation="eager").eval()
        cases = make_sequences(cfg.vocab_size, seed + 7)
        files, scale = logits_cases(model, folder, cases)
        for cname, seqs in cases:
            a = run_logits(reloaded, seqs)
            b = np.fromfile(folder / files[cname], dtype="<f4").reshape(-1, cfg.vocab_size)
            assert np.array_equal(a, b), f"{name}: reloaded model differs on {cname}"
        model_ref = "model.safetensors.index.json" if shard else "model.safetensors"
        assert (folder / model_ref).exists(), model_ref
        write_reference(folder, ".", cfg.vocab_size, cases, files)
        models[name] = model
        cases_by[name] = (cases, files)
        summary[name] = {"max_abs_logit": scale, "files": sorted(os.listdir(folder))}
        print(f"{name}: max|logit| = {scale:.4f}  files: {summary[name]['files']}")

    # GGUF versions
    for name, src, arch, quant in (
        ("llama_gguf", "llama", "llama", None),
        ("llama_gguf_q8", "llama", "llama", gguf.GGMLQuantizationType.Q8_0),
        ("qwen2_gguf", "qwen2", "qwen2", None),
    ):
        folder = out / name
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        model = models[src]
        path = folder / "model.gguf"
        write_gguf(model, arch, path, f"troupe-tiny-{src}", quant)
        # Read it back into a fresh copy of the HF model; run the reference cases.
        cls = type(model)
        twin = cls(model.config).to(torch.float32).eval()
        twin.load_state_dict(model.state_dict())
        load_gguf_into(twin, arch, path)
        cases, files = cases_by[src]
        if quant is None:
            for cname, seqs in cases:
                a = run_logits(twin, seqs)
                b = np.fromfile(out / src / files[cname], dtype="<f4").reshape(a.shape)
                assert np.array_equal(a, b), f"{name}: GGUF round trip differs on {cname}"
            write_reference(folder, "model.gguf", model.config.vocab_size, cases,
                            {c: f"../{src}/{f}" for c, f in files.items()})
            scale = summary[src]["max_abs_logit"]
        else:
            # Only the short cases: the long case is covered by llama/ and llama_gguf/, and
            # its logits would add 280 KB.
            cases = [c for c in cases if c[0] in Q8_CASES]
            qfiles, scale = logits_cases(twin, folder, cases)
            # how far quantization moved the logits (informational)
            diff = 0.0
            for cname, _ in cases:
                a = np.fromfile(folder / qfiles[cname], dtype="<f4")
                b = np.fromfile(out / src / files[cname], dtype="<f4")
                diff = max(diff, float(np.abs(a - b).max()))
            print(f"{name}: max |logit(Q8_0) - logit(F32)| = {diff:.4f}")
            write_reference(folder, "model.gguf", model.config.vocab_size, cases, qfiles)
        summary[name] = {"max_abs_logit": scale, "files": sorted(os.listdir(folder))}
        print(f"{name}: max|logit| = {scale:.4f}  files: {summary[name]['files']}")

    write_dtypes(out / "dtypes")

    total = dir_size(out)
    print(f"total size of {out}: {total} bytes")
    for k, v in summary.items():
        print(f"  {k}: {dir_size(out / k)} bytes")
    print("versions: torch", torch.__version__, "transformers", transformers.__version__,
          "gguf", importlib.metadata.version("gguf"), "safetensors", safetensors.__version__,
          "numpy", np.__version__)
    return 0


if __name__ == "__main__":
    sys.exit(main())
