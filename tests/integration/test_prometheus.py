"""The shipped monitoring against the real thing: `troupe serve` scraped by Debian's `prometheus`,
which runs a configuration derived from deploy/prometheus/ (prom_stack.py rewrites it with PyYAML:
same job and rule files, scrape target on the test's port, 1 s scrape and evaluation intervals,
`for:` and threshold lowered only for the one alert provoked here). Load comes from
tools/loadgen.py. Proves, on loopback only:

* promtool's metrics lint finds nothing in /metrics but the names vLLM compatibility dictates;
* every PromQL expression of the dashboards and rule files returns data from that Prometheus
  (tools/check_dashboards.py --prometheus);
* TroupeQueueTimeP95High really fires when a one-slot server gets a burst;
* under load, the actor dashboard's "Busiest stage" is the executor;
* with a slowed tokenizer (test-only flag) the tokenizer's mailbox grows and the executor is not
  where messages wait.

Three servers, one after the other, each with its own Prometheus; every process is stopped by the
fixture or context manager that started it, and every wait has a deadline.
"""
from __future__ import annotations

import contextlib
import json
import math
import subprocess
import sys
import time
from pathlib import Path

import pytest

from prom_stack import Prometheus, promtool_check_metrics
from troupe_server import REPO_ROOT, TroupeServer, http_request, parse_metrics

LOADGEN = REPO_ROOT / "tools" / "loadgen.py"
CHECK_DASHBOARDS = REPO_ROOT / "tools" / "check_dashboards.py"
ACTOR_DASHBOARD = REPO_ROOT / "deploy" / "grafana" / "dashboards" / "troupe-actor-pipeline.json"

# Small limits keep three servers' memory and start-up cheap on a 2-core machine.
COMMON_ARGS = ["--max-model-len", "2048", "--kv-cache-memory", str(256 * 1024 * 1024)]
EXECUTOR = "troupe.executor.0"
TOKENIZER = "troupe.tokenizer"

# check_dashboards ids that may legitimately return no data from this setup (deploy/README.md
# documents the same list):
#   alert:*  - an alert's expression is its firing condition, empty while the alert is quiet; the
#              tool still checks that every series each alert reads exists (ids input:*).
#   dashboard:*:Device utilization (CUDA):*  - NVML utilization exists only for CUDA devices; this
#              test runs the CPU backend, where the metric is absent by design (not 0).
ALLOW_EMPTY = ["alert:*", "dashboard:*:Device utilization (CUDA):*"]

# promtool's lint findings that troupe produces on purpose, for vLLM compatibility
# (docs/METRICS.md): vLLM's metric names contain ':' (a character Prometheus reserves for recording
# rules), and vLLM's histogram `vllm:iteration_tokens_total` ends in `_total`. Renaming either
# would break vLLM's dashboards and alerts, which is the point of exporting them. Anything else
# promtool reports is a real defect.
COLON_FINDING = "metric names should not contain ':'"
TOTAL_SUFFIX_FINDING = 'non-counter metrics should not have "_total" suffix'


def tolerated_lint(metric: str, finding: str) -> bool:
    if metric.startswith("vllm:") and finding == COLON_FINDING:
        return True
    return metric == "vllm:iteration_tokens_total" and finding == TOTAL_SUFFIX_FINDING


# ------------------------------------------------------------------ processes

@contextlib.contextmanager
def troupe_running(model: str, args: list[str], log: Path):
    server = TroupeServer(model, COMMON_ARGS + args, log_path=log)
    try:
        server.start()
    except RuntimeError as e:
        pytest.fail(str(e), pytrace=False)
    try:
        yield server
    finally:
        alive = server.alive()
        code = server.stop()
    assert alive, f"troupe serve {' '.join(args)} died during the test (status {code})\n{server.log_tail()}"
    assert code == 0, f"troupe serve exited with status {code} on SIGTERM (want 0)\n{server.log_tail()}"


@contextlib.contextmanager
def prometheus_running(work_dir: Path, troupe_port: int, alert_overrides: dict | None = None):
    prom = Prometheus(work_dir, troupe_port, alert_overrides)
    try:
        prom.start()
        prom.wait_target_up()
        yield prom
    finally:
        code = prom.stop()
    assert code == 0, f"prometheus exited with status {code} on SIGTERM\n{prom.log_tail()}"


