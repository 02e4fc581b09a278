#!/usr/bin/env python3
"""Speculative decoding benchmark: troupe with and without --speculative-config beside llama.cpp's
llama-server with and without its speculative modes, on the same GGUF and the same prompts.

Workloads (chat endpoint, greedy, streamed):
  code-edit  the prompt holds a source file (a real file of this repository, cut to --file-lines
             lines) and asks for it back with one small change: most of the answer repeats the
             prompt, the case prompt lookup is made for
  chat       open questions: little to look up

For each server configuration (started alone, measured, stopped; the configurations alternate
within each of --rounds rounds) and each concurrency level (closed loop: N clients each sending
its next request when the last ended, 2·N requests in all, at least --min-requests): output
tokens per second of a single stream (mean over requests of (tokens − 1) / (end − first token)),
aggregate output tokens per second, and TTFT p50. The summary prints each configuration's best
round and its ratio to troupe without speculation and to the best llama-server configuration.

    .venv-test/bin/python tools/bench_speculative.py                       # the default model
    .venv-test/bin/python tools/bench_speculative.py --levels 1 8 32 --rounds 2 --k 4

With --draft-model, troupe's draft_model method runs beside llama-server's draft-simple on the same
pair. The figure in docs/BENCHMARKS.md pairs the default model as its own draft with a Q8_0
re-quantization of it as the target (no smaller model shares SmolLM2's vocabulary here):

    bin=$(tools/peer/build_llamacpp.sh); q4=$(tools/fetch_default_model.sh)
    $bin/llama-quantize --allow-requantize $q4 /tmp/smollm2-q8_0.gguf Q8_0
    .venv-test/bin/python tools/bench_speculative.py --model /tmp/smollm2-q8_0.gguf --draft-model $q4 \
        --only troupe "troupe draft" llama-server "llama-server draft-simple"

Needs httpx (tools/requirements-test.txt) and llama-server (tools/peer/build_llamacpp.sh).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
TOPICS = ["the water cycle", "how a bicycle works", "why the sky is blue", "what a compiler does", "photosynthesis",
          "the rules of chess", "what DNS is", "how vaccines work", "the history of Rome", "how airplanes fly",
          "what inflation is", "how rainbows form", "the printing press", "how bees make honey", "the moon landing",
          "what a prime number is"]
SOURCES = ["tools/loadgen.py", "tools/check_dashboards.py", "tools/make_speculative_fixtures.py", "tools/kv_dtype_accuracy.py"]
EDITS = ["Rename the function main to run_main", "Change every single quote to a double quote",
         "Add the comment '# checked' as the file's first line", "Rename the variable args to options"]


def code_edit_messages(file_lines: int) -> list[list[dict]]:
    out = []
    for i in range(16):
        path = ROOT / SOURCES[i % len(SOURCES)]
        lines = path.read_text().splitlines()
        start = (i // len(SOURCES)) * 7
        text = "\n".join(lines[start:start + file_lines])
        edit = EDITS[i % len(EDITS)]
        out.append([{"role": "user", "content": f"Here is a Python file:\n```python\n{text}\n```\n{edit}. "
                                                 "Answer with the complete file and nothing else."}])
    return out


def chat_messages() -> list[list[dict]]:
    return [[{"role": "user", "content": f"Tell me about {t}."}] for t in TOPICS]


async def one_request(client: httpx.AsyncClient, url: str, model: str, messages, max_tokens: int) -> dict:
    body = {"model": model, "messages": messages, "max_tokens": max_tokens, "temperature": 0, "stream": True,
            "stream_options": {"include_usage": True}}
    start = time.perf_counter()
    first = None
    chunks = 0
    usage = None
    async with client.stream("POST", url, json=body) as r:
        r.raise_for_status()
        async for line in r.aiter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            event = json.loads(line[6:])
            if event.get("usage"):
                usage = event["usage"]
            for choice in event.get("choices", []):
                if choice.get("delta", {}).get("content"):
                    chunks += 1
                    if first is None:
                        first = time.perf_counter()
    end = time.perf_counter()
    tokens = usage["completion_tokens"] if usage else chunks
    return {"ttft": (first or end) - start, "tokens": tokens, "decode_s": end - (first or end), "wall": end - start}


async def run_level(base: str, model: str, prompts, max_tokens: int, concurrency: int, min_requests: int) -> dict:
    n = max(2 * concurrency, min_requests)
    queue = list(range(n))
    results = []
    # No keep-alive: llama-server closes idle connections, and a reused closed one fails the request.
    async with httpx.AsyncClient(timeout=httpx.Timeout(900.0), limits=httpx.Limits(max_keepalive_connections=0)) as client:
        async def worker():
            while queue:
                i = queue.pop(0)
                results.append(await one_request(client, base + "/v1/chat/completions", model,
                                                 prompts[i % len(prompts)], max_tokens))
        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - start
    per_stream = [(r["tokens"] - 1) / r["decode_s"] for r in results if r["tokens"] > 1 and r["decode_s"] > 0]
    return {"stream_tok_s": statistics.mean(per_stream), "total_tok_s": sum(r["tokens"] for r in results) / wall,
            "ttft_p50_ms": 1000 * statistics.median(r["ttft"] for r in results),
            "tokens_mean": statistics.mean(r["tokens"] for r in results)}


def wait_ready(port: int, proc: subprocess.Popen, timeout: float = 300) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError("server not ready")


def configurations(args) -> list[tuple[str, list[str]]]:
    troupe = [args.troupe, "serve", args.model, "--host", "127.0.0.1", "--port", "{port}", "--threads", str(args.threads),
              "--max-num-seqs", "64", "--max-model-len", str(args.ctx), "--kv-cache-memory", args.kv_cache_memory]
    ngram = json.dumps({"method": "ngram", "num_speculative_tokens": args.k, "prompt_lookup_min": args.lookup_min,
                        "prompt_lookup_max": args.lookup_max})
    parallel = max(args.levels)
    server = [args.llama_server, "-m", args.model, "--host", "127.0.0.1", "--port", "{port}", "-t", str(args.threads),
              "--parallel", str(parallel), "-c", str(args.ctx * parallel), "--cont-batching"]
    out = [("troupe", troupe), ("troupe ngram", troupe + ["--speculative-config", ngram]), ("llama-server", server)]
    # Each of llama-server's n-gram modes with its own defaults (their draft lengths differ: ngram-mod
    # guesses up to 64 tokens), as its users run them.
    for mode in args.peer_spec_types:
        out.append((f"llama-server {mode}", server + ["--spec-type", mode]))
    if args.draft_model:
        draft = json.dumps({"model": args.draft_model, "num_speculative_tokens": args.k})
        out.append(("troupe draft", troupe + ["--speculative-config", draft]))
        out.append(("llama-server draft-simple", server + ["--spec-type", "draft-simple", "--model-draft", args.draft_model,
                                                          "--spec-draft-n-max", str(args.k)]))
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=None, help="GGUF (default: tools/fetch_default_model.sh)")
    p.add_argument("--troupe", default=str(ROOT / "build" / "troupe"))
    p.add_argument("--llama-server", default=None, help="default: tools/peer/build_llamacpp.sh's")
    p.add_argument("--levels", type=int, nargs="+", default=[1, 8, 32])
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--k", type=int, default=4, help="tokens troupe guesses per step")
    p.add_argument("--lookup-min", type=int, default=2)
    p.add_argument("--lookup-max", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--ctx", type=int, default=2048, help="context per sequence")
    p.add_argument("--kv-cache-memory", default="2GiB")
    p.add_argument("--file-lines", type=int, default=40)
    p.add_argument("--code-max-tokens", type=int, default=640)
    p.add_argument("--chat-max-tokens", type=int, default=200)
    p.add_argument("--min-requests", type=int, default=4)
    p.add_argument("--workloads", nargs="+", default=["code-edit", "chat"])
    p.add_argument("--peer-spec-types", nargs="*", default=["ngram-simple", "ngram-map-k", "ngram-mod", "ngram-cache"])
    p.add_argument("--draft-model", default=None,
                   help="a draft GGUF with the model's vocabulary: adds troupe's draft_model and llama-server's draft-simple")
    p.add_argument("--only", nargs="*", default=None, help="configuration names to run (default: all)")
    p.add_argument("--port", type=int, default=8170)
    p.add_argument("--reverse", action="store_true", help="start with the reversed order (a later round of a split run)")
    args = p.parse_args()
    if args.model is None:
        args.model = subprocess.run([str(ROOT / "tools" / "fetch_default_model.sh")], check=True, capture_output=True,
                                    text=True).stdout.strip()
    if args.llama_server is None:
        args.llama_server = subprocess.run([str(ROOT / "tools" / "peer" / "build_llamacpp.sh")], check=True,
                                           capture_output=True, text=True).stdout.strip() + "/llama-server"
    workloads = {"code-edit": (code_edit_messages(args.file_lines), args.code_max_tokens),
                 "chat": (chat_messages(), args.chat_max_tokens)}
    configs = [c for c in configurations(args) if args.only is None or c[0] in args.only]
    print(f"model {args.model}; {args.threads} threads; k={args.k}; load average {os.getloadavg()[0]:.2f}", flush=True)
    best: dict[tuple[str, str, int], dict] = {}
    for rnd in range(args.rounds):
        order = configs if (rnd + args.reverse) % 2 == 0 else list(reversed(configs))
        for name, command in order:
            cmd = [a.replace("{port}", str(args.port)) for a in command]
            log = open(f"/tmp/bench-speculative-{name.replace(' ', '-')}.log", "w")
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            try:
                wait_ready(args.port, proc)
                model = httpx.get(f"http://127.0.0.1:{args.port}/v1/models").json()["data"][0]["id"]
                for workload in args.workloads:
                    prompts, max_tokens = workloads[workload]
                    for level in args.levels:
                        r = asyncio.run(run_level(f"http://127.0.0.1:{args.port}", model, prompts, max_tokens, level,
                                                  args.min_requests))
                        load = os.getloadavg()[0]
                        print(f"round {rnd + 1} {name:26s} {workload:9s} x{level:<3d} stream {r['stream_tok_s']:7.1f} tok/s  "
                              f"total {r['total_tok_s']:7.1f} tok/s  TTFT p50 {r['ttft_p50_ms']:7.0f} ms  "
                              f"tokens {r['tokens_mean']:5.0f}  load {load:.2f}", flush=True)
                        key = (name, workload, level)
                        if key not in best or r["stream_tok_s"] > best[key]["stream_tok_s"]:
                            best[key] = r
            finally:
                proc.terminate()
                proc.wait(timeout=60)
                log.close()
    print("\nbest of rounds; ratios of single-stream tok/s (x1) or total tok/s (x>1)")
    for workload in args.workloads:
        for level in args.levels:
            metric = "stream_tok_s" if level == 1 else "total_tok_s"
            base = best.get(("troupe", workload, level), {}).get(metric)
            peers = [v[metric] for (n, w, l), v in best.items() if n.startswith("llama-server") and w == workload and l == level]
            peer = max(peers) if peers else None
            for name, _ in configs:
                r = best.get((name, workload, level))
                if not r:
                    continue
                vs_base = f"{r[metric] / base:5.2f}x troupe" if base else ""
                vs_peer = f"{r[metric] / peer:5.2f}x best llama-server" if peer else ""
                print(f"{workload:9s} x{level:<3d} {name:26s} {r[metric]:7.1f} tok/s  TTFT p50 {r['ttft_p50_ms']:6.0f} ms  "
                      f"{vs_base}  {vs_peer}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
