#!/usr/bin/env python3
"""Checks every PromQL expression that troupe's deploy/ ships.

Expressions come from the Grafana dashboards (deploy/grafana/dashboards/*.json: every panel
target, and the metric of every `label_values(...)` template variable), from the Prometheus
rule files (deploy/prometheus/rules/*.yml: every recording and alerting rule) and from the
prometheus-adapter rules that feed the autoscalers (deploy/k8s/prometheus-adapter-config.yaml:
each `metricsQuery`, its <<.Series>> the rule's series, <<.LabelMatchers>> job="troupe" and
<<.GroupBy>> instance). Each gets an id:

    dashboard:<uid>:<panel title>:<refId>     dashboard:<uid>:var:<variable>
    record:<rule name>                        alert:<alert name>
    adapter:<custom metric name>

Static mode (default), no server needed:
  * every expression parses: they are written into a temporary rule file (Grafana's variables
    replaced by stand-ins) and checked with `promtool check rules`;
  * every metric name an expression reads is documented in docs/METRICS.md or recorded by one of
    the rule files, so a dashboard cannot quietly query a metric troupe does not export;
  * coverage: every troupe_* and caf_* metric docs/METRICS.md documents is read by some
    dashboard panel or rule (ids coverage:<metric>), so nothing troupe adds stays invisible (the
    vllm:* names are there for vLLM's own dashboards and are exempt);
  * dashboard hygiene: unique panel ids, every panel and target on the ${DS_PROMETHEUS} datasource
    variable, a `model_name` template variable.

Live mode (--prometheus URL): additionally runs each expression as an instant query against that
Prometheus (which should scrape a loaded troupe and have loaded deploy/prometheus/rules) and fails
for every expression that returns no data, unless its id matches an --allow-empty pattern
(shell-style, e.g. 'alert:*' for the alerts' raw conditions, which are empty while nothing fires).
For each alert it also checks that every metric the condition reads has data (ids
input:<alert>:<metric>), since an alert over a missing series could never fire.

    tools/check_dashboards.py                                   # static
    tools/check_dashboards.py --prometheus http://127.0.0.1:9090 --allow-empty 'alert:*'
    tools/check_dashboards.py --list                            # ids and expressions

Exit status 0 when every check passed, 1 otherwise; the last line is "N passed, M failed".
Needs PyYAML and, for the parse check, promtool (Debian package `prometheus`).
"""
from __future__ import annotations

import argparse
import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

try:
    import yaml
except ImportError:  # pragma: no cover - reported as a failure below
    yaml = None

ROOT = Path(__file__).resolve().parent.parent

# Stand-ins for Grafana's built-in variables when an expression is parsed or queried.
GRAFANA_BUILTINS = {
    "__rate_interval": "1m",
    "__interval": "30s",
    "__range": "1h",
    "__range_s": "3600",
    "__range_ms": "3600000",
    "__interval_ms": "30000",
}
PROMQL_KEYWORDS = {
    "and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right",
    "offset", "bool", "inf", "nan", "atan2",
}
# Series that Prometheus itself writes for every target.
PROMETHEUS_SYNTHETIC = {"up", "scrape_duration_seconds", "scrape_samples_scraped"}
# Rule file whose recorded names serve queries from outside only (docs/METRICS.md).
COMPAT_RULES = "seed-compat.yml"
# The prometheus-adapter configuration (a ConfigMap) whose rules the HPAs of deploy/ read.
ADAPTER_CONFIG = ROOT / "deploy/k8s/prometheus-adapter-config.yaml"
# Stand-ins for the adapter's template fields: what the query would select for one troupe target.
ADAPTER_TEMPLATE = {"<<.LabelMatchers>>": 'job="troupe"', "<<.GroupBy>>": "instance"}
# Prefixes of the metric names the coverage check requires a dashboard or rule to read.
COVERED_PREFIXES = ("troupe_", "caf_")


@dataclass
class Expr:
    id: str
    expr: str          # as written (Grafana variables included)
    source: str        # file it came from
    kind: str          # panel, variable, record, alert


