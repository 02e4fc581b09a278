"""The Prometheus side of test_prometheus.py: a configuration and rule files derived from the shipped
deploy/prometheus/ (rewritten with PyYAML, never edited by hand, so the test runs what operators
deploy), Debian's `prometheus` as a child process on a loopback port, HTTP API queries, and
promtool's lint of a /metrics text. Everything talks to 127.0.0.1 only and every wait is bounded."""
from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import yaml

from troupe_server import HOST, REPO_ROOT, free_port

DEPLOY_PROMETHEUS = REPO_ROOT / "deploy" / "prometheus"


def _rule_files(src_config: Path, doc: dict) -> list[Path]:
    """The rule files the shipped config loads (its `rule_files` globs, relative to the config)."""
    files: list[Path] = []
    for pattern in doc.get("rule_files") or []:
        files += sorted(src_config.parent.glob(pattern))
    return files


def derive_rules(src: Path, dest: Path, alert_overrides: dict[str, dict] | None = None) -> list[str]:
    """Copies one rule file, changing the alerts named in `alert_overrides`:
    {"AlertName": {"for": "2s", "threshold": 1.0}} sets `for:` and replaces the number after the
    final `>` of the alert's condition. Returns the names of the alerts it changed."""
    doc = yaml.safe_load(src.read_text())
    changed = []
    for group in doc.get("groups", []):
        for rule in group.get("rules", []):
            over = (alert_overrides or {}).get(rule.get("alert"))
            if not over:
                continue
            if "for" in over:
                rule["for"] = over["for"]
            if "threshold" in over:
                expr = str(rule["expr"]).strip()
                new, n = re.subn(r">\s*[0-9.eE+-]+$", f"> {over['threshold']}", expr)
                if n != 1:
                    raise AssertionError(f"{src.name}: cannot find the threshold of {rule['alert']} in {expr!r}")
                rule["expr"] = new
            changed.append(rule["alert"])
    dest.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))
    return changed


def derive_config(dest_dir: Path, troupe_ports: int | list[int], prometheus_port: int,
                  alert_overrides: dict[str, dict] | None = None) -> Path:
    """deploy/prometheus/prometheus.yml, rewritten for a test (PyYAML, not text substitution):

    * `scrape_interval` and `evaluation_interval` 1s (scrape_timeout 1s, as it may not exceed the
      interval), so rates and alerts move within seconds;
    * the single target of job `troupe` becomes 127.0.0.1:<port> for each of `troupe_ports` (one
      server, or several: A/B variants), job `prometheus` scrapes this Prometheus itself; job
      names, paths and target labels stay as shipped;
    * the rule files the shipped config loads (`rules/*.yml`) are copied next to the new config,
      so its relative `rule_files` glob still applies; alerts named in `alert_overrides` get a
      shorter `for:` / lower threshold in the copy;
    * `alerting` is dropped: no Alertmanager runs here, and the shipped 127.0.0.1:9093 could be
      anybody's on a shared machine. Alerts still go pending and firing in Prometheus itself.
    """
    src = DEPLOY_PROMETHEUS / "prometheus.yml"
    doc = yaml.safe_load(src.read_text())
    glob = doc["global"]
    glob["scrape_interval"] = "1s"
    glob["evaluation_interval"] = "1s"
    glob["scrape_timeout"] = "1s"
    doc.pop("alerting", None)

    jobs = {job["job_name"]: job for job in doc["scrape_configs"]}
    assert "troupe" in jobs, "deploy/prometheus/prometheus.yml has no job `troupe`"
    statics = jobs["troupe"]["static_configs"]
    assert len(statics) == 1 and len(statics[0]["targets"]) == 1, "job troupe should have exactly one target"
    ports = [troupe_ports] if isinstance(troupe_ports, int) else list(troupe_ports)
    statics[0]["targets"] = [f"{HOST}:{p}" for p in ports]
    if "prometheus" in jobs:
        jobs["prometheus"]["static_configs"] = [{"targets": [f"{HOST}:{prometheus_port}"]}]

    rule_files = _rule_files(src, doc)
    assert rule_files, "the shipped config loads no rule files"
    rules_dir = dest_dir / "rules"
    rules_dir.mkdir(parents=True, exist_ok=True)
    changed: list[str] = []
    for f in rule_files:
        changed += derive_rules(f, rules_dir / f.name, alert_overrides)
    missing = set(alert_overrides or {}) - set(changed)
    assert not missing, f"alerts to override not found in the shipped rules: {sorted(missing)}"
    # The glob stays as shipped (relative to the config file), now matching the copies.
    config = dest_dir / "prometheus.yml"
    config.write_text(yaml.safe_dump(doc, sort_keys=False))
    return config


