"""Tensor parallelism (--tensor-parallel-size) end to end on the CPU: the ranks of a group give the
greedy tokens of one backend and top-5 logprobs within 1e-4 relative, through `troupe generate`
and through the server with 16 concurrent streamed requests that share a prefix (prefix caching)
in a KV cache too small for all of them (preemption): the Llama, Qwen2 and Qwen3 fixtures (their
tokenizers from tools/make_fixture_tokenizers.py) and the real SmolLM2 GGUF, on 2 and 4 ranks (the
fixtures' 2 kv heads and SmolLM2's 3 are split by 2 and replicated for 4). Also: TP 2 x DP 1 beside
TP 1 x DP 2; each rank's actor and weight bytes on /metrics; an injected rank failure that ends the
request of its step with the rank named while the next request succeeds.

All of it runs with --cpu-float-activations: int8 activations round at discontinuities that the
ranks' partial sums (another order of additions) cross now and then, and SmolLM2's outlier
activations amplify such a flip into logits as far apart as the AVX2 and AVX-512 kernels of one
backend are (tests/gpu/parallel/tensor_parallel_test.cpp bounds that case)."""
from __future__ import annotations

import asyncio
import json
import re
import subprocess
from pathlib import Path

import openai
import pytest

from conftest import module_servers
from test_generate_parity import assert_matches_reference, collect_stream
from troupe_server import http_request, metric_total, named_servers, troupe_bin

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "models"
EXACT = ["--device", "cpu", "--cpu-float-activations"]
PROMPT_IDS = "1,5,9,13,17,21,25,29,33,37,41,45"
SHARED = ("You are reviewing a pull request. The project is a small web service written in Python; it "
          "has a router, a database layer and a cache. Answer in two sentences. ")
TOPICS = ["the router", "the cache", "error handling", "logging", "the database layer", "tests", "naming",
          "configuration", "retries", "timeouts", "documentation", "metrics", "security", "deployment",
          "dependencies", "performance"]


def generate_ids(model: str, extra: list[str], max_tokens: int = 24, prompt_ids: str = PROMPT_IDS) -> str:
    cmd = [str(troupe_bin()), "generate", model, "--prompt-ids", prompt_ids, "--print-ids", "--max-tokens",
           str(max_tokens), "--ignore-eos", *EXACT, *extra]
    done = subprocess.run(cmd, capture_output=True, timeout=300)
    assert done.returncode == 0, f"{cmd} exited {done.returncode}: {done.stderr.decode(errors='replace')}"
    return done.stdout.decode().strip()


@pytest.mark.parametrize("ranks", [2, 4])
@pytest.mark.parametrize("model", ["llama", "qwen2", "qwen3", "smollm2"])
def test_generate_on_ranks_matches_one_backend(model, ranks, model_path):
    path = model_path if model == "smollm2" else str(FIXTURES / model)
    prompt = "1,9690,198,2683,359,253,5356,5646,11173,3365" if model == "smollm2" else PROMPT_IDS
    want = generate_ids(path, ["--threads", "2"], prompt_ids=prompt)
    got = generate_ids(path, ["--tensor-parallel-size", str(ranks)], prompt_ids=prompt)
    assert got == want, f"{model} on {ranks} ranks: {got} != {want}"


@pytest.mark.parametrize("model", ["gpt_oss_gguf/model.gguf", "gpt_oss_mxfp4", "glm4_moe", "glm4_moe_gguf/model.gguf",
                                   "qwen2_moe", "llama4", "llama4_gguf/model.gguf", "llama4_chunked",
                                   "granite_swa", "granitemoe_swa_gguf/model.gguf"])
def test_experts_on_two_ranks_match_one_backend(model):
    # gpt-oss: sinks sliced with the heads, the output bias and the experts' down biases added once,
    # the experts' gate/up biases sliced with their columns. GLM-4.5: the shared expert's columns
    # split as each routed expert's, the router replicated with its selection bias. Qwen2-MoE: the
    # shared expert's gate applied to each rank's partial sum. Llama 4: each rank's expert columns read
    # the same scaled rows; chunks, the weightless q/k norms and the temperature per head. Granite's
    # sliding-window releases: sinks sliced with the heads, a local RoPE base, a shared MLP.
    path = str(FIXTURES / model)
    want = generate_ids(path, ["--threads", "2"])
    assert generate_ids(path, ["--tensor-parallel-size", "2"]) == want


