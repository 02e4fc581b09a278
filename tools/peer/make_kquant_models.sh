#!/usr/bin/env bash
# Re-quantizes the default model (SmolLM2-135M-Instruct Q4_1) to Q4_K_M and Q6_K with llama.cpp's
# llama-quantize, next to it in the model cache, and prints the two paths. These are the files of
# tests/gpu/kquant_models_test.cpp and of the K-quant figures in docs/BENCHMARKS.md.
#
#   tools/peer/make_kquant_models.sh            # builds llama.cpp first if it is not built
#   NO_BUILD=1 tools/peer/make_kquant_models.sh # only if llama-quantize is already built: exit 3 if not
#
# SmolLM2-135M's width (576) is not a multiple of 256, so llama-quantize stores the tensors whose
# rows are 576 long in its fallback types (Q5_0 for Q4_K, Q8_0 for Q6_K) and only the 1536-long
# rows (the MLP's down projection) in K-quant blocks: the files mix Q4_K, Q6_K, Q5_0 and Q8_0.
set -euo pipefail
cd "$(dirname "$0")/../.."
version=${LLAMA_CPP_PYTHON_VERSION:-0.3.36}
bin="${PEER_CACHE:-$HOME/.cache/troupe}/llama.cpp-$version/build/bin"
if [[ ! -x "$bin/llama-quantize" ]]; then
  if [[ -n "${NO_BUILD:-}" ]]; then
    echo "make_kquant_models.sh: llama-quantize is not built (tools/peer/build_llamacpp.sh)" >&2
    exit 3
  fi
  bin=$(tools/peer/build_llamacpp.sh)
fi
source_model=$(tools/fetch_default_model.sh)
dir=$(dirname "$source_model")
for kind in Q4_K_M Q6_K; do
  out="$dir/SmolLM2-135M-Instruct.$kind.gguf"
  if [[ ! -s "$out" ]]; then
    "$bin/llama-quantize" --allow-requantize "$source_model" "$out.tmp" "$kind" 2 >/dev/null 2>&1 ||
      { echo "make_kquant_models.sh: llama-quantize failed for $kind" >&2; exit 1; }
    mv "$out.tmp" "$out"
  fi
  echo "$out"
done
