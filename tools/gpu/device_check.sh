#!/usr/bin/env bash
# The CUDA backend's whole check on a lent GPU machine, in one run of under 8 minutes.
#
#   here (builds the bundle):     bash tools/gpu/make_bundle.sh
#   there (the device tool):      run(command="bash tools/gpu/device_check.sh", carry=[".gpu-bundle"], timeout_s=540)
#
# From the repository root. Unpacks .gpu-bundle/troupe-gpu.tar.xz and runs the bundle's binaries
# with its libraries (LD_LIBRARY_PATH for them only: python's torch keeps its own). Steps:
#   1. nvidia-smi; the bundle's libraries resolve; troupe runs; the CPU backend of the bundled
#      binary reproduces the committed transformers logits of the tiny fixture models;
#   2. every CUDA test (TROUPE_EXPECT_CUDA=1: a missing device fails rather than skips), with each
#      kernel's measured relative error;
#   3. model parity (tools/gpu/model_parity.py): random-weight Llama, Qwen2, Qwen3 models, tiny and
#      Qwen2.5-0.5B-shaped, CUDA (bf16, fp16) and CPU logits against transformers fp32 on the GPU,
#      and 32 greedy tokens each;
#   4. troupe-cuda-bench: copy bandwidth, decode tok/s at 1/16/64/256 sequences for the 0.5B and
#      7B shapes, roofline fraction;
#   5. troupe serve --device cuda on the 0.5B-shaped Qwen2 model, tools/loadgen.py at concurrency
#      1, 16, 64, 256 (--ignore-eos), one /metrics scrape for the NVML and device-memory series;
#   6. tensor parallelism: `troupe generate --tensor-parallel-size 1` (a group of one rank, its NCCL
#      communicator made) against the plain backend on the 0.5B model, and 2 ranks where the
#      machine has two GPUs (the CUDA tests of step 2 include a one-rank NCCL all-reduce; NCCL is
#      the one torch's wheels ship, found below);
#   7. where a single-stream decode step's GPU time goes: ncu times every kernel of about two
#      steps of troupe-cuda-bench (0.5B and 7B shapes), summed per kernel (tools/gpu/kernel_times.py);
#   8. a table of every check and figure, last in the output.
# Writes under $OUT (the device tool's folder; default .gpu-out/): device_check.log, summary.txt,
# kernel_errors.tsv, parity.json, cuda_bench.txt, loadgen.jsonl, metrics.txt, tests.txt.
#
# Exit status: 0 every check passed; 1 a check failed; 3 no CUDA device: only the steps that need
# none ran, and each GPU step says "no device" with the reason.
set -uo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
started=$SECONDS
budget=${TROUPE_CHECK_SECONDS:-470}  # the whole run, leaving the device tool's call time to spare
OUT=${OUT:-$repo/.gpu-out}
mkdir -p "$OUT"
exec > >(tee "$OUT/device_check.log") 2>&1

rows=()
failed=0
record() {  # check, result (ok | FAIL | no device | skipped), detail
  rows+=("$1|$2|$3")
  [[ $2 == FAIL ]] && failed=1
  printf '== %s: %s %s\n' "$1" "$2" "$3"
}
left() { echo $((budget - (SECONDS - started))); }
# Runs a step only if `need` seconds remain, under a timeout of what remains.
fits() { (($(left) >= $1)); }

print_summary() {
  {
    printf '\n%-34s %-10s %s\n' "check" "result" "detail"
    printf '%-34s %-10s %s\n' "-----" "------" "------"
    for r in "${rows[@]}"; do IFS='|' read -r c s d <<<"$r"; printf '%-34s %-10s %s\n' "$c" "$s" "$d"; done
    printf 'total %d s\n' $((SECONDS - started))
  } | tee "$OUT/summary.txt"
}

# ---- 1. the bundle, the device, the CPU side ------------------------------------------------
bundle=.gpu-bundle/troupe-gpu.tar.xz
if [[ ! -f $bundle ]]; then
  record "bundle" FAIL "$bundle missing: run tools/gpu/make_bundle.sh here and carry .gpu-bundle"
  print_summary
  exit 1
fi
unpacked=$(mktemp -d /tmp/troupe-gpu.XXXXXX)
tar -C "$unpacked" -xJf "$bundle"
B=$unpacked/troupe-gpu
echo "bundle: $(head -1 "$B/BUILD_INFO")"

# CUDA runtime and cuBLAS from this machine: the toolkit's folders, else the pip wheels torch uses.
cuda_libs=""
for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib /usr/local/cuda-*/targets/x86_64-linux/lib \
  $(python3 -c 'import glob, site; [print(p) for s in site.getsitepackages() for p in glob.glob(s + "/nvidia/*/lib")]' 2>/dev/null); do
  [[ -e $d/libcublas.so.13 || -e $d/libcudart.so.13 ]] && cuda_libs+="${cuda_libs:+:}$d"
