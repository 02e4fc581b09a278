#!/usr/bin/env bash
# Builds llama.cpp's llama-bench, llama-server and llama-quantize from the tree vendored in the
# llama-cpp-python sdist on PyPI (the peer every CPU figure in docs/BENCHMARKS.md is measured
# against), into a cache folder, and prints that folder's bin/ path.
#
#   tools/peer/build_llamacpp.sh            # builds once, then only prints the path
#   LLAMA_CPP_BUILD=avx2 tools/peer/build_llamacpp.sh
#
# Env: LLAMA_CPP_PYTHON_VERSION (0.3.36), PEER_CACHE (~/.cache/troupe), JOBS (2),
#      PYTHON (python3 with pip; the test venv works),
#      LLAMA_CPP_BUILD: native (default) or avx2.
# native is llama.cpp as its users build it (GGML_NATIVE=ON: every instruction set this CPU has,
# AVX-512 and VNNI included), the peer every ratio is reported against — except AMX: on this
# project's Intel Xeon VM (AMX enabled in XCR0, permission granted) every quantized matmul of the
# vendored tree's AMX path dies with a general protection fault in ggml_backend_amx_mul_mat
# (llama-bench and llama-server, SmolLM2 and Gemma 3 alike), so the AMX instructions are left out
# of -march=native and the AVX-512 kernels run. avx2 is the portable AVX2/FMA/F16C build, for
# machines without AVX-512 and for AVX2-against-AVX2 figures. CPU only, no curl, either way.
set -euo pipefail
version=${LLAMA_CPP_PYTHON_VERSION:-0.3.36}
cache=${PEER_CACHE:-$HOME/.cache/troupe}
jobs=${JOBS:-2}
variant=${LLAMA_CPP_BUILD:-native}
root="$cache/llama.cpp-$version"
case "$variant" in
  native) build="$root/build"
          flags=(-DGGML_NATIVE=ON "-DCMAKE_C_FLAGS=-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
                 "-DCMAKE_CXX_FLAGS=-mno-amx-tile -mno-amx-int8 -mno-amx-bf16") ;;
  avx2) build="$root/build-avx2" ; flags=(-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON) ;;
  *) echo "build_llamacpp.sh: LLAMA_CPP_BUILD must be native or avx2 (got $variant)" >&2; exit 2 ;;
esac
bin="$build/bin"
targets=(llama-bench llama-server llama-quantize)

done_all=1
for t in "${targets[@]}"; do [[ -x "$bin/$t" ]] || done_all=0; done
if ((done_all)); then echo "$bin"; exit 0; fi

python=${PYTHON:-python3}
[[ -x /work/main/.venv-test/bin/python && -z "${PYTHON:-}" ]] && python=/work/main/.venv-test/bin/python
mkdir -p "$root"
if [[ ! -f "$root/src/vendor/llama.cpp/CMakeLists.txt" ]]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  "$python" -m pip download --quiet --no-deps --no-binary :all: --dest "$tmp" "llama-cpp-python==$version" >&2
  sdist=$(ls "$tmp"/llama_cpp_python-*.tar.gz)
  rm -rf "$root/src"
  mkdir -p "$root/src"
  tar -xzf "$sdist" -C "$root/src" --strip-components=1
fi
cmake -S "$root/src/vendor/llama.cpp" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release "${flags[@]}" \
  -DLLAMA_BUILD_SERVER=ON -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
  -DBUILD_SHARED_LIBS=OFF >&2
ninja -C "$build" -j"$jobs" "${targets[@]}" >&2
echo "$bin"
