#!/usr/bin/env python3
"""Structural checks of deploy/ that promtool and amtool do not make.

- every YAML file under deploy/ parses (multi-document for k8s), every dashboard is JSON;
- every alert has `for`, a `severity` label (critical, warning, info), `summary`, `description`
  templated with {{ $labels... }} and (except state checks, == 0 or == 1) {{ $value... }}, and a `runbook` annotation whose anchor exists
  in docs/RUNBOOK.md;
- every alert has a promtool unit test that expects it firing and one that expects it quiet, and
  every rule file is covered by some unit test;
- prometheus.yml scrapes job `troupe`, loads rules/*.yml and sends alerts to Alertmanager;
- the Grafana provisioning points at the dashboards' datasource uid and at the folder compose mounts;
- compose.yaml has the four services and mounts files that exist;
- the k8s manifests have their required fields and agree with each other (labels, ports, probe
  paths, the HPA's metrics served by the prometheus-adapter rules);
- the saturation HPA recipe (deploy/k8s-saturation/) is a kustomize overlay of deploy/k8s whose
  patch, applied to the base HPA, scales on a metric the adapter serves from troupe_engine_saturation.

Prints one line per check and "N passed, M failed" last; exits non-zero on any failure.
"""
from __future__ import annotations

import glob
import json
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
passed = 0
failed = 0


def check(cond: bool, what: str, why: str = "") -> bool:
    global passed, failed
    if cond:
        passed += 1
        print(f"ok    {what}")
    else:
        failed += 1
        print(f"FAIL  {what}{': ' + why if why else ''}")
    return cond


def rel(p: Path) -> str:
    return str(p.relative_to(ROOT))


def github_anchor(heading: str) -> str:
    a = heading.strip().lower()
    a = re.sub(r"[^\w\- ]", "", a)
    return a.replace(" ", "-")


def load_yaml_files() -> dict[Path, list]:
    docs = {}
    for p in sorted(list(DEPLOY.rglob("*.yml")) + list(DEPLOY.rglob("*.yaml"))):
        try:
            docs[p] = [d for d in yaml.safe_load_all(p.read_text()) if d is not None]
            check(bool(docs[p]), f"{rel(p)}: YAML parses", "empty")
        except yaml.YAMLError as e:
            check(False, f"{rel(p)}: YAML parses", str(e).replace("\n", " "))
    for p in sorted((DEPLOY / "grafana/dashboards").glob("*.json")):
        try:
            json.loads(p.read_text())
            check(True, f"{rel(p)}: JSON parses")
        except json.JSONDecodeError as e:
            check(False, f"{rel(p)}: JSON parses", str(e))
    return docs


def check_alerts(docs: dict[Path, list]) -> None:
    runbook = ROOT / "docs/RUNBOOK.md"
    anchors = set()
    if check(runbook.exists(), "docs/RUNBOOK.md exists"):
        anchors = {github_anchor(m) for m in re.findall(r"^#+\s+(.*)$", runbook.read_text(), re.M)}

    # Unit tests: which alerts are expected firing / quiet, which rule files are loaded.
    firing, quiet, tested_files = set(), set(), set()
    for p in sorted((DEPLOY / "prometheus/tests").glob("*.yml")):
        for doc in docs.get(p, []):
            for f in doc.get("rule_files", []):
                tested_files.add((p.parent / f).resolve())
            for t in doc.get("tests", []):
                for a in t.get("alert_rule_test", []) or []:
                    (firing if a.get("exp_alerts") else quiet).add(a["alertname"])

    alerts = 0
    for p in sorted((DEPLOY / "prometheus/rules").glob("*.yml")):
        check(p.resolve() in tested_files, f"{rel(p)}: loaded by a promtool unit test")
        for doc in docs.get(p, []):
            for g in doc.get("groups", []):
                for r in g.get("rules", []):
                    if "alert" not in r:
                        continue
                    alerts += 1
                    name = r["alert"]
                    ann = r.get("annotations", {}) or {}
                    sev = (r.get("labels") or {}).get("severity")
                    check("for" in r, f"{name}: has `for`")
                    check(sev in ("critical", "warning", "info"), f"{name}: severity label", f"got {sev!r}")
                    text = ann.get("summary", "") + ann.get("description", "")
                    check(bool(ann.get("summary")) and bool(ann.get("description")), f"{name}: summary and description")
                    check("{{ $labels" in text, f"{name}: annotations template $labels")
                    # $value says something unless the condition is a state check (== 0: down, == 1: paused).
                    if not re.search(r"==\s*[01]\s*$", str(r.get("expr", "")).strip()):
                        check("{{ $value" in text, f"{name}: annotations template $value")
                    m = re.fullmatch(r"docs/RUNBOOK\.md#([\w-]+)", ann.get("runbook", ""))
                    check(bool(m) and m.group(1) in anchors, f"{name}: runbook anchor exists in docs/RUNBOOK.md",
                          f"runbook={ann.get('runbook')!r}")
                    check(name in firing, f"{name}: unit test expects it firing")
                    check(name in quiet, f"{name}: unit test expects it quiet")
    check(alerts >= 8, f"{alerts} alerts found")


