#!/usr/bin/env bash
# Installs troupe's build and runtime dependencies from Debian bookworm's packages. The CUDA
# toolkit is expected at /usr/local/cuda (optional: without nvcc the CUDA backend is not built).
set -euo pipefail
packages=(
  cmake ninja-build g++ pkg-config python3-venv
  libcaf-dev libboost1.81-dev prometheus-cpp-dev catch2 liblzma-dev
  libopenblas-dev libonig-dev libutf8proc-dev libsentencepiece-dev libspdlog-dev libcli11-dev
  prometheus prometheus-alertmanager
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  [[ $(id -u) -ne 0 ]] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
