"""How the fixture generators write their largest outputs: gzip-compressed as NAME.gz, bytes the
same on every run (no timestamp, no file name inside), so that regenerating a fixture leaves git
with nothing to commit. tests/support/fixtures.hpp unpacks them for the tests. Compressed: the
tokenizer GGUF vocabularies and the expected ids of the tokenizer corpus, which together were
most of the tree that travels to a lent GPU machine (64 MiB at most, the GPU bundle included)."""
from __future__ import annotations

import gzip
import json
from pathlib import Path


def gzip_bytes(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=9, mtime=0)


def write_jsonl_gz(path: Path, rows: list) -> Path:
    """`rows` as JSON lines into `path`.gz (path ends in .jsonl); returns the written path."""
    text = "".join(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n" for row in rows)
    out = path.with_name(path.name + ".gz")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(gzip_bytes(text.encode("utf-8")))
    return out


def pack(path: Path) -> Path:
    """Replaces `path` by `path`.gz (once the generator has no further use for the plain file)."""
    out = path.with_name(path.name + ".gz")
    out.write_bytes(gzip_bytes(path.read_bytes()))
    path.unlink()
    return out


def plain(path: Path) -> Path:
    """`path` when it exists, else the unpacked copy of `path`.gz (a generator reading a fixture that
    is committed packed), made next to the system's temporary files."""
    if path.exists():
        return path
    import tempfile
    out = Path(tempfile.gettempdir()) / ("troupe-fixture-" + "-".join(path.parts[-3:]))
    out.write_bytes(gzip.decompress(path.with_name(path.name + ".gz").read_bytes()))
    return out
