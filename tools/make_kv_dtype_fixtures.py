#!/usr/bin/env python3
"""Reference encodings for the CPU KV cache's stored types (gpu/cpu/kv_dtype.hpp).

Run from the repository root:

    .venv-test/bin/pip install ml_dtypes   # once
    .venv-test/bin/python tools/make_kv_dtype_fixtures.py [--out tests/fixtures/kv_dtype]

Random float32 rows (unit-normal values at several scales, values near each type's smallest and
largest, and exact rounding ties) and what other people's code stores for them:
  float16   numpy's float32 -> float16 cast (IEEE round to nearest even);
  bfloat16  ml_dtypes.bfloat16;
  fp8_e4m3  ml_dtypes.float8_e4m3fn (values kept within ±448: ml_dtypes turns larger ones into
            NaN, vLLM's kernels saturate; the C++ test checks the saturation itself);
  q8_0      gguf.quants.quantize(..., Q8_0), llama.cpp's block layout.
Files: input.f32 (little-endian float32), float16.bin, bfloat16.bin, fp8_e4m3.bin, q8_0.bin and
manifest.json (counts and package versions). Deterministic (fixed seed).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
from pathlib import Path

import ml_dtypes
import numpy as np

import gguf

N_VALUES = 4096  # a multiple of 32 (q8_0 blocks)


def inputs() -> np.ndarray:
    rng = np.random.default_rng(20261205)
    parts = [
        rng.standard_normal(1024),
        rng.standard_normal(1024) * 40.0,            # fp8's upper range, f16's middle
        rng.standard_normal(512) * 1e-3,             # fp8 subnormals
        rng.uniform(-448.0, 448.0, 512),
        rng.standard_normal(512) * 1e-6,             # f16 subnormals, fp8 zero
    ]
    # Exact ties of each narrow type: halfway between neighbours, both parities.
    ties = []
    for k in range(8):
        ties += [1.0 + (2 * k + 1) / 16.0, -(1.0 + (2 * k + 1) / 16.0)]  # e4m3 ties at [1, 2)
        ties += [1.0 + (2 * k + 1) / 2048.0, 2.0 ** -10 * (2 * k + 1) / 2]  # f16: normal tie, e4m3 subnormal tie
        ties += [1.0 + (2 * k + 1) / 256.0]  # bf16 ties
    ties += [2.0 ** -10, 2.0 ** -25, 3 * 2.0 ** -25, 0.0, -0.0]
    values = np.concatenate(parts + [np.array(ties)])
    values = values[:N_VALUES]
    values = np.concatenate([values, rng.standard_normal(N_VALUES - len(values))])
    return values.astype(np.float32)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=Path("tests/fixtures/kv_dtype"))
    args = ap.parse_args()
    x = inputs()
    assert len(x) == N_VALUES and np.all(np.abs(x) <= 448.0)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "input.f32").write_bytes(x.astype("<f4").tobytes())
    (args.out / "float16.bin").write_bytes(x.astype("<f2").tobytes())
    (args.out / "bfloat16.bin").write_bytes(x.astype(ml_dtypes.bfloat16).view("<u2").tobytes())
    (args.out / "fp8_e4m3.bin").write_bytes(x.astype(ml_dtypes.float8_e4m3fn).view(np.uint8).tobytes())
    q8 = gguf.quants.quantize(x.reshape(-1, 32), gguf.GGMLQuantizationType.Q8_0)
    (args.out / "q8_0.bin").write_bytes(np.asarray(q8, dtype=np.uint8).tobytes())
    manifest = {
        "values": N_VALUES,
        "files": ["input.f32", "float16.bin", "bfloat16.bin", "fp8_e4m3.bin", "q8_0.bin"],
        "versions": {p: importlib.metadata.version(p) for p in ("numpy", "ml_dtypes", "gguf")},
    }
    (args.out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"wrote {N_VALUES} values and their encodings to {args.out}")


if __name__ == "__main__":
    main()
