#!/usr/bin/env python3
"""Reference fixtures for troupe's SentencePiece-style tokenizers, in the three forms they ship in.

  make_sentencepiece_fixtures.py --fetch-only
      Fills the tokenizer cache (tests/fixtures/tokenizer/cache, or $TROUPE_TOKENIZER_CACHE) with
      the real tokenizers that are not committed (Llama 2's and Gemma's tokenizer.model, from the
      `maxtext` wheel on PyPI). Needs only python3 and pip.

  make_sentencepiece_fixtures.py            (run with /opt/refenv/bin/python: sentencepiece,
                                             tokenizers, transformers, torch, gguf)
      The `sentencepiece` module must be the version troupe links (Debian's libsentencepiece,
      0.1.97): sentencepiece 0.2 breaks ties between equal-scoring unigram segmentations
      differently (11 of the corpus's 2,199 lines, all runs of one repeated character), BPE models
      are unaffected. PyPI has 0.1.97 only as a source package; build it into a venv and name its
      site-packages in $SENTENCEPIECE_SITE:
          python3 -m venv /opt/spm097 && /opt/spm097/bin/pip install sentencepiece==0.1.97
          SENTENCEPIECE_SITE=/opt/spm097/lib/python3.11/site-packages /opt/refenv/bin/python \
              tools/make_sentencepiece_fixtures.py
      Regenerates the committed SentencePiece fixtures under tests/fixtures/tokenizer/ and their
      entries in manifest.json (the entries of make_tokenizer_fixtures.py are kept). Needs llama.cpp
      built by tools/peer/build_llamacpp.sh (its converter and its tokenizer are the GGUF reference)
      and the Gemma 3 270M GGUF (tools/fetch_model.sh gemma3-270m).

Tokenizers:
  spm-bpe, spm-unigram  SentencePiece models trained here on the corpus (BPE with byte fallback,
                        user-defined and control symbols; unigram with NFKC and extra-whitespace
                        removal), committed.
  mistral-v3            Mistral 7B v0.3's tokenizer.model (Apache 2.0) from `mistral-common`, committed
                        with its tokenizer.json (transformers' conversion) and a vocabulary-only GGUF
                        (llama.cpp's converter).
  llama2, gemma         Llama 2's and Gemma's tokenizer.model from `maxtext` (their licenses keep them
                        out of git): read from the cache.
  gemma3-270m           the real Gemma 3 270M GGUF (tools/fetch_model.sh), read from the model cache.

References, each the implementation users run for that form:
  tokenizer.model  transformers' SentencePieceBackend (the slow tokenizers' logic: added tokens cut
                   out, the `sentencepiece` library on each segment, legacy=True), with the
                   tokenizer_config.json written beside the model; decoding: `sentencepiece`'s
                   decode of the non-special ids.
  tokenizer.json   Hugging Face `tokenizers` on the file.
  GGUF             llama.cpp's own tokenize/detokenize (tools/peer/llamacpp_tokenize.cpp, built here
                   against the peer build).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fixture_files import pack, write_jsonl_packed  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "tokenizer"
CACHE = Path(os.environ.get("TROUPE_TOKENIZER_CACHE", FIXTURES / "cache"))
MODELS = Path(os.environ.get("TROUPE_CACHE_DIR", Path.home() / ".cache" / "troupe")) / "models"
LLAMA_CPP_VERSION = "0.3.36"
PEER = Path(os.environ.get("PEER_CACHE", Path.home() / ".cache" / "troupe")) / f"llama.cpp-{LLAMA_CPP_VERSION}"

MAXTEXT = "maxtext==0.2.5"
MAXTEXT_FILES = {"llama2": "maxtext/assets/tokenizers/tokenizer.llama2",
                 "gemma": "maxtext/assets/tokenizers/tokenizer.gemma"}
MISTRAL_COMMON = "mistral-common==1.13.1"
MISTRAL_V3 = "mistral_common/data/mistral_instruct_tokenizer_240216.model.v2"  # byte-identical to v0.3's

SPACE = "\u2581"
LINKED_SENTENCEPIECE = "0.1.97"  # Debian bookworm's libsentencepiece-dev


# ----------------------------------------------------------------------------------------------
# Fetching


def pip_download(spec: str, dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    name = spec.split("==")[0].replace("-", "_")
    found = [w for w in dest.glob("*.whl") if w.name.lower().startswith(name)]
    if not found:
        # maxtext's wheel is marked for Python >= 3.12; only its data files are used.
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "--only-binary", ":all:",
                        "--python-version", "3.12", "-d", str(dest), spec], check=True)
        found = [w for w in dest.glob("*.whl") if w.name.lower().startswith(name)]
    return sorted(found)[-1]


# The tokenizer_config.json their repositories ship, as far as troupe reads it (the added tokens are
# the models' own control pieces, which troupe takes from the model).
REAL_CONFIGS = {
    "llama2": {"tokenizer_class": "LlamaTokenizer", "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>",
               "add_bos_token": True, "add_eos_token": False, "legacy": None},
    "gemma": {"tokenizer_class": "GemmaTokenizer", "bos_token": "<bos>", "eos_token": "<eos>", "unk_token": "<unk>",
              "pad_token": "<pad>", "add_bos_token": True, "add_eos_token": False},
}


def fetch_real(cache: Path) -> dict:
    paths = {}
    for name, member in MAXTEXT_FILES.items():
        target = cache / name / "tokenizer.model"
        if not target.exists():
            wheel = pip_download(MAXTEXT, cache / "downloads")
            target.parent.mkdir(parents=True, exist_ok=True)
            with zipfile.ZipFile(wheel) as z, z.open(member) as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst)
        (target.parent / "tokenizer_config.json").write_text(json.dumps(REAL_CONFIGS[name], indent=1) + "\n",
                                                           encoding="utf-8")
        paths[name] = target
    return paths


# ----------------------------------------------------------------------------------------------
# Making the committed tokenizers


def train(corpus_file: Path, out_dir: Path, model_type: str) -> Path:
    import sentencepiece as spm
    out_dir.mkdir(parents=True, exist_ok=True)
    prefix = out_dir / "tokenizer"
    common = dict(input=str(corpus_file), model_prefix=str(prefix), model_type=model_type, num_threads=1,
                  character_coverage=0.9995, input_sentence_size=0, shuffle_input_sentence=False,
                  bos_id=1, eos_id=2, unk_id=0, pad_id=-1)
    if model_type == "bpe":
        # As Llama 2 and Mistral were trained: byte fallback, digits split, whitespace kept as it is.
        spm.SentencePieceTrainer.train(**common, vocab_size=4000, byte_fallback=True, split_digits=True,
                                       normalization_rule_name="identity", remove_extra_whitespaces=False,
                                       allow_whitespace_only_pieces=True, add_dummy_prefix=True,
                                       user_defined_symbols=["<|im_start|>", "<|im_end|>", "\n\n"],
                                       control_symbols=["<ctrl_a>", "<ctrl_b>"])
    else:
        # The library's defaults: NFKC, extra whitespace removed, dummy prefix.
        spm.SentencePieceTrainer.train(**common, vocab_size=2500, byte_fallback=False)
    (out_dir / "tokenizer.vocab").unlink()
    return prefix.with_suffix(".model")


def added_tokens_decoder(model_path: Path, extra: dict) -> dict:
    """tokenizer_config.json's added_tokens_decoder for a model: its control and unknown pieces as
    special tokens (as save_pretrained writes them), plus `extra` {content: (id, special)}."""
    import sentencepiece as spm
    sp = spm.SentencePieceProcessor(model_file=str(model_path))
    out = {}
    for i in range(sp.get_piece_size()):
        if sp.is_control(i) or sp.is_unknown(i):
            out[str(i)] = {"content": sp.id_to_piece(i), "lstrip": False, "normalized": False, "rstrip": False,
                           "single_word": False, "special": True}
    for content, (i, special) in extra.items():
        out[str(i)] = {"content": content, "lstrip": False, "normalized": False, "rstrip": False,
                       "single_word": False, "special": special}
    return out


def write_config(directory: Path, tokenizer_class: str, model_path: Path, extra: dict = None, **fields) -> None:
    import sentencepiece as spm
    sp = spm.SentencePieceProcessor(model_file=str(model_path))
    config = {"tokenizer_class": tokenizer_class,
              "bos_token": sp.id_to_piece(sp.bos_id()), "eos_token": sp.id_to_piece(sp.eos_id()),
              "unk_token": sp.id_to_piece(sp.unk_id()),
              "added_tokens_decoder": added_tokens_decoder(model_path, extra or {}), **fields}
    (directory / "tokenizer_config.json").write_text(json.dumps(config, ensure_ascii=False, indent=1) + "\n",
                                                     encoding="utf-8")


def hf_tokenizer_json(model_path: Path, out: Path) -> None:
    """transformers' own conversion of a tokenizer.model into a tokenizer.json (Metaspace, first)."""
    from transformers import LlamaTokenizer
    source, converted = out.parent / "_convert_in", out.parent / "_convert_out"
    source.mkdir(exist_ok=True)
    shutil.copy(model_path, source / "tokenizer.model")  # alone: the conversion reads no config
    LlamaTokenizer.from_pretrained(str(source)).save_pretrained(str(converted))
    shutil.copy(converted / "tokenizer.json", out)
    shutil.rmtree(source)
    shutil.rmtree(converted)