@pytest.mark.parametrize("model", ["starcoder2", "phi_gguf/model.gguf", "stablelm_12b", "stablelm_12b_gguf/model.gguf",
                                   "gpt2", "gpt_bigcode_gguf/model.gguf", "gpt_neox", "opt", "falcon_40b",
                                   "falcon_gguf/model.gguf", "gptj"])
def test_biased_layers_on_two_ranks_match_one_backend(model):
    # StarCoder2: the MLP's up bias sliced with its columns, down's added once. Phi-2: the vocabulary
    # projection's bias sliced with its rows (and the fused q|k|v bias of the GGUF). StableLM 2 12B:
    # each rank's heads' own q/k LayerNorms. GPT-2: the position table whole on every rank, added
    # after the embeddings' sum; GPTBigCode: its one key/value head on both ranks. GPT-NeoX: the MLP's
    # own norm of the layer's input on every rank. Falcon: key/value groups split as any GQA model's. GPT-J: lm_head's bias sliced with its rows, RoPE's
    # interleaved rows reordered before the heads are split.
    path = str(FIXTURES / model)
    want = generate_ids(path, ["--threads", "2"])
    assert generate_ids(path, ["--tensor-parallel-size", "2"]) == want


def test_a_shape_that_cannot_split_is_refused_at_load(model_path):
    # SmolLM2 has 9 attention heads: 16 ranks cannot each have one.
    done = subprocess.run([str(troupe_bin()), "generate", model_path, "--prompt", "hi", "--max-tokens", "1",
                           "--device", "cpu", "--tensor-parallel-size", "16"], capture_output=True, timeout=120)
    assert done.returncode == 2
    assert "--tensor-parallel-size 16: the model has 9 attention heads, fewer than the ranks" in done.stderr.decode()


# ~600 token slots of float32 keys and values (SmolLM2: 46,080 bytes per token): 16 requests of
# ~130-token prompts and 40 new tokens need ~2,700. A float32 cache, since rounding keys and values
# to 16 bits turns the last-bit differences of another summation order (the ranks', or another
# batch's row count) into 1e-4-sized ones.
SERVE = [*EXACT, "--kv-cache-dtype", "float32", "--max-model-len", "1024", "--max-num-seqs", "16",
         "--kv-cache-memory", str(600 * 46080)]


@pytest.fixture(scope="module")
def servers(model_path, tmp_path_factory):
    configs = {
        "whole": [*SERVE, "--threads", "2"],
        "tp2": [*SERVE, "--tensor-parallel-size", "2"],
        "tp4": [*SERVE, "--tensor-parallel-size", "4"],
        "dp2": [*SERVE, "--tensor-parallel-size", "1", "--data-parallel-size", "2"],
    }
    yield from module_servers(model_path, configs, tmp_path_factory.mktemp("tensor-parallel"))


async def streamed(server, name: str, topic: str, i: int):
    """One streamed chat completion: its text and (token, logprob, top-5) entries."""
    messages = [{"role": "user", "content": (SHARED if i % 2 == 0 else "") + f"What should I check about {topic}?"}]
    async with openai.AsyncOpenAI(base_url=server.base_url + "/v1", api_key="none", max_retries=0, timeout=600) as ac:
        return await collect_stream(await ac.chat.completions.create(
            model=name, messages=messages, max_tokens=40, temperature=0, stream=True, logprobs=True, top_logprobs=5),
            chat=True)


def sixteen_at_once(server, name: str):
    async def run():
        return await asyncio.gather(*(streamed(server, name, t, i) for i, t in enumerate(TOPICS)))
    return asyncio.run(run())


def metric_values(server, pattern: str) -> list[tuple[str, float]]:
    _, _, body = http_request(server.port, "GET", "/metrics", timeout=10)
    return [(m.group(1), float(m.group(2))) for m in re.finditer(pattern, body.decode(), re.M)]