done
lib_path="$B/lib${cuda_libs:+:$cuda_libs}"
# NCCL, which troupe loads when it makes a tensor-parallel group on CUDA: the toolkit's or torch's.
nccl=$(ls /usr/local/cuda/lib64/libnccl.so.2 /usr/local/cuda-*/lib*/libnccl.so.2 \
  $(python3 -c 'import glob, site; [print(p) for s in site.getsitepackages() for p in glob.glob(s + "/nvidia/nccl*/lib/libnccl.so.2")]' 2>/dev/null) \
  2>/dev/null | head -1)
if [[ -n $nccl ]]; then
  export TROUPE_NCCL_LIBRARY=$nccl TROUPE_EXPECT_NCCL=1
  echo "NCCL: $nccl"
fi
run_bin() { LD_LIBRARY_PATH="$lib_path${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$@"; }
# The machine's C++ runtime, unless it is older than this build needs.
if run_bin ldd "$B/bin/troupe" | grep -q "version .GLIBCXX.* not found\|version .GCC.* not found"; then
  lib_path="$lib_path:$B/lib-fallback"
  echo "using the bundle's libstdc++ (this machine's is older)"
fi

if command -v nvidia-smi >/dev/null && nvidia-smi; then
  record "nvidia-smi" ok "$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | head -1)"
else
  record "nvidia-smi" "no device" "nvidia-smi missing or failing"
fi

