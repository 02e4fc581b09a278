"""The tiny models of the other families (tests/fixtures/models: Gemma 3 with sliding and global
layers, Mistral with a sliding window, an IQuest-Coder-shaped model with clip_qkv, Phi-3 with fused
projections, LongRoPE and a sliding window, SmolLM3 with a layer without RoPE, Gemma 2 with soft-capping, Granite with its multipliers, Mistral Small 3.1's multimodal layout read for its text, Ministral 3
(YaRN and Llama 4's attention temperature, in the same layout), Qwen3-VL's language model beside its
vision tower, MiniMax-M2 (whole-projection q/k norms, partial RoPE, sigmoid routing with a selection
bias), Seed-OSS (q/k/v biases), LFM2 and its mixture of experts (as saved and as llama.cpp's GGUF), Granite 4.0-H (Mamba-2
layers around NoPE attention), Qwen3.5 and its mixture of experts (short convolutions and gated delta
nets, Mamba-2 states, whose per-sequence state must follow each sequence through chunks, preemption and batching), Qwen3-MoE (a
dense layer among experts), Mixtral, OLMo 2 and 3 (output norms only), OLMoE, Cohere and Cohere 2 (LayerNorm,
parallel blocks), GLM-4 (partial interleaved RoPE), EXAONE 4 (RoPE on sliding layers only), Llama 4 (chunked attention,
NoPE layers with their temperature, experts on scaled inputs; its chunks of 8 in llama4_chunked); each with a
SentencePiece tokenizer.model and its family's chat template; Qwen3 GGUFs of Q2_K, Q3_K, IQ4_NL and
IQ4_XS tensors and of the lattice types IQ1_S … IQ3_S made by llama-quantize, their vocabulary in the file; GLM-4.5 (experts routed as
DeepSeek-V3, a shared expert), Qwen2-MoE (a gated shared expert), DeepSeek-V2 (its GGUF) and DeepSeek-V3 (latent attention:
one cache row per token and layer; as its block-scaled FP8 checkpoint); gpt-oss (attention sinks, biased experts) as llama.cpp's GGUF with MXFP4 experts and as OpenAI's MXFP4 safetensors) served end to end: 16 concurrent
greedy requests, streamed and not, chat and completions, give what `troupe generate` gives for each
alone. The server is set up so that the paths a sliding window can break are all taken: prompts
far longer than the 8-position window, prefilled in chunks of 16 tokens (--max-num-batched-tokens)
beside decoding streams, prompts sharing a long prefix (prefix caching), and a KV cache too small
for all 16 at once (preemption, counted on /metrics). The 16 are queued while the server is paused
(vLLM's POST /pause?mode=keep, VLLM_SERVER_DEV_MODE=1) and start together on /resume, so that they
meet in the cache however the client's sends are spread."""
from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import openai
import pytest

from conftest import run_generate
from test_generate_parity import assert_matches_reference, collect_stream, entries_of
from troupe_server import TroupeServer, http_request, metric_total

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "models"
FAMILIES = ["gemma3", "gemma", "gemma_gguf", "starcoder2", "starcoder2_gguf", "phi", "phi_gguf", "stablelm", "stablelm_gguf",
            "stablelm_12b", "stablelm_12b_gguf", "exaone", "exaone_gguf", "internlm3", "internlm3_gguf", "olmo", "olmo_gguf",
            "helium", "hunyuan_dense", "hunyuan_dense_gguf", "apertus", "apertus_gguf", "glm", "glm_gguf", "dots1", "dots1_gguf", "gpt2", "gpt2_gguf", "gpt_bigcode", "gpt_bigcode_gguf", "gpt_neox", "gpt_neox_gguf",
            "gpt_neox_seq", "opt", "falcon", "falcon_gguf", "falcon_40b", "falcon_40b_gguf", "falcon_seq", "gptj", "mistral", "iquestcoder", "phi3", "smollm3", "gemma2", "granite", "mistral3", "ministral3", "mistral4", "mistral4_gguf",
            "qwen3_vl", "qwen2_5_vl", "qwen3_vl_moe", "minimax_m2", "seed_oss", "lfm2", "lfm2_moe", "lfm2_moe_gguf", "granite_hybrid", "granite_hybrid_gguf", "granite_hybrid_moe", "granite_hybrid_moe_gguf", "granite_moe", "granite_moe_gguf", "granite_swa", "granitemoe_swa", "granitemoe_swa_gguf", "qwen3_5", "qwen3_5_moe", "qwen3_5_moe_gguf", "qwen3_next", "qwen3_next_gguf", "ernie4_5", "ernie4_5_gguf", "ernie4_5_moe", "ernie4_5_moe_gguf", "nemotron_h", "nemotron_h_gguf", "nemotron_h_moe", "nemotron_h_moe_gguf", "nemotron_h_latent", "nemotron_h_latent_gguf", "falcon_h1", "falcon_h1_gguf", "lfm3", "lfm2_vl", "lfm3_vl", "gemma4", "gemma4_gguf", "gemma4_moe", "gemma4_moe_gguf", "gemma4_e", "gemma4_e_gguf", "gemma3n", "gemma3n_gguf", "gemma3n_released", "llama4", "llama4_gguf", "llama4_chunked", "arcee", "arcee_gguf", "ministral", "solar_open", "qwen3_moe", "mixtral", "olmo2", "olmo3", "olmoe", "cohere", "cohere2", "glm4", "exaone4", "qwen3_gguf_mixed",
            "qwen3_gguf_iq", "glm4_moe", "qwen2_moe", "gpt_oss_gguf", "gpt_oss_mxfp4", "deepseek_v2_gguf", "deepseek_v3_fp8"]