def legacy_variant(doc: dict) -> dict:
    """The tokenizer.json transformers 4 wrote for legacy Llama 2 tokenizers: a Prepend and a Replace
    normalizer in place of the Metaspace pre-tokenizer."""
    doc = json.loads(json.dumps(doc))
    doc["normalizer"] = {"type": "Sequence", "normalizers": [
        {"type": "Prepend", "prepend": SPACE},
        {"type": "Replace", "pattern": {"String": " "}, "content": SPACE}]}
    doc["pre_tokenizer"] = None
    return doc


def gemma_variant(doc: dict) -> dict:
    """Gemma's tokenizer.json layout: spaces replaced, nothing prepended or stripped."""
    doc = json.loads(json.dumps(doc))
    doc["normalizer"] = {"type": "Replace", "pattern": {"String": " "}, "content": SPACE}
    doc["pre_tokenizer"] = {"type": "Split", "pattern": {"String": " "}, "behavior": "MergedWithPrevious",
                            "invert": False}
    doc["decoder"] = {"type": "Sequence", "decoders": [
        {"type": "Replace", "pattern": {"String": SPACE}, "content": " "},
        {"type": "ByteFallback"}, {"type": "Fuse"}]}
    return doc


def with_added_tokens(doc: dict, tokens: dict) -> dict:
    """Control pieces and `tokens` {content: (id, special)} as the added tokens of a tokenizer.json."""
    doc = json.loads(json.dumps(doc))
    present = {t["id"] for t in doc.get("added_tokens", [])}
    for content, (i, special) in tokens.items():
        if i not in present:
            doc.setdefault("added_tokens", []).append(
                {"id": i, "content": content, "single_word": False, "lstrip": False, "rstrip": False,
                 "normalized": False, "special": special})
    return doc


