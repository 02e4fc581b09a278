#!/usr/bin/env python3
"""Writes the seed corpus of every fuzz target into fuzz/corpus/<target>/ (committed; rerun only to
change the seeds). Needs numpy and the `gguf` package (tools/requirements-test.txt).

Usage: python3 fuzz/make_seed_corpus.py
"""
from __future__ import annotations

import json
import lzma
import os
import random
import struct
from pathlib import Path

import gguf
import numpy as np

HERE = Path(__file__).resolve().parent
FIXTURES = HERE.parent / "tests" / "fixtures"


def write(target: str, name: str, data: bytes | str) -> None:
    folder = HERE / "corpus" / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data if isinstance(data, bytes) else data.encode())


def openai_request() -> None:
    t = "openai_request"
    write(t, "chat", json.dumps({
        "model": "fuzz-model", "max_tokens": 5, "temperature": 0.7, "top_p": 0.9, "stop": ["\n"], "stream": True,
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": [{"type": "text", "text": "Hi"}]}],
        "stream_options": {"include_usage": True}, "logprobs": True, "top_logprobs": 2, "n": 2, "seed": 3}))
    write(t, "chat_tools", json.dumps({
        "messages": [{"role": "user", "content": "x"},
                     {"role": "assistant", "content": None,
                      "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
                     {"role": "tool", "tool_call_id": "c", "content": "1"}],
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}], "tool_choice": "auto",
        "response_format": {"type": "text"}}))
    write(t, "completion", json.dumps({"model": "fuzz-model", "prompt": "Once upon", "max_tokens": 16, "echo": True,
                                       "logprobs": 3, "min_tokens": 2, "stop_token_ids": [2], "ignore_eos": False}))
    write(t, "completion_ids", json.dumps({"prompt": [1, 2, 3, 49151], "max_tokens": 1}))
    write(t, "tokenize", json.dumps({"model": "fuzz-model", "prompt": "hello", "add_special_tokens": False}))
    write(t, "tokenize_chat", json.dumps({"messages": [{"role": "user", "content": "hello"}], "add_generation_prompt": True}))
    write(t, "detokenize", json.dumps({"tokens": [1, 2, 3]}))
    write(t, "surrogates", '{"prompt":"\\ud800\\udc00 \\ud83d","max_tokens":-1,"max_completion_tokens":"x","response_format":"x"}')


def safetensors() -> None:
    header = {"__metadata__": {"format": "pt"},
              "a": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},
              "b": {"dtype": "F16", "shape": [3], "data_offsets": [16, 22]},
              "c": {"dtype": "BF16", "shape": [1], "data_offsets": [22, 24]}}
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    data = np.arange(4, dtype=np.float32).tobytes() + np.ones(3, dtype=np.float16).tobytes() + b"\x80\x3f"
    write("safetensors", "three_tensors", struct.pack("<Q", len(h)) + h + data)


def gguf_files() -> None:
    folder = HERE / "corpus" / "gguf"
    folder.mkdir(parents=True, exist_ok=True)
    for name, qtype, shape in (("f32", gguf.GGMLQuantizationType.F32, (2, 32)),
                               ("q8_0", gguf.GGMLQuantizationType.Q8_0, (2, 32)),
                               ("q4_1", gguf.GGMLQuantizationType.Q4_1, (1, 32))):
        w = gguf.GGUFWriter(str(folder / name), "llama")
        w.add_uint32("llama.block_count", 1)
        w.add_uint32("llama.context_length", 64)
        w.add_uint32("llama.embedding_length", 32)
        w.add_uint32("llama.feed_forward_length", 64)
        w.add_uint32("llama.attention.head_count", 2)
        w.add_uint32("llama.attention.head_count_kv", 1)
        w.add_float32("llama.attention.layer_norm_rms_epsilon", 1e-5)
        w.add_string("general.name", "fuzz")
        w.add_array("tokenizer.ggml.tokens", ["a", "b", "c", "ab"])
        w.add_string("tokenizer.ggml.model", "gpt2")
        w.add_array("tokenizer.ggml.merges", ["a b"])
        w.add_array("tokenizer.ggml.token_type", [1, 1, 1, 1])
        data = np.random.RandomState(0).randn(*shape).astype(np.float32)
        if qtype == gguf.GGMLQuantizationType.F32:
            w.add_tensor("token_embd.weight", data)
        else:
            q = gguf.quants.quantize(data, qtype)
            w.add_tensor("token_embd.weight", q, raw_shape=q.shape, raw_dtype=qtype)
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()


def tokenizer() -> None:
    texts = ["Hello world! 123 4567", "  leading spaces\tand\nnewlines\r\n", "<|im_start|>user\nhé 😀 日本語<|im_end|>",
             "don't I'll we've", "\xff\xfe broken"]
    for i, text in enumerate(texts):
        write("tokenizer", f"text{i}", bytes([i % 8]) + text.encode("utf-8", "surrogatepass"))
    ids = [1, 504, 3000, 49151, 49153, 0xFFFFFFFF]
    write("tokenizer", "ids", bytes([2]) + b"".join(struct.pack(">I", x) for x in ids))


def chat_template() -> None:
    t = "chat_template"
    for name in ("smollm2", "qwen2_5", "llama3_2", "qwen3"):
        template = json.loads(lzma.decompress((FIXTURES / "chat_template" / f"{name}.json.xz").read_bytes()))["template"]
        write(t, f"template_{name}", b"\x00" + template.encode())
    write(t, "template_ops", b"\x02{% set ns = namespace(x=1) %}{% for m in messages|reverse %}{{ m.role|upper }}"
          b"{{ loop.index }}{% if m.content is string %}{{ m.content[:3]|tojson }}{% endif %}{% endfor %}"
          b"{{ ns.x + 1 }}{{ \"a,b\"|split(\",\")|join(\"-\") if false else raise_exception(\"x\") }}")
    write(t, "messages", b"\x01" + json.dumps([{"role": "system", "content": "s"},
                                               {"role": "user", "content": [{"type": "text", "text": "a"},
                                                                            {"type": "text", "text": "b"}]},
                                               {"role": "assistant", "content": "c"}]).encode())
    write(t, "messages_gen", b"\x03" + json.dumps([{"role": "user", "content": "x"}]).encode())


def stream_encoder() -> None:
    rnd = random.Random(1)
    for i in range(6):
        write("stream_encoder", f"events{i}", bytes(rnd.randrange(256) for _ in range(64 + 64 * i)))


if __name__ == "__main__":
    openai_request()
    safetensors()
    gguf_files()
    tokenizer()
    chat_template()
    stream_encoder()
