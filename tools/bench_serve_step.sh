#!/usr/bin/env bash
# Does the serving path cost forward speed? One stream's decode step inside `troupe serve`
# (troupe_engine_step_seconds{phase="decode"}, its mean over a run of REQUESTS requests) beside the
# per-token time of `troupe generate` on the same model and threads (the median of 3 runs just
# before and 3 just after: single runs vary by tens of percent on a shared 2-vCPU machine).
#
#   tools/bench_serve_step.sh            # env: TROUPE_BIN, PYTHON, PORT (8102), THREADS (2),
#                                        #      REQUESTS (12), MAX_TOKENS (64), MODEL
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${TROUPE_BIN:-build/troupe}
python=${PYTHON:-.venv-test/bin/python}
port=${PORT:-8102}
threads=${THREADS:-2}
requests=${REQUESTS:-12}
max_tokens=${MAX_TOKENS:-64}
model=${MODEL:-$(tools/fetch_default_model.sh)}

# The same shape as the served requests: 64 prompt tokens, then 64 decode steps.
ids=$(seq 0 63 | awk '{ printf "%s%d", (NR > 1 ? "," : ""), 100 + ($1 * 7) % 40000 }')
generate_ms() {  # milliseconds per decoded token in `troupe generate`
  "$bin" generate "$model" --threads "$threads" --prompt-ids "$ids" --max-tokens 65 --ignore-eos 2>&1 \
    >/dev/null | sed -n 's/.*decode \([0-9.]*\) tok\/s.*/\1/p' | tail -1 | awk '{printf "%.2f", 1000 / $1}'
}

median() { sort -n | awk '{ v[NR] = $1 } END { printf "%.2f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
before=$(for _ in 1 2 3; do generate_ms; echo; done)
"$bin" serve "$model" --host 127.0.0.1 --port "$port" --threads "$threads" >/tmp/troupe-bench-serve-step.log 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.2; done
"$python" tools/loadgen.py --base-url "http://127.0.0.1:$port" --endpoint completions --concurrency 1 \
  --num-requests "$requests" --prompt-len 64 --max-tokens "$max_tokens" --ignore-eos >/dev/null
serve=$(curl -sf "http://127.0.0.1:$port/metrics" | awk '
  /^troupe_engine_step_seconds_sum\{.*phase="decode"/ { sum += $2 }
  /^troupe_engine_step_seconds_count\{.*phase="decode"/ { count += $2 }
  END { printf "%.2f %d", 1000 * sum / count, count }')
kill $server
wait $server 2>/dev/null || true
after=$(for _ in 1 2 3; do generate_ms; echo; done)
read -r serve_ms steps <<<"$serve"
echo "load average $(cut -d' ' -f1-3 /proc/loadavg)"
generate=$(printf '%s\n%s\n' "$before" "$after" | median)
echo "troupe generate: ms per token" $before "before," $after "after; median $generate"
echo "troupe serve: ${serve_ms} ms per decode step (${steps} steps)"
awk -v s="$serve_ms" -v g="$generate" 'BEGIN { printf "serve step / generate token: %.3f\n", s / g }'
