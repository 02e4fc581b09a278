"""The OpenAI-compatible API through the official `openai` client: chat and completions, streaming,
usage, stop strings, max_tokens, seeds, n > 1, logprobs (echo with prompt logprobs), /v1/models, /tokenize and /detokenize."""
from __future__ import annotations

import json
import math
import time

import pytest

from conftest import MAIN_MAX_MODEL_LEN, SERVED_NAME
from troupe_server import http_request

CHAT = [{"role": "user", "content": "Name three colours of the rainbow."}]
STORY = "Once upon a time, in a small village by the sea, there lived"


def tokenize(server, **body) -> dict:
    status, _, data = http_request(server.port, "POST", "/tokenize", {"model": SERVED_NAME, **body})
    assert status == 200, data
    return json.loads(data)


def chat_text(client, messages=CHAT, **kw) -> str:
    r = client.chat.completions.create(model=SERVED_NAME, messages=messages, temperature=0, **kw)
    return r.choices[0].message.content


# --- models, health -------------------------------------------------------------------------------

def test_models_lists_the_served_model(client, server):
    models = client.models.list()
    ids = [m.id for m in models.data]
    assert ids == [SERVED_NAME]
    assert models.data[0].object == "model"
    status, headers, body = http_request(server.port, "GET", "/v1/models")
    assert status == 200 and headers.get("content-type", "").startswith("application/json")
    raw = json.loads(body)
    assert raw["object"] == "list"
    assert raw["data"][0].get("max_model_len", MAIN_MAX_MODEL_LEN) == MAIN_MAX_MODEL_LEN


def test_health(server):
    status, _, _ = http_request(server.port, "GET", "/health")
    assert status == 200


# --- chat and completions -------------------------------------------------------------------------

def test_chat_completion_shape_and_usage(client, server):
    before = int(time.time())
    r = client.chat.completions.create(model=SERVED_NAME, messages=CHAT, max_tokens=16, temperature=0)
    assert r.object == "chat.completion"
    assert r.id and r.model == SERVED_NAME
    assert before - 5 <= r.created <= time.time() + 5
    assert len(r.choices) == 1
    choice = r.choices[0]
    assert choice.index == 0
    assert choice.message.role == "assistant"
    assert isinstance(choice.message.content, str) and choice.message.content.strip()
    assert choice.finish_reason in ("stop", "length")
    u = r.usage
    assert u.prompt_tokens == tokenize(server, messages=CHAT)["count"]
    assert 1 <= u.completion_tokens <= 16
    assert u.total_tokens == u.prompt_tokens + u.completion_tokens
    if choice.finish_reason == "length":
        assert u.completion_tokens == 16


def test_completion_shape_and_usage(client, server):
    r = client.completions.create(model=SERVED_NAME, prompt=STORY, max_tokens=12, temperature=0)
    assert r.object == "text_completion"
    assert r.id and r.model == SERVED_NAME
    choice = r.choices[0]
    assert choice.index == 0 and isinstance(choice.text, str) and choice.text
    assert choice.finish_reason in ("stop", "length")
    assert r.usage.prompt_tokens == tokenize(server, prompt=STORY)["count"]
    assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens


def test_completion_accepts_token_id_prompt(client, server):
    ids = tokenize(server, prompt=STORY)["tokens"]
    by_text = client.completions.create(model=SERVED_NAME, prompt=STORY, max_tokens=8, temperature=0)
    by_ids = client.completions.create(model=SERVED_NAME, prompt=ids, max_tokens=8, temperature=0)
    assert by_ids.choices[0].text == by_text.choices[0].text
    assert by_ids.usage.prompt_tokens == len(ids)


def test_max_tokens_gives_finish_reason_length(client):
    r = client.completions.create(model=SERVED_NAME, prompt=STORY, max_tokens=5, temperature=0)
    assert r.choices[0].finish_reason == "length"
    assert r.usage.completion_tokens == 5
    c = client.chat.completions.create(model=SERVED_NAME, messages=CHAT, max_completion_tokens=3, temperature=0)
    assert c.choices[0].finish_reason == "length"
    assert c.usage.completion_tokens == 3


def test_greedy_is_deterministic(client):
    a = client.completions.create(model=SERVED_NAME, prompt=STORY, max_tokens=10, temperature=0)
    b = client.completions.create(model=SERVED_NAME, prompt=STORY, max_tokens=10, temperature=0)
    assert a.choices[0].text == b.choices[0].text


# --- streaming ------------------------------------------------------------------------------------