def close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-4 * max(1.0, abs(b))


@pytest.fixture(scope="module")
def whole_results(servers):
    return sixteen_at_once(servers["whole"], "whole")


@pytest.mark.parametrize("name", ["tp2", "tp4", "dp2"])
def test_sixteen_streams_on_ranks_match_one_backend(servers, whole_results, name):
    results = sixteen_at_once(servers[name], name)
    for i, ((text, entries), (want_text, want_entries)) in enumerate(zip(results, whole_results)):
        label = f"{name} request {i}"
        assert_matches_reference(text, entries, want_text, label)
        for j, ((tok, lp, top), (want_tok, want_lp, want_top)) in enumerate(zip(entries, want_entries)):
            if tok != want_tok:
                break  # parted at a near-tie (checked above): what follows is another text
            assert close(lp, want_lp), f"{label} token {j} {tok!r}: logprob {lp} != {want_lp}"
            theirs = dict(want_top)
            for alt, v in top:
                if alt in theirs:
                    assert close(v, theirs[alt]), f"{label} token {j}: top logprob of {alt!r} {v} != {theirs[alt]}"
    if name != "dp2":  # two engines, each with a cache of its own: room for all
        assert metric_total(servers[name].port, "vllm:num_preemptions_total") > 0, f"{name}: no preemption; the test no longer covers it"
    assert metric_total(servers[name].port, "vllm:prefix_cache_hits_total") > 0, f"{name}: no prefix-cache hit"


# The tiny Llama, Qwen2 and Qwen3 fixtures (float32 weights and KV cache: exact arithmetic but for
# the order of the ranks' sums), each served whole and on 2 and 4 ranks: 16 streamed completions
# at once, half sharing a prefix, in 4-token blocks of which there are too few for all of them.
FIXTURE_PROMPTS = [("The scheduler plans the next step while the executor runs. " if i % 2 == 0 else "")
                   + f"Request {i} asks about the {TOPICS[i]}" for i in range(16)]


