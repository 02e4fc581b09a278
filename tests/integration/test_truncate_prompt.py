"""vLLM's truncate_prompt_tokens through the official `openai` client against the real server on
SmolLM2: only the prompt's last N tokens are kept (the rendered prompt's, for chat), giving the
text a completion of those ids gives; -1 keeps up to the context length; more than the context
length is vLLM's 400."""
from __future__ import annotations

import json

import openai
import pytest

from conftest import SERVED_NAME
from troupe_server import http_request, tokenize

PROMPT = "Once upon a time there was a little fox who lived in the forest and loved to"


def test_only_the_last_tokens_of_the_prompt_are_kept(server, client):
    ids = tokenize(server.port, {"prompt": PROMPT})
    assert len(ids) > 8
    cut = client.completions.create(model=SERVED_NAME, prompt=PROMPT, max_tokens=6, temperature=0,
                                    extra_body={"truncate_prompt_tokens": 8, "return_token_ids": True})
    assert cut.usage.prompt_tokens == 8
    assert cut.choices[0].model_dump()["prompt_token_ids"] == ids[-8:]
    same = client.completions.create(model=SERVED_NAME, prompt=ids[-8:], max_tokens=6, temperature=0)
    assert cut.choices[0].text == same.choices[0].text
    whole = client.completions.create(model=SERVED_NAME, prompt=PROMPT, max_tokens=1, extra_body={"truncate_prompt_tokens": -1})
    assert whole.usage.prompt_tokens == len(ids)

    messages = [{"role": "user", "content": PROMPT}]
    chat = client.chat.completions.create(model=SERVED_NAME, messages=messages, max_tokens=2,
                                          extra_body={"truncate_prompt_tokens": 5, "return_token_ids": True})
    assert chat.usage.prompt_tokens == 5
    assert chat.model_dump()["prompt_token_ids"] == tokenize(server.port, {"messages": messages})[-5:]


def test_more_than_the_context_length_is_a_400(server, client):
    status, _, raw = http_request(server.port, "GET", "/v1/models", None, timeout=30)
    max_len = json.loads(raw)["data"][0]["max_model_len"]
    with pytest.raises(openai.BadRequestError) as e:
        client.completions.create(model=SERVED_NAME, prompt=PROMPT, max_tokens=1,
                                  extra_body={"truncate_prompt_tokens": max_len + 1})
    assert f"truncate_prompt_tokens value ({max_len + 1}) is greater than max_model_len ({max_len})" in e.value.message
    assert e.value.body["param"] == "truncate_prompt_tokens"
    with pytest.raises(openai.BadRequestError):
        client.completions.create(model=SERVED_NAME, prompt=PROMPT, max_tokens=1, extra_body={"truncate_prompt_tokens": -2})
