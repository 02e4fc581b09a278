#!/usr/bin/env bash
# Every CPU figure of docs/BENCHMARKS.md's "CPU at 1B and 3B shapes beside native llama.cpp" in
# one run: makes the random-weight bench models (tools/make_bench_models.py), builds the native
# llama.cpp peer (tools/peer/build_llamacpp.sh), then
#   1. single-sequence decode and prefill, 1B and 3B shapes, Q4_0 / Q4_K_M / Q8_0, troupe generate
#      against llama-bench, alternating, with decode as a fraction of the read bandwidth;
#   2. serving the 1B Q4_K_M at 1 and 32 streams, troupe serve against llama-server --parallel 32
#      with the same KV capacity (32768 tokens), alternating, with peak RSS;
#   3. long context on the 1B Q4_K_M: decode at 8K and 32K tokens of context, a 16K prompt
#      (llama-bench with flash attention, -fa 1, and -d for depth).
# Every row carries the 1-minute load average. Takes about two hours on 2 cores; run it on a machine
# with nothing else running.
#
#   tools/peer/bench_cpu_suite.sh [PAIRS]    # PAIRS of alternating runs for part 1 (default 2)
set -euo pipefail
cd "$(dirname "$0")/../.."
python=${PYTHON:-.venv-test/bin/python}
pairs=${1:-2}
threads=${THREADS:-2}
echo "== $(date -u +%FT%TZ) $(nproc) CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
"$python" tools/peer/bench_cpu_vs_llamacpp.py --threads "$threads" --shapes 1b,3b --types Q4_0,Q4_K_M,Q8_0 \
  --tests tg128,pp512,pp4000 --pairs "$pairs"
echo
echo "== serving, $(date -u +%FT%TZ)"
model=$("$python" tools/make_bench_models.py --shapes 1b --types Q4_K_M)
for pair in 1 2; do
  echo "-- pair $pair: troupe serve"
  MODEL="$model" THREADS="$threads" EXTRA_ARGS="--kv-cache-memory 704MiB" bash tools/bench_serving.sh 1 32
  echo "-- pair $pair: llama-server --parallel 32"
  MODEL="$model" THREADS="$threads" PEER=llama-server bash tools/bench_serving.sh 1 32
done
echo
# Last, being the longest: llama-bench's 32K-token prefill with -fa 1 alone takes over half an hour
# on 2 threads.
echo "== long context, $(date -u +%FT%TZ)"
"$python" tools/peer/bench_cpu_vs_llamacpp.py --threads "$threads" --shapes 1b --types Q4_K_M \
  --tests tg128@8192,pp16384,tg128@32768 --pairs 1
