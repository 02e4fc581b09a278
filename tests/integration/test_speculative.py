"""Speculative decoding through the real server (--speculative-config) on the real SmolLM2 GGUF:
greedy output equals the output of a server without speculation on 50 prompts of chat and code,
one at a time and 16 at once; seeded sampling and structured output too; vLLM's spec_decode
counters on /metrics; configurations troupe cannot serve are refused at start with the reason."""
from __future__ import annotations

import json
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import openai
import pytest

from conftest import module_servers
from troupe_server import metric_total, troupe_bin

NGRAM = {"method": "ngram", "num_speculative_tokens": 4, "prompt_lookup_min": 2, "prompt_lookup_max": 5,
         "disable_by_batch_size": 16}

SNIPPETS = [
    "def add(a, b):\n    return a + b\n\nprint(add(2, 3))\n",
    "for i in range(10):\n    if i % 2 == 0:\n        print(i)\n",
    "class Point:\n    def __init__(self, x, y):\n        self.x = x\n        self.y = y\n",
    "import os\n\nfor name in os.listdir('.'):\n    print(name)\n",
    "def fib(n):\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a\n",
]
EDITS = ["Rename every variable to a longer name.", "Add a comment to each line.", "Convert it to JavaScript.",
         "Add type hints.", "Write it again exactly, then explain it in one sentence."]
TOPICS = ["the water cycle", "how a bicycle works", "why the sky is blue", "what a compiler does", "the French Revolution",
          "photosynthesis", "how to boil an egg", "the rules of chess", "what DNS is", "how vaccines work",
          "a haiku about autumn", "the history of Rome", "how to learn a language", "what an API is", "the moon landing",
          "how bees make honey", "the game of go", "what inflation is", "how rainbows form", "the printing press",
          "a short story about a cat", "how airplanes fly", "what a prime number is", "the Olympic games",
          "how to plant a tree"]


def prompts() -> list[list[dict]]:
    """50 conversations: 25 code edits (the source comes back, mostly), 25 open chat."""
    out = []
    for i, snippet in enumerate(SNIPPETS):
        for j, edit in enumerate(EDITS):
            out.append([{"role": "user", "content": f"Here is some code:\n```python\n{snippet}```\n{edit}"}])
    for topic in TOPICS:
        out.append([{"role": "user", "content": f"Tell me about {topic}."}])
    assert len(out) == 50
    return out


@pytest.fixture(scope="module")
def spec_servers(model_path, tmp_path_factory):
    common = ["--max-model-len", "2048", "--kv-cache-memory", str(256 << 20)]
    configs = {
        "plain": common,
        "ngram": [*common, "--speculative-config", json.dumps(NGRAM)],
        # The model drafting for itself: every greedy guess holds; what is checked is the plumbing
        # (the draft's own KV cache, its catch-up, its guesses) on a real model.
        "draft": [*common, "--speculative-config", json.dumps({"model": model_path, "num_speculative_tokens": 3,
                                                               "disable_by_batch_size": 16})],
    }
    yield from module_servers(model_path, configs, tmp_path_factory.mktemp("speculative"))


def chat(server, name: str, messages, **kwargs) -> str:
    client = openai.OpenAI(base_url=server.base_url + "/v1", api_key="none", max_retries=0, timeout=300)
    out = client.chat.completions.create(model=name, messages=messages, **kwargs)
    return out.choices[0].message.content


def all_outputs(server, name: str, parallel: int, **kwargs) -> list[str]:
    with ThreadPoolExecutor(max_workers=parallel) as pool:
        return list(pool.map(lambda m: chat(server, name, m, **kwargs), prompts()))