def test_chat_stream_concatenates_to_non_streaming_text(client):
    full = client.chat.completions.create(model=SERVED_NAME, messages=CHAT, max_tokens=20, temperature=0)
    stream = client.chat.completions.create(model=SERVED_NAME, messages=CHAT, max_tokens=20, temperature=0,
                                            stream=True)
    pieces, ids, finish, roles = [], set(), [], []
    for chunk in stream:
        assert chunk.object == "chat.completion.chunk"
        assert chunk.usage is None
        ids.add(chunk.id)
        for ch in chunk.choices:
            assert ch.index == 0
            if ch.delta.role:
                roles.append(ch.delta.role)
            if ch.delta.content:
                pieces.append(ch.delta.content)
            if ch.finish_reason:
                finish.append(ch.finish_reason)
    assert len(ids) == 1
    assert roles[:1] == ["assistant"]
    assert "".join(pieces) == full.choices[0].message.content
    assert finish == [full.choices[0].finish_reason]
    assert len(pieces) >= 2, "a stream of up to 20 tokens arrives in more than one chunk"


def test_completion_stream_concatenates_to_non_streaming_text(client):
    full = client.completions.create(model=SERVED_NAME, prompt=STORY, max_tokens=16, temperature=0)
    stream = client.completions.create(model=SERVED_NAME, prompt=STORY, max_tokens=16, temperature=0, stream=True)
    text, finish = "", []
    for chunk in stream:
        assert chunk.object == "text_completion"
        for ch in chunk.choices:
            text += ch.text
            if ch.finish_reason:
                finish.append(ch.finish_reason)
    assert text == full.choices[0].text
    assert finish == [full.choices[0].finish_reason]


@pytest.mark.parametrize("endpoint", ["chat", "completions"])
def test_stream_include_usage(client, server, endpoint):
    kw = dict(model=SERVED_NAME, max_tokens=7, temperature=0, stream=True,
              stream_options={"include_usage": True})
    if endpoint == "chat":
        stream = client.chat.completions.create(messages=CHAT, **kw)
        prompt_tokens = tokenize(server, messages=CHAT)["count"]
    else:
        stream = client.completions.create(prompt=STORY, **kw)
        prompt_tokens = tokenize(server, prompt=STORY)["count"]
    chunks = list(stream)
    last = chunks[-1]
    assert last.usage is not None, "the final chunk carries usage"
    assert last.choices == []
    assert all(c.usage is None for c in chunks[:-1]), "only the final chunk carries usage"
    assert last.usage.prompt_tokens == prompt_tokens
    assert 1 <= last.usage.completion_tokens <= 7
    assert last.usage.total_tokens == prompt_tokens + last.usage.completion_tokens


def test_raw_sse_framing(server):
    body = {"model": SERVED_NAME, "prompt": STORY, "max_tokens": 4, "temperature": 0, "stream": True}
    status, headers, data = http_request(server.port, "POST", "/v1/completions", body)
    assert status == 200
    assert headers.get("content-type", "").startswith("text/event-stream")
    events = [e for e in data.decode().replace("\r\n", "\n").split("\n\n") if e.strip()]
    assert events[-1].strip() == "data: [DONE]"
    for e in events[:-1]:
        assert e.startswith("data: "), e
        json.loads(e[len("data: "):])


# --- stop strings ---------------------------------------------------------------------------------

