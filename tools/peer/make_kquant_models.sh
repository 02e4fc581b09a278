#!/usr/bin/env bash
# Re-quantizes the default model (SmolLM2-135M-Instruct Q4_1) with llama.cpp's llama-quantize to
# Q4_K_M, Q6_K, Q2_K, IQ4_XS, Q2_K with --pure (every tensor Q2_K where its width allows), IQ3_M and
# IQ3_S with --pure (the lattice types that need no importance matrix), next to it in the model
# cache, and prints their paths. These are the files of
# tests/gpu/kquant_models_test.cpp and of the K-quant figures in docs/BENCHMARKS.md.
#
#   tools/peer/make_kquant_models.sh            # builds llama.cpp first if it is not built
#   NO_BUILD=1 tools/peer/make_kquant_models.sh # only if llama-quantize is already built: exit 3 if not
#
# SmolLM2-135M's width (576) is not a multiple of 256, so llama-quantize stores the tensors whose
# rows are 576 long in its fallback types (Q5_0 for Q4_K, Q8_0 for Q6_K, Q4_0 for Q2_K and Q3_K,
# IQ4_NL for IQ4_XS) and only the 1536-long rows (the MLP's down projection) in 256-blocks: the
# files mix Q2_K … Q6_K, IQ4_XS and IQ4_NL with Q4_0, Q5_0 and Q8_0. Q2_K's own mix has no Q2_K
# tensor left (its down projections are Q3_K), hence the pure file, whose down projections are.
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
for kind in Q4_K_M Q6_K Q2_K IQ4_XS Q2_K_pure IQ3_M IQ3_S_pure; do
  out="$dir/SmolLM2-135M-Instruct.$kind.gguf"
  flags=(--allow-requantize)
  [[ $kind == *_pure ]] && flags+=(--pure)
  if [[ ! -s "$out" ]]; then
    "$bin/llama-quantize" "${flags[@]}" "$source_model" "$out.tmp" "${kind%_pure}" 2 >/dev/null 2>&1 ||
      { echo "make_kquant_models.sh: llama-quantize failed for $kind" >&2; exit 1; }
    mv "$out.tmp" "$out"
  fi
  echo "$out"
done