def check_prometheus(docs) -> None:
    cfg = docs.get(DEPLOY / "prometheus/prometheus.yml", [{}])[0]
    jobs = {j.get("job_name"): j for j in cfg.get("scrape_configs", [])}
    check("troupe" in jobs, "prometheus.yml: job troupe")
    check(jobs.get("troupe", {}).get("metrics_path", "/metrics") == "/metrics", "prometheus.yml: troupe scraped at /metrics")
    check("rules/*.yml" in cfg.get("rule_files", []), "prometheus.yml: rule_files rules/*.yml")
    ams = cfg.get("alerting", {}).get("alertmanagers", [])
    targets = [t for am in ams for sc in am.get("static_configs", []) for t in sc.get("targets", [])]
    check("127.0.0.1:9093" in targets, "prometheus.yml: alerts go to Alertmanager at 127.0.0.1:9093")
    am = docs.get(DEPLOY / "alertmanager/alertmanager.yml", [{}])[0]
    urls = [w.get("url") for r in am.get("receivers", []) for w in r.get("webhook_configs", [])]
    check("http://127.0.0.1:9099/alerts" in urls, "alertmanager.yml: webhook http://127.0.0.1:9099/alerts")


def check_grafana(docs) -> None:
    ds = docs.get(DEPLOY / "grafana/provisioning/datasources/prometheus.yml", [{}])[0].get("datasources", [])
    uids = {d.get("uid") for d in ds if d.get("type") == "prometheus"}
    check(bool(uids), "grafana: a Prometheus datasource is provisioned")
    for p in sorted((DEPLOY / "grafana/dashboards").glob("*.json")):
        d = json.loads(p.read_text())
        var = next((v for v in d.get("templating", {}).get("list", []) if v.get("name") == "DS_PROMETHEUS"), {})
        check(var.get("type") == "datasource" and var.get("current", {}).get("value") in uids,
              f"{p.name}: DS_PROMETHEUS defaults to the provisioned datasource")
    prov = docs.get(DEPLOY / "grafana/provisioning/dashboards/troupe.yml", [{}])[0].get("providers", [])
    paths = {pr.get("options", {}).get("path") for pr in prov}
    compose = docs.get(DEPLOY / "compose.yaml", [{}])[0]
    mounts = compose.get("services", {}).get("grafana", {}).get("volumes", [])
    check(any(m.split(":")[0] == "./grafana/dashboards" and m.split(":")[1] in paths for m in mounts),
          "grafana: compose mounts the dashboards where provisioning looks")


def check_compose(docs) -> None:
    c = docs.get(DEPLOY / "compose.yaml", [{}])[0]
    services = c.get("services", {})
    for s in ("troupe", "prometheus", "alertmanager", "grafana"):
        check(s in services, f"compose.yaml: service {s}")
    build = services.get("troupe", {}).get("build", {})
    check((DEPLOY / build.get("context", "?") / build.get("dockerfile", "?")).exists(), "compose.yaml: troupe builds from deploy/Dockerfile")
    for name, s in services.items():
        for m in s.get("volumes", []):
            src = m.split(":")[0]
            if src.startswith("."):
                check((DEPLOY / src).exists(), f"compose.yaml: {name} mounts {src}", "missing")
    dockerfile = (DEPLOY / "Dockerfile").read_text() if (DEPLOY / "Dockerfile").exists() else ""
    check(dockerfile.startswith("#") and "FROM debian:bookworm" in dockerfile and "tools/install_deps.sh" in dockerfile,
          "Dockerfile: debian:bookworm, runs tools/install_deps.sh")


