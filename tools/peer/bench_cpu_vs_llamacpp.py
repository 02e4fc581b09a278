#!/usr/bin/env python3
"""Single-sequence CPU speed of `troupe generate` beside llama.cpp's `llama-bench`, in alternating
pairs (troupe, then llama.cpp, per test and per pair), with the load average before each run and
decode as a fraction of this machine's read bandwidth.

    python3 tools/peer/bench_cpu_vs_llamacpp.py [--pairs 3] [--threads 2]
        [--tests tg128,pp512,pp4000,tg128@8192,pp16384]
        [--model GGUF ... | --shapes 1b,3b --types Q4_0,Q4_K_M,Q8_0] [--troupe build/troupe]

Models: --model (repeatable), or --shapes/--types, which makes the random-weight Llama GGUFs of
tools/make_bench_models.py (needs the `gguf` and `numpy` packages; reused when present), or the
default model. The peer is llama.cpp built as its users build it (GGML_NATIVE=ON) by
tools/peer/build_llamacpp.sh; troupe-read-bandwidth (built with troupe) gives the roofline.

Tests:
  tgN      decode N tokens after a 4-token prompt (troupe's "decode tok/s"; llama-bench -p 0 -n N)
  ppN      prefill N prompt tokens (troupe: --prompt-ids of N ids, --max-tokens 1, its "prompt
           tok/s"; llama-bench -p N -n 0)
  tgN@D    decode N tokens after D tokens of context (troupe: a D-token prompt; llama-bench -d D)
For tgN@D and for ppN with N >= 8192 (the long-context tests) llama-bench runs with flash
attention on (-fa 1), its fastest long-context setting on the CPU; elsewhere with its defaults.

Decode tok/s × the bytes a decode step reads (every tensor but the token embedding, which is read
one row at a time; all of it when it is also the LM head) ÷ the read bandwidth is the fraction of
the roofline printed beside each tg run. A VM's bandwidth moves (on one 2-vCPU VM the probe read
31-36 GB/s in most runs and 55-62 in others, each run's fresh allocation faring differently), so
troupe-read-bandwidth runs right before each side's tg run, each side's fraction is of its own
probe, and both probes are printed: where they disagree, so may the fractions.
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import tempfile
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def loadavg() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def parse_test(test: str) -> tuple[str, int, int]:
    """(kind, n, depth) of tgN, ppN or tgN@D."""
    m = re.fullmatch(r"(tg|pp)(\d+)(?:@(\d+))?", test)
    if not m or (m.group(1) == "pp" and m.group(3)):
        raise SystemExit(f"unknown test {test!r}: tgN, ppN or tgN@D")
    return m.group(1), int(m.group(2)), int(m.group(3) or 0)


def prompt_ids(n: int) -> str:
    return ",".join(str(100 + (i * 7) % 40000) for i in range(n))


def troupe_run(binary: str, model: str, test: str, threads: int) -> float:
    kind, n, depth = parse_test(test)
    with tempfile.NamedTemporaryFile("w", suffix=".ids") as ids:  # long prompts exceed one argument's limit
        if kind == "tg" and depth == 0:
            args = ["--prompt", "The quick brown fox", "--max-tokens", str(n + 1), "--ignore-eos"]
        else:
            ids.write(prompt_ids(depth if kind == "tg" else n))
            ids.flush()
            args = ["--prompt-ids", "@" + ids.name]
            args += ["--max-tokens", str(n + 1), "--ignore-eos"] if kind == "tg" else ["--max-tokens", "1"]
        run = subprocess.run([binary, "generate", model, "--threads", str(threads), *args], capture_output=True,
                             text=True, check=True)
    line = run.stderr.strip().splitlines()[-1]  # troupe: cpu, load ..., prompt ... tok/s, ... decode ... tok/s
    m = re.search(r"decode ([0-9.]+) tok/s" if kind == "tg" else r"prompt \d+ tokens in [0-9.]+ s \(([0-9.]+) tok/s\)", line)
    if not m:
        raise RuntimeError(f"unexpected troupe output: {line!r}")
    return float(m.group(1))


def llama_run(bench: str, model: str, test: str, threads: int) -> float:
    kind, n, depth = parse_test(test)
    p, g = (0, n) if kind == "tg" else (n, 0)
    args = [bench, "-m", model, "-t", str(threads), "-p", str(p), "-n", str(g), "-r", "1", "-o", "json"]
    if depth:
        args += ["-d", str(depth)]
    if depth or (kind == "pp" and n >= 8192):
        args += ["-fa", "1"]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    return float(json.loads(out)[0]["avg_ts"])


def decode_bytes(model: str) -> int | None:
    """Bytes one decode step reads from the weights, from the GGUF's tensor table (None without
    the gguf package)."""
    try:
        import gguf
    except ImportError:
        return None
    reader = gguf.GGUFReader(model)
    sizes = {t.name: int(t.n_bytes) for t in reader.tensors}
    # A mixture of experts reads only the chosen experts' share of its stacked expert tensors.
    arch = bytes(reader.fields["general.architecture"].parts[-1]).decode()
    count, used = reader.fields.get(f"{arch}.expert_count"), reader.fields.get(f"{arch}.expert_used_count")
    share = float(used.parts[-1][0]) / float(count.parts[-1][0]) if count and used else 1.0
    for name in sizes:
        if name.endswith("_exps.weight"):
            sizes[name] = int(sizes[name] * share)
    total = sum(sizes.values())
    if "output.weight" in sizes:  # untied: the embedding is read one row per token
        total -= sizes.get("token_embd.weight", 0)
    # Gemma 3n's and Gemma 4 E2B/E4B's per-layer embeddings: one row per token too.
    total -= sizes.get("per_layer_token_embd.weight", 0)
    return total


def read_bandwidth(threads: int) -> float | None:
    probe = ROOT / "build/tools/troupe-read-bandwidth"
    if not probe.exists():
        return None
    out = subprocess.run([str(probe), "--threads", str(threads)], capture_output=True, text=True, check=True).stdout
    return float(re.search(r"([0-9.]+) GB/s median", out).group(1)) * 1e9


def models_of(args) -> list[str]:
    if args.model:
        return args.model
    if args.shapes:
        out = subprocess.run([sys.executable, str(ROOT / "tools/make_bench_models.py"), "--shapes", args.shapes,
                              "--types", args.types], check=True, capture_output=True, text=True).stdout
        return out.split()
    return [subprocess.check_output([str(ROOT / "tools/fetch_default_model.sh")], text=True).strip()]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--tests", default="tg128,pp512,pp2048")
    ap.add_argument("--model", action="append", default=None)
    ap.add_argument("--shapes", default=None, help="make_bench_models.py shapes, e.g. 1b,3b")
    ap.add_argument("--types", default="Q4_0,Q4_K_M,Q8_0")
    ap.add_argument("--troupe", default=str(ROOT / "build/troupe"))
    args = ap.parse_args()
    tests = args.tests.split(",")
    for t in tests:
        parse_test(t)
    models = models_of(args)
    bench = str(Path(subprocess.check_output([str(ROOT / "tools/peer/build_llamacpp.sh")], text=True).strip()) / "llama-bench")
    bandwidth = read_bandwidth(args.threads)
    print(f"{args.threads} threads; read bandwidth "
          + (f"{bandwidth / 1e9:.1f} GB/s (troupe-read-bandwidth)" if bandwidth else "unknown (build troupe-read-bandwidth)"))
    summary = []
    for model in models:
        per_token = decode_bytes(model)
        print(f"\nmodel {Path(model).name}" + (f", {per_token / 1e6:.0f} MB read per decode step" if per_token else ""))
        print(f"{'pair':>4} {'test':>11} {'load':>5} {'troupe tok/s':>13} {'load':>5} {'llama.cpp tok/s':>16} {'ratio':>6}"
              f" {'roofline troupe / llama.cpp':>28} {'probe GB/s':>11}")
        ratios: dict[str, list[float]] = {t: [] for t in tests}
        for pair in range(1, args.pairs + 1):
            for t in tests:
                roofline = t.startswith("tg") and "@" not in t and per_token and bandwidth
                bw1 = read_bandwidth(args.threads) if roofline else None
                l1 = loadavg()
                ours = troupe_run(args.troupe, model, t, args.threads)
                bw2 = read_bandwidth(args.threads) if roofline else None
                l2 = loadavg()
                theirs = llama_run(bench, model, t, args.threads)
                ratios[t].append(ours / theirs)
                roof = probes = ""
                if roofline:
                    roof = f"{100 * ours * per_token / bw1:>13.0f} % / {100 * theirs * per_token / bw2:.0f} %"
                    probes = f"{bw1 / 1e9:.1f} / {bw2 / 1e9:.1f}"
                print(f"{pair:>4} {t:>11} {l1:>5.2f} {ours:>13.1f} {l2:>5.2f} {theirs:>16.1f} {ours / theirs:>6.2f} {roof:>28}"
                      f" {probes:>11}", flush=True)
        for t in tests:
            r = sorted(ratios[t])
            line = f"{Path(model).name} {t}: troupe / llama.cpp {r[0]:.2f}-{r[-1]:.2f} (median {r[len(r) // 2]:.2f}) over {len(r)} pairs"
            summary.append(line)
            print(line)
    print("\nsummary")
    print("\n".join(summary))


if __name__ == "__main__":
    main()
