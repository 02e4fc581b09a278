#!/usr/bin/env python3
"""Encode throughput of Hugging Face `tokenizers`, single thread, measured as troupe-tokenizer-bench
measures troupe: a cold pass over the corpus with a freshly loaded tokenizer, then warm passes until
--seconds have elapsed; each line encoded on its own (Tokenizer.encode, add_special_tokens=False).
MB/s counts UTF-8 bytes of input text (1 MB = 10^6 bytes).

  RAYON_NUM_THREADS=1 python3 tools/tokenizer_bench_hf.py [--tokenizer FILE.json] [--corpus corpus.jsonl]
"""
import argparse
import json
import os
import time

os.environ.setdefault("RAYON_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from tokenizers import Tokenizer  # noqa: E402  (after the thread settings)


def encode_all(tok, corpus):
    start = time.perf_counter()
    tokens = sum(len(tok.encode(text, add_special_tokens=False).ids) for text in corpus)
    return time.perf_counter() - start, tokens


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tokenizer", default="tests/fixtures/tokenizer/smollm2/tokenizer.json")
    parser.add_argument("--corpus", default="tests/fixtures/tokenizer/corpus.jsonl")
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    with open(args.corpus, encoding="utf-8") as f:
        corpus = [json.loads(line)["text"] for line in f]
    mb = sum(len(t.encode("utf-8")) for t in corpus) / 1e6

    tok = Tokenizer.from_file(args.tokenizer)
    cold_s, tokens = encode_all(tok, corpus)
    warm_s, passes = 0.0, 0
    while True:
        s, _ = encode_all(tok, corpus)
        warm_s += s
        passes += 1
        if warm_s >= args.seconds:
            break
    print(f"HF tokenizers {__import__('tokenizers').__version__}: {args.tokenizer}")
    print(f"corpus: {len(corpus)} lines, {mb:.3f} MB, {tokens} tokens")
    print(f"cold (first pass): {mb / cold_s:.2f} MB/s")
    print(f"warm ({passes} passes):  {mb * passes / warm_s:.2f} MB/s  ({tokens * passes / warm_s:.0f} tokens/s)")


if __name__ == "__main__":
    main()