def gguf_from_directory(directory: Path, out: Path, architecture: str) -> None:
    """A vocabulary-only GGUF written by llama.cpp's own converter from a model directory."""
    src = PEER / "src" / "vendor" / "llama.cpp"
    config = {"architectures": [architecture], "hidden_size": 64, "intermediate_size": 128,
              "num_hidden_layers": 1, "num_attention_heads": 4, "num_key_value_heads": 2,
              "max_position_embeddings": 1024, "rms_norm_eps": 1e-5, "bos_token_id": 1, "eos_token_id": 2}
    import sentencepiece as spm
    pieces = spm.SentencePieceProcessor(model_file=str(directory / "tokenizer.model")).get_piece_size()
    added = json.loads((directory / "tokenizer_config.json").read_text(encoding="utf-8"))["added_tokens_decoder"]
    config["vocab_size"] = max([pieces] + [int(k) + 1 for k in added])
    (directory / "config.json").write_text(json.dumps(config), encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=str(src / "gguf-py"))
    subprocess.run([sys.executable, str(src / "convert_hf_to_gguf.py"), str(directory), "--vocab-only",
                    "--outfile", str(out)], check=True, env=env, cwd=src, stdout=subprocess.DEVNULL)
    (directory / "config.json").unlink()


# ----------------------------------------------------------------------------------------------
# Expectations


