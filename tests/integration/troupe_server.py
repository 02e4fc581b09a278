"""Starting and stopping a real `troupe serve` process for the integration tests, plus small HTTP
and Prometheus-text helpers. Everything talks to 127.0.0.1 only."""
from __future__ import annotations

import http.client
import json
import os
import re
import select
import signal
import socket
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"


def troupe_bin() -> Path:
    path = Path(os.environ.get("TROUPE_BIN", "build/troupe"))
    if not path.is_absolute():
        path = REPO_ROOT / path
    return path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


@contextmanager
def named_servers(model: str, configs: dict[str, list[str]], log_dir: Path):
    """One `troupe serve` per name (`--served-model-name NAME` plus that name's flags, its log in
    log_dir/serve-NAME.log), all stopped at the end. A server that fails to start stops the ones
    already started and raises RuntimeError."""
    started: dict[str, TroupeServer] = {}
    try:
        for name, args in configs.items():
            server = TroupeServer(model, ["--served-model-name", name, *args], log_path=log_dir / f"serve-{name}.log")
            server.start()
            started[name] = server
        yield started
    finally:
        for server in started.values():
            server.stop()


@dataclass
class TroupeServer:
    """One `troupe serve` child process on a loopback port."""

    model: str
    extra_args: list[str] = field(default_factory=list)
    log_path: Path | None = None
    env: dict[str, str] = field(default_factory=dict)  # added to this process's environment
    port: int = 0
    proc: subprocess.Popen | None = None
    _log = None

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def command(self) -> list[str]:
        return [str(troupe_bin()), "serve", self.model, "--host", HOST, "--port", str(self.port), *self.extra_args]

    def start(self, ready_timeout_s: float = 180.0) -> None:
        # A port found free may be taken before the server binds it; try a few ports.
        last_error = ""
        for _attempt in range(3):
            self.port = free_port()
            self._log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
            self.proc = subprocess.Popen(self.command(), stdout=self._log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, env={**os.environ, **self.env})
            ok, last_error = self._wait_ready(ready_timeout_s)
            if ok:
                return
            if self.proc.poll() is None:
                self.stop()
            if "in use" not in self.log_tail().lower():
                break
        raise RuntimeError(f"troupe serve did not become healthy: {last_error}\n--- server log ---\n{self.log_tail()}")

    def _wait_ready(self, timeout_s: float) -> tuple[bool, str]:
        deadline = time.monotonic() + timeout_s
        last = "no answer yet"
        while time.monotonic() < deadline:
            code = self.proc.poll()
            if code is not None:
                return False, f"exited with code {code} before /health answered"
            try:
                status, _, _ = http_request(self.port, "GET", "/health", timeout=2.0)
                if status == 200:
                    return True, ""
                last = f"/health answered {status}"
            except OSError as e:
                last = f"/health: {e!r}"
            time.sleep(0.1)
        return False, f"timed out after {timeout_s} s ({last})"

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, term_timeout_s: float = 20.0) -> int:
        """SIGTERM, then SIGKILL after a timeout; returns the exit status (negative: a signal)."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=term_timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)
                code = self.proc.returncode
                self._close_log()
                return code if code < 0 else -signal.SIGKILL
        code = self.proc.returncode
        self._close_log()
        return code

    def _close_log(self) -> None:
        if self._log not in (None, subprocess.DEVNULL):
            self._log.close()
        self._log = None

    def log_tail(self, max_chars: int = 4000) -> str:
        if not self.log_path or not Path(self.log_path).exists():
            return "(no log)"
        data = Path(self.log_path).read_bytes()[-max_chars:]
        return data.decode("utf-8", "replace")


def http_request(port: int, method: str, path: str, body: bytes | str | dict | None = None,
                 headers: dict | None = None, timeout: float = 60.0) -> tuple[int, dict, bytes]:
    """One request on a fresh connection; returns (status, lower-cased headers, body bytes)."""
    hdrs = dict(headers or {})
    if isinstance(body, dict):
        body = json.dumps(body).encode()
        hdrs.setdefault("Content-Type", "application/json")
    elif isinstance(body, str):
        body = body.encode()
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=hdrs)
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
    finally:
        conn.close()


def tokenize(port: int, body: dict) -> list[int]:
    """The token ids /tokenize gives for `body` ({"prompt"} or {"messages", ...}); asserts a 200."""
    status, _, raw = http_request(port, "POST", "/tokenize", body, timeout=60)
    assert status == 200, raw
    return json.loads(raw)["tokens"]


def read_response(sock: socket.socket, deadline: float) -> bytes:
    """Reads one HTTP response from a raw socket: until its head and Content-Length body (none when
    the header is absent) have arrived, the peer closes or resets, or time.monotonic() passes
    `deadline`. Returns the bytes read, complete or not."""
    response = b""
    while time.monotonic() < deadline:
        try:
            part = sock.recv(65536)
        except ConnectionResetError:
            break
        if not part:
            break
        response += part
        head, sep, rest = response.partition(b"\r\n\r\n")
        if sep:
            m = re.search(rb"content-length:\s*(\d+)", head, re.I)
            if len(rest) >= (int(m.group(1)) if m else 0):
                break
    return response


def oversized_request(port: int, path: str, content_length: int, timeout: float = 60.0) -> tuple[int, bytes]:
    """Announces a body of `content_length` bytes and sends it only as far as the server keeps
    reading (a server may answer from the Content-Length alone). Returns (status, response bytes)."""
    sock = socket.create_connection((HOST, port), timeout=timeout)
    try:
        head = (f"POST {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {content_length}\r\nConnection: close\r\n\r\n").encode()
        sock.sendall(head)
        chunk = b"[" + b"1," * 32767 + b"1"  # 64 KiB of valid JSON-looking filler
        sent = 0
        deadline = time.monotonic() + timeout
        while sent < content_length and time.monotonic() < deadline:
            readable, _, _ = select.select([sock], [], [], 0.0 if sent else 0.5)
            if readable:
                break
            piece = chunk[: min(len(chunk), content_length - sent)]
            try:
                sock.sendall(piece)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(piece)
        response = read_response(sock, deadline)
        m = re.match(rb"HTTP/1\.[01] (\d{3})", response)
        if not m:
            raise AssertionError(f"no HTTP response to an oversized body (got {response[:200]!r})")
        return int(m.group(1)), response
    finally:
        sock.close()


_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\S+)?$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text: str) -> list[tuple[str, dict, float]]:
    """Prometheus text exposition → [(name, labels, value)]."""
    samples = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        if not m:
            raise AssertionError(f"unparsable metrics line: {line!r}")
        labels = {k: v for k, v in _LABEL.findall(m.group(3) or "")}
        samples.append((m.group(1), labels, float(m.group(4))))
    return samples


def metric_total(port: int, name: str, **labels: str) -> float:
    """The sum of a metric's samples on /metrics, over the series whose labels include `labels`."""
    status, _, body = http_request(port, "GET", "/metrics", timeout=10)
    assert status == 200, f"/metrics answered {status}"
    return sum(v for n, l, v in parse_metrics(body.decode()) if n == name and all(l.get(k) == x for k, x in labels.items()))


def kv_blocks_used(port: int) -> float:
    """KV blocks in use, from troupe_kv_blocks{state="used"} (summed over engines), falling back to
    vllm:kv_cache_usage_perc."""
    status, _, body = http_request(port, "GET", "/metrics", timeout=10)
    assert status == 200, f"/metrics answered {status}"
    samples = parse_metrics(body.decode())
    used = [v for n, l, v in samples if n == "troupe_kv_blocks" and l.get("state") == "used"]
    if used:
        return sum(used)
    perc = [v for n, _, v in samples if n == "vllm:kv_cache_usage_perc"]
    if perc:
        return sum(perc)
    raise AssertionError('/metrics has neither troupe_kv_blocks{state="used"} nor vllm:kv_cache_usage_perc')
