"""--cpu-float-activations: the CPU backend multiplies by the exact float32 activations (and, with
--kv-cache-dtype float32, attends over exact keys and values), so greedy decoding follows the
model's own distribution. Checked against transformers in float32 on the
dequantized GGUF (the hf_fp32_* entries tools/make_llamacpp_reference.py writes into
tests/fixtures/smollm2/greedy_reference.json): the greedy tokens of every reference prompt
(compared by their texts, as logprobs name them) and every step's top-1 margin (a logit difference,
so the logprob difference the API returns) within 1e-4; the fixture keeps 5 decimals. The default
int8-activation path is served too, to show the flag is what makes the difference."""
from __future__ import annotations

import json
from pathlib import Path

import openai
import pytest

from conftest import module_servers
from troupe_server import http_request

REFERENCE = Path(__file__).resolve().parent.parent / "fixtures" / "smollm2" / "greedy_reference.json"


def load_reference(model_path: str) -> dict:
    reference = json.loads(REFERENCE.read_text())
    if Path(model_path).name != reference["model_file"]:
        pytest.skip(f"the greedy reference is for {reference['model_file']}, not {Path(model_path).name}")
    return reference


@pytest.fixture(scope="module")
def servers(model_path, tmp_path_factory):
    load_reference(model_path)
    # The exact path keeps a float32 KV cache too (auto would store this quantized GGUF's as
    # float16, as llama.cpp does).
    configs = {"float": ["--device", "cpu", "--cpu-float-activations", "--kv-cache-dtype", "float32"],
               "int8": ["--device", "cpu"]}
    yield from module_servers(model_path, configs, tmp_path_factory.mktemp("float-activations"))


def greedy(server, name: str, prompt_ids: list[int], n: int):
    client = openai.OpenAI(base_url=server.base_url + "/v1", api_key="none", max_retries=0, timeout=300)
    out = client.completions.create(model=name, prompt=prompt_ids, max_tokens=n, temperature=0, logprobs=2,
                                    extra_body={"ignore_eos": True})
    choice = out.choices[0]
    margins = []
    for top in choice.logprobs.top_logprobs:
        values = sorted(top.values(), reverse=True)
        margins.append(values[0] - values[1] if len(values) > 1 else float("nan"))
    return choice.logprobs.tokens, margins


def token_texts(server, name: str, ids: list[int]) -> list[str]:
    """Each id's text as the logprobs name it (/detokenize keeps special tokens, as logprobs do)."""
    texts = []
    for token in ids:
        status, _, body = http_request(server.port, "POST", "/detokenize", {"model": name, "tokens": [token]},
                                       timeout=30)
        assert status == 200, body
        texts.append(json.loads(body)["prompt"])
    return texts


def test_greedy_tokens_and_margins_match_transformers(servers, model_path):
    reference = load_reference(model_path)
    worst = {"float": 0.0, "int8": 0.0}
    for case in reference["prompts"]:
        expected_ids = case["hf_fp32_generated_ids"]
        expected_tokens = token_texts(servers["float"], "float", expected_ids)
        tokens, margins = greedy(servers["float"], "float", case["prompt_ids"], len(expected_ids))
        assert tokens == expected_tokens, f"{case['name']}: greedy tokens differ from transformers float32"
        for step, (got, want) in enumerate(zip(margins, case["hf_fp32_top1_margin"])):
            # Steps whose two best tokens share a text collapse into one dict entry (nan): skipped.
            if got == got:
                assert abs(got - want) < 1e-4, f"{case['name']} step {step}: margin {got} vs {want}"
                worst["float"] = max(worst["float"], abs(got - want))
        _, int8_margins = greedy(servers["int8"], "int8", case["prompt_ids"], 8)
        for got, want in zip(int8_margins, case["hf_fp32_top1_margin"]):
            if got == got:
                worst["int8"] = max(worst["int8"], abs(got - want))
    print(f"largest top-1 margin error: float activations {worst['float']:.2e}, int8 {worst['int8']:.2e}")
    assert worst["int8"] > 10 * worst["float"], worst