class Report:
    def __init__(self) -> None:
        self.passed = 0
        self.failed = 0

    def ok(self, what: str, verbose: bool) -> None:
        self.passed += 1
        if verbose:
            print(f"ok    {what}")

    def fail(self, what: str, why: str) -> None:
        self.failed += 1
        print(f"FAIL  {what}: {why}")


# ---------------------------------------------------------------- collecting expressions

def display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def walk_panels(panels):
    for p in panels or []:
        yield p
        yield from walk_panels(p.get("panels"))


def dashboard_exprs(path: Path) -> tuple[list[Expr], dict]:
    d = json.loads(path.read_text())
    uid = d.get("uid") or path.stem
    out = []
    for p in walk_panels(d.get("panels")):
        for t in p.get("targets") or []:
            if t.get("expr"):
                out.append(Expr(f"dashboard:{uid}:{p.get('title', '?')}:{t.get('refId', '?')}",
                                t["expr"], display(path), "panel"))
    for v in (d.get("templating") or {}).get("list", []):
        if v.get("type") != "query":
            continue
        q = v.get("query")
        q = q.get("query") if isinstance(q, dict) else q
        m = re.fullmatch(r"\s*label_values\((.*),\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)\s*", q or "")
        if m:
            out.append(Expr(f"dashboard:{uid}:var:{v['name']}", m.group(1), display(path), "variable"))
        elif q and not q.startswith(("label_names(", "metrics(")):
            expr = re.sub(r"^\s*query_result\((.*)\)\s*$", r"\1", q)
            out.append(Expr(f"dashboard:{uid}:var:{v['name']}", expr, display(path), "variable"))
    return out, d


def adapter_exprs(path: Path) -> list[Expr]:
    """The metricsQuery of every prometheus-adapter rule in the ConfigMap at `path`."""
    out = []
    for doc in yaml.safe_load_all(path.read_text()):
        if not doc or doc.get("kind") != "ConfigMap":
            continue
        config = yaml.safe_load((doc.get("data") or {}).get("config.yaml", "") or "{}") or {}
        for r in config.get("rules", []):
            series = re.match(r"\s*([A-Za-z_:][A-Za-z0-9_:]*)", r.get("seriesQuery", ""))
            name = (r.get("name") or {}).get("as") or (series.group(1) if series else "?")
            expr = str(r.get("metricsQuery", ""))
            if series:
                expr = expr.replace("<<.Series>>", series.group(1))
            for field, value in ADAPTER_TEMPLATE.items():
                expr = expr.replace(field, value)
            out.append(Expr(f"adapter:{name}", expr, display(path), "adapter"))
    return out


def rule_exprs(path: Path) -> list[Expr]:
    doc = yaml.safe_load(path.read_text()) or {}
    out = []
    for g in doc.get("groups", []):
        for r in g.get("rules", []):
            if "record" in r:
                out.append(Expr(f"record:{r['record']}", str(r["expr"]), display(path), "record"))
            elif "alert" in r:
                out.append(Expr(f"alert:{r['alert']}", str(r["expr"]), display(path), "alert"))
    return out


# ---------------------------------------------------------------- PromQL helpers

def substitute_grafana(expr: str) -> str:
    """Replaces $var, ${var}, ${var:fmt} and [[var]]: built-ins by durations, others by `.*`
    (template variables belong inside regex matchers, where `.*` means All)."""
    def repl(m):
        name = m.group(1) or m.group(2) or m.group(3)
        return GRAFANA_BUILTINS.get(name, ".*")
    return re.sub(r"\$\{([A-Za-z0-9_]+)(?::[^}]*)?\}|\$([A-Za-z0-9_]+)|\[\[([A-Za-z0-9_]+)\]\]", repl, expr)


