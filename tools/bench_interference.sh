#!/usr/bin/env bash
# Interference benchmark (issue 10, docs/BENCHMARKS.md "One long prompt among streams"): starts
# `troupe serve` on the default model with an 8K context, runs tools/bench_interference.py (four
# streams; a 4,000-token prompt arrives, a short chat is sent during its prefill, the prompt is
# cancelled mid-prefill), and stops the server. Extra arguments go to `troupe serve`, e.g.
# --prefill-budget-ms 0 for chunks by the token budget only.
#   tools/bench_interference.sh [serve flags...]
# Environment: TROUPE_BIN (default build/troupe), TROUPE_DEFAULT_MODEL (default: fetched),
# PYTHON (default python3), PORT (default 18231), BENCH_ARGS (extra driver flags, e.g. --json x).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${TROUPE_BIN:-build/troupe}
model=${TROUPE_DEFAULT_MODEL:-$(tools/fetch_default_model.sh)}
python=${PYTHON:-python3}
port=${PORT:-18231}
log=$(mktemp /tmp/bench_interference.XXXXXX.log)
"$bin" serve "$model" --host 127.0.0.1 --port "$port" --served-model-name bench --max-model-len 8192 \
  --max-num-seqs 16 --kv-cache-memory 1GiB --no-enable-prefix-caching "$@" > "$log" 2>&1 &
server=$!
trap 'kill -TERM $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do
  if "$python" -c "import http.client,sys; c=http.client.HTTPConnection('127.0.0.1',$port,timeout=2); c.request('GET','/health'); sys.exit(c.getresponse().status!=200)" 2>/dev/null; then
    break
  fi
  sleep 0.2
done
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)  serve flags: $*" >&2
"$python" tools/bench_interference.py --port "$port" --model bench ${BENCH_ARGS:-}
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
