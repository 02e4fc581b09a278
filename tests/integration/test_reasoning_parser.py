"""vLLM's --reasoning-parser through the served chat API: a reply's text before </think> comes back
as the message's `reasoning`, the rest as content, whole and streamed, read by the real `openai`
client; without the flag the text is returned as generated. On SmolLM2 (the default model), each
reply is forced with a regex constraint to a text with think tags, so that the test is of the
parsing and the response shapes rather than of what a 135M model chooses to write."""
from __future__ import annotations

import re

import openai
import pytest

from conftest import module_servers

REPLY = "<think>Two and two.</think>Four."


@pytest.fixture(scope="module")
def servers(model_path, tmp_path_factory):
    configs = {"r1": ["--reasoning-parser", "deepseek_r1", "--threads", "2"],
               "qwen3": ["--reasoning-parser", "qwen3", "--threads", "2"],
               "plain": ["--threads", "2"]}
    yield from module_servers(model_path, configs, tmp_path_factory.mktemp("reasoning"))


def ask(server, stream: bool, text: str = REPLY):
    client = openai.OpenAI(base_url=server.base_url + "/v1", api_key="none", max_retries=0, timeout=120)
    kwargs = dict(model=client.models.list().data[0].id, messages=[{"role": "user", "content": "2+2?"}],
                  max_tokens=40, temperature=0, extra_body={"structured_outputs": {"regex": re.escape(text)}})
    if not stream:
        message = client.chat.completions.create(**kwargs).choices[0].message
        return message.model_extra.get("reasoning"), message.content
    reasoning, content = None, None
    for chunk in client.chat.completions.create(stream=True, **kwargs):
        if not chunk.choices:
            continue
        delta = chunk.choices[0].delta
        if (delta.model_extra or {}).get("reasoning"):
            reasoning = (reasoning or "") + delta.model_extra["reasoning"]
        if delta.content:
            content = (content or "") + delta.content
    return reasoning, content


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_reasoning_is_split_off(servers, stream):
    for name in ("r1", "qwen3"):
        assert ask(servers[name], stream) == ("Two and two.", "Four."), name
    # deepseek_r1: a reply without </think> is all reasoning; qwen3: one without <think> is content.
    assert ask(servers["r1"], stream, "Just thinking") == ("Just thinking", None)
    assert ask(servers["qwen3"], stream, "Just talking") == (None, "Just talking")


def test_without_the_flag_the_text_is_as_generated(servers):
    assert ask(servers["plain"], False) == (None, REPLY)
