"""vLLM's continue_final_message through the official `openai` client against the real server on
SmolLM2: the last assistant message is left open, so the model continues it. The rendered prompt
(/tokenize with the same fields) ends with that message's text and no end of turn, and greedy
continuation equals a plain completion of those very ids; the vLLM 400s for the field pairs it
refuses."""
from __future__ import annotations

import json

import openai
import pytest

from conftest import SERVED_NAME
from troupe_server import http_request

MESSAGES = [{"role": "user", "content": "What is the capital of France?"},
            {"role": "assistant", "content": "The capital of France is"}]
CONTINUE = {"continue_final_message": True, "add_generation_prompt": False}


def post(server, path: str, body: dict) -> tuple[int, dict]:
    status, _, raw = http_request(server.port, "POST", path, body, timeout=60)
    return status, json.loads(raw)


def test_the_final_message_is_continued(server, client):
    status, tokenized = post(server, "/tokenize", {"messages": MESSAGES, **CONTINUE})
    assert status == 200, tokenized
    _, text = post(server, "/detokenize", {"tokens": tokenized["tokens"]})
    assert text["prompt"].endswith("<|im_start|>assistant\nThe capital of France is")

    chat = client.chat.completions.create(model=SERVED_NAME, messages=MESSAGES, max_tokens=8, temperature=0,
                                          extra_body=CONTINUE)
    assert chat.usage.prompt_tokens == tokenized["count"]
    plain = client.completions.create(model=SERVED_NAME, prompt=tokenized["tokens"], max_tokens=8, temperature=0)
    assert chat.choices[0].message.content == plain.choices[0].text
    # A new turn instead (the default) is another prompt: the template closes the message first.
    _, new_turn = post(server, "/tokenize", {"messages": MESSAGES})
    assert new_turn["tokens"][:tokenized["count"]] == tokenized["tokens"]
    assert new_turn["count"] > tokenized["count"]


def test_the_pairs_vllm_refuses_are_400s(server, client):
    for extra in ({"continue_final_message": True}, {"continue_final_message": True, "add_generation_prompt": True}):
        with pytest.raises(openai.BadRequestError) as e:
            client.chat.completions.create(model=SERVED_NAME, messages=MESSAGES, max_tokens=2, extra_body=extra)
        assert "Cannot set both `continue_final_message` and `add_generation_prompt` to True." in e.value.message
        assert e.value.body["param"] == "continue_final_message"
    status, body = post(server, "/tokenize", {"messages": MESSAGES, "continue_final_message": True})
    assert status == 400, body


def test_echo_puts_the_continued_message_before_the_reply(client):
    plain = client.chat.completions.create(model=SERVED_NAME, messages=MESSAGES, max_tokens=8, temperature=0,
                                           extra_body=CONTINUE)
    echoed = client.chat.completions.create(model=SERVED_NAME, messages=MESSAGES, max_tokens=8, temperature=0,
                                            extra_body={**CONTINUE, "echo": True})
    assert echoed.choices[0].message.content == MESSAGES[-1]["content"] + plain.choices[0].message.content
    stream = list(client.chat.completions.create(model=SERVED_NAME, messages=MESSAGES, max_tokens=8, temperature=0,
                                                 stream=True, extra_body={**CONTINUE, "echo": True}))
    contents = [c.choices[0].delta.content for c in stream if c.choices]
    assert contents[:2] == ["", MESSAGES[-1]["content"]]  # the role chunk, then the echo
    assert "".join(c or "" for c in contents) == echoed.choices[0].message.content
    # A last message that is not the assistant's is not echoed (vLLM's rule).
    question = MESSAGES[:1]
    r = client.chat.completions.create(model=SERVED_NAME, messages=question, max_tokens=4, temperature=0,
                                       extra_body={"echo": True})
    assert r.choices[0].message.content == client.chat.completions.create(
        model=SERVED_NAME, messages=question, max_tokens=4, temperature=0).choices[0].message.content