def start_loadgen(base_url: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(LOADGEN), "--json", "--base-url", base_url, *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def finish_loadgen(proc: subprocess.Popen, timeout_s: float = 150.0) -> dict:
    try:
        out, err = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate(timeout=30)
        raise AssertionError(f"loadgen did not finish within {timeout_s} s: {err[-2000:]!r}") from None
    assert proc.returncode == 0, f"loadgen exited {proc.returncode}: {out[-2000:]!r} {err[-2000:]!r}"
    return json.loads(out)


def run_loadgen(base_url: str, *args: str) -> dict:
    proc = start_loadgen(base_url, *args)
    try:
        return finish_loadgen(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)


def wait_requests_seen(prom: Prometheus, count: int, timeout_s: float = 20.0) -> None:
    """Waits until Prometheus has scraped the server after its `count`-th request finished."""
    prom.wait_for(f"Prometheus to see {count} finished requests",
                  lambda: prom.scalar("sum(vllm:request_success_total)") == count, timeout_s)


def window(seconds: float) -> str:
    return f"{max(5, math.ceil(seconds) + 2)}s"


def by_name(prom: Prometheus, expr: str, at: float | None = None) -> dict[str, float]:
    params = {"query": expr}
    if at is not None:
        params["time"] = f"{at:.3f}"
    data = prom.api("query", params)
    return {s["metric"].get("name", ""): float(s["value"][1]) for s in data["result"]}


def dashboard_expr(dashboard: Path, title: str) -> str:
    """The (single) expression of the panel called `title`."""
    def walk(panels):
        for p in panels or []:
            yield p
            yield from walk(p.get("panels"))
    for p in walk(json.loads(dashboard.read_text()).get("panels")):
        if p.get("title") == title:
            targets = [t["expr"] for t in p.get("targets") or [] if t.get("expr")]
            assert len(targets) == 1, f"panel {title!r} has {len(targets)} expressions"
            return targets[0]
    raise AssertionError(f"{dashboard.name} has no panel {title!r}")


# ------------------------------------------------------------------ a loaded server

class LoadedStack:
    def __init__(self, server: TroupeServer, prom: Prometheus, report: dict, load_start: float, load_end: float):
        self.server, self.prom, self.report = server, prom, report
        self.load_start, self.load_end = load_start, load_end  # Unix time, for queries `at` the load


LOAD_REQUESTS = 24


@pytest.fixture(scope="module")
def loaded(model_path, tmp_path_factory):
    """One server (8 slots) scraped by Prometheus, after a short closed-loop run of loadgen."""
    work = tmp_path_factory.mktemp("prom-loaded")
    with troupe_running(model_path, ["--max-num-seqs", "8"], work / "troupe.log") as srv, \
            prometheus_running(work, srv.port) as prom:
        start = time.time()
        rep = run_loadgen(srv.base_url, "--concurrency", "4", "--num-requests", str(LOAD_REQUESTS),
                          "--prompt-len", "32", "--max-tokens", "12", "--ignore-eos")
        end = time.time()
        assert rep["requests"] == {"sent": LOAD_REQUESTS, "succeeded": LOAD_REQUESTS, "failed": 0}, rep["errors"]
        wait_requests_seen(prom, LOAD_REQUESTS)
        yield LoadedStack(srv, prom, rep, start, end)


def test_promtool_lint_finds_only_vllm_names(loaded):
    status, _, body = http_request(loaded.server.port, "GET", "/metrics", timeout=10)
    assert status == 200
    text = body.decode()
    rc, findings = promtool_check_metrics(text)
    assert rc in (0, 3), f"promtool check metrics failed to parse /metrics (status {rc}): {findings[:20]}"
    unexpected = [f"{m} {f}" for m, f in findings if not tolerated_lint(m, f)]
    assert not unexpected, "promtool check metrics reports:\n" + "\n".join(unexpected)
    # The tolerated findings are exactly the vLLM families that are present, nothing hides behind
    # the allowance: every vllm:* family in the text is reported once for its ':'.
    families = {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE ")}
    vllm = {f for f in families if f.startswith("vllm:")}
    colon = {m for m, f in findings if f == COLON_FINDING}
    assert colon == vllm, f"':' findings {sorted(colon ^ vllm)} differ from the vllm:* families"
    assert rc == (3 if findings else 0)


def test_every_dashboard_and_rule_expression_returns_data(loaded):
    cmd = [sys.executable, str(CHECK_DASHBOARDS), "--prometheus", loaded.prom.url]
    for pattern in ALLOW_EMPTY:
        cmd += ["--allow-empty", pattern]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=240, cwd=REPO_ROOT)
    out = done.stdout + done.stderr
    assert done.returncode == 0, f"check_dashboards --prometheus failed:\n{out[-6000:]}"
    live = [line for line in out.splitlines() if line.startswith("live: ")]
    assert live and " 0 failed" in out.splitlines()[-1], out[-3000:]


def test_executor_is_the_busiest_stage_under_load(loaded):
    # The actor dashboard's own panel, evaluated at the end of the load with its rate window
    # ($__rate_interval in Grafana) set to the load's duration, so it averages the whole run.
    span = window(loaded.load_end - loaded.load_start)
    expr = dashboard_expr(ACTOR_DASHBOARD, "Busiest stage").replace("$__rate_interval", span)
    top = by_name(loaded.prom, expr, at=loaded.load_end)
    busy = by_name(loaded.prom, f"sum by (name) (rate(caf_actor_processing_time_seconds_sum[{span}]))",
                   at=loaded.load_end)
    assert list(top) == [EXECUTOR], f"busiest stage {top}; handler seconds per second by actor: {busy}"
    assert busy[EXECUTOR] > 0


# ------------------------------------------------------------------ an alert, for real

QUEUE_ALERT = "TroupeQueueTimeP95High"


def test_queue_time_alert_fires_under_a_burst(model_path, tmp_path):
    # Test copy of the rules: P95 queue time over 1 s (shipped: 5 s) for 2 s (shipped: 5m).
    overrides = {QUEUE_ALERT: {"threshold": 1, "for": "2s"}}
    burst_size = 12
    with troupe_running(model_path, ["--max-num-seqs", "1", "--max-queue-len", "1000"],
                        tmp_path / "troupe.log") as srv, \
            prometheus_running(tmp_path, srv.port, overrides) as prom:
        rules = [r for g in prom.api("rules")["groups"] for r in g["rules"] if r.get("name") == QUEUE_ALERT]
        assert len(rules) == 1 and rules[0]["duration"] == 2 and rules[0]["query"].endswith("> 1"), rules
        assert not [a for a in prom.alerts() if a["labels"]["alertname"] == QUEUE_ALERT], "fires before any load"

        # One slot, 12 requests at once: each waits for all before it to finish.
        burst = start_loadgen(srv.base_url, "--concurrency", str(burst_size), "--num-requests", str(burst_size),
                              "--prompt-len", "16", "--max-tokens", "24", "--ignore-eos")
        try:
            firing = prom.wait_for(
                f"{QUEUE_ALERT} to fire",
                lambda: [a for a in prom.alerts()
                         if a["labels"]["alertname"] == QUEUE_ALERT and a["state"] == "firing"],
                timeout_s=90)
        finally:
            rep = finish_loadgen(burst)
        assert rep["requests"]["succeeded"] == burst_size, rep["errors"]

        alert = firing[0]
        assert alert["labels"]["severity"] == "warning"
        assert alert["labels"]["model_name"]  # the recording rule keeps model_name only
        assert float(alert["value"]) > 1
        # The server's own histogram agrees: some request did wait more than a second.
        _, _, body = http_request(srv.port, "GET", "/metrics", timeout=10)
        waits = {float(l["le"]): v for n, l, v in parse_metrics(body.decode())
                 if n == "vllm:request_queue_time_seconds_bucket"}
        assert waits[1.0] < waits[math.inf] == burst_size, waits


# ------------------------------------------------------------------ a slowed tokenizer

def test_slow_tokenizer_mailbox_grows(model_path, tmp_path):
    burst_size = 20
    with troupe_running(model_path, ["--test-tokenizer-delay-ms", "200", "--tokenizer-workers", "1"],
                        tmp_path / "troupe.log") as srv, \
            prometheus_running(tmp_path, srv.port) as prom:
        start = time.time()
        rep = run_loadgen(srv.base_url, "--concurrency", str(burst_size), "--num-requests", str(burst_size),
                          "--prompt-len", "16", "--max-tokens", "4", "--ignore-eos")
        end = time.time()
        assert rep["requests"]["succeeded"] == burst_size, rep["errors"]
        wait_requests_seen(prom, burst_size)

        deepest = prom.scalar(f'max_over_time(caf_actor_mailbox_size{{name="{TOKENIZER}"}}[30s])')
        assert deepest is not None and deepest > 5, f"tokenizer mailbox peaked at {deepest}"
        # Where messages waited during the burst: in the tokenizer's mailbox, not the executor's.
        span = window(end - start)
        waited = by_name(prom, f"sum by (name) (rate(caf_actor_mailbox_time_seconds_sum[{span}]))", at=end)
        assert waited, "no mailbox time recorded"
        longest = max(waited, key=waited.get)
        assert longest != EXECUTOR, f"mailbox seconds per second by actor: {waited}"
        assert longest == TOKENIZER, f"mailbox seconds per second by actor: {waited}"