def metric_names(expr: str) -> set[str]:
    """Metric names an expression reads (a lexical approximation that is exact for the forms
    deploy/ uses: selectors, function calls, aggregations with by/without, vector matching)."""
    s = re.sub(r'"(?:\\.|[^"\\])*"' r"|'(?:\\.|[^'\\])*'|`[^`]*`", '""', expr)
    names = set()
    s = re.sub(r"\{[^}]*\}", " ", s)                       # label matchers
    s = re.sub(r"\[[^\]]*\]", " ", s)                      # ranges and subqueries
    s = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", s)
    s = re.sub(r"\boffset\s+-?\w+", " ", s)
    s = re.sub(r"(?<![A-Za-z0-9_:])\d+(?:\.\d*)?(?:[eE][+-]?\d+)?", " ", s)  # numbers
    for m in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", s):
        word = m.group(0)
        rest = s[m.end():].lstrip()
        if rest.startswith("(") or word.lower() in PROMQL_KEYWORDS:
            continue
        names.add(word)
    return names


def documented_metrics(metrics_md: Path) -> set[str]:
    """Names in backticks in the first column of docs/METRICS.md's metric tables: the tables whose
    first header cell is `name` or `deprecated name` (other tables list stages, resources, ...)."""
    names = set()
    in_metric_table = False
    for line in metrics_md.read_text().splitlines():
        if not line.startswith("|"):
            in_metric_table = False
            continue
        first = line.split("|")[1]
        if first.strip() in ("name", "deprecated name"):
            in_metric_table = True
            continue
        if in_metric_table:
            names.update(re.findall(r"`([A-Za-z_:][A-Za-z0-9_:]*)`", first))
    return names


def base_names(name: str) -> list[str]:
    out = [name]
    for suffix in ("_bucket", "_sum", "_count"):
        if name.endswith(suffix):
            out.append(name[: -len(suffix)])
    return out


def promtool_parse(exprs: list[Expr], promtool: str) -> dict[str, str]:
    """Returns {id: error} for the expressions promtool rejects."""
    def check(batch: list[Expr]) -> str | None:
        rules = [{"record": f"check:expr_{i}", "expr": substitute_grafana(e.expr)} for i, e in enumerate(batch)]
        with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
            yaml.safe_dump({"groups": [{"name": "check_dashboards", "rules": rules}]}, f)
            tmp = f.name
        try:
            r = subprocess.run([promtool, "check", "rules", tmp], capture_output=True, text=True)
        finally:
            os.unlink(tmp)
        return None if r.returncode == 0 else (r.stdout + r.stderr).strip().replace(tmp, "<expr>")

    if check(exprs) is None:
        return {}
    errors = {}
    for e in exprs:  # find the culprits one by one
        err = check([e])
        if err:
            errors[e.id] = err.splitlines()[-1]
    return errors or {"(batch)": "promtool rejected the batch but no single expression"}


def prom_query(url: str, expr: str, timeout: float) -> tuple[list | None, str]:
    q = urllib.parse.urlencode({"query": expr})
    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/api/v1/query?{q}", timeout=timeout) as r:
            body = json.load(r)
    except urllib.error.HTTPError as e:
        try:
            body = json.load(e)
        except Exception:
            return None, f"HTTP {e.code}"
    except Exception as e:  # connection refused, timeout
        return None, str(e)
    if body.get("status") != "success":
        return None, body.get("error", "query failed")
    data = body["data"]
    result = data["result"]
    if data.get("resultType") == "scalar":
        result = [result]
    return result, ""


def loaded_rules(url: str, timeout: float) -> set[str] | None:
    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/api/v1/rules", timeout=timeout) as r:
            body = json.load(r)
    except Exception:
        return None
    return {r.get("name") for g in body.get("data", {}).get("groups", []) for r in g.get("rules", [])}


