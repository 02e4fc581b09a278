"""tools/loadgen.py against the real server: short closed- and open-loop runs whose reports are
checked for sane, self-consistent numbers, and a run that must count its failures by kind."""
from __future__ import annotations

import json
import subprocess
import sys

from conftest import SERVED_NAME, TINY_NAME
from troupe_server import REPO_ROOT

LOADGEN = REPO_ROOT / "tools" / "loadgen.py"


def run_loadgen(*args: str, expect_rc: int = 0) -> dict:
    done = subprocess.run([sys.executable, str(LOADGEN), "--json", *args], capture_output=True, timeout=240)
    assert done.returncode == expect_rc, (done.returncode, done.stdout[-2000:], done.stderr[-2000:])
    return json.loads(done.stdout)


def check_ordered(s: dict, count: int | None = None) -> None:
    assert s["count"] > 0
    if count is not None:
        assert s["count"] == count
    assert 0 <= s["p50"] <= s["p90"] <= s["p99"] <= s["max"] + 1e-12
    assert s["mean"] <= s["max"] + 1e-12


def test_closed_loop_report(server):
    rep = run_loadgen("--base-url", server.base_url, "--concurrency", "4", "--num-requests", "8",
                      "--prompt-len", "48", "--max-tokens", "12")
    assert rep["config"]["model"] == SERVED_NAME  # discovered from /v1/models
    assert rep["requests"] == {"sent": 8, "succeeded": 8, "failed": 0}
    assert rep["errors"] == {}
    assert 8 <= rep["output_tokens"] <= 8 * 12
    # Prompts of "about 48 tokens" really are close to 48 tokens.
    assert 0.6 * 48 <= rep["mean_prompt_tokens"] <= 1.5 * 48
    check_ordered(rep["ttft_s"], 8)
    check_ordered(rep["e2e_s"], 8)
    check_ordered(rep["itl_s"])
    assert rep["ttft_s"]["max"] <= rep["e2e_s"]["max"]
    assert rep["ttft_s"]["p50"] <= rep["e2e_s"]["p50"]
    assert 0 < rep["duration_s"] <= 240
    assert abs(rep["requests_per_s"] - 8 / rep["duration_s"]) < 1e-9
    assert abs(rep["output_tokens_per_s"] - rep["output_tokens"] / rep["duration_s"]) < 1e-6
    # Four at a time: the whole run takes no longer than the eight slowest requests one after another.
    assert rep["duration_s"] <= 8 * rep["e2e_s"]["max"] + 1.0


def test_open_loop_chat_report(server):
    rep = run_loadgen("--base-url", server.base_url + "/v1", "--model", SERVED_NAME, "--endpoint", "chat",
                      "--rate", "4", "--num-requests", "6", "--prompt-len", "16", "--max-tokens", "6",
                      "--temperature", "0.7", "--seed", "3")
    assert rep["config"]["mode"] == "open"
    assert rep["requests"]["succeeded"] == 6 and rep["errors"] == {}
    check_ordered(rep["ttft_s"], 6)
    check_ordered(rep["e2e_s"], 6)
    assert rep["mean_output_tokens"] <= 6


def test_failures_are_counted_by_kind(tiny_server):
    # No API key: every request is refused with 401, and the exit status says so.
    rep = run_loadgen("--base-url", tiny_server.base_url, "--model", TINY_NAME, "--concurrency", "2",
                      "--num-requests", "4", "--prompt-len", "8", "--max-tokens", "2", expect_rc=1)
    assert rep["requests"] == {"sent": 4, "succeeded": 0, "failed": 4}
    assert rep["errors"] == {"http_401": 4}
    assert rep["ttft_s"]["count"] == 0