@pytest.fixture(scope="module", params=["llama", "qwen2", "qwen3"])
def fixture_servers(request, tmp_path_factory):
    name = request.param
    config = json.loads((FIXTURES / name / "config.json").read_text())
    # ~160 token slots: 16 requests of up to ~35 prompt and 24 new tokens need ~900.
    kv_bytes = 160 * 2 * config["num_hidden_layers"] * config["num_key_value_heads"] * config.get(
        "head_dim", config["hidden_size"] // config["num_attention_heads"]) * 4
    common = ["--device", "cpu", "--max-num-seqs", "16", "--block-size", "4", "--kv-cache-memory", str(kv_bytes),
              "--max-num-batched-tokens", "64"]
    configs = {f"{name}-whole": [*common, "--threads", "2"],
               f"{name}-tp2": [*common, "--tensor-parallel-size", "2"],
               f"{name}-tp4": [*common, "--tensor-parallel-size", "4"]}
    for started in module_servers(str(FIXTURES / name), configs, tmp_path_factory.mktemp(f"tp-{name}")):
        yield name, started


async def completion_stream(server, name: str, prompt: str):
    async with openai.AsyncOpenAI(base_url=server.base_url + "/v1", api_key="none", max_retries=0, timeout=300) as ac:
        return await collect_stream(await ac.completions.create(
            model=name, prompt=prompt, max_tokens=24, temperature=0, stream=True, logprobs=5), chat=False)


def test_fixture_families_on_ranks_match_one_backend(fixture_servers):
    family, started = fixture_servers

    def all_of(served: str):
        async def run():
            return await asyncio.gather(*(completion_stream(started[served], served, p) for p in FIXTURE_PROMPTS))
        return asyncio.run(run())

    want = all_of(f"{family}-whole")
    for ranks in ("tp2", "tp4"):
        served = f"{family}-{ranks}"
        for i, ((text, entries), (want_text, want_entries)) in enumerate(zip(all_of(served), want)):
            assert len(entries) == len(want_entries) == 24, f"{served} request {i}: {len(entries)} tokens"
            for j, ((tok, lp, top), (want_tok, want_lp, want_top)) in enumerate(zip(entries, want_entries)):
                assert tok == want_tok, f"{served} request {i} token {j}: {tok!r} != {want_tok!r}\n{text!r}\n{want_text!r}"
                assert close(lp, want_lp), f"{served} request {i} token {j}: logprob {lp} != {want_lp}"
                theirs = dict(want_top)
                assert set(dict(top)) == set(theirs), f"{served} request {i} token {j}: top-5 {top} != {want_top}"
                for alt, v in top:
                    assert close(v, theirs[alt]), f"{served} request {i} token {j}: logprob of {alt!r} {v} != {theirs[alt]}"
        assert metric_total(started[served].port, "vllm:num_preemptions_total") > 0, f"{served}: no preemption"
        assert metric_total(started[served].port, "vllm:prefix_cache_hits_total") > 0, f"{served}: no prefix-cache hit"


def test_each_rank_is_an_actor_with_its_weights_on_metrics(servers):
    for name, ranks in (("tp2", 2), ("tp4", 4)):
        actors = metric_values(servers[name], r'^caf_actor_mailbox_size\{name="(troupe\.executor\.0\.rank\.\d)",rank="\d"\} ([0-9.e+]+)$')
        assert sorted(a for a, _ in actors) == [f"troupe.executor.0.rank.{r}" for r in range(ranks)]
        processed = metric_values(servers[name], r'^caf_actor_processing_time_seconds_count\{name="troupe\.executor\.0\.rank\.(\d)",rank="\d"\} ([0-9.e+]+)$')
        assert len(processed) == ranks and all(v > 0 for _, v in processed), processed
        shards = metric_values(servers[name], r'^troupe_executor_weight_bytes\{engine="0",rank="(\d)"\} ([0-9.e+]+)$')
        whole = metric_values(servers["whole"], r'^troupe_executor_weight_bytes\{engine="0",rank="(\d)"\} ([0-9.e+]+)$')
        assert len(shards) == ranks and len(whole) == 1
        # Each rank holds a share: together a little more than the whole (norms are replicated).
        assert all(v < whole[0][1] * 0.75 for _, v in shards), (shards, whole)
        assert whole[0][1] <= sum(v for _, v in shards) < whole[0][1] * 1.1
    # TP 1 x DP 2: two engines, each a group of one rank.
    engines = metric_values(servers["dp2"], r'^troupe_executor_weight_bytes\{engine="(\d)",rank="0"\} ([0-9.e+]+)$')
    assert sorted(e for e, _ in engines) == ["0", "1"]


def test_a_failed_rank_fails_its_step_with_its_name_and_the_next_request_succeeds(model_path, tmp_path, monkeypatch):
    trigger = tmp_path / "fail-rank-1"
    monkeypatch.setenv("TROUPE_TEST_FAIL_RANK", f"1:{trigger}")
    with named_servers(model_path, {"tp2": [*SERVE, "--tensor-parallel-size", "2"]}, tmp_path) as started:
        server = started["tp2"]
        client = openai.OpenAI(base_url=server.base_url + "/v1", api_key="none", max_retries=0, timeout=300)
        ask = dict(model="tp2", messages=[{"role": "user", "content": "Say hello."}], max_tokens=8, temperature=0)
        want = client.chat.completions.create(**ask).choices[0].message.content
        trigger.write_text("x")
        with pytest.raises(openai.APIStatusError) as failed:
            client.chat.completions.create(**ask)
        assert failed.value.status_code == 500
        assert "tensor-parallel rank 1 failed: injected failure" in str(failed.value)
        assert not trigger.exists()
        assert client.chat.completions.create(**ask).choices[0].message.content == want
        restarts = metric_values(server, r'^troupe_actor_restarts_total\{name="troupe\.executor\.0\.rank\.(\d)",rank="\d"\} ([0-9.e+]+)$')
        assert dict(restarts) == {"0": 0.0, "1": 1.0}
        assert server.alive()
