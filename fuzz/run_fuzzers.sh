#!/usr/bin/env bash
# Runs every libFuzzer target (or those named) for a while, niced, each on a working copy of its
# seed corpus; crashes land in $OUT/artifacts/<target>/ and each run's log and final stats in
# $OUT/logs/. Build first (docs/RELIABILITY.md):
#   CC=clang-14 CXX=clang++-14 cmake -S . -B build-fuzz -G Ninja -DTROUPE_FUZZ=ON \
#     -DTROUPE_SANITIZE=address,undefined -DTROUPE_ENABLE_CUDA=OFF -DBUILD_TESTING=OFF
#   ninja -C build-fuzz $(for t in openai-request gguf safetensors tokenizer chat-template stream-encoder; do echo troupe-fuzz-$t; done)
# Usage: fuzz/run_fuzzers.sh [-t SECONDS] [-j PARALLEL] [target ...]   (default 1200 s each, 2 at a time)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=1200
parallel=2
while getopts "t:j:" opt; do
  case $opt in
    t) seconds=$OPTARG ;;
    j) parallel=$OPTARG ;;
    *) exit 2 ;;
  esac
done
shift $((OPTIND - 1))
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
  targets=(openai_request gguf safetensors tokenizer chat_template stream_encoder)
fi
OUT=${OUT:-build-fuzz}
mkdir -p "$OUT/logs"

run_one() {
  local target=$1 binary="$OUT/fuzz/troupe-fuzz-${1//_/-}"
  local work="$OUT/corpus-work/$target" artifacts="$OUT/artifacts/$target"
  mkdir -p "$work" "$artifacts"
  cp -n fuzz/corpus/"$target"/* "$work"/ 2>/dev/null || true
  local max_len=4096
  [[ $target == gguf || $target == chat_template ]] && max_len=16384
  # -timeout: an input that takes a minute is a hang worth a report (shorter limits fire on a busy
  # machine when the fuzzer is merely descheduled); -rss_limit_mb bounds memory.
  nice -n 19 "$binary" "$work" -max_total_time="$seconds" -timeout=60 -rss_limit_mb=2048 -max_len="$max_len" \
    -print_final_stats=1 -artifact_prefix="$artifacts/" > "$OUT/logs/$target.log" 2>&1 || true
  echo "$target: $(grep -E '^stat::number_of_executed_units' "$OUT/logs/$target.log" | awk '{print $2}') execs," \
       "$(ls "$artifacts" | wc -l) artifacts"
}

running=0
for target in "${targets[@]}"; do
  run_one "$target" &
  running=$((running + 1))
  if [[ $running -ge $parallel ]]; then
    wait -n
    running=$((running - 1))
  fi
done
wait
