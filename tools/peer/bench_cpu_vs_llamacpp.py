#!/usr/bin/env python3
"""Single-sequence CPU speed of `troupe generate` beside llama.cpp's `llama-bench`, in alternating
pairs (troupe, then llama.cpp, per test and per pair), with the load average before each run.

    python3 tools/peer/bench_cpu_vs_llamacpp.py [--pairs 3] [--threads 2] [--tests tg128,pp512,pp2048]
                                                [--model GGUF] [--troupe build/troupe]

tgN: decode N tokens after a 4-token prompt (troupe's "decode tok/s"; llama-bench -p 0 -n N).
ppN: prefill N prompt tokens (troupe: --prompt-ids of N ids, --max-tokens 1, its "prompt tok/s";
llama-bench -p N -n 0). llama-bench is built by tools/peer/build_llamacpp.sh. Prints one row per
run and a summary of ratios (troupe / llama.cpp) per test.
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def loadavg() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def troupe_run(binary: str, model: str, test: str, threads: int) -> float:
    kind, n = test[:2], int(test[2:])
    if kind == "tg":
        args = ["--prompt", "The quick brown fox", "--max-tokens", str(n + 1), "--ignore-eos"]
    else:
        ids = ",".join(str(100 + (i * 7) % 40000) for i in range(n))
        args = ["--prompt-ids", ids, "--max-tokens", "1"]
    run = subprocess.run([binary, "generate", model, "--threads", str(threads), *args], capture_output=True, text=True,
                         check=True)
    line = run.stderr.strip().splitlines()[-1]  # troupe: cpu, load ..., prompt ... tok/s, ... decode ... tok/s
    m = re.search(r"decode ([0-9.]+) tok/s" if kind == "tg" else r"prompt \d+ tokens in [0-9.]+ s \(([0-9.]+) tok/s\)", line)
    if not m:
        raise RuntimeError(f"unexpected troupe output: {line!r}")
    return float(m.group(1))


def llama_run(bench: str, model: str, test: str, threads: int) -> float:
    kind, n = test[:2], int(test[2:])
    p, g = (0, n) if kind == "tg" else (n, 0)
    out = subprocess.run([bench, "-m", model, "-t", str(threads), "-p", str(p), "-n", str(g), "-r", "1", "-o", "json"],
                         capture_output=True, text=True, check=True).stdout
    return float(json.loads(out)[0]["avg_ts"])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--tests", default="tg128,pp512,pp2048")
    ap.add_argument("--model", default=None)
    ap.add_argument("--troupe", default=str(ROOT / "build/troupe"))
    args = ap.parse_args()
    model = args.model or subprocess.check_output([str(ROOT / "tools/fetch_default_model.sh")], text=True).strip()
    bench = str(Path(subprocess.check_output([str(ROOT / "tools/peer/build_llamacpp.sh")], text=True).strip()) / "llama-bench")
    tests = args.tests.split(",")
    ratios: dict[str, list[float]] = {t: [] for t in tests}
    print(f"model {Path(model).name}, {args.threads} threads")
    print(f"{'pair':>4} {'test':>7} {'load':>5} {'troupe tok/s':>13} {'load':>5} {'llama.cpp tok/s':>16} {'ratio':>6}")
    for pair in range(1, args.pairs + 1):
        for t in tests:
            l1 = loadavg()
            ours = troupe_run(args.troupe, model, t, args.threads)
            l2 = loadavg()
            theirs = llama_run(bench, model, t, args.threads)
            ratios[t].append(ours / theirs)
            print(f"{pair:>4} {t:>7} {l1:>5.2f} {ours:>13.1f} {l2:>5.2f} {theirs:>16.1f} {ours / theirs:>6.2f}", flush=True)
    for t in tests:
        r = sorted(ratios[t])
        print(f"{t}: troupe / llama.cpp {r[0]:.2f}-{r[-1]:.2f} (median {r[len(r) // 2]:.2f}) over {len(r)} pairs")


if __name__ == "__main__":
    main()