def test_greedy_output_equals_plain_decoding(spec_servers):
    greedy = {"max_tokens": 96, "temperature": 0}
    reference = all_outputs(spec_servers["plain"], "plain", 1, **greedy)
    for name in ("ngram", "draft"):
        for parallel in (1, 16):
            got = all_outputs(spec_servers[name], name, parallel, **greedy)
            diff = [i for i in range(50) if got[i] != reference[i]]
            assert not diff, f"{name}, {parallel} at once: prompts {diff} differ, first:\n{reference[diff[0]]!r}\n{got[diff[0]]!r}"
    # The guesses were made and many held: code edits repeat their source.
    ngram = spec_servers["ngram"]
    drafts = metric_total(ngram.port, "vllm:spec_decode_num_drafts_total")
    proposed = metric_total(ngram.port, "vllm:spec_decode_num_draft_tokens_total")
    accepted = metric_total(ngram.port, "vllm:spec_decode_num_accepted_tokens_total")
    assert drafts > 100 and 0 < accepted <= proposed
    assert metric_total(ngram.port, "vllm:spec_decode_num_accepted_tokens_per_pos_total") == pytest.approx(accepted)
    draft = spec_servers["draft"]
    assert metric_total(draft.port, "vllm:spec_decode_num_accepted_tokens_total") == metric_total(draft.port, "vllm:spec_decode_num_draft_tokens_total") > 0


def test_seeded_sampling_and_structured_output_equal_plain_decoding(spec_servers):
    messages = prompts()[2]
    sampled = {"max_tokens": 80, "temperature": 0.8, "top_p": 0.95, "seed": 11, "presence_penalty": 0.2, "logprobs": True,
               "top_logprobs": 2}
    schema = {"type": "object", "properties": {"name": {"type": "string"}, "lines": {"type": "integer"}},
              "required": ["name", "lines"], "additionalProperties": False}
    structured = {"max_tokens": 80, "temperature": 0,
                  "response_format": {"type": "json_schema", "json_schema": {"name": "summary", "schema": schema}}}
    for kwargs in (sampled, structured):
        want = chat(spec_servers["plain"], "plain", messages, **kwargs)
        for name in ("ngram", "draft"):
            assert chat(spec_servers[name], name, messages, **kwargs) == want, name
    json.loads(chat(spec_servers["ngram"], "ngram", messages, **structured))


def test_stop_strings_and_max_tokens_inside_accepted_guesses(spec_servers):
    """A stop string or max_tokens that falls inside a run of accepted guesses ends the output
    exactly where plain decoding ends it."""
    messages = [{"role": "user", "content": "Repeat exactly: one two three four five six seven eight nine ten"}]
    for kwargs in ({"max_tokens": 7, "temperature": 0}, {"max_tokens": 64, "temperature": 0, "stop": [" five"]}):
        want = chat(spec_servers["plain"], "plain", messages, **kwargs)
        assert chat(spec_servers["ngram"], "ngram", messages, **kwargs) == want


@pytest.mark.parametrize("config,message", [
    ('{"method": "eagle", "model": "x", "num_speculative_tokens": 2}', "not supported"),
    ('{"method": "ngram"}', "num_speculative_tokens"),
    ("not json", "not a JSON object"),
])
def test_bad_configs_are_refused_at_start(model_path, config, message):
    proc = subprocess.run([str(troupe_bin()), "serve", model_path, "--port", "0", "--speculative-config", config],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert message in proc.stdout + proc.stderr


def test_a_draft_of_another_vocabulary_is_refused(model_path):
    import os
    other = os.environ.get("TROUPE_GEMMA3_MODEL", "")
    if not other:
        pytest.skip("TROUPE_GEMMA3_MODEL is not set (tools/fetch_model.sh gemma3-270m)")
    config = json.dumps({"model": other, "num_speculative_tokens": 3})
    proc = subprocess.run([str(troupe_bin()), "serve", model_path, "--port", "0", "--speculative-config", config],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    assert re.search(r"vocabulary has \d+ tokens, the target's 49152", proc.stdout + proc.stderr), proc.stderr[-2000:]


def test_a_model_with_convolution_state_refuses_speculation():
    """LFM2 keeps each sequence's last convolution inputs: rejected guesses could not be taken back,
    so --speculative-config is refused by name at start (and a draft with such state likewise)."""
    lfm2 = Path(__file__).resolve().parents[1] / "fixtures" / "models" / "lfm2"
    proc = subprocess.run([str(troupe_bin()), "serve", str(lfm2), "--port", "0", "--speculative-config",
                           json.dumps({"method": "ngram", "num_speculative_tokens": 3})],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "lfm2 keeps per-sequence recurrent state" in proc.stdout + proc.stderr, proc.stderr[-2000:]