def check_k8s(docs) -> None:
    objs = {}
    for p in sorted((DEPLOY / "k8s").glob("*.yaml")):
        for d in docs.get(p, []):
            kind = d.get("kind")
            ok = bool(d.get("apiVersion")) and bool(kind) and (kind == "Kustomization" or bool(d.get("metadata", {}).get("name")))
            check(ok, f"k8s/{p.name}: {kind} has apiVersion, kind, metadata.name")
            objs[kind] = d
    for kind in ("Deployment", "Service", "ServiceMonitor", "HorizontalPodAutoscaler", "ConfigMap"):
        check(kind in objs, f"k8s: has a {kind}")
    dep, svc = objs.get("Deployment", {}), objs.get("Service", {})
    sm, hpa, cm = objs.get("ServiceMonitor", {}), objs.get("HorizontalPodAutoscaler", {}), objs.get("ConfigMap", {})
    pod = dep.get("spec", {}).get("template", {})
    containers = pod.get("spec", {}).get("containers", [{}])
    c = containers[0] if containers else {}
    for probe in ("readinessProbe", "livenessProbe"):
        check(c.get(probe, {}).get("httpGet", {}).get("path") == "/health", f"Deployment: {probe} on /health")
    # Graceful shutdown: the grace period covers the preStop sleep, --shutdown-timeout and the
    # 5 s troupe gives ended streams to flush, and liveness outlasts a drain (/health is 503 then).
    args = c.get("args", [])
    drain = float(args[args.index("--shutdown-timeout") + 1]) if "--shutdown-timeout" in args else 30.0
    pre_stop = c.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command", [])
    sleep = float(pre_stop[1]) if len(pre_stop) == 2 and pre_stop[0] == "sleep" else 0.0
    grace = pod.get("spec", {}).get("terminationGracePeriodSeconds", 30)
    check(grace >= sleep + drain + 5, "Deployment: terminationGracePeriodSeconds covers preStop + --shutdown-timeout + 5 s",
          f"{grace} < {sleep} + {drain} + 5")
    live = c.get("livenessProbe", {})
    check(live.get("periodSeconds", 10) * live.get("failureThreshold", 3) > drain + 5,
          "Deployment: liveness tolerates /health 503 for longer than a drain")
    res = c.get("resources", {})
    check(bool(res.get("requests")) and bool(res.get("limits")), "Deployment: resources requests and limits")
    ann = pod.get("metadata", {}).get("annotations", {})
    ports = {p.get("name"): p.get("containerPort") for p in c.get("ports", [])}
    check(ann.get("prometheus.io/scrape") == "true" and str(ports.get("http")) == ann.get("prometheus.io/port"),
          "Deployment: prometheus.io annotations name the metrics port")
    sel = dep.get("spec", {}).get("selector", {}).get("matchLabels", {})
    labels = pod.get("metadata", {}).get("labels", {})
    check(bool(sel) and sel.items() <= labels.items(), "Deployment: selector matches pod labels")
    check(svc.get("spec", {}).get("selector", {}).items() <= labels.items(), "Service: selector matches the pods")
    svc_ports = {p.get("name") for p in svc.get("spec", {}).get("ports", [])}
    check(sm.get("apiVersion") == "monitoring.coreos.com/v1", "ServiceMonitor: monitoring.coreos.com/v1")
    check(sm.get("spec", {}).get("selector", {}).get("matchLabels", {}).items() <= svc.get("metadata", {}).get("labels", {}).items(),
          "ServiceMonitor: selects the Service")
    eps = sm.get("spec", {}).get("endpoints", [])
    check(bool(eps) and all(e.get("port") in svc_ports and e.get("path", "/metrics") == "/metrics" for e in eps),
          "ServiceMonitor: scrapes /metrics on a port the Service names")
    check(svc.get("metadata", {}).get("name") == "troupe", "Service: named troupe (scrape job label job=\"troupe\" the rules select)")
    check(hpa.get("apiVersion") == "autoscaling/v2", "HPA: autoscaling/v2")
    ref = hpa.get("spec", {}).get("scaleTargetRef", {})
    check(ref.get("kind") == "Deployment" and ref.get("name") == dep.get("metadata", {}).get("name"), "HPA: targets the Deployment")
    adapter = yaml.safe_load(cm.get("data", {}).get("config.yaml", "") or "{}") or {}
    exposed = {r.get("name", {}).get("as") for r in adapter.get("rules", [])}
    used = {m.get("pods", {}).get("metric", {}).get("name") for m in hpa.get("spec", {}).get("metrics", []) if m.get("type") == "Pods"}
    check(bool(used) and used <= exposed, "HPA: its metrics are exposed by the prometheus-adapter rules", f"{used} vs {exposed}")
    check(any("request_queue_time" in (r.get("seriesQuery", "")) for r in adapter.get("rules", [])),
          "prometheus-adapter: maps the queue-time histogram")
    kust = objs.get("Kustomization", {})
    listed = set(kust.get("resources", []))
    on_disk = {p.name for p in (DEPLOY / "k8s").glob("*.yaml")} - {"kustomization.yaml"}
    check(listed == on_disk, "kustomization.yaml lists every manifest", f"{sorted(on_disk ^ listed)}")