SHARED = " ".join(f"Note {j}: boats in rows." for j in range(3))  # a prefix some prompts share


def make_cases() -> list[dict]:
    cases = []
    for i in range(16):
        body = " ".join(f"line {j} of {i}" for j in range(1 + i % 4))
        prompt = f"{SHARED} {body}" if i % 3 == 0 else body
        cases.append({"prompt": prompt, "chat": i % 2 == 0, "max_tokens": 6 + (i * 7) % 13})
    return cases


CASES = make_cases()
# About 200 token slots of every layer's keys and values, stored in the model's float type (auto):
# float32, or bfloat16 for the families whose fixtures hold bfloat16 weights, float16 for a quantized
# GGUF. The 16 requests need about 800, so some are preempted.
FLOAT32 = {}
BFLOAT16 = {"gemma3": (5, 32), "iquestcoder": (2, 16), "mistral": (2, 16), "phi3": (2, 16), "smollm3": (4, 16), "gemma2": (4, 32), "granite": (2, 16), "mistral3": (2, 16),
            "ministral3": (2, 8), "qwen3_vl": (2, 8), "qwen2_5_vl": (2, 8), "qwen3_vl_moe": (2, 8), "minimax_m2": (2, 16),
            "seed_oss": (2, 8), "qwen3_moe": (3, 16), "mixtral": (2, 16), "olmo2": (2, 16), "olmo3": (4, 16), "olmoe": (2, 16),
            "cohere": (2, 16), "cohere2": (4, 16), "glm4": (2, 16), "exaone4": (4, 16), "gpt_oss_mxfp4": (3, 16),
            "glm4_moe": (3, 16), "qwen2_moe": (3, 16), "llama4": (4, 8), "llama4_gguf": (4, 8), "llama4_chunked": (5, 8),
            "starcoder2": (2, 8), "starcoder2_gguf": (2, 8), "phi": (2, 16), "phi_gguf": (2, 16), "stablelm": (2, 16),
            "stablelm_gguf": (2, 16), "stablelm_12b": (2, 8), "stablelm_12b_gguf": (2, 8), "exaone": (2, 8),
            "exaone_gguf": (2, 8), "internlm3": (2, 8), "internlm3_gguf": (2, 8), "olmo": (2, 8), "olmo_gguf": (2, 8),
            "helium": (2, 8), "hunyuan_dense": (2, 8), "hunyuan_dense_gguf": (2, 8),
            "apertus": (2, 8), "apertus_gguf": (2, 8), "glm": (2, 8), "glm_gguf": (2, 8),
            "dots1": (3, 8), "dots1_gguf": (3, 8),
            # GPT-2's four KV heads of 8 in two layers take what two heads in four layers would.
            "gpt2": (4, 8), "gpt2_gguf": (4, 8), "gpt_neox": (2, 16), "gpt_neox_gguf": (2, 16), "gpt_neox_seq": (2, 16),
            "opt": (4, 8), "falcon_40b": (2, 8), "falcon_40b_gguf": (2, 8), "falcon_seq": (4, 8), "gptj": (2, 16)}