def _pick_stop(text: str) -> tuple[str, int]:
    """A 4-character piece from the middle of `text` whose first occurrence is not at the start."""
    for k in range(len(text) // 3, len(text) - 4):
        stop = text[k:k + 4]
        idx = text.find(stop)
        if idx > 0 and stop.strip():
            return stop, idx
    pytest.fail(f"generated text too short to choose a stop string from: {text!r}")


def test_stop_string_is_never_emitted(client):
    full = client.completions.create(model=SERVED_NAME, prompt=STORY, max_tokens=24, temperature=0).choices[0]
    stop, idx = _pick_stop(full.text)
    r = client.completions.create(model=SERVED_NAME, prompt=STORY, max_tokens=24, temperature=0, stop=[stop])
    assert r.choices[0].text == full.text[:idx]
    assert r.choices[0].finish_reason == "stop"
    # Streaming holds back a partial match and never emits the stop string either.
    stream = client.completions.create(model=SERVED_NAME, prompt=STORY, max_tokens=24, temperature=0, stop=stop,
                                       stream=True)
    text, finish = "", None
    for chunk in stream:
        for ch in chunk.choices:
            text += ch.text
            finish = ch.finish_reason or finish
    assert text == full.text[:idx]
    assert finish == "stop"


def test_chat_stop_string(client):
    full = chat_text(client, max_tokens=24)
    stop, idx = _pick_stop(full)
    r = client.chat.completions.create(model=SERVED_NAME, messages=CHAT, max_tokens=24, temperature=0, stop=[stop, "zzzz"])
    assert r.choices[0].message.content == full[:idx]
    assert r.choices[0].finish_reason == "stop"


# --- seeds and n ----------------------------------------------------------------------------------

def test_seed_reproducible_with_temperature(client):
    kw = dict(model=SERVED_NAME, prompt=STORY, max_tokens=16, temperature=1.0)
    a = client.completions.create(seed=1234, **kw).choices[0].text
    b = client.completions.create(seed=1234, **kw).choices[0].text
    assert a == b
    others = {client.completions.create(seed=s, **kw).choices[0].text for s in (1, 2, 3, 4)}
    assert len(others | {a}) >= 2, "different seeds at temperature 1 give different samples"


def test_chat_seed_reproducible(client):
    kw = dict(model=SERVED_NAME, messages=CHAT, max_tokens=12, temperature=1.2, top_p=0.95)
    a = client.chat.completions.create(seed=7, **kw).choices[0].message.content
    b = client.chat.completions.create(seed=7, **kw).choices[0].message.content
    assert a == b


def test_n_greater_than_one(client):
    r = client.completions.create(model=SERVED_NAME, prompt=STORY, max_tokens=8, temperature=1.0, seed=99, n=3)
    assert sorted(c.index for c in r.choices) == [0, 1, 2]
    texts = [c.text for c in r.choices]
    assert len(set(texts)) >= 2, f"three samples at temperature 1 should not all agree: {texts}"
    per_choice = [8 if c.finish_reason == "length" else None for c in r.choices]
    if None not in per_choice:
        assert r.usage.completion_tokens == sum(per_choice)
    # Greedy: every choice is the same text.
    g = client.chat.completions.create(model=SERVED_NAME, messages=CHAT, max_tokens=8, temperature=0, n=2)
    assert sorted(c.index for c in g.choices) == [0, 1]
    assert g.choices[0].message.content == g.choices[1].message.content


def test_n_greater_than_one_streaming(client):
    full = client.completions.create(model=SERVED_NAME, prompt=STORY, max_tokens=6, temperature=0).choices[0].text
    stream = client.completions.create(model=SERVED_NAME, prompt=STORY, max_tokens=6, temperature=0, n=2, stream=True)
    texts = {0: "", 1: ""}
    for chunk in stream:
        for ch in chunk.choices:
            texts[ch.index] += ch.text
    assert texts == {0: full, 1: full}


# --- logprobs -------------------------------------------------------------------------------------

def _descending(values: list[float]) -> bool:
    return all(a >= b - 1e-6 for a, b in zip(values, values[1:]))


def test_completion_logprobs(client):
    r = client.completions.create(model=SERVED_NAME, prompt=STORY, max_tokens=6, temperature=0, logprobs=3)
    choice = r.choices[0]
    lp = choice.logprobs
    assert lp is not None
    n = r.usage.completion_tokens
    assert len(lp.tokens) == len(lp.token_logprobs) == len(lp.top_logprobs) == n
    assert "".join(lp.tokens) == choice.text
    for token, value, top in zip(lp.tokens, lp.token_logprobs, lp.top_logprobs):
        assert value <= 0.0 and math.isfinite(value)
        assert 3 <= len(top) <= 4
        values = list(top.values())
        assert all(v <= 0.0 for v in values)
        assert _descending(values), f"top logprobs not sorted: {top}"
        assert token in top, "greedy picks a top token"
        assert value == pytest.approx(max(values), abs=1e-4)


def _echo_logprobs(client, prompt, **kw):
    r = client.completions.create(model=SERVED_NAME, prompt=prompt, max_tokens=4, temperature=0, echo=True,
                                  logprobs=2, **kw)
    return r, r.choices[0]


def test_completion_echo_with_logprobs_covers_the_prompt(client, server):
    ids = tokenize(server, prompt=STORY)["tokens"]
    r, choice = _echo_logprobs(client, STORY)
    lp = choice.logprobs
    assert choice.text.startswith(STORY)
    n = len(ids) + r.usage.completion_tokens
    assert len(lp.tokens) == len(lp.token_logprobs) == len(lp.top_logprobs) == len(lp.text_offset) == n
    # The prompt's first token has no context: null, as vLLM reports it; every other has a value.
    assert lp.token_logprobs[0] is None and lp.top_logprobs[0] is None
    assert all(v is not None and v <= 0.0 for v in lp.token_logprobs[1:])
    # text_offset points into the echoed text: each token's string sits at its offset.
    assert "".join(lp.tokens) == choice.text
    for token, offset in zip(lp.tokens, lp.text_offset):
        assert choice.text[offset:offset + len(token)] == token
    # The chosen token leads each top dict, then the 2 most likely: 2 or 3 entries.
    for token, value, top in zip(lp.tokens[1:], lp.token_logprobs[1:], lp.top_logprobs[1:]):
        assert 2 <= len(top) <= 3 and next(iter(top)) == token and top[token] == pytest.approx(value)


def test_echoed_prompt_logprobs_match_the_model_at_each_position(client, server):
    # Reference: the same model asked for the next token after each prefix of the prompt; where the
    # prompt's own next token is among the 20 most likely, its logprob must be the echo's.
    ids = tokenize(server, prompt=STORY)["tokens"]
    _, choice = _echo_logprobs(client, STORY)
    echoed = choice.logprobs.token_logprobs
    compared = 0
    for i in range(1, len(ids)):
        ref = client.completions.create(model=SERVED_NAME, prompt=ids[:i], max_tokens=1, temperature=0, logprobs=20)
        top = ref.choices[0].logprobs.top_logprobs[0]
        want = choice.logprobs.tokens[i]
        if want in top:
            assert echoed[i] == pytest.approx(top[want], abs=2e-3), (i, want)
            compared += 1
    assert compared >= len(ids) // 2


def test_echo_logprobs_ignore_the_prefix_cache_and_stream_the_same(client):
    _, first = _echo_logprobs(client, STORY)
    _, again = _echo_logprobs(client, STORY)  # its blocks are cached now: logprobs must not be lost
    assert again.logprobs.token_logprobs[0] is None
    assert again.logprobs.token_logprobs[1:] == pytest.approx(first.logprobs.token_logprobs[1:], abs=1e-5)
    chunks = list(client.completions.create(model=SERVED_NAME, prompt=STORY, max_tokens=4, temperature=0, echo=True,
                                            logprobs=2, stream=True))
    tokens, values, offsets, text = [], [], [], ""
    for c in chunks:
        for ch in c.choices:
            text += ch.text
            if ch.logprobs:
                tokens += ch.logprobs.tokens
                values += ch.logprobs.token_logprobs
                offsets += ch.logprobs.text_offset
    assert text == first.text
    assert tokens == first.logprobs.tokens
    assert offsets == first.logprobs.text_offset
    assert values[0] is None and values[1:] == pytest.approx(first.logprobs.token_logprobs[1:], abs=1e-5)


def test_chat_logprobs(client):
    r = client.chat.completions.create(model=SERVED_NAME, messages=CHAT, max_tokens=6, temperature=0,
                                       logprobs=True, top_logprobs=3)
    choice = r.choices[0]
    content = choice.logprobs.content
    assert len(content) == r.usage.completion_tokens
    assert "".join(t.token for t in content) == choice.message.content
    for t in content:
        assert t.logprob <= 0.0
        assert len(t.top_logprobs) == 3
        values = [x.logprob for x in t.top_logprobs]
        assert _descending(values)
        assert t.logprob == pytest.approx(values[0], abs=1e-4), "greedy picks the most likely token"
        if t.bytes is not None and t.token.isascii():
            assert bytes(t.bytes) == t.token.encode()
    plain = client.chat.completions.create(model=SERVED_NAME, messages=CHAT, max_tokens=2, temperature=0)
    assert plain.choices[0].logprobs is None


def test_streamed_chat_logprobs(client):
    stream = client.chat.completions.create(model=SERVED_NAME, messages=CHAT, max_tokens=5, temperature=0,
                                            logprobs=True, top_logprobs=2, stream=True)
    entries = []
    for chunk in stream:
        for ch in chunk.choices:
            if ch.logprobs and ch.logprobs.content:
                entries.extend(ch.logprobs.content)
    assert 1 <= len(entries) <= 5
    assert all(e.logprob <= 0 and len(e.top_logprobs) == 2 for e in entries)


# --- tokenize / detokenize ------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["Hello world", "Grüße, 世界! 🚀 tabs\tand\nnewlines  and  spaces"])
def test_tokenize_detokenize_round_trip(server, text):
    tok = tokenize(server, prompt=text)
    assert tok["count"] == len(tok["tokens"]) > 0
    assert tok["max_model_len"] == MAIN_MAX_MODEL_LEN
    assert all(isinstance(t, int) and t >= 0 for t in tok["tokens"])
    status, _, data = http_request(server.port, "POST", "/detokenize", {"model": SERVED_NAME, "tokens": tok["tokens"]})
    assert status == 200, data
    assert json.loads(data)["prompt"] == text


def test_tokenize_messages_applies_the_chat_template(server):
    plain = tokenize(server, prompt=CHAT[0]["content"])
    templated = tokenize(server, messages=CHAT)
    assert templated["count"] > plain["count"]
