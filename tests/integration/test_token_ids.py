"""vLLM's return_token_ids through the official `openai` client against the real server on SmolLM2:
the prompt's ids equal /tokenize's, the choices' ids are the tokens counted in usage and decode
(/detokenize) to the text, streamed ids concatenate to the whole response's, a batch's choices
each carry their own prompt, and a delta of tokens without text still brings its ids."""
from __future__ import annotations

import json

from conftest import SERVED_NAME
from troupe_server import http_request

IM_START = 1  # SmolLM2's <|im_start|>: a control token, no text by default
MESSAGES = [{"role": "user", "content": "Name a colour."}]
IDS = {"return_token_ids": True}


def post(server, path: str, body: dict) -> dict:
    status, _, raw = http_request(server.port, "POST", path, body, timeout=60)
    assert status == 200, raw
    return json.loads(raw)


def test_completions_return_the_prompt_and_output_ids(server, client):
    prompt = "The capital of France is"
    r = client.completions.create(model=SERVED_NAME, prompt=prompt, max_tokens=8, temperature=0, extra_body=IDS)
    choice = r.choices[0].model_dump()
    assert choice["prompt_token_ids"] == post(server, "/tokenize", {"prompt": prompt})["tokens"]
    assert len(choice["token_ids"]) == r.usage.completion_tokens == 8
    assert post(server, "/detokenize", {"tokens": choice["token_ids"]})["prompt"] == choice["text"]
    # Not asked for: not there.
    plain = client.completions.create(model=SERVED_NAME, prompt=prompt, max_tokens=8, temperature=0)
    assert "token_ids" not in plain.choices[0].model_dump()

    # Streamed: the prompt's ids once, on the choice's first chunk; the deltas' ids add up.
    chunks = list(client.completions.create(model=SERVED_NAME, prompt=prompt, max_tokens=8, temperature=0, stream=True,
                                            extra_body=IDS))
    choices = [c.choices[0].model_dump() for c in chunks if c.choices]
    assert choices[0]["prompt_token_ids"] == choice["prompt_token_ids"]
    assert all(c.get("prompt_token_ids") is None for c in choices[1:])
    assert [t for c in choices for t in c["token_ids"]] == choice["token_ids"]


def test_a_batch_of_prompts_gives_each_choice_its_own_prompt(server, client):
    prompts = ["One, two,", "Red, green,"]
    r = client.completions.create(model=SERVED_NAME, prompt=prompts, n=2, max_tokens=3, temperature=0.7, seed=1,
                                  extra_body=IDS)
    assert len(r.choices) == 4
    for c in r.choices:
        expected = post(server, "/tokenize", {"prompt": prompts[c.index // 2]})["tokens"]
        assert c.model_dump()["prompt_token_ids"] == expected
        assert len(c.model_dump()["token_ids"]) == 3


def test_chat_returns_the_rendered_prompt_ids_and_streams_every_token_id(server, client):
    r = client.chat.completions.create(model=SERVED_NAME, messages=MESSAGES, max_tokens=6, temperature=0, extra_body=IDS)
    body = r.model_dump()
    assert body["prompt_token_ids"] == post(server, "/tokenize", {"messages": MESSAGES})["tokens"]
    token_ids = body["choices"][0]["token_ids"]
    assert len(token_ids) == r.usage.completion_tokens
    stream = list(client.chat.completions.create(model=SERVED_NAME, messages=MESSAGES, max_tokens=6, temperature=0,
                                                 stream=True, extra_body=IDS))
    assert stream[0].model_dump()["prompt_token_ids"] == body["prompt_token_ids"]  # the role chunk
    assert [t for c in stream if c.choices for t in (c.choices[0].model_dump().get("token_ids") or [])] == token_ids

    # Control tokens make no text, but their ids still arrive chunk by chunk.
    forced = list(client.chat.completions.create(model=SERVED_NAME, messages=MESSAGES, max_tokens=3, temperature=0,
                                                 stream=True, logit_bias={str(IM_START): 100}, extra_body=IDS))
    ids = [t for c in forced if c.choices for t in (c.choices[0].model_dump().get("token_ids") or [])]
    assert ids == [IM_START] * 3
    assert "".join(c.choices[0].delta.content or "" for c in forced if c.choices) == ""