FLOAT16 = {"qwen3_gguf_mixed": (2, 64), "qwen3_gguf_iq": (2, 64), "gpt_oss_gguf": (3, 16)}
# Latent attention keeps one bfloat16 (float16 for the FP8 checkpoint, held as Q8_0) row (latent 24 +
# rotated key 8) per token and layer.
LATENT = {"deepseek_v2_gguf": (2, 32), "deepseek_v3_fp8": (2, 32), "mistral4": (2, 32), "mistral4_gguf": (2, 32)}
# One bfloat16 KV head of 8 per attention layer: the hybrids (LFM2, Qwen3.5, Qwen3-Next, Granite 4.0-H, Nemotron-H, Falcon-H1, LFM3) hold keys
# and values in their one attention layer and a state per sequence in the others, which the cache
# size does not count; granite_moe and the ERNIE 4.5 fixtures have four attention layers, Falcon-H1's
# and LFM3's three, Arcee's and Solar Open's two and Ministral's four (all attention).
ONE_KV_HEAD = {"lfm2": (1, 8), "lfm2_moe": (1, 8), "lfm2_moe_gguf": (1, 8), "granite_hybrid": (1, 8), "granite_hybrid_gguf": (1, 8),
               "granite_hybrid_moe": (1, 8), "granite_hybrid_moe_gguf": (1, 8), "granite_moe": (4, 8), "granite_moe_gguf": (4, 8), "granite_swa": (4, 8), "granitemoe_swa": (4, 8),
               "granitemoe_swa_gguf": (4, 8),
               "qwen3_5": (1, 8), "qwen3_5_moe": (1, 8), "qwen3_5_moe_gguf": (1, 8), "qwen3_next": (1, 8),
               "qwen3_next_gguf": (1, 8), "ernie4_5": (4, 8), "ernie4_5_gguf": (4, 8), "ernie4_5_moe": (4, 8),
               "ernie4_5_moe_gguf": (4, 8), "nemotron_h": (1, 8), "nemotron_h_gguf": (1, 8), "nemotron_h_moe": (1, 8),
               "nemotron_h_moe_gguf": (1, 8), "nemotron_h_latent": (1, 8),
               "nemotron_h_latent_gguf": (1, 8), "falcon_h1": (3, 8), "falcon_h1_gguf": (3, 8), "lfm3": (3, 8), "lfm2_vl": (1, 8), "lfm3_vl": (3, 8), "arcee": (2, 8),
               "arcee_gguf": (2, 8), "ministral": (4, 8), "solar_open": (2, 8),
               "gemma": (2, 16), "gemma_gguf": (2, 16), "gpt_bigcode": (2, 8), "gpt_bigcode_gguf": (2, 8), "falcon": (2, 8),
               "falcon_gguf": (2, 8)}
# Gemma 4's layers hold heads of two sizes (bfloat16): its sliding ones two KV heads of 8, its full ones one
# of 16; gemma4 has three sliding and two full layers, gemma4_moe two and one. Values per token and plane:
# gemma4_e's last two layers use layers 3's and 2's keys and values and hold none (three sliding layers
# and one full one, of two heads each).
GEMMA4 = {"gemma4": 3 * 2 * 8 + 2 * 16, "gemma4_gguf": 3 * 2 * 8 + 2 * 16, "gemma4_moe": 2 * 2 * 8 + 16,
          "gemma4_moe_gguf": 2 * 2 * 8 + 16, "gemma4_e": 3 * 2 * 8 + 2 * 16, "gemma4_e_gguf": 3 * 2 * 8 + 2 * 16,
          # Gemma 3n's four layers that keep their keys and values, two heads of 8 each (its last two share).
          "gemma3n": 4 * 2 * 8, "gemma3n_gguf": 4 * 2 * 8, "gemma3n_released": 4 * 2 * 8}
KV_CACHE_BYTES = {**{name: 200 * 2 * values * 2 for name, values in GEMMA4.items()},**{name: 200 * 2 * layers * head_dim * 2 for name, (layers, head_dim) in ONE_KV_HEAD.items()},**{name: 200 * 2 * layers * 2 * head_dim * 4 for name, (layers, head_dim) in FLOAT32.items()},
                  **{name: 200 * 2 * layers * 2 * head_dim * 2 for name, (layers, head_dim) in {**BFLOAT16, **FLOAT16}.items()},
                  **{name: 200 * layers * row * 2 for name, (layers, row) in LATENT.items()}}


