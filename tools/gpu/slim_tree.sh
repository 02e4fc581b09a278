#!/usr/bin/env bash
# Makes the working tree light enough to travel to a lent GPU with the bundle (the device tool carries
# 64 MiB in all): removes from the working tree — not from git — the tracked fixtures that
# tools/gpu/device_check.sh does not read. It keeps every model fixture a CUDA test or a tools/gpu
# script names, the SmolLM2 tokenizer model_parity.py builds its models with, and every ignored file
# (the tokenizer cache the unit tests fetch).
#
#   bash tools/gpu/slim_tree.sh          then make_bundle.sh and the device run
#   git checkout -- tests/fixtures       afterwards: puts every removed file back
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! git diff --quiet -- tests/fixtures; then
  echo "slim_tree: tests/fixtures has changes of its own; commit or restore them first" >&2
  exit 1
fi
# Every quoted word in the CUDA tests and the device scripts: the fixture names they read.
named=$(grep -rhoE '"[a-z0-9_]+' tests/gpu/cuda tools/gpu | tr -d '"' | sort -u)
removed=0
drop() {  # the tracked files under $1
  local file
  while IFS= read -r -d '' file; do
    [[ -f $file ]] || continue
    removed=$((removed + $(stat -c %s "$file")))
    rm -f "$file"
  done < <(git ls-files -z -- "$1")
}
for dir in tests/fixtures/models/*/; do
  grep -qx "$(basename "$dir")" <<<"$named" || drop "$dir"
done
for dir in tests/fixtures/tokenizer/*/; do
  [[ $(basename "$dir") == smollm2 ]] || drop "$dir"
done
echo "slim_tree: $((removed / 1024 / 1024)) MiB of tracked fixtures the device check does not read removed from the" \
  "working tree; git checkout -- tests/fixtures restores them"