unresolved=$(for b in "$B"/bin/*; do run_bin ldd "$b"; done | awk '/not found/ {print $1}' | sort -u | tr '\n' ' ')
outside=$(for b in "$B"/bin/*; do run_bin ldd "$b"; done | awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}' |
  grep -v " $B/" | awk '{print $1}' | grep -Ev '^(ld-linux|libc|libm|libpthread|libdl|librt|libresolv|libstdc\+\+|libgcc_s|libcuda|libcudart|libcublas|libcublasLt)\.' |
  sort -u | tr '\n' ' ')
if [[ -n $unresolved ]]; then
  record "bundle libraries" FAIL "not found: $unresolved"
elif [[ -n $outside ]]; then
  record "bundle libraries" FAIL "resolved outside the bundle: $outside"
else
  record "bundle libraries" ok "$(ls "$B/lib" | wc -l) carried; CUDA from ${cuda_libs:-the default library path}"
fi

if run_bin "$B/bin/troupe" --help >/dev/null; then record "troupe runs" ok "troupe --help"; else record "troupe runs" FAIL "troupe --help"; fi

# The bundled CPU backend against transformers' logits committed for the tiny fixtures, its KV cache
# in float32 (auto would keep the bfloat16 fixtures' cache in bfloat16: 3e-3 off, not a fault).
cpu_detail=""
cpu_ok=ok
for m in llama qwen2 qwen3 gemma3 mistral iquestcoder; do
  folder=tests/fixtures/models/$m
  if python3 tools/gpu/fixture_logits_error.py "$folder" batch --prompts "/tmp/prompts-$m.json" &&
    run_bin "$B/bin/troupe-dump-logits" "$folder" --prompts "/tmp/prompts-$m.json" --logits "/tmp/cpu-$m.f32" \
      --device cpu --threads 4 --kv-cache-dtype float32 2>/dev/null &&
    err=$(python3 tools/gpu/fixture_logits_error.py "$folder" batch --logits "/tmp/cpu-$m.f32"); then
    cpu_detail+="$m $err; "
    python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) < 1e-4 else 1)" "$err" || cpu_ok=FAIL
  else
    cpu_ok=FAIL
    cpu_detail+="$m failed; "
  fi
done
record "CPU backend vs transformers" "$cpu_ok" "rel err ${cpu_detail}(< 1e-4)"

probe=$(run_bin "$B/bin/troupe-cuda-bench" --probe 2>&1)
if [[ $? -ne 0 ]]; then
  reason=${probe#*no CUDA device }
  for step in "CUDA tests" "model parity" "cuda bench" "serve + loadgen" "metrics: NVML, device memory" "tensor parallel" "kernel profile"; do
    record "$step" "no device" "$reason"
  done
  print_summary
  exit $((failed ? 1 : 3))
fi
echo "$probe"
export TROUPE_EXPECT_CUDA=1

# ---- 2. CUDA tests ---------------------------------------------------------------------------
rm -f "$OUT/kernel_errors.tsv"
if fits 60; then
  TROUPE_FIXTURES_DIR=$repo/tests/fixtures TROUPE_GPU_ERRORS=$OUT/kernel_errors.tsv timeout $(($(left) > 150 ? 150 : $(left))) \
    env LD_LIBRARY_PATH="$lib_path" "$B/bin/troupe_gpu_tests" "[cuda]~[smollm2],[device]" -r compact >"$OUT/tests.txt" 2>&1
  status=$?
  tail -5 "$OUT/tests.txt"
  summary=$(grep -E "^(Passed|Failed)|test cases" "$OUT/tests.txt" | tail -1)
  if ((status == 0)); then record "CUDA tests" ok "$summary (SmolLM2 GGUF test not run: its 98 MB file cannot travel)"; else record "CUDA tests" FAIL "exit $status: $summary (see tests.txt)"; fi
  if [[ -s $OUT/kernel_errors.tsv ]]; then
    echo "largest relative error per test:"
    awk -F'\t' '{if (!($1 in m) || $2 > m[$1]) m[$1] = $2} END {for (k in m) printf "  %-90s %.2e\n", k, m[k]}' "$OUT/kernel_errors.tsv" | sort
  fi
else
  record "CUDA tests" skipped "out of time"
fi

# ---- 3. model parity -------------------------------------------------------------------------
work=/tmp/troupe-models
if fits 150; then
  # python (torch) keeps the machine's libraries; only troupe-dump-logits gets the bundle's.
  printf '#!/bin/sh\nLD_LIBRARY_PATH="%s" exec "%s" "$@"\n' "$lib_path" "$B/bin/troupe-dump-logits" >"$unpacked/dump-logits"
  chmod +x "$unpacked/dump-logits"
  PYTHONUNBUFFERED=1 timeout $(($(left) - 120)) python3 tools/gpu/model_parity.py \
    --dump "$unpacked/dump-logits" --work "$work" --out "$OUT/parity.json" | tee /tmp/parity.log
  status=${PIPESTATUS[0]}
  detail=$(sed -n 's/^parity summary: //p' /tmp/parity.log)
  if ((status == 0)); then record "model parity" ok "$detail"; else record "model parity" FAIL "exit $status: $detail"; fi
else
  record "model parity" skipped "out of time"
fi

# ---- 4. decode benchmark ---------------------------------------------------------------------
if fits 90; then
  timeout $(($(left) - 60)) env LD_LIBRARY_PATH="$lib_path" "$B/bin/troupe-cuda-bench" | tee "$OUT/cuda_bench.txt"
  if (($? == 0)); then
    detail=$(awk '/copy:/ {bw = $3} /shaped/ {m = $1} $1 == "1" && m ~ /7B/ {r = $5} END {printf "copy %s GB/s; 7B single-stream roofline %s", bw, r}' "$OUT/cuda_bench.txt")
    record "cuda bench" ok "$detail"
  else
    record "cuda bench" FAIL "see cuda_bench.txt"
  fi
else
  record "cuda bench" skipped "out of time"
fi

# ---- 5. serving under load -------------------------------------------------------------------
if [[ -d $work/qwen2-0.5b ]] && fits 60; then
  port=18123
  env LD_LIBRARY_PATH="$lib_path" "$B/bin/troupe" serve "$work/qwen2-0.5b" --device cuda --port $port \
    --max-num-seqs 256 --max-num-batched-tokens 8192 --max-model-len 2048 >/tmp/serve.log 2>&1 &
  server=$!
  for _ in $(seq 120); do
    python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/health', timeout=1)" 2>/dev/null && break
    sleep 0.5
  done
  : >"$OUT/loadgen.jsonl"
  load_ok=ok
  figures=""
  for c in 1 16 64 256; do
    fits 25 || { figures+="c=$c skipped (time); "; continue; }
    n=$((c < 8 ? 8 : 2 * c))
    if timeout $(($(left) - 15)) python3 tools/loadgen.py --base-url "http://127.0.0.1:$port" --concurrency $c --num-requests $n \
      --prompt-len 128 --max-tokens 128 --ignore-eos --json >/tmp/loadgen-$c.json; then
      line=$(python3 tools/gpu/loadgen_summary.py "/tmp/loadgen-$c.json" $c "$OUT/loadgen.jsonl") || load_ok=FAIL
      figures+="c=$c $line; "
    else
      load_ok=FAIL
      figures+="c=$c failed; "
    fi
  done
  record "serve + loadgen" "$load_ok" "$figures"
  python3 -c "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:$port/metrics', timeout=5).read().decode())" >"$OUT/metrics.txt" 2>&1
  missing=""
  for series in 'troupe_device_utilization_ratio' 'troupe_device_temperature_celsius' 'troupe_device_power_watts' \
    'troupe_device_memory_bytes{.*kind="used"' 'troupe_device_memory_bytes{.*kind="kv_cache"' 'troupe_device_memory_bytes{.*kind="weights"'; do
    grep -Eq "^$series" "$OUT/metrics.txt" || missing+="$series "
  done
  if [[ -z $missing ]]; then
    record "metrics: NVML, device memory" ok "$(grep -E '^troupe_device_(utilization|memory_bytes.*used)' "$OUT/metrics.txt" | tr '\n' ' ' | cut -c1-160)"
  else
    record "metrics: NVML, device memory" FAIL "missing: $missing"
  fi
  kill -TERM $server 2>/dev/null
  wait $server 2>/dev/null
  tail -3 /tmp/serve.log
else
  record "serve + loadgen" skipped "$([[ -d $work/qwen2-0.5b ]] && echo "out of time" || echo "no 0.5B model (parity step did not make it)")"
fi

# ---- 6. tensor parallelism -------------------------------------------------------------------
if [[ -z $nccl ]]; then
  record "tensor parallel" FAIL "no libnccl.so.2 found (toolkit or nvidia-nccl wheel)"
elif [[ -d $work/qwen2-0.5b ]] && fits 30; then
  ids=$(seq -s, 1 40)
  gen() { timeout 60 env LD_LIBRARY_PATH="$lib_path" "$B/bin/troupe" generate "$work/qwen2-0.5b" --device cuda --prompt-ids "$ids" \
    --print-ids --max-tokens 32 --ignore-eos "$@" 2>>/tmp/tp.log; }
  plain=$(gen)
  one=$(gen --tensor-parallel-size 1)
  gpus=$(nvidia-smi -L 2>/dev/null | wc -l)
  detail="TP=1 (NCCL $(basename "$nccl")): $([[ -n $plain && $one == "$plain" ]] && echo "32 ids identical" || echo "DIFFERENT")"
  tp_ok=ok
  [[ -n $plain && $one == "$plain" ]] || tp_ok=FAIL
  if ((gpus >= 2)); then
    two=$(gen --tensor-parallel-size 2)
    same=$(python3 -c 'import sys; a, b = sys.argv[1].split(","), sys.argv[2].split(","); n = 0
while n < min(len(a), len(b)) and a[n] == b[n]: n += 1
print(n)' "$plain" "${two:-x}")
    detail+="; TP=2 on $gpus GPUs: first $same of 32 ids as one GPU"
    [[ -n $two ]] || tp_ok=FAIL
  else
    detail+="; one GPU: more than one rank unverified"
  fi
  record "tensor parallel" "$tp_ok" "$detail"
  tail -3 /tmp/tp.log
else
  record "tensor parallel" skipped "$([[ -d $work/qwen2-0.5b ]] && echo "out of time" || echo "no 0.5B model")"
fi

# ---- 7. kernel profile ------------------------------------------------------------------------
# Skips the load, the prefill and the warm-up (graph capture), then times about two decode steps
# kernel by kernel (ncu serializes them: the sum is GPU time without launch gaps).
ncu_bin=$(command -v ncu || ls /usr/local/cuda/bin/ncu /opt/nvidia/nsight-compute/*/ncu 2>/dev/null | head -1)
if [[ -z $ncu_bin ]]; then
  record "kernel profile" skipped "no ncu on this machine"
