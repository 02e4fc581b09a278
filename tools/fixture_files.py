"""How the fixture generators write their largest outputs: xz-compressed as NAME.xz (-9e, CRC-32),
bytes the same on every run (xz records no timestamp or file name), so that regenerating a fixture
leaves git with nothing to commit. tests/support/fixtures.hpp unpacks them for the C++ tests,
`unpacked_text` for the Python ones. Compressed: the tokenizer GGUF vocabularies, the expected ids
of the tokenizer corpus and the chat-template renderings, which together were most of the tree
that travels to a lent GPU machine (64 MiB at most, the GPU bundle included); xz keeps them a
quarter smaller than gzip -9 did."""
from __future__ import annotations

import json
import lzma
from pathlib import Path

SUFFIX = ".xz"


def packed_bytes(data: bytes) -> bytes:
    return lzma.compress(data, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC32, preset=9 | lzma.PRESET_EXTREME)


def packed_path(path: Path) -> Path:
    """Where `path` is committed packed."""
    return path.with_name(path.name + SUFFIX)


def write_jsonl_packed(path: Path, rows: list) -> Path:
    """`rows` as JSON lines into `path`.xz (path ends in .jsonl); returns the written path."""
    text = "".join(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n" for row in rows)
    out = packed_path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(packed_bytes(text.encode("utf-8")))
    return out


def write_packed(path: Path, data: bytes) -> Path:
    """`data` into `path`.xz; returns the written path."""
    out = packed_path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(packed_bytes(data))
    return out


def pack(path: Path) -> Path:
    """Replaces `path` by `path`.xz (once the generator has no further use for the plain file)."""
    out = write_packed(path, path.read_bytes())
    path.unlink()
    return out


def unpacked_bytes(path: Path) -> bytes:
    """The bytes of `path`, committed plain or packed."""
    return path.read_bytes() if path.exists() else lzma.decompress(packed_path(path).read_bytes())


def unpacked_text(path: Path) -> str:
    return unpacked_bytes(path).decode("utf-8")


def plain(path: Path) -> Path:
    """`path` when it exists, else the unpacked copy of `path`.xz (a generator reading a fixture that
    is committed packed), made next to the system's temporary files."""
    if path.exists():
        return path
    import tempfile
    out = Path(tempfile.gettempdir()) / ("troupe-fixture-" + "-".join(path.parts[-3:]))
    out.write_bytes(unpacked_bytes(path))
    return out
