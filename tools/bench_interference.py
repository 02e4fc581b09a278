#!/usr/bin/env python3
"""How much one long prompt disturbs everyone else (issue 10). Against a running troupe server:

1. Four short streams decode alone for --baseline-s: their inter-token latency (ITL) when idle.
2. A 4,000-token prompt arrives (completions, token ids). --short-after-s later a short chat is
   sent: its time to first token (TTFT) during the long prefill.
3. --cancel-after-s after the long prompt arrived its client hangs up (mid-prefill). The time from
   the cancel to the last step that still computed prompt tokens (vllm:prompt_tokens_total stops
   growing; polled every 20 ms) is how long the engine kept working for a request nobody wanted.
4. The streams' ITL p50/p99 is reported for the idle window and for the long-prefill window.

Usage (tools/bench_interference.sh starts the server and runs this):
  python3 tools/bench_interference.py --port 8000 --model NAME [--json out.json]
"""
from __future__ import annotations

import argparse
import http.client
import json
import threading
import time

HOST = "127.0.0.1"


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def prompt_tokens_total(port: int) -> float:
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        conn.request("GET", "/metrics")
        text = conn.getresponse().read().decode()
    finally:
        conn.close()
    total = 0.0
    for line in text.splitlines():
        if line.startswith("vllm:prompt_tokens_total"):
            total += float(line.rsplit(" ", 1)[1])
    return total


class Stream(threading.Thread):
    """A streaming completion whose text chunks are timestamped until stop() or its end."""

    def __init__(self, port: int, body: dict):
        super().__init__(daemon=True)
        self.port, self.body = port, body
        self.times: list[float] = []
        self.sent = 0.0
        self.conn: http.client.HTTPConnection | None = None
        self.stopped = threading.Event()

    def run(self) -> None:
        self.conn = http.client.HTTPConnection(HOST, self.port, timeout=600)
        self.sent = time.monotonic()
        try:
            self.conn.request("POST", "/v1/completions" if "prompt" in self.body else "/v1/chat/completions",
                              json.dumps({**self.body, "stream": True}), {"Content-Type": "application/json"})
            resp = self.conn.getresponse()
            if resp.status != 200:
                raise RuntimeError(f"status {resp.status}: {resp.read()[:200]!r}")
            while not self.stopped.is_set():
                line = resp.fp.readline()
                if not line:
                    break
                if line.startswith(b"data: ") and not line.startswith(b"data: [DONE]"):
                    chunk = json.loads(line[6:])
                    for choice in chunk.get("choices", []):
                        if choice.get("text") or (choice.get("delta") or {}).get("content"):
                            self.times.append(time.monotonic())
        except (OSError, ValueError, http.client.HTTPException):
            if not self.stopped.is_set():
                raise

    def stop(self) -> None:
        """Hang up (the server sees a client disconnect)."""
        self.stopped.set()
        if self.conn is not None and self.conn.sock is not None:
            try:
                self.conn.sock.shutdown(2)
            except OSError:
                pass
            self.conn.close()


def gaps(streams: list[Stream], start: float, end: float) -> list[float]:
    """Inter-token gaps of every stream that overlap [start, end]: a stall that began inside the
    window and ended after it counts, it is what the window's events caused."""
    out = []
    for s in streams:
        for a, b in zip(s.times, s.times[1:]):
            if b > start and a < end:
                out.append(b - a)
    return out


def long_prompt_ids(port: int, n: int) -> list[int]:
    text = " ".join(f"Paragraph {i}: the committee reviewed the budget, the schedule and the risks in detail."
                    for i in range(n // 10))
    conn = http.client.HTTPConnection(HOST, port, timeout=60)
    conn.request("POST", "/tokenize", json.dumps({"prompt": text}), {"Content-Type": "application/json"})
    ids = json.loads(conn.getresponse().read())["tokens"]
    conn.close()
    assert len(ids) >= n, f"the filler text is only {len(ids)} tokens"
    return ids[:n]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, default=8000)
    ap.add_argument("--model", required=True)
    ap.add_argument("--long-tokens", type=int, default=4000)
    ap.add_argument("--baseline-s", type=float, default=6.0)
    ap.add_argument("--short-after-s", type=float, default=1.0)
    ap.add_argument("--cancel-after-s", type=float, default=4.0)
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()

    ids = long_prompt_ids(args.port, args.long_tokens)
    streams = [Stream(args.port, {"model": args.model, "prompt": f"Stream {i}: count slowly from one to a thousand:",
                                  "max_tokens": 4000, "ignore_eos": True, "temperature": 0}) for i in range(4)]
    for s in streams:
        s.start()
    while any(len(s.times) < 5 for s in streams):
        time.sleep(0.05)

    samples: list[tuple[float, float]] = []
    polling = threading.Event()

    def poll() -> None:
        while not polling.is_set():
            samples.append((time.monotonic(), prompt_tokens_total(args.port)))
            time.sleep(0.02)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()

    base_start = time.monotonic()
    time.sleep(args.baseline_s)
    base_end = time.monotonic()

    long_req = Stream(args.port, {"model": args.model, "prompt": ids, "max_tokens": 1})
    long_req.start()
    long_arrival = time.monotonic()
    time.sleep(args.short_after_s)
    short = Stream(args.port, {"model": args.model, "max_tokens": 8, "temperature": 0,
                               "messages": [{"role": "user", "content": "Name three colors of the rainbow."}]})
    short.start()
    time.sleep(max(0.0, args.cancel_after_s - args.short_after_s))
    cancel_at = time.monotonic()
    long_finished_before_cancel = bool(long_req.times)
    long_req.stop()
    short.join(timeout=300)

    # Idle again: no prompt tokens computed for 2 s (the streams only decode).
    while True:
        time.sleep(0.1)
        recent = [v for t, v in samples if t >= time.monotonic() - 2.0]
        if time.monotonic() - cancel_at > 2.5 and recent and recent[0] == recent[-1]:
            break
        if time.monotonic() - cancel_at > 600:
            break
    polling.set()
    poller.join()
    before_cancel = max((v for t, v in samples if t <= cancel_at), default=0.0)
    last_growth = max((t for (t, v), (_, prev) in zip(samples[1:], samples) if v > prev and t > cancel_at),
                      default=cancel_at)
    after_cancel_tokens = samples[-1][1] - before_cancel
    time.sleep(1.0)  # the streams' next tokens close the gaps that straddle the end of the window
    for s in streams:
        s.stop()

    base = gaps(streams, base_start, base_end)
    # From the long prompt's arrival until the engine stopped computing it (after the cancel).
    during = gaps(streams, long_arrival, max(cancel_at, last_growth))
    result = {
        "itl_idle_ms": {"p50": 1000 * percentile(base, 50), "p99": 1000 * percentile(base, 99), "n": len(base)},
        "itl_long_prefill_ms": {"p50": 1000 * percentile(during, 50), "p99": 1000 * percentile(during, 99),
                                "max": 1000 * max(during, default=float("nan")), "n": len(during)},
        "short_ttft_ms": 1000 * (short.times[0] - short.sent) if short.times else None,
        "cancel_to_idle_ms": 1000 * (last_growth - cancel_at),
        "prompt_tokens_after_cancel": after_cancel_tokens,
        "long_prompt_finished_before_cancel": long_finished_before_cancel,
        "long_tokens": args.long_tokens,
    }
    print(json.dumps(result, indent=2))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
