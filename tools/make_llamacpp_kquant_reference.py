#!/usr/bin/env python3
"""llama.cpp's greedy tokens and log-probabilities on the K-quant re-quantizations of the default
model, for tests/gpu/kquant_models_test.cpp (fixture tests/fixtures/smollm2/kquant_reference.json).

    tools/peer/build_llamacpp.sh && tools/peer/make_kquant_models.sh
    .venv-test/bin/python tools/make_llamacpp_kquant_reference.py

For each file (Q4_K_M, Q6_K made by tools/peer/make_kquant_models.sh) it starts llama.cpp's
llama-server (built by tools/peer/build_llamacpp.sh from llama-cpp-python 0.3.36's vendored tree),
and for each prompt of tests/fixtures/smollm2/greedy_reference.json (its prompt ids, so the
tokenizer is not in question) asks /completion for 64 tokens with top_k 1 (greedy), never stopping
at end tokens, with the 5 most likely tokens and their log-probabilities (softmax of the raw logits,
before sampling) at every step. One slot, 2 threads, an F32 KV cache, no prompt cache.
"""
from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fixture_files import pack  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
N_GEN = 64
TOP = 5


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def post(url: str, body: dict) -> dict:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=600) as r:
        return json.load(r)


@contextlib.contextmanager
def llama_server(server_bin: Path, model: Path, port: int, args: list[str]):
    """llama-server on `model` at 127.0.0.1:`port` with `args`, from its first healthy answer until
    the block ends."""
    proc = subprocess.Popen([str(server_bin), "-m", str(model), "--host", "127.0.0.1", "--port", str(port), *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(240):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except Exception:
                time.sleep(0.5)
        else:
            raise RuntimeError("llama-server did not start")
        yield
    finally:
        proc.terminate()
        proc.wait()


def run_file(server_bin: Path, model: Path, prompts: list, port: int) -> list:
    with llama_server(server_bin, model, port, ["-t", "2", "-c", "1024", "--parallel", "1", "-ctk", "f32", "-ctv", "f32",
                                                "--no-warmup"]):
        out = []
        for p in prompts:
            r = post(f"http://127.0.0.1:{port}/completion", {
                "prompt": p["prompt_ids"], "n_predict": N_GEN, "top_k": 1, "temperature": 0.0, "n_probs": TOP,
                "ignore_eos": True, "cache_prompt": False, "samplers": ["top_k"],
            })
            steps = r["completion_probabilities"]
            out.append({
                "name": p["name"],
                "prompt_ids": p["prompt_ids"],
                "generated_ids": [s["id"] for s in steps],
                "top_logprobs": [[[t["id"], round(t["logprob"], 5)] for t in s["top_logprobs"]] for s in steps],
            })
        return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(ROOT / "tests/fixtures/smollm2/kquant_reference.json"))
    ap.add_argument("--port", type=int, default=8191)
    args = ap.parse_args()
    bin_dir = Path(subprocess.check_output([str(ROOT / "tools/peer/build_llamacpp.sh")], text=True).strip())
    models = subprocess.check_output([str(ROOT / "tools/peer/make_kquant_models.sh")], text=True).split()
    prompts = json.load(open(ROOT / "tests/fixtures/smollm2/greedy_reference.json"))["prompts"]
    files = {}
    for m in map(Path, models):
        kind = m.name.split(".")[-2]
        print(f"{kind}: {m}", file=sys.stderr)
        files[kind] = {"file": m.name, "sha256": sha256(m), "bytes": m.stat().st_size,
                       "prompts": run_file(bin_dir / "llama-server", m, prompts, args.port)}
    doc = {
        "generator": "tools/make_llamacpp_kquant_reference.py",
        "llama_cpp": "llama-server from llama-cpp-python 0.3.36's vendored llama.cpp (tools/peer/build_llamacpp.sh)",
        "made_by": "tools/peer/make_kquant_models.sh: llama-quantize --allow-requantize from the default Q4_1 file",
        "settings": {"n_gen": N_GEN, "top": TOP, "threads": 2, "kv_cache": "F32", "sampling": "top_k 1 (greedy)",
                     "logprobs": "log softmax of the raw logits, before sampling"},
        "files": files,
    }
    Path(args.out).write_text(json.dumps(doc, separators=(",", ":")) + "\n")
    pack(Path(args.out))  # committed xz-compressed (tests/support/fixtures.hpp unpacks it)


if __name__ == "__main__":
    main()