def compact(row: dict, text: str) -> dict:
    """Drops what the C++ reader defaults: ids_literal_special = ids, decoded = the text,
    decoded_skip_special = decoded, decoded_continuation = decoded_skip_special (or, with
    continuation_adds_space, a space and decoded_skip_special: the space decoding a whole sequence
    drops)."""
    out = {"ids": row["ids"]}
    if row["ids_literal_special"] != row["ids"]:
        out["ids_literal_special"] = row["ids_literal_special"]
    if row["decoded"] != text:
        out["decoded"] = row["decoded"]
    if row["decoded_skip_special"] != row["decoded"]:
        out["decoded_skip_special"] = row["decoded_skip_special"]
    if row["decoded_continuation"] == " " + row["decoded_skip_special"]:
        out["continuation_adds_space"] = True
    elif row["decoded_continuation"] != row["decoded_skip_special"]:
        out["decoded_continuation"] = row["decoded_continuation"]
    return out


def expect_sentencepiece(model_path: Path, corpus: list) -> tuple:
    """Runs expect_sentencepiece_here in a child process whose `sentencepiece` is the linked version
    (training and transformers' conversion need the newer one this process has)."""
    site = os.environ.get("SENTENCEPIECE_SITE", "")
    out = CACHE / "expect_sentencepiece.json"
    env = dict(os.environ, PYTHONPATH=site + os.pathsep + os.environ.get("PYTHONPATH", ""))
    subprocess.run([sys.executable, __file__, "--expect-model", str(model_path), "--out", str(out)], check=True, env=env)
    rows, meta = json.loads(out.read_text(encoding="utf-8"))
    out.unlink()
    return rows, meta


def expect_sentencepiece_here(model_path: Path, corpus: list) -> tuple:
    import sentencepiece
    if sentencepiece.__version__ != LINKED_SENTENCEPIECE:
        sys.exit(f"sentencepiece {sentencepiece.__version__} is not the {LINKED_SENTENCEPIECE} troupe links: set "
                 "SENTENCEPIECE_SITE (see the module docstring)")
    from transformers import AddedToken
    from transformers.tokenization_utils_sentencepiece import SentencePieceBackend
    import sentencepiece as spm
    config = json.loads((model_path.parent / "tokenizer_config.json").read_text(encoding="utf-8"))
    config.setdefault("added_tokens_decoder", added_tokens_decoder(model_path, {}))
    sp = spm.SentencePieceProcessor(model_file=str(model_path))
    segment_space = config.get("tokenizer_class", "").startswith("IQuestCoder") and config.get("add_prefix_space")
    assert not segment_space, "the fixtures use IQuestCoderTokenizer's default add_prefix_space = false"

    def backend(split_special):
        added = {int(k): AddedToken(v["content"], special=v["special"], lstrip=v["lstrip"], rstrip=v["rstrip"],
                                    single_word=v["single_word"], normalized=v["normalized"])
                 for k, v in config["added_tokens_decoder"].items()}
        t = SentencePieceBackend(vocab_file=str(model_path), legacy=True, unk_token=config["unk_token"],
                                 bos_token=config["bos_token"], eos_token=config["eos_token"],
                                 added_tokens_decoder=added, split_special_tokens=split_special)
        return t

    tok, literal = backend(False), backend(True)
    special_ids = {int(k) for k, v in config["added_tokens_decoder"].items() if v["special"]}
    dummy = sp.encode("a", out_type=str)[0].startswith(SPACE)

    def text_of(ids):
        # Pieces with "▁" as spaces, byte pieces as their bytes, one leading space dropped when
        # the model puts one before the text (what sentencepiece's decode does).
        raw = b"".join(bytes([int(p[3:5], 16)]) if sp.is_byte(i) else p.replace(SPACE, " ").encode()
                       for i, p in ((i, tok.convert_ids_to_tokens(i)) for i in ids))
        text = raw.decode("utf-8", errors="replace")
        return text[1:] if dummy and text.startswith(" ") else text

    rows = []
    for text in corpus:
        ids = tok.encode(text, add_special_tokens=False)
        plain = [i for i in ids if i not in special_ids]
        skipped = text_of(plain)
        if plain == ids:  # no special token to skip: the rule above is the library's own decode
            assert skipped == sp.decode(ids), (text, skipped, sp.decode(ids))
        raw_cont = b"".join(bytes([int(p[3:5], 16)]) if sp.is_byte(i) else p.replace(SPACE, " ").encode()
                            for i, p in ((i, tok.convert_ids_to_tokens(i)) for i in plain)).decode("utf-8", "replace")
        rows.append(compact({"ids": ids, "ids_literal_special": literal.encode(text, add_special_tokens=False),
                             "decoded": text_of(ids), "decoded_skip_special": skipped,
                             "decoded_continuation": raw_cont}, text))
    prefix = [sp.bos_id()] if config.get("add_bos_token", True) else []
    meta = {"prefix": prefix, "suffix": [], "vocab_size": max(len(tok), max(special_ids) + 1)}
    return rows, meta


