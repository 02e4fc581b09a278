#!/usr/bin/env python3
"""Load generator for an OpenAI-compatible server (troupe, vLLM, ...).

Every request streams (Server-Sent Events), so time to first token and the gaps between tokens are
measured on the client as the chunks arrive. Two ways to apply load:

  --concurrency N   closed loop: N workers, each sends its next request when the last one ends
  --rate R          open loop: requests arrive as a Poisson process of R per second, whatever the
                    server's latency (a seeded exponential inter-arrival time)

The run ends after --num-requests requests have been sent or --duration seconds have passed,
whichever comes first; requests in flight then run to completion (bounded by --timeout).
Prompts are synthetic: seeded random English words, about one token each, so --prompt-len is
roughly the prompt length in tokens; the real counts come from the server's `usage`.

Reports requests/s, output tokens/s, and mean/p50/p90/p99/max of time to first token (TTFT),
inter-token latency (ITL: gap between consecutive streamed chunks that carry text), time per
output token (TPOT: per request, (end - first token) / (output tokens - 1)) and end-to-end latency,
plus failed requests counted by kind. `--json` prints the same as one JSON object.
Exit status: 0 if every request succeeded, 1 if any failed, 2 on a usage or setup error.

Needs only httpx (tools/requirements-test.txt).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import sys
import time
from dataclasses import dataclass, field

import httpx

WORDS = (
    "time year people way day man thing woman life child world school state family student group "
    "country problem hand part place case week company system program question work government "
    "number night point home water room mother area money story fact month lot right study book "
    "eye job word business issue side kind head house service friend father power hour game line "
    "end member law car city community name president team minute idea kid body information back "
    "parent face others level office door health person art war history party result change "
    "morning reason research girl guy moment air teacher force education foot boy age policy music "
    "market sense nation plan college interest death experience effect class control care field "
    "development role effort rate heart drug show leader light voice wife police mind price report "
    "decision son view relationship town road arm difference value building action model season "
    "society tax director position player record paper space ground form event official matter "
    "center couple site project activity star table need court oil situation cost industry figure "
    "street image phone data picture practice piece land product doctor wall patient worker news "
    "test movie north love support technology step baby computer type attention film tree source "
    "organization hair window evidence population site river garden bridge forest ocean mountain"
).split()


def synthetic_prompt(rng: random.Random, approx_tokens: int) -> str:
    words = [rng.choice(WORDS) for _ in range(max(1, approx_tokens - 8))]
    return "Continue this list of words with more words: " + " ".join(words)


def percentile(sorted_values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default), q in [0, 100]."""
    if not sorted_values:
        return float("nan")
    pos = (len(sorted_values) - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def summary(values: list[float]) -> dict:
    v = sorted(values)
    if not v:
        return {"count": 0, "mean": None, "p50": None, "p90": None, "p99": None, "max": None}
    return {"count": len(v), "mean": sum(v) / len(v), "p50": percentile(v, 50), "p90": percentile(v, 90),
            "p99": percentile(v, 99), "max": v[-1]}


@dataclass
class Result:
    ok: bool = False
    error: str | None = None
    start: float = 0.0
    first_token: float | None = None
    end: float = 0.0
    chunk_times: list[float] = field(default_factory=list)
    output_tokens: int = 0
    prompt_tokens: int = 0


class LoadGenerator:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.base = args.base_url.rstrip("/")
        if self.base.endswith("/v1"):
            self.base = self.base[: -len("/v1")]
        self.headers = {"Content-Type": "application/json"}
        if args.api_key:
            self.headers["Authorization"] = f"Bearer {args.api_key}"
        self.results: list[Result] = []
        self.rejected_by_client = 0

    def body(self, index: int) -> tuple[str, dict]:
        rng = random.Random(self.args.seed * 1_000_003 + index)
        text = synthetic_prompt(rng, self.args.prompt_len)
        body: dict = {"model": self.args.model, "max_tokens": self.args.max_tokens, "stream": True,
                      "stream_options": {"include_usage": True}, "temperature": self.args.temperature}
        if self.args.temperature > 0:
            body["seed"] = self.args.seed + index
        if self.args.ignore_eos:
            body["ignore_eos"] = True
        if self.args.endpoint == "chat":
            body["messages"] = [{"role": "user", "content": text}]
            return "/v1/chat/completions", body
        body["prompt"] = text
        return "/v1/completions", body

    async def one(self, client: httpx.AsyncClient, index: int) -> None:
        path, body = self.body(index)
        r = Result(start=time.perf_counter())
        self.results.append(r)
        done = False
        try:
            async with client.stream("POST", self.base + path, json=body, headers=self.headers) as resp:
                if resp.status_code != 200:
                    await resp.aread()
                    r.error = f"http_{resp.status_code}"
                    return
                async for line in resp.aiter_lines():
                    if not line.startswith("data:"):
                        continue
                    payload = line[5:].strip()
                    if payload == "[DONE]":
                        done = True
                        break
                    now = time.perf_counter()
                    obj = json.loads(payload)
                    if "error" in obj:
                        r.error = "stream_error"
                        return
                    for choice in obj.get("choices") or []:
                        piece = (choice.get("delta") or {}).get("content") if self.args.endpoint == "chat" \
                            else choice.get("text")
                        if piece:
                            if r.first_token is None:
                                r.first_token = now
                            r.chunk_times.append(now)
                    usage = obj.get("usage")
                    if usage:
                        r.output_tokens = int(usage.get("completion_tokens") or 0)
                        r.prompt_tokens = int(usage.get("prompt_tokens") or 0)
            if not done:
                r.error = "stream_ended_without_done"
                return
            if r.output_tokens == 0:
                r.output_tokens = len(r.chunk_times)  # server sent no usage: count text chunks
            r.ok = True
        except httpx.TimeoutException:
            r.error = "timeout"
        except httpx.ConnectError:
            r.error = "connect_error"
        except (httpx.RemoteProtocolError, httpx.ReadError):
            r.error = "disconnected"
        except json.JSONDecodeError:
            r.error = "bad_json_chunk"
        except httpx.HTTPError as e:
            r.error = type(e).__name__
        finally:
            r.end = time.perf_counter()

    def should_send(self, sent: int, t0: float) -> bool:
        if self.args.num_requests is not None and sent >= self.args.num_requests:
            return False
        if self.args.duration is not None and time.perf_counter() - t0 >= self.args.duration:
            return False
        return True

    async def closed_loop(self, client: httpx.AsyncClient, t0: float) -> None:
        sent = 0

        async def worker():
            nonlocal sent
            while self.should_send(sent, t0):
                index = sent
                sent += 1
                await self.one(client, index)

        await asyncio.gather(*(worker() for _ in range(self.args.concurrency)))

    async def open_loop(self, client: httpx.AsyncClient, t0: float) -> None:
        rng = random.Random(self.args.seed)
        tasks: set[asyncio.Task] = set()
        sent = 0
        next_arrival = t0
        while self.should_send(sent, t0):
            delay = next_arrival - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
                if not self.should_send(sent, t0):
                    break
            if len(tasks) >= self.args.max_inflight:
                self.rejected_by_client += 1  # the server is far behind: do not pile up unboundedly
            else:
                task = asyncio.create_task(self.one(client, sent))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            sent += 1
            next_arrival += rng.expovariate(self.args.rate)
        if tasks:
            await asyncio.gather(*tasks)

    async def run(self) -> dict:
        limit = self.args.concurrency if self.args.concurrency else self.args.max_inflight
        timeout = httpx.Timeout(self.args.timeout, connect=min(10.0, self.args.timeout))
        async with httpx.AsyncClient(timeout=timeout, limits=httpx.Limits(max_connections=limit + 4,
                                                                          max_keepalive_connections=limit + 4)) as client:
            if not self.args.model:
                self.args.model = await self.discover_model(client)
            t0 = time.perf_counter()
            if self.args.concurrency:
                await self.closed_loop(client, t0)
            else:
                await self.open_loop(client, t0)
            t1 = time.perf_counter()
        return self.report(t1 - t0)

    async def discover_model(self, client: httpx.AsyncClient) -> str:
        resp = await client.get(self.base + "/v1/models", headers=self.headers)
        if resp.status_code != 200:
            print(f"loadgen: GET /v1/models answered {resp.status_code}; pass --model", file=sys.stderr)
            raise SystemExit(2)
        return resp.json()["data"][0]["id"]

    def report(self, wall_s: float) -> dict:
        ok = [r for r in self.results if r.ok]
        errors: dict[str, int] = {}
        for r in self.results:
            if not r.ok:
                errors[r.error or "unknown"] = errors.get(r.error or "unknown", 0) + 1
        if self.rejected_by_client:
            errors["client_max_inflight"] = self.rejected_by_client
        ttft = [r.first_token - r.start for r in ok if r.first_token is not None]
        itl = [b - a for r in ok for a, b in zip(r.chunk_times, r.chunk_times[1:])]
        tpot = [(r.end - r.first_token) / (r.output_tokens - 1) for r in ok
                if r.first_token is not None and r.output_tokens > 1]
        e2e = [r.end - r.start for r in ok]
        out_tokens = sum(r.output_tokens for r in ok)
        prompt_tokens = sum(r.prompt_tokens for r in ok)
        a = self.args
        return {
            "config": {"base_url": self.base, "model": a.model, "endpoint": a.endpoint,
                       "mode": "closed" if a.concurrency else "open", "concurrency": a.concurrency,
                       "rate": a.rate, "num_requests": a.num_requests, "duration": a.duration,
                       "prompt_len": a.prompt_len, "max_tokens": a.max_tokens, "temperature": a.temperature,
                       "ignore_eos": a.ignore_eos, "seed": a.seed},
            "requests": {"sent": len(self.results) + self.rejected_by_client, "succeeded": len(ok),
                         "failed": len(self.results) - len(ok) + self.rejected_by_client},
            "errors": errors,
            "duration_s": wall_s,
            "requests_per_s": len(ok) / wall_s if wall_s > 0 else 0.0,
            "output_tokens": out_tokens,
            "prompt_tokens": prompt_tokens,
            "output_tokens_per_s": out_tokens / wall_s if wall_s > 0 else 0.0,
            "total_tokens_per_s": (out_tokens + prompt_tokens) / wall_s if wall_s > 0 else 0.0,
            "mean_prompt_tokens": prompt_tokens / len(ok) if ok else None,
            "mean_output_tokens": out_tokens / len(ok) if ok else None,
            "ttft_s": summary(ttft),
            "itl_s": summary(itl),
            "tpot_s": summary(tpot),
            "e2e_s": summary(e2e),
        }


def format_report(rep: dict) -> str:
    c = rep["config"]
    mode = f"concurrency {c['concurrency']}" if c["mode"] == "closed" else f"rate {c['rate']}/s (Poisson)"
    lines = [
        f"model {c['model']} at {c['base_url']}, {c['endpoint']}, {mode}, "
        f"prompt ~{c['prompt_len']} tokens, max_tokens {c['max_tokens']}",
        f"requests: {rep['requests']['succeeded']} succeeded, {rep['requests']['failed']} failed "
        f"in {rep['duration_s']:.2f} s",
        f"throughput: {rep['requests_per_s']:.2f} requests/s, {rep['output_tokens_per_s']:.1f} output tokens/s "
        f"({rep['output_tokens']} output, {rep['prompt_tokens']} prompt tokens)",
        f"{'latency (ms)':<14}{'mean':>10}{'p50':>10}{'p90':>10}{'p99':>10}{'max':>10}",
    ]
    for key, label in (("ttft_s", "TTFT"), ("itl_s", "ITL"), ("tpot_s", "TPOT"), ("e2e_s", "end-to-end")):
        s = rep[key]
        cells = "".join(f"{s[k] * 1000:>10.1f}" if s[k] is not None else f"{'-':>10}"
                        for k in ("mean", "p50", "p90", "p99", "max"))
        lines.append(f"{label:<14}{cells}")
    if rep["errors"]:
        lines.append("errors: " + ", ".join(f"{k} {v}" for k, v in sorted(rep["errors"].items())))
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--base-url", default="http://127.0.0.1:8000", help="server URL (with or without /v1)")
    p.add_argument("--api-key", default=None, help="sent as a Bearer token")
    p.add_argument("--model", default=None, help="model name (default: the first of /v1/models)")
    p.add_argument("--endpoint", choices=("chat", "completions"), default="completions")
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--concurrency", type=int, help="closed loop with N concurrent streams")
    mode.add_argument("--rate", type=float, help="open loop, Poisson arrivals at R requests/s")
    p.add_argument("--num-requests", type=int, default=None, help="requests to send (default 100 without --duration)")
    p.add_argument("--duration", type=float, default=None, help="stop sending after this many seconds")
    p.add_argument("--prompt-len", type=int, default=128, help="approximate prompt length in tokens")
    p.add_argument("--max-tokens", type=int, default=64)
    p.add_argument("--temperature", type=float, default=0.0)
    p.add_argument("--ignore-eos", action="store_true", help="ask the server to generate exactly max-tokens")
    p.add_argument("--seed", type=int, default=0, help="seeds prompts, arrivals and sampling")
    p.add_argument("--timeout", type=float, default=300.0, help="per-request timeout, seconds")
    p.add_argument("--max-inflight", type=int, default=1024, help="open loop: most requests in flight at once")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    args = p.parse_args(argv)
    if args.concurrency is not None and args.concurrency < 1:
        p.error("--concurrency must be at least 1")
    if args.rate is not None and args.rate <= 0:
        p.error("--rate must be positive")
    if args.num_requests is None and args.duration is None:
        args.num_requests = 100
    if args.num_requests is not None and args.num_requests < 1:
        p.error("--num-requests must be at least 1")
    if args.duration is not None and args.duration <= 0:
        p.error("--duration must be positive")
    if args.prompt_len < 1 or args.max_tokens < 1:
        p.error("--prompt-len and --max-tokens must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        rep = asyncio.run(LoadGenerator(args).run())
    except httpx.HTTPError as e:
        print(f"loadgen: cannot reach {args.base_url}: {e!r}", file=sys.stderr)
        return 2
    print(json.dumps(rep, indent=2) if args.json else format_report(rep))
    return 0 if rep["requests"]["failed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
