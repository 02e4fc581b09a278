#!/usr/bin/env bash
# Checks every file of deploy/ with the tool that reads it:
#   promtool check config / check rules / test rules   (Debian package `prometheus`)
#   amtool check-config and routing by severity         (Debian package `prometheus-alertmanager`)
#   tools/check_dashboards.py (static): every PromQL expression of the dashboards and rules parses
#     and reads only documented metrics
#   tests/deploy/check_deploy_files.py: YAML/JSON validity, alert metadata, runbook anchors, unit
#     test coverage of every alert, Grafana/compose/k8s consistency
#   docker compose config        (when a docker compose CLI is installed; skipped otherwise)
#   kubectl kustomize            (when kubectl is installed; skipped otherwise)
#   kubernetes-validate --strict (when installed, PyPI `kubernetes-validate`; skipped otherwise)
# Exits non-zero when any check fails; the last line is "N passed, M failed[, K skipped]".
set -u
cd "$(dirname "$0")/../.."

passed=0 failed=0 skipped=0
failures=()

run() {
  local name=$1
  shift
  echo "=== $name"
  if "$@"; then
    echo "--- pass: $name"
    passed=$((passed + 1))
  else
    echo "--- FAIL: $name"
    failed=$((failed + 1))
    failures+=("$name")
  fi
}

skip() {
  echo "=== $1"
  echo "--- skipped: $1 ($2)"
  skipped=$((skipped + 1))
}

# A Python with PyYAML: the one on PATH (the test venv when it has pyyaml), else Debian's.
PY=""
for candidate in python3 /usr/bin/python3; do
  if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import yaml' 2>/dev/null; then
    PY=$candidate
    break
  fi
done

amtool_routes() {
  local cfg=deploy/alertmanager/alertmanager.yml sev receiver
  for sev in critical:troupe-critical warning:troupe-warning info:troupe-warning; do
    receiver=${sev#*:}
    sev=${sev%%:*}
    amtool config routes test --config.file="$cfg" --verify.receivers="$receiver" "severity=$sev" 2>/dev/null ||
      { echo "severity=$sev is not routed to $receiver"; return 1; }
    echo "severity=$sev -> $receiver"
  done
}

compose_config() {
  if docker compose version >/dev/null 2>&1; then
    docker compose -f deploy/compose.yaml config --quiet
  else
    docker-compose -f deploy/compose.yaml config --quiet
  fi
}

run "promtool check config deploy/prometheus/prometheus.yml" promtool check config deploy/prometheus/prometheus.yml
run "promtool check rules deploy/prometheus/rules/*.yml" promtool check rules deploy/prometheus/rules/*.yml
run "promtool test rules deploy/prometheus/tests/*.yml" promtool test rules deploy/prometheus/tests/*.yml
run "amtool check-config deploy/alertmanager/alertmanager.yml" amtool check-config deploy/alertmanager/alertmanager.yml
run "amtool config routes test: alerts routed by severity" amtool_routes

if [[ -n $PY ]]; then
  run "tools/check_dashboards.py (static)" "$PY" tools/check_dashboards.py
  run "tests/deploy/check_deploy_files.py" "$PY" tests/deploy/check_deploy_files.py
else
  run "a python3 with PyYAML (Debian python3-yaml)" false
fi

if docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null 2>&1; then
  run "docker compose config deploy/compose.yaml" compose_config
else
  skip "docker compose config deploy/compose.yaml" "no docker compose CLI; Debian package docker-compose provides one"
fi

# kubectl's built-in kustomize renders both deployments offline (no cluster needed).
if command -v kubectl >/dev/null 2>&1 && kubectl kustomize --help >/dev/null 2>&1; then
  run "kubectl kustomize deploy/k8s and deploy/k8s-saturation" \
    bash -c 'kubectl kustomize deploy/k8s >/dev/null && kubectl kustomize deploy/k8s-saturation | grep -q troupe_engine_saturation_max'
else
  skip "kubectl kustomize deploy/k8s and deploy/k8s-saturation" "no kubectl"
fi

if command -v kubernetes-validate >/dev/null 2>&1; then
  run "kubernetes-validate --strict deploy/k8s/*.yaml" kubernetes-validate --strict --quiet deploy/k8s/*.yaml
else
  skip "kubernetes-validate --strict deploy/k8s/*.yaml" "kubernetes-validate not installed (PyPI)"
fi

echo
if ((failed)); then
  printf 'failed: %s\n' "${failures[@]}"
fi
if ((skipped)); then
  echo "$passed passed, $failed failed, $skipped skipped"
else
  echo "$passed passed, $failed failed"
fi
((failed == 0))