@pytest.fixture(scope="module", params=FAMILIES)
def family(request, tmp_path_factory):
    name = request.param
    gguf = FIXTURES / name / "model.gguf"
    model = str(gguf if gguf.exists() else FIXTURES / name)
    log = tmp_path_factory.mktemp(f"troupe-{name}") / "serve.log"
    server = TroupeServer(model, ["--served-model-name", name, "--max-num-seqs", "16",
                                  "--max-num-batched-tokens", "16", "--block-size", "4",
                                  "--kv-cache-memory", str(KV_CACHE_BYTES[name]), "--threads", "2"], log_path=log,
                          env={"VLLM_SERVER_DEV_MODE": "1"})
    try:
        server.start()
    except RuntimeError as e:
        pytest.fail(str(e), pytrace=False)
    references = [run_generate(model, c["prompt"], c["max_tokens"], c["chat"]) for c in CASES]
    yield name, server, references
    alive = server.alive()
    code = server.stop()
    assert alive and code == 0, f"{name}: troupe serve died or exited {code}\n{server.log_tail()}"


def kwargs(name: str, case: dict) -> dict:
    kw = dict(model=name, max_tokens=case["max_tokens"], temperature=0)
    if case["chat"]:
        kw.update(messages=[{"role": "user", "content": case["prompt"]}], logprobs=True, top_logprobs=3)
    else:
        kw.update(prompt=case["prompt"], logprobs=3)
    return kw


async def one(ac, name: str, case: dict, stream: bool):
    if not stream:
        if case["chat"]:
            r = await ac.chat.completions.create(**kwargs(name, case))
            return r.choices[0].message.content or "", entries_of(r.choices[0], True)
        r = await ac.completions.create(**kwargs(name, case))
        return r.choices[0].text, entries_of(r.choices[0], False)
    api = ac.chat.completions if case["chat"] else ac.completions
    return await collect_stream(await api.create(stream=True, **kwargs(name, case)), case["chat"])


def preemptions(server) -> float:
    return metric_total(server.port, "vllm:num_preemptions_total")


async def queued_together(server, requests: list):
    """Runs the coroutines `requests` so that the server starts them together: paused (mode keep)
    until all of them wait in its queue, then resumed."""
    status, _, body = await asyncio.to_thread(http_request, server.port, "POST", "/pause?mode=keep", timeout=30)
    assert status == 200, body
    tasks = [asyncio.ensure_future(r) for r in requests]
    deadline = asyncio.get_running_loop().time() + 60
    while (waiting := await asyncio.to_thread(metric_total, server.port, "vllm:num_requests_waiting")) < len(requests):
        assert asyncio.get_running_loop().time() < deadline, f"only {waiting} of {len(requests)} requests queued"
        await asyncio.sleep(0.05)
    status, _, body = await asyncio.to_thread(http_request, server.port, "POST", "/resume", timeout=30)
    assert status == 200, body
    return await asyncio.gather(*tasks)


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_sixteen_concurrent_match_troupe_generate(family, stream):
    name, server, references = family

    async def all_at_once():
        async with openai.AsyncOpenAI(base_url=server.base_url + "/v1", api_key="none", max_retries=0,
                                      timeout=300) as ac:
            return await queued_together(server, [one(ac, name, c, stream) for c in CASES])

    results = asyncio.run(all_at_once())
    for i, ((served, entries), reference) in enumerate(zip(results, references)):
        assert_matches_reference(served, entries, reference, f"{name} case {i} ({'streamed' if stream else 'whole'})")
    # 16 prompts of up to ~70 tokens do not fit the cache together: some were preempted and
    # recomputed, and still gave the same text.
    assert preemptions(server) > 0, f"{name}: no preemption happened; the test no longer covers it"