def expect_tokenizers(path: Path, corpus: list) -> tuple:
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(str(path))
    literal = Tokenizer.from_file(str(path))
    literal.encode_special_tokens = True
    probe_plain = tok.encode("probe", add_special_tokens=False).ids
    probe_full = tok.encode("probe", add_special_tokens=True).ids
    start = next(i for i in range(len(probe_full)) if probe_full[i:i + len(probe_plain)] == probe_plain)
    prefix, suffix = probe_full[:start], probe_full[start + len(probe_plain):]
    marker = tok.token_to_id("a") or tok.token_to_id(SPACE + "a")
    rows = []
    for text in corpus:
        ids = tok.encode(text, add_special_tokens=False).ids
        assert tok.encode(text, add_special_tokens=True).ids == prefix + ids + suffix, text
        # The text the ids add after another token: what a stream of them decodes to.
        before = tok.decode([marker], skip_special_tokens=True)
        after = tok.decode([marker] + ids, skip_special_tokens=True)
        assert after.startswith(before), (before, after)
        rows.append(compact({"ids": ids, "ids_literal_special": literal.encode(text, add_special_tokens=False).ids,
                             "decoded": tok.decode(ids, skip_special_tokens=False),
                             "decoded_skip_special": tok.decode(ids, skip_special_tokens=True),
                             "decoded_continuation": after[len(before):]}, text))
    meta = {"prefix": prefix, "suffix": suffix, "vocab_size": tok.get_vocab_size(with_added_tokens=True)}
    return rows, meta


def llamacpp_tokenizer() -> Path:
    tool = PEER / "build" / "bin" / "llamacpp-tokenize"
    src, build = PEER / "src" / "vendor" / "llama.cpp", PEER / "build"
    if not tool.exists():
        subprocess.run(["g++", "-std=c++17", "-O2", f"-I{src}/include", f"-I{src}/ggml/include",
                        str(ROOT / "tools" / "peer" / "llamacpp_tokenize.cpp"), str(build / "src" / "libllama.a"),
                        str(build / "ggml" / "src" / "libggml.a"), str(build / "ggml" / "src" / "libggml-cpu.a"),
                        str(build / "ggml" / "src" / "libggml-base.a"), "-fopenmp", "-lpthread", "-o", str(tool)],
                       check=True)
    return tool


def expect_llamacpp(gguf: Path, corpus: list) -> tuple:
    import gguf as gguf_py
    lines = "".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in corpus)
    out = subprocess.run([str(llamacpp_tokenizer()), str(gguf)], input=lines.encode(), check=True,
                         capture_output=True).stdout.decode("utf-8", errors="replace").split("\n")
    head = json.loads(out[0])
    rows = [compact(json.loads(line), text) for line, text in zip(out[1:], corpus)]
    reader = gguf_py.GGUFReader(str(gguf))
    vocab = len(reader.fields["tokenizer.ggml.tokens"].data)
    return rows, {"prefix": head["prefix"], "suffix": [], "vocab_size": vocab}




