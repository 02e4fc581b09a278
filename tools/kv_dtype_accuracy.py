#!/usr/bin/env python3
"""What a narrower KV cache costs in accuracy: the top-5 logprob gap against a float32 cache.

    .venv-test/bin/python tools/kv_dtype_accuracy.py [--model PATH ...] [--dtypes float16,bfloat16,q8_0,fp8]

For each model, the same sequences run through `troupe-dump-logits` (CPU backend, every position's
logits, all sequences in one batch) once with `--kv-cache-dtype float32` and once per dtype; at
every position the float32 run's 5 most likely tokens are looked up in the other run's log-softmax
and the absolute differences of their logprobs are collected. Printed per model and dtype: the
largest and the mean gap, and how often the most likely token changed; for a GGUF both with its
default int8 activations and with exact float32 ones (--cpu-float-activations). Sequences: SmolLM2's
prompts and llama.cpp's greedy continuations from tests/fixtures/smollm2/greedy_reference.json
(real text, 6 sequences), for every model (the fixtures share no vocabulary with it, so for them
the ids are taken modulo the vocabulary: random-looking text, which is what their random weights
see anyway). Models by default: the default SmolLM2 GGUF, and the qwen3 and gemma3 fixtures
(head_dim 32, so q8_0 applies).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def sequences() -> list[list[int]]:
    ref = json.loads((ROOT / "tests/fixtures/smollm2/greedy_reference.json").read_text())
    return [p["prompt_ids"] + p["generated_ids"] for p in ref["prompts"]]


def vocab_of(model: str) -> int | None:
    cfg = Path(model) / "config.json"
    if cfg.exists():
        return json.loads(cfg.read_text())["vocab_size"]
    return None


def run(model: str, seqs: list[list[int]], dtype: str, work: Path, float_activations: bool) -> np.ndarray:
    prompts = work / "prompts.json"
    prompts.write_text(json.dumps({"sequences": seqs}))
    out = work / f"logits-{dtype}.f32"
    subprocess.run([str(ROOT / "build/tools/troupe-dump-logits"), model, "--prompts", str(prompts), "--logits", str(out),
                    "--kv-cache-dtype", dtype] + (["--cpu-float-activations"] if float_activations else []),
                   check=True, capture_output=True, text=True)
    logits = np.fromfile(out, dtype="<f4").reshape(sum(len(s) for s in seqs), -1).astype(np.float64)
    logits -= logits.max(axis=1, keepdims=True)
    return logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", action="append", default=None)
    ap.add_argument("--dtypes", default="float16,bfloat16,q8_0,fp8")
    args = ap.parse_args()
    models = args.model or [
        os.environ.get("TROUPE_DEFAULT_MODEL") or subprocess.check_output([str(ROOT / "tools/fetch_default_model.sh")], text=True).strip(),
        str(ROOT / "tests/fixtures/models/qwen3"),
        str(ROOT / "tests/fixtures/models/gemma3"),
    ]
    print(f"{'model':<36} {'activations':<11} {'kv dtype':<9} {'top-5 gap max':>14} {'mean':>8} {'top-1 changed':>14}")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for model in models:
            vocab = vocab_of(model)
            seqs = [[t % vocab for t in s] for s in sequences()] if vocab else sequences()
            # GGUF blocks multiply int8 activations by default, whose rounding amplifies any
            # difference through the layers; the exact float path shows the cache's own cost.
            for float_activations in ((False, True) if model.endswith(".gguf") else (True,)):
                kind = "float32" if float_activations else "int8"
                base = run(model, seqs, "float32", work, float_activations)
                top5 = np.argsort(-base, axis=1)[:, :5]
                for dtype in args.dtypes.split(","):
                    other = run(model, seqs, dtype, work, float_activations)
                    rows = np.arange(len(base))[:, None]
                    gap = np.abs(base[rows, top5] - other[rows, top5])
                    changed = np.mean(np.argmax(other, axis=1) != top5[:, 0])
                    print(f"{Path(model).name:<36} {kind:<11} {dtype:<9} {gap.max():>14.4f} {gap.mean():>8.4f} "
                          f"{100 * changed:>13.1f}%")

if __name__ == "__main__":
    main()
