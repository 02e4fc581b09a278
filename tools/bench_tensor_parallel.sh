#!/usr/bin/env bash
# Tensor parallelism on the CPU, for information: single-stream decode of one model as one backend
# with T threads beside --tensor-parallel-size N with T/N threads per rank (each rank pinned to its
# own cores), alternating, and the weight bytes each rank holds (troupe_executor_weight_bytes).
#
#   bash tools/bench_tensor_parallel.sh [MODEL] [--ranks N] [--threads T] [--rounds R] [--tokens K]
#
# MODEL defaults to the 1B-shaped Q4_K_M of tools/make_bench_models.py; N 2, T every core, R 3,
# K 128 (generated after a 5-token prompt, --ignore-eos). Prints one line per run (decode tok/s as
# `troupe generate` reports it, and the load average) and the per-rank weight bytes of a server.
set -euo pipefail
cd "$(dirname "$0")/.."
model=${HOME}/.cache/troupe/bench-models/llama-1b.Q4_K_M.gguf
ranks=2 threads=$(nproc) rounds=3 tokens=128
if [[ $# -gt 0 && $1 != --* ]]; then model=$1; shift; fi
while [[ $# -gt 0 ]]; do
  case $1 in
    --ranks) ranks=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --tokens) tokens=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
troupe=${TROUPE_BIN:-build/troupe}
[[ -f $model ]] || { echo "no model $model (python3 tools/make_bench_models.py --shapes 1b --types Q4_K_M)" >&2; exit 1; }

decode() {  # extra flags...; prints decode tok/s
  "$troupe" generate "$model" --device cpu --prompt-ids 1,2,3,4,5 --print-ids --max-tokens "$tokens" --ignore-eos "$@" \
    2>&1 >/dev/null | sed -n 's/.*decode \([0-9.]*\) tok\/s.*/\1/p'
}
echo "model $(basename "$model"), $(nproc) CPUs ($(lscpu | sed -n 's/^Model name: *//p')), $tokens tokens"
for round in $(seq "$rounds"); do
  one=$(decode --threads "$threads")
  load1=$(cut -d' ' -f1 /proc/loadavg)
  split=$(decode --threads "$threads" --tensor-parallel-size "$ranks")
  load2=$(cut -d' ' -f1 /proc/loadavg)
  echo "round $round: TP=1 x $threads threads ${one} tok/s (load $load1) | TP=$ranks x $((threads / ranks)) threads ${split} tok/s (load $load2)"
done

port=$((20000 + RANDOM % 20000))
"$troupe" serve "$model" --device cpu --threads "$threads" --tensor-parallel-size "$ranks" --port "$port" \
  --max-model-len 2048 >/tmp/bench-tp-serve.log 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 300); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.2; done
curl -sf "http://127.0.0.1:$port/metrics" | grep '^troupe_executor_weight_bytes' |
  awk '{printf "weights held: %s %.1f MiB\n", $1, $2 / 1048576}'
