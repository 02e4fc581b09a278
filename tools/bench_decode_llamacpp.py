#!/usr/bin/env python3
"""Peer run for `troupe generate`'s decode speed: llama.cpp (llama-cpp-python) greedy-decoding the
same GGUF and prompt, one sequence, the same thread count. Prints tokens/s of the decode phase and
the process's peak RSS, in the same shape as troupe's own line.

    python3 tools/bench_decode_llamacpp.py MODEL.gguf --prompt "The quick brown fox" --max-tokens 128 --threads 2

Needs llama-cpp-python (built from the PyPI sdist); not part of the test suite.
"""
import argparse
import resource
import time

from llama_cpp import Llama


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("--prompt", default="The quick brown fox")
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    llm = Llama(model_path=args.model, n_ctx=2048, n_threads=args.threads, n_threads_batch=args.threads, verbose=False)
    prompt = llm.tokenize(args.prompt.encode(), add_bos=False, special=True)
    t0 = time.perf_counter()
    llm.eval(prompt)
    t_prefill = time.perf_counter()
    token = int(llm.scores[llm.n_tokens - 1].argmax())
    generated = [token]
    t_first = time.perf_counter()
    while len(generated) < args.max_tokens:
        llm.eval([token])
        token = int(llm.scores[llm.n_tokens - 1].argmax())
        generated.append(token)
    t_end = time.perf_counter()
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"llama.cpp: prompt {len(prompt)} tokens in {t_prefill - t0:.3f} s, generated {len(generated)} tokens, "
          f"decode {(len(generated) - 1) / (t_end - t_first):.2f} tok/s, peak RSS {rss_mib:.0f} MiB")


if __name__ == "__main__":
    main()
