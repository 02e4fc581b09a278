#!/usr/bin/env bash
# Builds what tools/gpu/device_check.sh runs on a lent GPU machine, which has the CUDA runtime,
# cuBLAS, torch and transformers but none of troupe's other dependencies and no package registry.
#
#   bash tools/gpu/make_bundle.sh        (repository root or anywhere; prints the archive's size)
#
# A Release build with the CUDA backend for sm_90 (H100/H200; plus PTX) in build-gpu-bundle/:
# troupe, the GPU test executable, troupe-cuda-bench and troupe-dump-logits, stripped, with every
# shared library they load that such a machine lacks (CAF, OpenBLAS and its Fortran runtime,
# Oniguruma, utf8proc, spdlog, fmt, prometheus-cpp, ...). The C library and the CUDA libraries come
# from the GPU machine; libstdc++ and libgcc_s go in lib-fallback/, used there only if the
# machine's own are older than the ones this build needs. Scripts and fixtures travel with the
# working tree, so the archive holds binaries and libraries only: .gpu-bundle/troupe-gpu.tar.xz
# (git-ignored), sized to leave the tracked tree room under the device tool's 64 MiB.
set -euo pipefail
cd "$(dirname "$0")/../.."

build=build-gpu-bundle
out=.gpu-bundle
command -v nvcc >/dev/null || [[ -x /usr/local/cuda/bin/nvcc ]] || { echo "make_bundle: no nvcc (the CUDA toolkit is needed)" >&2; exit 1; }

launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_CUDA_COMPILER_LAUNCHER=ccache)
configure_log=$(cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=ON "${launcher[@]}")
grep -q "troupe: CUDA backend ON" <<<"$configure_log" || { echo "make_bundle: CMake did not enable the CUDA backend" >&2; exit 1; }
targets=(troupe troupe_gpu_tests troupe-cuda-bench troupe-dump-logits)
cmake --build "$build" --target "${targets[@]}"

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root="$stage/troupe-gpu"
mkdir -p "$root/bin" "$root/lib" "$root/lib-fallback"
binaries=("$build/troupe" "$build/tests/troupe_gpu_tests" "$build/tools/troupe-cuda-bench" "$build/tools/troupe-dump-logits")
for b in "${binaries[@]}"; do
  [[ -x $b ]] || { echo "make_bundle: $b was not built" >&2; exit 1; }
  objcopy --strip-all "$b" "$root/bin/$(basename "$b")"
done

# Every library the binaries resolve here, sorted into: provided by the GPU machine (glibc, the
# CUDA runtime and libraries, the driver), fallback (the C++ runtime), or carried.
declare -A seen=()
while read -r name path; do
  [[ -n ${seen[$name]:-} ]] && continue
  seen[$name]=1
  case "$name" in
    linux-vdso.so*|ld-linux*|libc.so*|libm.so*|libpthread.so*|libdl.so*|librt.so*|libresolv.so*) ;;
    libcuda.so*|libcudart.so*|libcublas.so*|libcublasLt.so*|libnvidia-ml.so*|libnvrtc.so*) ;;
    libstdc++.so*|libgcc_s.so*) cp -L "$path" "$root/lib-fallback/$name" ;;
    *) cp -L "$path" "$root/lib/$name" ;;
  esac
done < <(for b in "${binaries[@]}"; do ldd "$b"; done | awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}')
strip --strip-unneeded "$root"/lib/*.so* "$root"/lib-fallback/*.so* 2>/dev/null || true

{
  echo "built $(date -u +%Y-%m-%dT%H:%M:%SZ) from $(git rev-parse --short HEAD)$(git diff --quiet HEAD || echo '+changes')"
  echo "nvcc: $("$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)" --version | tail -1)"
  echo "needs from the GPU machine: $(for b in "${binaries[@]}"; do ldd "$b"; done | awk '{print $1}' |
    grep -E '^lib(cudart|cublas|cublasLt)\.so' | sort -u | tr '\n' ' ')"
} >"$root/BUILD_INFO"

mkdir -p "$out"
# -9: a 64 MiB dictionary spans the whole archive (about 65 MiB unpacked), where -6's 8 MiB missed
# what the binaries share: 10.1 MB against 11.3 (measured on the 2026-12-06 bundle), room the tree
# needs.
tar -C "$stage" -cf - troupe-gpu | xz -T0 -9 >"$out/troupe-gpu.tar.xz.tmp"
mv "$out/troupe-gpu.tar.xz.tmp" "$out/troupe-gpu.tar.xz"
bundle_bytes=$(stat -c %s "$out/troupe-gpu.tar.xz")
tree_bytes=$(git ls-files -z | xargs -0 stat -c %s 2>/dev/null | awk '{s += $1} END {print s}')
untracked_bytes=$(git ls-files -z --others --exclude-standard | xargs -0 -r stat -c %s 2>/dev/null | awk '{s += $1} END {print s + 0}')
echo "make_bundle: $out/troupe-gpu.tar.xz: $((bundle_bytes / 1024 / 1024)) MiB ($bundle_bytes bytes);" \
  "with the working tree ($(((tree_bytes + untracked_bytes) / 1024 / 1024)) MiB) $(((bundle_bytes + tree_bytes + untracked_bytes) / 1024 / 1024)) MiB of the 64 MiB the device tool carries"
# The device tool's 64 MiB counts what this sums (tracked, untracked-not-ignored and carried files);
# 1 MiB is left for files written between this check and the call.
if ((bundle_bytes + tree_bytes + untracked_bytes > 63 * 1024 * 1024)); then
  echo "make_bundle: too large to travel with the tree; bash tools/gpu/slim_tree.sh removes from the working tree" \
    "the fixtures the device check does not read (git checkout -- tests/fixtures restores them)" >&2
  exit 1
fi