def test_gemma3_gguf_served_with_its_chat_template(tmp_path):
    """The real Gemma 3 270M GGUF (no template of its own) with deploy/chat_templates/gemma.jinja:
    the chat prompt is Gemma's turn format, its special tokens cut out as llama.cpp cuts them, and a
    streamed greedy chat completion is what `troupe generate --chat` gives (a base model: it does not
    answer; tests/gpu/gemma3_model_test.cpp compares its tokens with llama.cpp's)."""
    import os
    model = os.environ.get("TROUPE_GEMMA3_MODEL", "")
    if not model:
        pytest.fail("TROUPE_GEMMA3_MODEL is not set (tools/fetch_model.sh gemma3-270m prints the path)", pytrace=False)
    template = Path(__file__).resolve().parents[2] / "deploy" / "chat_templates" / "gemma.jinja"
    server = TroupeServer(model, ["--served-model-name", "gemma3", "--max-model-len", "2048", "--threads", "2",
                                  "--chat-template", str(template)], log_path=tmp_path / "serve.log")
    try:
        server.start()
    except RuntimeError as e:
        pytest.fail(str(e), pytrace=False)
    try:
        messages = [{"role": "system", "content": "Answer briefly."},
                    {"role": "user", "content": "What is the capital of France?"}]
        status, _, body = http_request(server.port, "POST", "/tokenize", {"messages": messages}, timeout=30)
        assert status == 200, body
        tokens = json.loads(body)["tokens"]
        status, _, body = http_request(server.port, "POST", "/detokenize", {"tokens": tokens}, timeout=30)
        # Gemma's turn format, the system message opening the user's turn; /detokenize (as vLLM's)
        # keeps special tokens.
        assert json.loads(body)["prompt"] == ("<bos><start_of_turn>user\nAnswer briefly.\n\nWhat is the capital of "
                                              "France?<end_of_turn>\n<start_of_turn>model\n"), body
        assert tokens[:3] == [2, 105, 2364], tokens  # <bos> <start_of_turn> user

        client = openai.OpenAI(base_url=server.base_url + "/v1", api_key="none", max_retries=0, timeout=120)
        text, finish = "", None
        for chunk in client.chat.completions.create(model="gemma3", messages=messages[1:], max_tokens=48, temperature=0,
                                                    stream=True):
            for ch in chunk.choices:
                text += ch.delta.content or ""
                finish = ch.finish_reason or finish
        reference = run_generate(model, messages[1]["content"], 48, True, ["--chat-template", str(template)])
        assert text == reference, (text, reference)
        assert finish in ("stop", "length") and "\ufffd" not in text, (finish, text)
    finally:
        assert server.stop() == 0, server.log_tail()


def test_structured_output_and_stop_strings_with_sentencepiece_vocabularies(family):
    """Grammar masks over these vocabularies' "▁"-spelled and byte tokens: a regex with spaces and a
    JSON choice list are followed to their end; and a stop string cut from a greedy output ends the
    same request at that point (its text held back while it might still be a stop string)."""
    name, server, _ = family
    client = openai.OpenAI(base_url=server.base_url + "/v1", api_key="none", max_retries=0, timeout=120)
    pattern = r"(Paris|Rome|Oslo) is [0-9]{2} km from (Lyon|Bern)"
    r = client.chat.completions.create(model=name, messages=[{"role": "user", "content": "Name a city."}],
                                       max_tokens=60, temperature=0, extra_body={"structured_outputs": {"regex": pattern}})
    assert r.choices[0].finish_reason == "stop", r
    assert re.fullmatch(pattern, r.choices[0].message.content), r.choices[0].message.content
    choices = ["north east", "south-west", "über"]
    r = client.completions.create(model=name, prompt="Which way?", max_tokens=20, temperature=0,
                                  extra_body={"structured_outputs": {"choice": choices}})
    assert r.choices[0].text in choices, r.choices[0].text

    full = client.completions.create(model=name, prompt="line 1 of 2", max_tokens=24, temperature=0).choices[0].text
    # Three characters past the first that are not all blank (a random model may repeat spaces): from
    # the 7th on where there are such.
    starts = [i for i in range(1, len(full) - 2) if full[i:i + 3].strip()]
    start = next((i for i in starts if i >= 6), starts[0] if starts else None)
    assert start is not None, full
    stop = full[start:start + 3]
    cut = client.completions.create(model=name, prompt="line 1 of 2", max_tokens=24, temperature=0, stop=[stop])
    assert cut.choices[0].finish_reason == "stop", (full, stop, cut)
    assert cut.choices[0].text == full[:full.index(stop)], (full, stop, cut.choices[0].text)
