#!/usr/bin/env python3
"""Reference fixtures for Tekken, the tiktoken-style tokenizer of Mistral NeMo, Mistral Small 3,
Devstral and Ministral, as their GGUF files carry it (tokenizer.ggml.pre = "tekken").

Run from the repository root with /opt/refenv/bin/python (transformers, tokenizers, mistral-common,
gguf), after tools/peer/build_llamacpp.sh:

    /opt/refenv/bin/python tools/make_tekken_fixtures.py

Source: tekken_240718.json (Mistral NeMo's, Apache 2.0) from the `mistral-common` wheel on PyPI.
References, none of them troupe's:
  1. The GGUF: llama.cpp's converter (convert_hf_to_gguf.py --vocab-only, from the peer tree) on a
     directory as Mistral ships one (tekken.json, read through mistral-common), as it converts
     Mistral's own models: vocabulary, merges and tokenizer.ggml.pre = "tekken".
  2. The expected ids: Hugging Face `tokenizers` on the tokenizer.json transformers' own conversion
     makes of tekken.json (convert_tekken_tokenizer; the file Mistral's repositories ship), whose
     ids with control tokens read as text must equal mistral-common's Tekkenizer (tiktoken),
     Mistral's reference, on every corpus line.
llama.cpp's own tokenization of the GGUF is not the reference here: its adapted Tekken expression
leaves combining marks (\p{M}) out of the letter classes, so words with Devanagari, Arabic or Thai
marks split differently (142 of the corpus's 2,199 lines); the script prints how many differ.
Writes tests/fixtures/tokenizer/tekken/vocab.gguf.xz, expected/tekken-gguf.jsonl.xz and their manifest
entry (the other entries are kept).
"""
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fixture_files import pack, write_jsonl_packed  # noqa: E402
from make_sentencepiece_fixtures import (CACHE, FIXTURES, MISTRAL_COMMON, PEER, expect_llamacpp,  # noqa: E402
                                         expect_tokenizers, pip_download)

TEKKEN = "mistral_common/data/tekken_240718.json"  # Mistral NeMo's


def fetch_tekken() -> Path:
    out = CACHE / "tekken" / "tekken.json"
    if not out.exists():
        wheel = pip_download(MISTRAL_COMMON, CACHE / "downloads")
        out.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(wheel) as z:
            out.write_bytes(z.read(TEKKEN))
    return out


def mistral_directory(tekken: Path) -> Path:
    """A model directory as Mistral ships one (tekken.json, no tokenizer.json) with a config.json of a
    one-layer Mistral: llama.cpp's converter then reads the vocabulary through mistral-common."""
    directory = CACHE / "tekken-model"
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "tekken.json").write_bytes(tekken.read_bytes())
    config = {"architectures": ["MistralForCausalLM"], "hidden_size": 64, "intermediate_size": 128,
              "num_hidden_layers": 1, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16,
              "max_position_embeddings": 1024, "rms_norm_eps": 1e-5, "bos_token_id": 1, "eos_token_id": 2,
              "vocab_size": 131072}
    (directory / "config.json").write_text(json.dumps(config), encoding="utf-8")
    return directory


def llamacpp_gguf(directory: Path, out: Path) -> None:
    import gguf as gguf_py
    src = PEER / "src" / "vendor" / "llama.cpp"
    env = dict(os.environ, PYTHONPATH=str(src / "gguf-py"))
    out.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, str(src / "convert_hf_to_gguf.py"), str(directory), "--vocab-only",
                    "--outfile", str(out)], check=True, env=env, cwd=src, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    field = gguf_py.GGUFReader(str(out)).fields["tokenizer.ggml.pre"]
    pre = bytes(field.parts[field.data[0]]).decode()
    if pre != "tekken":
        sys.exit(f"llama.cpp's converter named the pre-tokenizer {pre!r}, not 'tekken'")


def hf_tokenizer_json(tekken: Path) -> Path:
    """tokenizer.json by transformers' conversion of tekken.json."""
    from transformers.integrations.mistral.tokenizer import convert_tekken_tokenizer
    directory = CACHE / "tekken-hf"
    convert_tekken_tokenizer(str(tekken)).save_pretrained(str(directory))
    return directory / "tokenizer.json"


def check_against_mistral(tekken: Path, tokenizer_json: Path, corpus: list) -> None:
    from mistral_common.tokens.tokenizers.tekken import Tekkenizer
    from tokenizers import Tokenizer
    mistral = Tekkenizer.from_file(str(tekken))
    hf = Tokenizer.from_file(str(tokenizer_json))
    hf.encode_special_tokens = True  # Tekkenizer never reads control tokens out of text
    differ = [i for i, t in enumerate(corpus)
              if hf.encode(t, add_special_tokens=False).ids != mistral.encode(t, bos=False, eos=False)]
    if differ:
        sys.exit(f"transformers' tokenizer.json differs from mistral-common on {len(differ)} corpus lines, "
                 f"first line {differ[0] + 1}")
    print(f"tokenizer.json equals mistral-common's Tekkenizer on all {len(corpus)} lines")


def main() -> None:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    corpus = [json.loads(line)["text"] for line in (FIXTURES / "corpus.jsonl").read_text(encoding="utf-8").split("\n")
              if line]
    tekken = fetch_tekken()
    tokenizer_json = hf_tokenizer_json(tekken)
    check_against_mistral(tekken, tokenizer_json, corpus)
    rows, meta = expect_tokenizers(tokenizer_json, corpus)
    gguf = FIXTURES / "tekken" / "vocab.gguf"
    llamacpp_gguf(mistral_directory(tekken), gguf)
    llamacpp_rows, llamacpp_meta = expect_llamacpp(gguf, corpus)
    differ = sum(a["ids"] != b["ids"] for a, b in zip(rows, llamacpp_rows))
    print(f"llama.cpp's own ids for the GGUF differ on {differ} of {len(corpus)} lines")
    meta["prefix"] = llamacpp_meta["prefix"]  # what the GGUF says to add (its BOS), as llama.cpp reads it
    assert meta["vocab_size"] == llamacpp_meta["vocab_size"], (meta, llamacpp_meta)
    write_jsonl_packed(FIXTURES / "expected" / "tekken-gguf.jsonl", rows)
    print(f"tekken (GGUF): {sum(len(r['ids']) for r in rows)} tokens, {gguf.stat().st_size} bytes")
    pack(gguf)

    load = {"name": "tekken (GGUF)", "expected": "tekken-gguf", "format": "gguf", "file": "tekken/vocab.gguf",
            "in_cache": False}
    manifest_path = FIXTURES / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["loads"] = [l for l in manifest["loads"] if l["name"] != load["name"]] + [load]
    manifest["expected"]["tekken-gguf"] = meta
    manifest_path.write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
