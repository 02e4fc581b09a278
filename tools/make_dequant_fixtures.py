#!/usr/bin/env python3
"""Block-level dequantization fixtures for GGUF tensor types.

Run from the repository root:

    /opt/refenv/bin/python tools/make_dequant_fixtures.py [--out tests/fixtures/dequant]

For each type, random raw blocks in the type's byte layout (random quant bytes; f16 scale
and min fields drawn as sane finite values) and the float32 values the `gguf` package's own
`gguf.quants.dequantize` gives for them. Files per type:
  <TYPE>.raw  the raw blocks, back to back
  <TYPE>.f32  the expected values, little-endian float32, n_blocks * block_elems of them
and manifest.json describing them. Deterministic (fixed seed).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import sys
from pathlib import Path

import numpy as np

import gguf
from gguf import GGMLQuantizationType as T

N_BLOCKS = 48  # quantized types
N_ELEMS_FLOAT = 1024  # F16 / BF16: one element per block, so more blocks

# Byte layout of one block: list of (field, kind, count). kind: "d" = signed f16 scale,
# "dpos" = positive f16 scale (K-quant d / dmin), "m" = f16 min (either sign),
# "u8" = random bytes, "i8" = random bytes (int8 scales), "e8m0" = an exponent byte of a power-of-two
# scale, 2^(e - 127), for scales from 2^-37 to 2^32 (MXFP4), "iq1m" = IQ1_M's four 16-bit scale words:
# random 3-bit scales below, the top nibbles together a signed f16 d.
LAYOUTS: dict[T, list[tuple[str, str, int]]] = {
    T.Q4_0: [("d", "d", 1), ("qs", "u8", 16)],
    T.Q4_1: [("d", "d", 1), ("m", "m", 1), ("qs", "u8", 16)],
    T.Q5_0: [("d", "d", 1), ("qh", "u8", 4), ("qs", "u8", 16)],
    T.Q5_1: [("d", "d", 1), ("m", "m", 1), ("qh", "u8", 4), ("qs", "u8", 16)],
    T.Q8_0: [("d", "d", 1), ("qs", "u8", 32)],
    T.Q4_K: [("d", "dpos", 1), ("dmin", "dpos", 1), ("scales", "u8", 12), ("qs", "u8", 128)],
    T.Q5_K: [("d", "dpos", 1), ("dmin", "dpos", 1), ("scales", "u8", 12), ("qh", "u8", 32),
             ("qs", "u8", 128)],
    T.Q6_K: [("ql", "u8", 128), ("qh", "u8", 64), ("scales", "i8", 16), ("d", "d", 1)],
    T.Q2_K: [("scales", "u8", 16), ("qs", "u8", 64), ("d", "dpos", 1), ("dmin", "dpos", 1)],
    T.Q3_K: [("hmask", "u8", 32), ("qs", "u8", 64), ("scales", "u8", 12), ("d", "d", 1)],
    T.IQ4_NL: [("d", "d", 1), ("qs", "u8", 16)],
    T.IQ4_XS: [("d", "d", 1), ("scales_h", "u8", 2), ("scales_l", "u8", 4), ("qs", "u8", 128)],
    T.MXFP4: [("e", "e8m0", 1), ("qs", "u8", 16)],
    T.IQ2_XXS: [("d", "d", 1), ("qs", "u8", 64)],
    T.IQ2_XS: [("d", "d", 1), ("qs", "u8", 64), ("scales", "u8", 8)],
    T.IQ2_S: [("d", "d", 1), ("qs", "u8", 32), ("signs", "u8", 32), ("qh", "u8", 8), ("scales", "u8", 8)],
    T.IQ3_XXS: [("d", "d", 1), ("qs", "u8", 64), ("scales_and_signs", "u8", 32)],
    T.IQ3_S: [("d", "d", 1), ("qs", "u8", 64), ("qh", "u8", 8), ("signs", "u8", 32), ("scales", "u8", 4)],
    T.IQ1_S: [("d", "d", 1), ("qs", "u8", 32), ("qh", "u8", 16)],
    T.IQ1_M: [("qs", "u8", 32), ("qh", "u8", 16), ("scales", "iq1m", 8)],
}

# New types go at the end: the generator's draws for the earlier ones stay as they were.
ORDER = ["F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q4_K", "Q5_K", "Q6_K", "Q2_K", "Q3_K", "IQ4_NL", "IQ4_XS", "MXFP4",
         "IQ2_XXS", "IQ2_XS", "IQ2_S", "IQ3_XXS", "IQ3_S", "IQ1_S", "IQ1_M"]


def f16_values(rng: np.random.Generator, n: int, signed: bool, lo: float, hi: float) -> np.ndarray:
    mag = np.exp(rng.uniform(np.log(lo), np.log(hi), size=n))
    if signed:
        mag *= rng.choice([-1.0, 1.0], size=n)
    return mag.astype(np.float16)


def quant_blocks(qtype: T, rng: np.random.Generator) -> np.ndarray:
    block_elems, block_bytes = gguf.GGML_QUANT_SIZES[qtype]
    parts = []
    for field, kind, count in LAYOUTS[qtype]:
        if kind == "d":
            vals = f16_values(rng, N_BLOCKS, True, 1e-3, 0.2)
            parts.append(vals.view(np.uint8).reshape(N_BLOCKS, 2))
        elif kind == "dpos":
            vals = f16_values(rng, N_BLOCKS, False, 1e-3, 0.05)
            parts.append(vals.view(np.uint8).reshape(N_BLOCKS, 2))
        elif kind == "m":
            vals = f16_values(rng, N_BLOCKS, True, 1e-3, 0.5)
            parts.append(vals.view(np.uint8).reshape(N_BLOCKS, 2))
        elif kind == "iq1m":
            d = f16_values(rng, N_BLOCKS, True, 1e-3, 0.2).view(np.uint16).astype(np.uint16)
            words = rng.integers(0, 1 << 12, size=(N_BLOCKS, 4), dtype=np.uint16)
            for w in range(4):
                words[:, w] |= ((d >> np.uint16(4 * w)) & np.uint16(0xF)) << np.uint16(12)
            parts.append(np.ascontiguousarray(words).view(np.uint8).reshape(N_BLOCKS, 8))
        elif kind == "e8m0":
            parts.append(rng.integers(90, 160, size=(N_BLOCKS, count), dtype=np.uint8))
        else:
            parts.append(rng.integers(0, 256, size=(N_BLOCKS, count), dtype=np.uint8))
    raw = np.concatenate(parts, axis=1)
    assert raw.shape == (N_BLOCKS, block_bytes), (qtype.name, raw.shape, block_bytes)
    return np.ascontiguousarray(raw.reshape(-1))


def float_blocks(qtype: T, rng: np.random.Generator) -> np.ndarray:
    n = N_ELEMS_FLOAT
    if qtype == T.F16:
        # random finite f16 bit patterns (all exponents, subnormals and -0 included) ...
        bits = rng.integers(0, 1 << 16, size=n, dtype=np.uint32).astype(np.uint16)
        exp = (bits >> 10) & 0x1F
        bits = np.where(exp == 0x1F, bits & ~np.uint16(0x4000), bits).astype(np.uint16)
        specials = np.array([0.0, -0.0, 1.0, -1.0, 65504.0, -65504.0, 2.0 ** -24, 2.0 ** -14,
                             0.1, 0.5], dtype=np.float16).view(np.uint16)
        bits[: len(specials)] = specials
        return bits.view(np.uint8)
    if qtype == T.BF16:
        bits = rng.integers(0, 1 << 16, size=n, dtype=np.uint32).astype(np.uint16)
        exp = (bits >> 7) & 0xFF
        bits = np.where(exp == 0xFF, bits & ~np.uint16(0x4000), bits).astype(np.uint16)
        specials = (np.array([0.0, -0.0, 1.0, -1.0, 3.0e38, 1e-40, -2.5, 0.1], dtype=np.float32)
                    .view(np.uint32) >> 16).astype(np.uint16)
        bits[: len(specials)] = specials
        return bits.view(np.uint8)
    raise ValueError(qtype)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="tests/fixtures/dequant")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(20240611)
    entries = []
    for name in ORDER:
        qtype = T[name]
        block_elems, block_bytes = gguf.GGML_QUANT_SIZES[qtype]
        if qtype in (T.F16, T.BF16):
            raw = float_blocks(qtype, rng)
        else:
            raw = quant_blocks(qtype, rng)
        n_blocks = raw.size // block_bytes
        vals = gguf.quants.dequantize(raw, qtype)
        vals = np.ascontiguousarray(vals, dtype="<f4").reshape(-1)
        assert vals.size == n_blocks * block_elems, (name, vals.size)
        assert np.all(np.isfinite(vals)), name
        raw.tofile(out / f"{name}.raw")
        vals.tofile(out / f"{name}.f32")
        entries.append({
            "type": name,
            "ggml_type": int(qtype),
            "n_blocks": int(n_blocks),
            "block_elems": int(block_elems),
            "block_bytes": int(block_bytes),
            "raw": f"{name}.raw",
            "f32": f"{name}.f32",
            "max_abs": float(np.abs(vals).max()),
        })
        print(f"{name:5s} id {int(qtype):2d}: {n_blocks} blocks x {block_elems} elems "
              f"({block_bytes} B), max|x| {np.abs(vals).max():.4g}")
    manifest = {
        "generator": "tools/make_dequant_fixtures.py",
        "gguf_version": importlib.metadata.version("gguf"),
        "numpy_version": np.__version__,
        "types": entries,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
