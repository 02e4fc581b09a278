"""vLLM's response shapes through the official `openai` client and raw SSE: the role-only first
chunk, "usage": null with include_usage, continuous_usage_stats, system_fingerprint, GET /version,
tools (rendered into the prompt, tool_choice rules, the 400 without --enable-auto-tool-choice),
agent history (content null + tool_calls, role "tool"), batched completion prompts, and
vllm:prompt_tokens_total counted as vLLM counts it with prefix-cache hits."""
from __future__ import annotations

import json

import openai
import pytest

from conftest import SERVED_NAME, TINY_NAME
from troupe_server import http_request, parse_metrics

CHAT = [{"role": "user", "content": "Name three colours of the rainbow."}]
STORY = "Once upon a time, in a small village by the sea, there lived"
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
AGENT_HISTORY = [
    {"role": "user", "content": "What is the weather in Paris?"},
    {"role": "assistant", "content": None,
     "tool_calls": [{"id": "call_1", "type": "function",
                     "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]},
    {"role": "tool", "tool_call_id": "call_1", "content": "{\"temperature\": 21, \"sky\": \"sunny\"}"},
]


def sse_payloads(server, path: str, body: dict) -> list[dict]:
    status, headers, data = http_request(server.port, "POST", path, body)
    assert status == 200, data
    events = [e for e in data.decode().replace("\r\n", "\n").split("\n\n") if e.strip()]
    assert events[-1].strip() == "data: [DONE]"
    return [json.loads(e[len("data: "):]) for e in events[:-1]]


def tokenize_messages(server, messages, tools=None) -> dict:
    body = {"model": SERVED_NAME, "messages": messages}
    status, _, data = http_request(server.port, "POST", "/tokenize", body)
    assert status == 200, data
    return json.loads(data)


# --- shapes -----------------------------------------------------------------------------------------

def test_version(server):
    status, headers, body = http_request(server.port, "GET", "/version")
    assert status == 200 and headers.get("content-type", "").startswith("application/json")
    version = json.loads(body)["version"]
    assert isinstance(version, str) and version


def test_non_streaming_chat_message_shape(client, server):
    r = client.chat.completions.create(model=SERVED_NAME, messages=CHAT, max_tokens=8, temperature=0)
    assert r.system_fingerprint and r.system_fingerprint.startswith("troupe-")
    status, _, data = http_request(server.port, "POST", "/v1/chat/completions",
                                   {"model": SERVED_NAME, "messages": CHAT, "max_tokens": 8, "temperature": 0})
    raw = json.loads(data)
    assert raw["system_fingerprint"] == r.system_fingerprint, "the fingerprint is stable across requests"
    message = raw["choices"][0]["message"]
    assert message["role"] == "assistant" and isinstance(message["content"], str)
    # vLLM omits an empty tool_calls list (as OpenAI does); the SDK then reads None.
    assert "tool_calls" not in message
    assert r.choices[0].message.tool_calls is None
    for key in ("refusal", "audio", "function_call"):
        assert message[key] is None
    c = client.completions.create(model=SERVED_NAME, prompt=STORY, max_tokens=4, temperature=0)
    assert c.system_fingerprint == r.system_fingerprint


def test_stream_first_chunk_has_only_the_role(server):
    chunks = sse_payloads(server, "/v1/chat/completions",
                          {"model": SERVED_NAME, "messages": CHAT, "max_tokens": 6, "temperature": 0, "stream": True})
    first = chunks[0]
    assert first["choices"] == [{"index": 0, "delta": {"role": "assistant", "content": ""},
                                 "logprobs": None, "finish_reason": None}]
    assert all("role" not in c["choices"][0]["delta"] for c in chunks[1:])
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks[1:])
    last = chunks[-1]
    assert last["choices"][0]["finish_reason"] in ("stop", "length")
    assert last["system_fingerprint"].startswith("troupe-")
    assert all("usage" not in c for c in chunks), "no usage key at all without include_usage"


@pytest.mark.parametrize("path,body", [
    ("/v1/chat/completions", {"messages": CHAT}),
    ("/v1/completions", {"prompt": STORY}),
])
def test_stream_usage_null_then_usage_chunk(server, path, body):
    chunks = sse_payloads(server, path, {"model": SERVED_NAME, "max_tokens": 5, "temperature": 0, "stream": True,
                                         "stream_options": {"include_usage": True}, **body})
    assert all("usage" in c and c["usage"] is None for c in chunks[:-1]), "usage: null on every other chunk"
    last = chunks[-1]
    assert last["choices"] == [] and last["usage"]["completion_tokens"] >= 1
    assert last["system_fingerprint"].startswith("troupe-")


def test_stream_continuous_usage_stats(client):
    stream = client.chat.completions.create(model=SERVED_NAME, messages=CHAT, max_tokens=5, temperature=0, stream=True,
                                            stream_options={"include_usage": True, "continuous_usage_stats": True})
    chunks = list(stream)
    prompt = chunks[0].usage.prompt_tokens
    assert chunks[0].usage.completion_tokens == 0, "the role chunk reports the prompt only"
    running = [c.usage.completion_tokens for c in chunks[:-1]]
    assert running == sorted(running) and running[-1] >= 1
    assert all(c.usage.prompt_tokens == prompt and c.usage.total_tokens == prompt + c.usage.completion_tokens
               for c in chunks)
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == running[-1]


# --- tools ------------------------------------------------------------------------------------------

def test_auto_tool_choice_without_the_flags_answers_in_text(tiny_client):
    """The tiny server has no tool flags and SmolLM2's template no tool format: "auto" (given or
    implied by tools alone) is answered in text where vLLM answers 400 (test_open_webui.py covers
    --disable-auto-tool-choice, which restores that 400); "none" is text either way."""
    for kwargs in ({"tool_choice": "auto"}, {}, {"tool_choice": "none"}):
        r = tiny_client.chat.completions.create(model=TINY_NAME, messages=[{"role": "user", "content": "Hi"}],
                                                tools=[WEATHER_TOOL], max_tokens=2, **kwargs)
        assert r.choices[0].message.tool_calls is None, kwargs
        assert r.choices[0].finish_reason in ("stop", "length"), kwargs


def test_tools_go_through_the_models_own_template(client, server):
    """SmolLM2's chat template has no tools section, so (as with vLLM and transformers) its prompt is
    the same with or without tools; templates that render tools (Qwen2.5, Qwen3, Llama 3.x) are
    checked byte for byte against apply_chat_template in tests/pipeline/chat_template."""
    plain = client.chat.completions.create(model=SERVED_NAME, messages=CHAT, max_tokens=1, temperature=0)
    with_tools = client.chat.completions.create(model=SERVED_NAME, messages=CHAT, tools=[WEATHER_TOOL],
                                                tool_choice="auto", max_tokens=1, temperature=0)
    assert with_tools.usage.prompt_tokens == plain.usage.prompt_tokens == tokenize_messages(server, CHAT)["count"]


def test_auto_reply_without_a_call_keeps_vllms_shape(client):
    """SmolLM2 answers this in prose: the message is text, tool_calls absent, finish_reason not tool_calls
    (the parsing of real calls is proven on scripted model output in tests/pipeline/tool_calls)."""
    r = client.chat.completions.create(model=SERVED_NAME, messages=[{"role": "user", "content": "Say hello."}],
                                       tools=[WEATHER_TOOL], max_tokens=8, temperature=0)
    choice = r.choices[0]
    if choice.message.tool_calls is None:
        assert isinstance(choice.message.content, str)
        assert choice.finish_reason in ("stop", "length")
    else:  # the model did call: then the call is well formed
        assert choice.finish_reason == "tool_calls"
        json.loads(choice.message.tool_calls[0].function.arguments)
    stream = client.chat.completions.create(model=SERVED_NAME, messages=[{"role": "user", "content": "Say hello."}],
                                            tools=[WEATHER_TOOL], max_tokens=8, temperature=0, stream=True)
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    if choice.message.tool_calls is None:
        assert text == choice.message.content


def test_agent_history_renders_as_vllm_does(client, server):
    r = client.chat.completions.create(model=SERVED_NAME, messages=AGENT_HISTORY, tools=[WEATHER_TOOL],
                                       tool_choice="none", max_tokens=8, temperature=0)
    assert r.choices[0].message.content is not None
    # The same conversation vLLM would render: the tool result is in the prompt as its own turn.
    counted = tokenize_messages(server, AGENT_HISTORY)["count"]
    assert r.usage.prompt_tokens == counted
    without_result = tokenize_messages(server, AGENT_HISTORY[:2])["count"]
    assert counted > without_result + 10
    stream = client.chat.completions.create(model=SERVED_NAME, messages=AGENT_HISTORY, max_tokens=4, temperature=0,
                                            stream=True, stream_options={"include_usage": True})
    assert list(stream)[-1].usage.prompt_tokens == counted


def structured_output_available(client) -> bool:
    try:
        client.chat.completions.create(model=SERVED_NAME, messages=CHAT, max_tokens=1,
                                       response_format={"type": "json_object"})
        return True
    except openai.BadRequestError:
        return False


@pytest.mark.parametrize("stream", [False, True])
def test_forced_tool_calls_and_an_agent_loop(client, stream):
    """tool_choice "required" and a named function, two tool rounds with the default model. The
    constrained decoding that forces the calls comes with the structured-output engine (issue 11);
    until this server accepts response_format json_object, this test is skipped."""
    if not structured_output_available(client):
        pytest.skip("structured output (grammar-constrained decoding) is not in this build yet")
    messages = [{"role": "user", "content": "What is the weather in Paris and then in Oslo?"}]
    for round_, choice in enumerate(["required", {"type": "function", "function": {"name": "get_weather"}}]):
        kwargs = dict(model=SERVED_NAME, messages=messages, tools=[WEATHER_TOOL], tool_choice=choice,
                      max_tokens=64, temperature=0)
        if stream:
            calls: dict[int, dict] = {}
            finish = None
            for chunk in client.chat.completions.create(stream=True, **kwargs):
                for c in chunk.choices:
                    finish = c.finish_reason or finish
                    for d in c.delta.tool_calls or []:
                        entry = calls.setdefault(d.index, {"id": d.id, "name": d.function.name, "arguments": ""})
                        entry["arguments"] += d.function.arguments or ""
            call = calls[0]
        else:
            r = client.chat.completions.create(**kwargs)
            finish = r.choices[0].finish_reason
            tc = r.choices[0].message.tool_calls[0]
            call = {"id": tc.id, "name": tc.function.name, "arguments": tc.function.arguments}
        assert call["name"] == "get_weather"
        assert call["id"].startswith("chatcmpl-tool-")
        assert isinstance(json.loads(call["arguments"]).get("city"), str)
        assert finish == ("tool_calls" if choice == "required" else "stop")
        messages.append({"role": "assistant", "content": None,
                         "tool_calls": [{"id": call["id"], "type": "function",
                                         "function": {"name": call["name"], "arguments": call["arguments"]}}]})
        messages.append({"role": "tool", "tool_call_id": call["id"], "content": f"{{\"temperature\": {20 + round_}}}"})
    final = client.chat.completions.create(model=SERVED_NAME, messages=messages, tools=[WEATHER_TOOL],
                                           tool_choice="none", max_tokens=16, temperature=0)
    assert isinstance(final.choices[0].message.content, str)


# --- batched prompts --------------------------------------------------------------------------------

def test_batched_prompts_are_indexed_prompt_by_prompt(client, server):
    prompts = ["The capital of France is", "Two plus two equals", STORY]
    singles = [client.completions.create(model=SERVED_NAME, prompt=p, max_tokens=6, temperature=0) for p in prompts]
    batch = client.completions.create(model=SERVED_NAME, prompt=prompts, max_tokens=6, temperature=0, n=2)
    assert sorted(c.index for c in batch.choices) == list(range(6))
    by_index = {c.index: c for c in batch.choices}
    for p, single in enumerate(singles):
        for j in range(2):
            assert by_index[p * 2 + j].text == single.choices[0].text, (p, j)
    assert batch.usage.prompt_tokens == sum(s.usage.prompt_tokens for s in singles)
    assert batch.usage.completion_tokens == 2 * sum(s.usage.completion_tokens for s in singles)
    # Token-id prompts, streamed.
    ids = [json.loads(http_request(server.port, "POST", "/tokenize", {"model": SERVED_NAME, "prompt": p})[2])["tokens"]
           for p in prompts[:2]]
    texts = {0: "", 1: ""}
    for chunk in client.completions.create(model=SERVED_NAME, prompt=ids, max_tokens=6, temperature=0, stream=True):
        for c in chunk.choices:
            texts[c.index] += c.text
    assert texts == {0: singles[0].choices[0].text, 1: singles[1].choices[0].text}


def test_batched_prompt_too_long_fails_the_whole_request(tiny_client):
    with pytest.raises(openai.BadRequestError) as e:
        tiny_client.completions.create(model=TINY_NAME, prompt=["short", "word " * 200], max_tokens=2)
    assert "maximum context length" in str(e.value)


# --- metrics ----------------------------------------------------------------------------------------

def metric_values(server, name: str) -> dict[str, float]:
    status, _, data = http_request(server.port, "GET", "/metrics")
    assert status == 200
    return {json.dumps(labels, sort_keys=True): value for n, labels, value in parse_metrics(data.decode())
            if n == name}


def total(values: dict[str, float], **match) -> float:
    return sum(v for k, v in values.items() if all(json.loads(k).get(a) == b for a, b in match.items()))


def test_prompt_tokens_total_counts_prefix_cache_hits_as_vllm_does(client, server):
    prompt = " ".join(f"item{i}" for i in range(40))  # a prompt no other test sends
    ids = json.loads(http_request(server.port, "POST", "/tokenize", {"model": SERVED_NAME, "prompt": prompt})[2])["tokens"]
    length = len(ids)
    assert length >= 48
    before = metric_values(server, "vllm:prompt_tokens_total")
    sources_before = metric_values(server, "vllm:prompt_tokens_by_source_total")
    first = client.completions.create(model=SERVED_NAME, prompt=ids, max_tokens=1, temperature=0)
    second = client.completions.create(model=SERVED_NAME, prompt=ids, max_tokens=1, temperature=0)
    cached = second.usage.prompt_tokens_details.cached_tokens
    assert cached >= 32, "the second request hits the prefix cache"
    after = metric_values(server, "vllm:prompt_tokens_total")
    sources_after = metric_values(server, "vllm:prompt_tokens_by_source_total")
    # vLLM adds the whole prompt per request, cache hits included.
    assert total(after) - total(before) == 2 * length
    computed = total(sources_after, source="local_compute") - total(sources_before, source="local_compute")
    hit = total(sources_after, source="local_cache_hit") - total(sources_before, source="local_cache_hit")
    recomputed = 1 if cached + 1 == length else 0
    assert computed == 2 * length - cached
    assert hit == cached + recomputed
    assert first.usage.prompt_tokens == second.usage.prompt_tokens == length
