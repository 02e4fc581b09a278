#!/usr/bin/env python3
"""||got - want|| / ||want|| between a committed fixture's reference logits and a troupe-dump-logits file.

    fixture_logits_error.py tests/fixtures/models/llama batch --prompts OUT.json   (writes the case's sequences)
    fixture_logits_error.py tests/fixtures/models/llama batch --logits GOT.f32      (prints the relative error)

Standard library only: tools/gpu/device_check.sh runs it before it knows whether numpy or torch exist.
"""
import json
import sys
from array import array
from pathlib import Path


def main() -> int:
    folder, case_name, mode, path = Path(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    ref = json.loads((folder / "reference.json").read_text())
    case = next(c for c in ref["cases"] if c["name"] == case_name)
    if mode == "--prompts":
        Path(path).write_text(json.dumps({"sequences": case["sequences"]}))
        return 0
    want, got = array("f"), array("f")
    want.frombytes((folder / case["logits"]).read_bytes())
    got.frombytes(Path(path).read_bytes())
    if len(want) != len(got):
        print(f"size mismatch: {len(got)} values, want {len(want)}", file=sys.stderr)
        return 1
    num = sum((a - b) ** 2 for a, b in zip(got, want)) ** 0.5
    den = sum(b * b for b in want) ** 0.5
    print(f"{num / den:.1e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
