#!/usr/bin/env python3
"""Model parity on the GPU machine: troupe's CUDA backend against transformers and troupe's CPU backend.

Run by tools/gpu/device_check.sh (it needs torch, transformers and a CUDA device, which only that
machine has). For each architecture (Llama, Qwen2, Qwen3) and size (tiny, and Qwen2.5-0.5B's shape)
it builds a random-weight model with transformers and saves it as bf16 safetensors, beside the
SmolLM2 tokenizer from tests/fixtures (vocab_size set to match it). Every weight is random: norm
weights 1 + 0.1·N(0,1), biases 0.1·N(0,1), matrices N(0, 0.05²), so norms, biases and q/k norms are
really exercised and logits are spread enough for greedy decoding to be decided by the model rather
than by rounding.

Then per model:
  - transformers in float32 on the GPU (the bf16 weights widened: the same weight values troupe
    loads): every prompt token's logits, and 32 greedy tokens per prompt with the top-2 margin at
    each step;
  - transformers in bf16 and in fp16 on the GPU, prompt logits only: how far the reference's own
    library strays from float32 at that precision on this model (the yardstick);
  - troupe-dump-logits on cuda (bf16, and fp16) and on cpu: in float32 throughout (activations
    and KV cache), and as troupe serve runs it by default (the KV cache in the model's dtype, bf16
    here, as vLLM's `auto`);
  - relative error ||troupe - reference|| / ||reference|| over all prompt logits, and whether the
    32 greedy tokens agree; a divergence passes only at a near-tie (the reference's top-2 margin
    there below 3x the largest absolute logit error seen in the prefill).

The bound on a reduced-precision run scales with the yardstick: random weights in a 24-layer shape
amplify every rounding layer after layer (on an H100, 2026-12-05: troupe bf16 3.8e-2, fp16 4.7e-3,
CPU with a bf16 KV cache 2.0e-2 against float32 on the 0.5B shapes, where the tiny ones gave 3-6e-3,
5-8e-4 and 1-3e-3), so a fixed bound says more about the model than about the backend. A run
passes when its error is under twice transformers' own at the same precision (bf16 for the CPU's
default run), or under the fixed floor below; a real fault (a wrong rotation, a missed bias, a
stale cache entry) moves logits by tens of percent.

Prints one line per comparison and writes everything to --out (JSON). Exit status 0 when every
comparison passes, 1 otherwise.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
import transformers

REPO = Path(__file__).resolve().parents[2]
TOKENIZER_DIR = REPO / "tests/fixtures/tokenizer/smollm2"
GREEDY_TOKENS = 32
# ||troupe - reference|| / ||reference|| always allowed over all prompt logits (the floor). CPU:
# float32 against float32, differing by summation order only: 1e-4 and no yardstick. CUDA bf16:
# activations, attention inputs and KV rounded to bf16 before each GEMM (2^-9 relative each, a few
# 1e-3 per layer); fp16 keeps 3 more bits. These are the bounds tests/gpu/cuda/cuda_backend_test.cpp
# uses for whole models.
TOLERANCE = {"cpu": 1e-4, "cpu-default": 3e-2, "cuda-bfloat16": 3e-2, "cuda-float16": 4e-3}
# Which of transformers' own reduced-precision runs each comparison is measured against.
YARDSTICK = {"cpu-default": "bfloat16", "cuda-bfloat16": "bfloat16", "cuda-float16": "float16"}
YARDSTICK_FACTOR = 2.0

SHAPES = {
    "tiny": dict(num_hidden_layers=2, hidden_size=128, intermediate_size=256, num_attention_heads=4,
                 num_key_value_heads=2, head_dim=32),
    # Qwen2.5-0.5B: 24 layers, hidden 896, MLP 4864, 14 heads of 64, 2 KV heads, tied embeddings.
    "0.5b": dict(num_hidden_layers=24, hidden_size=896, intermediate_size=4864, num_attention_heads=14,
                 num_key_value_heads=2, head_dim=64),
}
ARCHS = {
    "llama": (transformers.LlamaConfig, transformers.LlamaForCausalLM, dict(rope_theta=500000.0)),
    "qwen2": (transformers.Qwen2Config, transformers.Qwen2ForCausalLM, dict(rope_theta=1000000.0)),
    "qwen3": (transformers.Qwen3Config, transformers.Qwen3ForCausalLM, dict(rope_theta=1000000.0)),
}


def vocab_size() -> int:
    tok = json.loads((TOKENIZER_DIR / "tokenizer.json").read_text())
    ids = list(tok["model"]["vocab"].values()) + [t["id"] for t in tok.get("added_tokens", [])]
    return max(ids) + 1


@torch.no_grad()
def make_model(arch: str, size: str, folder: Path, seed: int) -> None:
    config_cls, model_cls, extra = ARCHS[arch]
    shape = dict(SHAPES[size])
    if arch == "qwen2":
        shape.pop("head_dim")  # Qwen2 derives it from hidden / heads (64 for both shapes)
    config = config_cls(vocab_size=vocab_size(), max_position_embeddings=4096, rms_norm_eps=1e-6,
                        tie_word_embeddings=True, bos_token_id=1, eos_token_id=2, **shape, **extra)
    torch.manual_seed(seed)
    with torch.device("cuda"):
        model = model_cls(config)
    for name, p in model.named_parameters():
        if name.endswith("norm.weight"):
            p.copy_(1.0 + 0.1 * torch.randn_like(p))
        elif name.endswith(".bias"):
            p.copy_(0.1 * torch.randn_like(p))
        else:
            p.copy_(0.05 * torch.randn_like(p))
    model.to(torch.bfloat16).save_pretrained(folder)
    for f in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(TOKENIZER_DIR / f, folder / f)


def prompts(vocab: int) -> list[list[int]]:
    rng = np.random.default_rng(7)
    return [rng.integers(3, vocab, size=n).tolist() for n in (5, 37, 120)]


@torch.no_grad()
def reference(folder: Path, seqs: list[list[int]]) -> tuple[np.ndarray, list[dict]]:
    model = transformers.AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32,
                                                              attn_implementation="eager").cuda().eval()
    rows, greedy = [], []
    for ids in seqs:
        x = torch.tensor([ids], device="cuda")
        out = model(x, use_cache=True)
        rows.append(out.logits[0].float().cpu().numpy())
        past, logits, gen, gaps = out.past_key_values, out.logits[0, -1], [], []
        for _ in range(GREEDY_TOKENS):
            top2 = torch.topk(logits.float(), 2)
            gen.append(int(top2.indices[0]))
            gaps.append(float(top2.values[0] - top2.values[1]))
            out = model(torch.tensor([[gen[-1]]], device="cuda"), past_key_values=past, use_cache=True)
            past, logits = out.past_key_values, out.logits[0, -1]
        greedy.append({"ids": gen, "top2_gap": gaps})
    del model
    torch.cuda.empty_cache()
    return np.concatenate(rows), greedy


@torch.no_grad()
def reduced_precision_logits(folder: Path, seqs: list[list[int]], dtype: str) -> np.ndarray:
    """transformers' prompt logits with the model and its activations in `dtype` (the yardstick)."""
    model = transformers.AutoModelForCausalLM.from_pretrained(folder, dtype=getattr(torch, dtype),
                                                              attn_implementation="eager").cuda().eval()
    rows = [model(torch.tensor([ids], device="cuda")).logits[0].float().cpu().numpy() for ids in seqs]
    del model
    torch.cuda.empty_cache()
    return np.concatenate(rows)