class Prometheus:
    """Debian's `prometheus` on a free loopback port, TSDB in a temporary folder."""

    def __init__(self, work_dir: Path, troupe_ports: int | list[int], alert_overrides: dict[str, dict] | None = None):
        self.work_dir = work_dir
        self.troupe_ports = troupe_ports
        self.alert_overrides = alert_overrides
        self.port = 0
        self.proc: subprocess.Popen | None = None
        self.log_path = work_dir / "prometheus.log"
        self._log = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self, ready_timeout_s: float = 60.0) -> None:
        binary = shutil.which("prometheus")
        assert binary, "Debian's `prometheus` is not installed (tools/install_deps.sh)"
        last = ""
        for _attempt in range(3):  # a port found free may be taken before Prometheus binds it
            self.port = free_port()
            run_dir = self.work_dir / f"run-{self.port}"
            run_dir.mkdir(parents=True)
            config = derive_config(run_dir, self.troupe_ports, self.port, self.alert_overrides)
            self._log = open(self.log_path, "ab")
            self.proc = subprocess.Popen(
                [binary, f"--config.file={config}", f"--storage.tsdb.path={run_dir / 'data'}",
                 f"--web.listen-address={HOST}:{self.port}", "--storage.tsdb.retention.time=1h",
                 "--log.level=warn"],
                stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            ok, last = self._wait_ready(ready_timeout_s)
            if ok:
                return
            self.stop()
            if "address already in use" not in self.log_tail().lower():
                break
        raise AssertionError(f"prometheus did not become ready: {last}\n--- prometheus log ---\n{self.log_tail()}")

    def _wait_ready(self, timeout_s: float) -> tuple[bool, str]:
        deadline = time.monotonic() + timeout_s
        last = "no answer yet"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False, f"exited with status {self.proc.returncode}"
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as r:
                    if r.status == 200:
                        return True, ""
            except (urllib.error.URLError, OSError) as e:
                last = repr(e)
            time.sleep(0.2)
        return False, f"not ready after {timeout_s} s ({last})"

    def stop(self, timeout_s: float = 20.0) -> int:
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)
        if self._log is not None:
            self._log.close()
            self._log = None
        return self.proc.returncode

    def log_tail(self, max_chars: int = 3000) -> str:
        if not self.log_path.exists():
            return "(no log)"
        return self.log_path.read_bytes()[-max_chars:].decode("utf-8", "replace")

    # -------------------------------------------------------------- HTTP API

    def api(self, path: str, params: dict | None = None, timeout: float = 10.0) -> dict:
        url = f"{self.url}/api/v1/{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        try:
            with urllib.request.urlopen(url, timeout=timeout) as r:
                body = json.load(r)
        except urllib.error.HTTPError as e:
            raise AssertionError(f"GET {url}: HTTP {e.code} {e.read()[:500]!r}") from None
        assert body.get("status") == "success", f"GET {url}: {body}"
        return body["data"]

    def query(self, expr: str) -> list[dict]:
        """Instant query; the result vector ([] when empty)."""
        data = self.api("query", {"query": expr})
        assert data["resultType"] == "vector", f"{expr}: {data['resultType']} result, expected a vector"
        return data["result"]

    def scalar(self, expr: str) -> float | None:
        """The value of a query that returns at most one series (None when it returns none)."""
        result = self.query(expr)
        assert len(result) <= 1, f"{expr}: {len(result)} series, expected at most one"
        return float(result[0]["value"][1]) if result else None

    def alerts(self) -> list[dict]:
        return self.api("alerts")["alerts"]

    def wait_for(self, what: str, predicate, timeout_s: float, interval_s: float = 0.5):
        """Polls predicate() until it returns something truthy; fails after timeout_s."""
        deadline = time.monotonic() + timeout_s
        last = None
        while True:
            last = predicate()
            if last:
                return last
            if time.monotonic() >= deadline:
                raise AssertionError(f"timed out after {timeout_s} s waiting for {what} "
                                     f"(last: {last!r})\n--- prometheus log ---\n{self.log_tail()}")
            time.sleep(interval_s)

    def wait_target_up(self, timeout_s: float = 30.0) -> None:
        want = 1 if isinstance(self.troupe_ports, int) else len(self.troupe_ports)
        self.wait_for(f"job troupe's {want} target(s) to be up",
                      lambda: self.scalar('sum(up{job="troupe"})') == float(want), timeout_s)


# ------------------------------------------------------------------ promtool

_LINT_LINE = re.compile(r"^(\S+) (.+)$")


def promtool_check_metrics(text: str, timeout_s: float = 60.0) -> tuple[int, list[tuple[str, str]]]:
    """`promtool check metrics` on an exposition text: (exit status, [(metric, finding)]).
    promtool exits 0 when clean, 3 when it only has lint findings, 1 on a parse error."""
    promtool = shutil.which("promtool")
    assert promtool, "promtool is not installed (Debian package `prometheus`)"
    done = subprocess.run([promtool, "check", "metrics"], input=text.encode(), capture_output=True,
                          timeout=timeout_s)
    findings = []
    for line in (done.stdout + done.stderr).decode("utf-8", "replace").splitlines():
        line = line.strip()
        if not line:
            continue
        m = _LINT_LINE.match(line)
        findings.append((m.group(1), m.group(2)) if m else ("", line))
    return done.returncode, findings