# ----------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fetch-only", action="store_true", help="only fill the cache of uncommitted files")
    parser.add_argument("--expect-model", type=Path, help=argparse.SUPPRESS)  # the child of expect_sentencepiece
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.expect_model:
        corpus = [json.loads(line)["text"] for line in (FIXTURES / "corpus.jsonl").read_text(encoding="utf-8").split("\n") if line]
        args.out.write_text(json.dumps(expect_sentencepiece_here(args.expect_model, corpus)), encoding="utf-8")
        return
    real = fetch_real(CACHE)
    print(f"real tokenizers in {CACHE}: {', '.join(real)}")
    if args.fetch_only:
        return
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    corpus = [json.loads(line)["text"] for line in (FIXTURES / "corpus.jsonl").read_text(encoding="utf-8").split("\n") if line]
    corpus_file = CACHE / "corpus.txt"
    corpus_file.write_text("\n".join(t.replace("\n", " ") for t in corpus if t.strip()) + "\n", encoding="utf-8")

    loads, metas = [], {}

    def add(name, expected, fmt, file, location, rows_meta):
        rows, meta = rows_meta
        load = {"name": name, "expected": expected, "format": fmt, "file": file, "in_cache": location == "cache",
                **({"in_models": True} if location == "models" else {})}
        if expected in metas:  # the same ids as an earlier load: only what add_special_tokens adds may differ
            assert rows == shared[expected], name
            if meta["prefix"] != metas[expected]["prefix"]:
                load["prefix"] = meta["prefix"]
        else:
            write_jsonl_packed(FIXTURES / "expected" / f"{expected}.jsonl", rows)
            metas[expected] = meta
            shared[expected] = rows
        loads.append(load)
        print(f"{name}: {sum(len(r['ids']) for r in rows)} tokens")

    shared = {}

    # Trained BPE: tokenizer.model as Llama's and as IQuest-Coder's tokenizer class see it, the three
    # tokenizer.json layouts, and the GGUF llama.cpp's converter makes of it.
    bpe = train(corpus_file, FIXTURES / "spm-bpe", "bpe")
    chatml = {"<|tool|>": (4000, False), "<|fim|>": (4001, True)}  # beyond the model's own pieces
    write_config(bpe.parent, "LlamaTokenizer", bpe, chatml, add_bos_token=True, add_eos_token=False)
    add("spm-bpe (tokenizer.model)", "spm-bpe-model", "sentencepiece", "spm-bpe/tokenizer.model", "fixtures",
        expect_sentencepiece(bpe, corpus))
    iquest_dir = FIXTURES / "spm-bpe-iquest"
    iquest_dir.mkdir(exist_ok=True)
    shutil.copy(bpe, iquest_dir / "tokenizer.model")
    write_config(iquest_dir, "IQuestCoderTokenizer", bpe, chatml, add_bos_token=False, add_eos_token=False,
                 add_prefix_space=False, legacy=None)
    add("spm-bpe as IQuestCoderTokenizer (tokenizer.model)", "spm-bpe-model", "sentencepiece",
        "spm-bpe-iquest/tokenizer.model", "fixtures", expect_sentencepiece(iquest_dir / "tokenizer.model", corpus))

    metaspace = FIXTURES / "spm-bpe" / "tokenizer.json"
    hf_tokenizer_json(bpe, metaspace)
    doc = with_added_tokens(json.loads(metaspace.read_text(encoding="utf-8")), chatml)
    metaspace.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    add("spm-bpe (tokenizer.json, Metaspace)", "spm-bpe-metaspace", "json", "spm-bpe/tokenizer.json", "fixtures",
        expect_tokenizers(metaspace, corpus))
    for variant, make in (("legacy", legacy_variant), ("gemma", gemma_variant)):
        path = FIXTURES / "spm-bpe" / f"tokenizer-{variant}.json"
        path.write_text(json.dumps(make(doc), ensure_ascii=False), encoding="utf-8")
        add(f"spm-bpe (tokenizer.json, {variant} layout)", f"spm-bpe-{variant}", "json",
            f"spm-bpe/tokenizer-{variant}.json", "fixtures", expect_tokenizers(path, corpus))
    gguf_from_directory(bpe.parent, FIXTURES / "spm-bpe" / "vocab.gguf", "LlamaForCausalLM")
    add("spm-bpe (GGUF)", "spm-bpe-gguf", "gguf", "spm-bpe/vocab.gguf", "fixtures",
        expect_llamacpp(FIXTURES / "spm-bpe" / "vocab.gguf", corpus))

    unigram = train(corpus_file, FIXTURES / "spm-unigram", "unigram")
    write_config(unigram.parent, "LlamaTokenizer", unigram, add_bos_token=True)
    add("spm-unigram (tokenizer.model)", "spm-unigram-model", "sentencepiece", "spm-unigram/tokenizer.model",
        "fixtures", expect_sentencepiece(unigram, corpus))
    # Committed packed, as the other large fixtures (their tokenizer_config.json stays plain beside them).
    for path in [FIXTURES / "spm-bpe" / name for name in ("tokenizer.model", "tokenizer.json", "tokenizer-legacy.json",
                                                          "tokenizer-gemma.json", "vocab.gguf")]:
        pack(path)
    pack(iquest_dir / "tokenizer.model")
    pack(unigram)

    # Mistral v0.3: real, Apache 2.0, committed in all three forms.
    mistral_dir = FIXTURES / "mistral-v3"
    mistral_dir.mkdir(exist_ok=True)
    wheel = pip_download(MISTRAL_COMMON, CACHE / "downloads")
    with zipfile.ZipFile(wheel) as z, z.open(MISTRAL_V3) as src, open(mistral_dir / "tokenizer.model", "wb") as dst:
        shutil.copyfileobj(src, dst)
    write_config(mistral_dir, "LlamaTokenizer", mistral_dir / "tokenizer.model", add_bos_token=True)
    add("mistral-v3 (tokenizer.model)", "mistral-v3-model", "sentencepiece", "mistral-v3/tokenizer.model",
        "fixtures", expect_sentencepiece(mistral_dir / "tokenizer.model", corpus))
    hf_tokenizer_json(mistral_dir / "tokenizer.model", mistral_dir / "tokenizer.json")
    control = {t["content"]: (int(k), True) for k, t in added_tokens_decoder(mistral_dir / "tokenizer.model", {}).items()}
    doc = with_added_tokens(json.loads((mistral_dir / "tokenizer.json").read_text(encoding="utf-8")), control)
    (mistral_dir / "tokenizer.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    add("mistral-v3 (tokenizer.json)", "mistral-v3-json", "json", "mistral-v3/tokenizer.json", "fixtures",
        expect_tokenizers(mistral_dir / "tokenizer.json", corpus))
    gguf_from_directory(mistral_dir, mistral_dir / "vocab.gguf", "MistralForCausalLM")
    add("mistral-v3 (GGUF)", "mistral-v3-gguf", "gguf", "mistral-v3/vocab.gguf", "fixtures",
        expect_llamacpp(mistral_dir / "vocab.gguf", corpus))
    for name in ("vocab.gguf", "tokenizer.json", "tokenizer.model"):
        pack(mistral_dir / name)

    # Llama 2 and Gemma from the cache, with the configs --fetch-only writes.
    add("llama2 (tokenizer.model)", "llama2-model", "sentencepiece", "llama2/tokenizer.model", "cache",
        expect_sentencepiece(real["llama2"], corpus))
    add("gemma (tokenizer.model)", "gemma-model", "sentencepiece", "gemma/tokenizer.model", "cache",
        expect_sentencepiece(real["gemma"], corpus))

    gemma3 = MODELS / "gemma-3-270m-q4_k_m.gguf"
    add("gemma3-270m (GGUF)", "gemma3-270m-gguf", "gguf", "gemma-3-270m-q4_k_m.gguf", "models",
        expect_llamacpp(gemma3, corpus))

    manifest_path = FIXTURES / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    ours = {load["name"] for load in loads}
    manifest["loads"] = [l for l in manifest["loads"] if l["name"] not in ours] + loads
    manifest["expected"].update(metas)
    manifest_path.write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