# ---------------------------------------------------------------- main

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dashboards", default=str(ROOT / "deploy/grafana/dashboards"), help="folder of dashboard JSON")
    ap.add_argument("--rules", default=str(ROOT / "deploy/prometheus/rules"), help="folder of rule files (*.yml)")
    ap.add_argument("--metrics-doc", default=str(ROOT / "docs/METRICS.md"), help="documented metric names")
    ap.add_argument("--adapter-config", default=str(ADAPTER_CONFIG),
                    help="prometheus-adapter ConfigMap whose rules are checked too ('' for none)")
    ap.add_argument("--promtool", default=shutil.which("promtool") or "promtool")
    ap.add_argument("--prometheus", metavar="URL", help="also query this Prometheus for every expression")
    ap.add_argument("--allow-empty", metavar="PATTERN", action="append", default=[],
                    help="ids (shell patterns) whose expressions may return no data in --prometheus mode")
    ap.add_argument("--allow-empty-file", metavar="FILE", help="more patterns, one a line (# comments)")
    ap.add_argument("--timeout", type=float, default=10.0, help="seconds per query")
    ap.add_argument("--list", action="store_true", help="print every id and expression, and exit")
    ap.add_argument("-v", "--verbose", action="store_true", help="print passing checks too")
    args = ap.parse_args(argv)

    rep = Report()
    if yaml is None:
        rep.fail("setup", "PyYAML is not importable (Debian python3-yaml, or pip install pyyaml)")
        print(f"{rep.passed} passed, {rep.failed} failed")
        return 1

    exprs: list[Expr] = []
    dashboards = {}
    for path in sorted(Path(args.dashboards).glob("*.json")):
        try:
            found, d = dashboard_exprs(path)
        except (json.JSONDecodeError, KeyError, TypeError) as e:
            rep.fail(str(path), f"not a dashboard: {e}")
            continue
        dashboards[path] = d
        exprs += found
    rule_files = sorted(Path(args.rules).glob("*.yml"))
    for path in rule_files:
        try:
            exprs += rule_exprs(path)
        except yaml.YAMLError as e:
            rep.fail(str(path), f"YAML: {e}")
    adapter = Path(args.adapter_config)
    if args.adapter_config and adapter.exists():
        try:
            exprs += adapter_exprs(adapter)
        except yaml.YAMLError as e:
            rep.fail(str(adapter), f"YAML: {e}")
    if not exprs:
        rep.fail("setup", "no expressions found")

    if args.list:
        for e in exprs:
            print(f"{e.id}\n    {e.expr.strip()}")
        return 0

    # 1. Dashboard hygiene.
    for path, d in dashboards.items():
        name = path.name
        ids = [p.get("id") for p in walk_panels(d.get("panels"))]
        dup = {i for i in ids if ids.count(i) > 1}
        (rep.fail(name, f"duplicate panel ids {sorted(dup)}") if dup else rep.ok(f"{name}: unique panel ids", args.verbose))
        var_names = {v.get("name") for v in (d.get("templating") or {}).get("list", [])}
        missing = {"DS_PROMETHEUS", "model_name"} - var_names
        (rep.fail(name, f"template variables missing: {sorted(missing)}") if missing
         else rep.ok(f"{name}: DS_PROMETHEUS and model_name variables", args.verbose))
        bad = []
        for p in walk_panels(d.get("panels")):
            if p.get("type") == "row":
                continue
            for obj in [p] + list(p.get("targets") or []):
                ds = obj.get("datasource") or {}
                if ds.get("uid") != "${DS_PROMETHEUS}":
                    bad.append(p.get("title"))
                    break
        (rep.fail(name, f"panels not on ${{DS_PROMETHEUS}}: {bad}") if bad
         else rep.ok(f"{name}: every panel on ${{DS_PROMETHEUS}}", args.verbose))

    # 2. Every expression parses (promtool).
    if shutil.which(args.promtool) is None and not Path(args.promtool).exists():
        rep.fail("promtool", f"{args.promtool} not found (Debian package `prometheus`)")
    else:
        errors = promtool_parse(exprs, args.promtool)
        for e in exprs:
            if e.id in errors:
                rep.fail(e.id, f"does not parse: {errors[e.id]}")
            else:
                rep.ok(f"{e.id}: parses", args.verbose)
        if "(batch)" in errors:
            rep.fail("promtool", errors["(batch)"])

    # 3. Every metric read is documented or recorded.
    metrics_doc = Path(args.metrics_doc)
    if not metrics_doc.exists():
        rep.fail("metric names", f"{metrics_doc} not found")
    else:
        # Series recorded by seed-compat.yml exist for outside queries only: troupe's own
        # dashboards and rules must read the real names.
        compat = {e.id.split(":", 1)[1] for e in exprs if e.kind == "record" and Path(e.source).name == COMPAT_RULES}
        known = (documented_metrics(metrics_doc) | PROMETHEUS_SYNTHETIC
                 | {e.id.split(":", 1)[1] for e in exprs if e.kind == "record"}) - compat
        for e in exprs:
            names = metric_names(substitute_grafana(e.expr))
            unknown = sorted(n for n in names if not any(b in known for b in base_names(n)))
            if unknown:
                what = ("reads seed-compatibility names (read the real metric instead)" if set(unknown) <= compat
                        else "reads metrics that docs/METRICS.md does not document and no rule records")
                rep.fail(e.id, f"{what}: {unknown}")
            else:
                rep.ok(f"{e.id}: metric names known", args.verbose)

        # 3b. Coverage: what troupe exports beyond vLLM's names is on a dashboard or in a rule.
        read = set()
        for e in exprs:
            if e.kind in ("panel", "variable", "record", "alert") and Path(e.source).name != COMPAT_RULES:
                for n in metric_names(substitute_grafana(e.expr)):
                    read.update(base_names(n))
        for name in sorted(n for n in documented_metrics(metrics_doc) if n.startswith(COVERED_PREFIXES)):
            if name in read:
                rep.ok(f"coverage:{name}: read by a dashboard or rule", args.verbose)
            else:
                rep.fail(f"coverage:{name}", "documented in docs/METRICS.md but no dashboard panel or rule reads it")

    # 4. Live: each expression returns data.
    if args.prometheus:
        allow = list(args.allow_empty)
        if args.allow_empty_file:
            for line in Path(args.allow_empty_file).read_text().splitlines():
                line = line.split("#", 1)[0].strip()
                if line:
                    allow.append(line)
        rules_loaded = loaded_rules(args.prometheus, args.timeout)
        empty_allowed = 0
        for e in exprs:
            result, err = prom_query(args.prometheus, substitute_grafana(e.expr), args.timeout)
            if result is None:
                rep.fail(e.id, f"query error: {err}")
            elif result:
                rep.ok(f"{e.id}: {len(result)} series", args.verbose)
            elif any(fnmatch.fnmatchcase(e.id, p) for p in allow):
                empty_allowed += 1
                rep.ok(f"{e.id}: no data (allowed)", args.verbose)
            else:
                hint = ""
                if rules_loaded is not None:
                    not_loaded = sorted(n for n in metric_names(substitute_grafana(e.expr))
                                        if ":" in n and n.startswith("troupe:") and n not in rules_loaded)
                    if not_loaded:
                        hint = f" (recording rules not loaded in that Prometheus: {not_loaded})"
                rep.fail(e.id, f"returns no data: {e.expr.strip()}{hint}")
        # An alert's condition is empty while it does not fire, but every series it reads must
        # exist, or it could never fire: ids input:<alert name>:<metric>.
        inputs = 0
        for e in exprs:
            if e.kind != "alert":
                continue
            for name in sorted(metric_names(e.expr)):
                inputs += 1
                iid = f"input:{e.id.split(':', 1)[1]}:{name}"
                result, err = prom_query(args.prometheus, f"count({name})", args.timeout)
                if result is None:
                    rep.fail(iid, f"query error: {err}")
                elif result or any(fnmatch.fnmatchcase(iid, p) for p in allow):
                    rep.ok(f"{iid}: present", args.verbose)
                else:
                    rep.fail(iid, f"the alert reads {name}, which has no data: it could never fire")
        print(f"live: {len(exprs)} expressions and {inputs} alert inputs queried at {args.prometheus}, "
              f"{empty_allowed} expressions empty but allowed")

    print(f"{len(exprs)} expressions from {len(dashboards)} dashboards and {len(rule_files)} rule files")
    print(f"{rep.passed} passed, {rep.failed} failed")
    return 0 if rep.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