elif fits 100; then
  prof_detail=""
  prof_ok=ok
  for shape in 0.5b 7b; do
    launches=$([[ $shape == 7b ]] && echo 700 || echo 600)
    if timeout $(($(left) > 120 ? 90 : $(left) - 30)) env LD_LIBRARY_PATH="$lib_path" "$ncu_bin" --cache-control none \
      --launch-skip 2500 --launch-count "$launches" --metrics gpu__time_duration.sum --csv \
      "$B/bin/troupe-cuda-bench" --shape $shape --sequences 1 >"/tmp/ncu-$shape.csv" 2>"/tmp/ncu-$shape.err" &&
      python3 tools/gpu/kernel_times.py "/tmp/ncu-$shape.csv" --top 12 | tee "/tmp/kernels-$shape.txt"; then
      prof_detail+="$shape: $(awk 'NR > 1 && NR <= 4 && $1 != "all" {printf "%s %s; ", substr($1, 1, 40), $NF}' "/tmp/kernels-$shape.txt")"
    else
      prof_ok=FAIL
      prof_detail+="$shape: ncu failed ($(tail -1 "/tmp/ncu-$shape.err")); "
    fi
  done
  record "kernel profile" "$prof_ok" "$prof_detail"
else
  record "kernel profile" skipped "out of time"
fi

print_summary
exit $failed
