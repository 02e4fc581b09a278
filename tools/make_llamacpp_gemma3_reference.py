#!/usr/bin/env python3
"""llama.cpp's greedy tokens and log-probabilities on the real Gemma 3 270M Q4_K_M GGUF, for
tests/gpu/gemma3_model_test.cpp (fixture tests/fixtures/gemma3/llamacpp_reference.json).

    tools/peer/build_llamacpp.sh && tools/fetch_model.sh gemma3-270m
    .venv-test/bin/python tools/make_llamacpp_gemma3_reference.py

Prompts are tokenized by llama-server itself (/tokenize, with the BOS it adds), so the reference is
llama.cpp's from text to logits; one of them is longer than the model's 512-position sliding
window. For each, /completion gives 64 greedy tokens with the 5 most likely tokens and their
log-probabilities at every step, as tools/make_llamacpp_kquant_reference.py does (one slot, 2
threads, F32 KV cache, no prompt cache).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_llamacpp_kquant_reference import N_GEN, TOP, post, run_file, sha256  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent

LONG = " ".join(f"Paragraph {i}: the lighthouse keeper logged the ships that passed, the weather, and the "
                f"state of the lamp, as every keeper before him had done." for i in range(24))
PROMPTS = [
    ("capital", "The capital of France is"),
    ("code", "def fibonacci(n):\n    \"\"\"Return the n-th Fibonacci number.\"\"\"\n"),
    ("chat", "<start_of_turn>user\nWrite a haiku about the sea.<end_of_turn>\n<start_of_turn>model\n"),
    ("multilingual", "Bonjour! Hoy es un buen día. 今日は良い天気ですね。 Сегодня"),
    ("long_past_the_window", LONG + " The keeper's last entry read:"),
]


def tokenize(server_bin: Path, model: Path, port: int) -> list:
    proc = subprocess.Popen([str(server_bin), "-m", str(model), "--host", "127.0.0.1", "--port", str(port), "-t", "2",
                             "-c", "1024", "--no-warmup"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(240):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except Exception:
                time.sleep(0.5)
        return [{"name": name, "text": text,
                 "prompt_ids": post(f"http://127.0.0.1:{port}/tokenize",
                                    {"content": text, "add_special": True, "parse_special": True})["tokens"]}
                for name, text in PROMPTS]
    finally:
        proc.terminate()
        proc.wait()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(ROOT / "tests/fixtures/gemma3/llamacpp_reference.json"))
    ap.add_argument("--port", type=int, default=8192)
    args = ap.parse_args()
    bin_dir = Path(subprocess.check_output([str(ROOT / "tools/peer/build_llamacpp.sh")], text=True).strip())
    model = Path(subprocess.check_output([str(ROOT / "tools/fetch_model.sh"), "gemma3-270m"], text=True).strip())
    prompts = tokenize(bin_dir / "llama-server", model, args.port)
    assert len(prompts[-1]["prompt_ids"]) > 512, "the long prompt must run past the sliding window"
    runs = run_file(bin_dir / "llama-server", model, prompts, args.port)
    for p, r in zip(prompts, runs):
        r["text"] = p["text"]
    doc = {
        "generator": "tools/make_llamacpp_gemma3_reference.py",
        "llama_cpp": "llama-server from llama-cpp-python 0.3.36's vendored llama.cpp (tools/peer/build_llamacpp.sh)",
        "model": {"file": model.name, "sha256": sha256(model), "bytes": model.stat().st_size},
        "settings": {"n_gen": N_GEN, "top": TOP, "threads": 2, "kv_cache": "F32", "sampling": "top_k 1 (greedy)",
                     "logprobs": "log softmax of the raw logits, before sampling"},
        "prompts": runs,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"{out}: {[len(p['prompt_ids']) for p in prompts]} prompt tokens")


if __name__ == "__main__":
    main()