def relative_error(got: np.ndarray, want: np.ndarray) -> float:
    return float(np.linalg.norm(got - want) / np.linalg.norm(want)) if np.isfinite(got).all() else math.inf


def run_troupe(dump: str, folder: Path, prompts_file: Path, name: str, work: Path):
    device, dtype = ("cuda", name.split("-", 1)[1]) if name.startswith("cuda-") else ("cpu", "auto")
    logits_file, greedy_file = work / f"{name}.f32", work / f"{name}.json"
    cmd = [dump, str(folder), "--prompts", str(prompts_file), "--logits", str(logits_file), "--greedy",
           str(greedy_file), "--tokens", str(GREEDY_TOKENS), "--device", device, "--dtype", dtype]
    if name == "cpu":  # float32 throughout; "cpu-default" is what troupe serve runs
        cmd += ["--cpu-float-activations", "--kv-cache-dtype", "float32"]
    started = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {proc.stderr.strip()}")
    return np.fromfile(logits_file, dtype=np.float32), json.loads(greedy_file.read_text()), time.monotonic() - started


def compare(name: str, got: np.ndarray, got_greedy: dict, want: np.ndarray, want_greedy: list[dict],
            yardsticks: dict[str, float]) -> dict:
    got = got.reshape(want.shape)
    finite = bool(np.isfinite(got).all())
    rel = relative_error(got, want)
    yardstick = yardsticks.get(YARDSTICK.get(name, ""))
    bound = max(TOLERANCE[name], YARDSTICK_FACTOR * yardstick) if yardstick is not None else TOLERANCE[name]
    max_abs = float(np.abs(got - want).max()) if finite else math.inf
    greedy = []
    for g, w in zip(got_greedy["sequences"], want_greedy):
        first = next((i for i, (a, b) in enumerate(zip(g["ids"], w["ids"])) if a != b), None)
        entry = {"matched": GREEDY_TOKENS if first is None else first}
        if first is not None:
            gap = w["top2_gap"][first]
            entry.update(reference_top2_gap=gap, near_tie=gap < 3 * max_abs)
        greedy.append(entry)
    greedy_ok = all(e["matched"] == GREEDY_TOKENS or e["near_tie"] for e in greedy)
    return {"comparison": name, "relative_error": rel, "max_abs_error": max_abs, "finite": finite,
            "transformers_same_precision": yardstick, "tolerance": bound, "logits_ok": finite and rel < bound,
            "greedy": greedy, "greedy_ok": greedy_ok}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dump", required=True, help="path of troupe-dump-logits")
    ap.add_argument("--work", required=True, help="scratch folder for the models (several GB)")
    ap.add_argument("--out", required=True, help="JSON results")
    ap.add_argument("--sizes", default="tiny,0.5b")
    ap.add_argument("--keep", default="qwen2-0.5b", help="model folder left in --work for serving")
    args = ap.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    results, ok = [], True
    for size in args.sizes.split(","):
        for seed, arch in enumerate(ARCHS):
            folder = work / f"{arch}-{size}"
            started = time.monotonic()
            make_model(arch, size, folder, seed)
            seqs = prompts(vocab_size())
            prompts_file = folder / "prompts.json"
            prompts_file.write_text(json.dumps({"sequences": seqs}))
            want, want_greedy = reference(folder, seqs)
            yardsticks = {d: relative_error(reduced_precision_logits(folder, seqs, d), want)
                          for d in ("bfloat16", "float16")}
            made = time.monotonic() - started
            print(f"parity {arch}-{size} transformers itself against float32: "
                  + ", ".join(f"{d} {e:.2e}" for d, e in yardsticks.items()), flush=True)
            results.append({"comparison": "transformers", "model": f"{arch}-{size}", **yardsticks})
            for name in ("cuda-bfloat16", "cuda-float16", "cpu", "cpu-default"):
                try:
                    got, got_greedy, seconds = run_troupe(args.dump, folder, prompts_file, name, folder)
                    r = compare(name, got, got_greedy, want, want_greedy, yardsticks)
                except Exception as e:  # one failing run must not hide the others
                    r = {"comparison": name, "error": str(e), "logits_ok": False, "greedy_ok": False}
                    seconds = 0.0
                r.update(model=f"{arch}-{size}", seconds=round(seconds, 1))
                results.append(r)
                passed = r["logits_ok"] and r["greedy_ok"]
                ok = ok and passed
                if "error" in r:
                    print(f"parity {arch}-{size} {name}: FAIL {r['error']}", flush=True)
                else:
                    matched = "/".join(str(g["matched"]) for g in r["greedy"])
                    print(f"parity {arch}-{size} {name}: {'ok' if passed else 'FAIL'} rel err {r['relative_error']:.2e} "
                          f"(< {r['tolerance']:.1e}), max abs {r['max_abs_error']:.3f}, greedy matched {matched} of "
                          f"{GREEDY_TOKENS} ({seconds:.1f} s; model + reference {made:.1f} s)", flush=True)
            if size != "tiny" and folder.name != args.keep:
                shutil.rmtree(folder, ignore_errors=True)  # keep the disk for the next model
    Path(args.out).write_text(json.dumps(results, indent=1))
    worst: dict[str, float] = {}
    for r in results:
        if "relative_error" in r:
            worst[r["comparison"]] = max(worst.get(r["comparison"], 0.0), r["relative_error"])
        elif r["comparison"] == "transformers":
            for d in ("bfloat16", "float16"):
                worst[f"transformers-{d}"] = max(worst.get(f"transformers-{d}", 0.0), r[d])
    bad = [f"{r['model']} {r['comparison']}" for r in results
           if r["comparison"] != "transformers" and not (r["logits_ok"] and r["greedy_ok"])]
    print("parity summary: " + ", ".join(f"{k} max rel err {v:.1e}" for k, v in sorted(worst.items()))
          + (f"; failing: {', '.join(bad)}" if bad else "; every greedy run agrees or diverges at a near-tie"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
