#!/usr/bin/env python3
"""Byte-level BPE tokenizers for the tiny Llama, Qwen2 and Qwen3 reference models
(tests/fixtures/models/{llama,qwen2,qwen3}), so that the server, which needs a model's own
tokenizer, can serve them (tests/integration/test_tensor_parallel.py).

    python3 tools/make_fixture_tokenizers.py

Each tokenizer.json has exactly the model's vocabulary size: <unk>, <s>, </s> (ids 0-2, the
fixtures' bos 1 and eos 2), the 256 byte symbols of GPT-2's byte-to-unicode table, then merges
learned by plain BPE (most frequent adjacent pair, ties by first seen) from the committed
tokenizer corpus (tests/fixtures/tokenizer/corpus.jsonl, 2,199 texts in many scripts), split on
whitespace. Deterministic: re-running rewrites identical bytes.
The format is Hugging Face `tokenizers`' (a ByteLevel pre-tokenizer and decoder, a BPE model).
"""
from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODELS = {"llama": 1000, "qwen2": 600, "qwen3": 1100}
SPECIALS = ["<unk>", "<s>", "</s>"]


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's table: printable bytes map to themselves, the rest to code points from 256 on."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    chars = keep[:]
    n = 0
    for b in range(256):
        if b not in keep:
            keep.append(b)
            chars.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(keep, chars)}


def train(words: list[str], merges_wanted: int) -> list[tuple[str, str]]:
    table = bytes_to_unicode()
    counts = Counter(words)
    # Each distinct word as a list of symbols, with its count.
    pieces = {w: [table[b] for b in w.encode("utf-8")] for w in counts}
    merges: list[tuple[str, str]] = []
    while len(merges) < merges_wanted:
        pairs: Counter = Counter()
        first_seen: dict[tuple[str, str], int] = {}
        for w, symbols in pieces.items():
            for a, b in zip(symbols, symbols[1:]):
                pairs[(a, b)] += counts[w]
                first_seen.setdefault((a, b), len(first_seen))
        if not pairs:
            raise SystemExit("the corpus ran out of pairs before the vocabulary was full")
        best = max(pairs, key=lambda p: (pairs[p], -first_seen[p]))
        merges.append(best)
        joined = best[0] + best[1]
        for w, symbols in pieces.items():
            out, i = [], 0
            while i < len(symbols):
                if i + 1 < len(symbols) and (symbols[i], symbols[i + 1]) == best:
                    out.append(joined)
                    i += 2
                else:
                    out.append(symbols[i])
                    i += 1
            pieces[w] = out
    return merges


def tokenizer_json(vocab_size: int, words: list[str]) -> dict:
    table = bytes_to_unicode()
    vocab = {t: i for i, t in enumerate(SPECIALS)}
    for b in range(256):
        vocab[table[b]] = len(vocab)
    merges = []
    for a, b in train(words, vocab_size - len(vocab)):
        if a + b not in vocab:  # a merge can rebuild a symbol already made another way
            vocab[a + b] = len(vocab)
        merges.append(f"{a} {b}")
    # Pad with unreachable symbols if repeated merges left room (never in practice).
    while len(vocab) < vocab_size:
        vocab[f"<unused{len(vocab)}>"] = len(vocab)
    assert len(vocab) == vocab_size
    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
                          "normalized": False, "special": True} for i, t in enumerate(SPECIALS)],
        "normalizer": None,
        "pre_tokenizer": byte_level,
        "post_processor": None,
        "decoder": byte_level,
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": vocab, "merges": merges},
    }


def main() -> None:
    corpus = ROOT / "tests" / "fixtures" / "tokenizer" / "corpus.jsonl"
    text = "\n".join(json.loads(line)["text"] for line in corpus.read_text().split("\n") if line.strip())
    # Words with their leading space, as the ByteLevel pre-tokenizer's regex cuts them (roughly).
    words = re.findall(r" ?[A-Za-z]+| ?[0-9]+| ?[^\sA-Za-z0-9]+", text)
    for name, size in MODELS.items():
        folder = ROOT / "tests" / "fixtures" / "models" / name
        config = json.loads((folder / "config.json").read_text())
        assert config["vocab_size"] == size, (name, config["vocab_size"])
        out = folder / "tokenizer.json"
        out.write_text(json.dumps(tokenizer_json(size, words), ensure_ascii=False, indent=1) + "\n")
        print(out)


if __name__ == "__main__":
    main()
