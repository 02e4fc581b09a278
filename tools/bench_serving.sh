#!/usr/bin/env bash
# Serving throughput at several concurrency levels (the figures quoted in docs/BENCHMARKS.md):
# starts `troupe serve` on the default model, runs tools/loadgen.py closed-loop at each level and
# prints one table row per level. Requires the test venv (tools/test.sh makes .venv-test).
#
#   tools/bench_serving.sh [LEVELS...]      # default: 1 8 32
#
# Env: TROUPE_BIN (build/troupe), PYTHON (.venv-test/bin/python), PORT (8100), PROMPT_LEN (64),
# MAX_TOKENS (32), EXTRA_ARGS (more `troupe serve` flags), THREADS (2).
# PEER=llama-server runs the same load against llama.cpp's own server on the same GGUF instead
# (built by tools/peer/build_llamacpp.sh), batching continuously: `-t THREADS --parallel
# PARALLEL (32) -c 1024×PARALLEL --cont-batching`.
# PEER=llama.cpp runs it against llama-cpp-python's OpenAI server (PEER_PYTHON: a Python with
# `llama-cpp-python` and its server extras installed), which serves one request at a time; its
# interrupt_requests is turned off, else each new request would cut the one streaming before it.
# MODEL: the GGUF to serve (default: the default model).
# After the last level it prints the server's peak resident memory (VmHWM). For an even RSS
# comparison give troupe the KV capacity llama-server gets (-c 1024×PARALLEL tokens), e.g. for the
# 1B bench shape (22 layers, 4 kv heads of 64, float16: 22 KiB a token) EXTRA_ARGS="--kv-cache-memory 704MiB".
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${TROUPE_BIN:-build/troupe}
python=${PYTHON:-.venv-test/bin/python}
port=${PORT:-8100}
prompt_len=${PROMPT_LEN:-64}
max_tokens=${MAX_TOKENS:-32}
levels=("$@")
((${#levels[@]})) || levels=(1 8 32)

threads=${THREADS:-2}
model=${MODEL:-$(tools/fetch_default_model.sh)}
case "${PEER:-}" in
  "")
    "$bin" serve "$model" --host 127.0.0.1 --port "$port" --max-num-seqs 64 --threads "$threads" \
      ${EXTRA_ARGS:-} >/tmp/troupe-bench-serve.log 2>&1 &
    ;;
  llama-server)
    parallel=${PARALLEL:-32}
    "$(tools/peer/build_llamacpp.sh)/llama-server" -m "$model" --host 127.0.0.1 --port "$port" -t "$threads" \
      --parallel "$parallel" -c $((1024 * parallel)) --cont-batching >/tmp/troupe-bench-serve.log 2>&1 &
    ;;
  llama.cpp)
    "${PEER_PYTHON:?PEER_PYTHON must name a Python with llama-cpp-python[server]}" -m llama_cpp.server \
      --model "$model" --host 127.0.0.1 --port "$port" --n_threads "$threads" --n_ctx 2048 --interrupt_requests False \
      >/tmp/troupe-bench-serve.log 2>&1 &
    ;;
  *) echo "bench_serving.sh: unknown PEER '$PEER' (known: llama-server, llama.cpp)" >&2; exit 2 ;;
esac
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null' EXIT
for _ in $(seq 1 120); do
  curl -sf "http://127.0.0.1:$port/v1/models" >/dev/null && break
  sleep 0.5
done

printf "%-12s %6s %10s %14s %12s %12s %12s\n" concurrency load "req/s" "output tok/s" "TTFT p50 ms" "TTFT p90 ms" "ITL p50 ms"
for c in "${levels[@]}"; do
  n=$((c * 4 > 8 ? c * 4 : 8))
  "$python" tools/loadgen.py --base-url "http://127.0.0.1:$port" --endpoint completions --concurrency "$c" \
    --num-requests "$n" --prompt-len "$prompt_len" --max-tokens "$max_tokens" --ignore-eos --json >/tmp/troupe-bench-$c.json
  load=$(cut -d' ' -f1 /proc/loadavg)  # the 1-minute load average as the level ends
  "$python" - "$c" /tmp/troupe-bench-$c.json "$load" <<'PY'
import json, sys
r = json.load(open(sys.argv[2]))
assert r["requests"]["failed"] == 0, r["errors"]
print(f"{sys.argv[1]:<12} {sys.argv[3]:>6} {r['requests_per_s']:10.2f} {r['output_tokens_per_s']:14.1f} "
      f"{1000 * r['ttft_s']['p50']:12.0f} {1000 * r['ttft_s']['p90']:12.0f} {1000 * r['itl_s']['p50']:12.0f}")
PY
done
rss_kib=$(awk '/^VmHWM:/ {print $2}' "/proc/$server/status" 2>/dev/null || true)
echo "server peak RSS: $(( ${rss_kib:-0} / 1024 )) MiB"