def json_patch(doc, ops):
    """Applies the RFC 6902 operations deploy/ uses (replace, add) to a copy of `doc`."""
    import copy
    out = copy.deepcopy(doc)
    for op in ops:
        parts = [p.replace("~1", "/").replace("~0", "~") for p in op["path"].lstrip("/").split("/")]
        parent = out
        for key in parts[:-1]:
            parent = parent[int(key)] if isinstance(parent, list) else parent[key]
        last = parts[-1]
        if op["op"] in ("replace", "add"):
            if isinstance(parent, list):
                parent[int(last)] = op["value"]
            else:
                if op["op"] == "replace" and last not in parent:
                    raise KeyError(op["path"])
                parent[last] = op["value"]
        else:
            raise ValueError(f"unsupported op {op['op']}")
    return out


def check_saturation_overlay(docs) -> None:
    overlay = DEPLOY / "k8s-saturation"
    kust = docs.get(overlay / "kustomization.yaml", [{}])[0]
    check(kust.get("resources") == ["../k8s"], "k8s-saturation: a kustomize overlay of ../k8s")
    patches = kust.get("patches", [])
    check(len(patches) == 1 and patches[0].get("target", {}).get("kind") == "HorizontalPodAutoscaler",
          "k8s-saturation: one patch, of the HorizontalPodAutoscaler")
    base = {}
    for p in sorted((DEPLOY / "k8s").glob("*.yaml")):
        for d in docs.get(p, []):
            base[d.get("kind")] = d
    hpa = base.get("HorizontalPodAutoscaler", {})
    check(patches and patches[0].get("target", {}).get("name") == hpa.get("metadata", {}).get("name"),
          "k8s-saturation: the patch targets the base HPA by name")
    ops = docs.get(overlay / patches[0]["path"], [[]])[0] if patches else []
    try:
        patched = json_patch(hpa, ops)
    except (KeyError, ValueError, IndexError, TypeError) as e:
        check(False, "k8s-saturation: the patch applies to the base HPA", str(e))
        return
    check(True, "k8s-saturation: the patch applies to the base HPA")
    adapter = yaml.safe_load(base.get("ConfigMap", {}).get("data", {}).get("config.yaml", "") or "{}") or {}
    rules = {r.get("name", {}).get("as"): r for r in adapter.get("rules", [])}
    used = [m.get("pods", {}).get("metric", {}).get("name") for m in patched.get("spec", {}).get("metrics", [])
            if m.get("type") == "Pods"]
    check(used == ["troupe_engine_saturation_max"], "k8s-saturation: the HPA scales on troupe_engine_saturation_max",
          f"{used}")
    rule = rules.get("troupe_engine_saturation_max", {})
    check("troupe_engine_saturation{" in rule.get("seriesQuery", ""),
          "prometheus-adapter: troupe_engine_saturation_max comes from troupe_engine_saturation")
    target = (patched.get("spec", {}).get("metrics") or [{}])[0].get("pods", {}).get("target", {})
    value = str(target.get("averageValue", ""))
    number = float(value[:-1]) / 1000 if value.endswith("m") else float(value or "nan")
    check(target.get("type") == "AverageValue" and 0 < number < 1,
          "k8s-saturation: target an average saturation between 0 and 1", value)


def main() -> int:
    docs = load_yaml_files()
    check_alerts(docs)
    check_prometheus(docs)
    check_grafana(docs)
    check_compose(docs)
    check_k8s(docs)
    check_saturation_overlay(docs)
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
