"""gpt-oss's harmony replies through the served chat API, as vLLM reports them: the analysis channel
as the message's `reasoning`, the final channel as its content, commentary addressed to a function
as a tool call, streamed and whole, read by the real `openai` client.

The model is the tiny gpt-oss fixture (llama.cpp's GGUF, MXFP4 experts), served with
`--tool-call-parser openai` (vLLM's name): its context of 128 tokens cannot hold the prompts of
gpt-oss's own template, whose rendering is checked against transformers in the unit tests
(tests/fixtures/chat_template/gpt_oss.json.xz), as is reading the format off that template. Its weights
are random, so each reply is forced with a regex constraint (structured_outputs) to one harmony
text; the test is then of everything after the sampler: the markers' text kept for the parser,
the parser, and the response shapes."""
from __future__ import annotations

import json
import re
from pathlib import Path

import openai
import pytest

from troupe_server import TroupeServer

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
MODEL = FIXTURES / "models" / "gpt_oss_gguf" / "model.gguf"
TOOLS = [{"type": "function", "function": {"name": "w", "description": "Weather",
                                           "parameters": {"type": "object", "properties": {"c": {"type": "integer"}}}}}]
MESSAGES = [{"role": "user", "content": "Hi"}]  # short: the replies below take ~90 of the 128 tokens


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("troupe-harmony")
    s = TroupeServer(str(MODEL), ["--served-model-name", "gpt-oss", "--tool-call-parser", "openai", "--threads", "2"],
                     log_path=folder / "serve.log")
    s.start()
    yield s
    assert s.alive(), s.log_tail()
    assert s.stop() == 0, s.log_tail()


@pytest.fixture
def client(server):
    return openai.OpenAI(base_url=server.base_url + "/v1", api_key="none", max_retries=0, timeout=120)


def forced(text: str) -> dict:
    return {"structured_outputs": {"regex": re.escape(text)}}


ANSWER = ("<|channel|>analysis<|message|>A greeting.<|end|>"
          "<|start|>assistant<|channel|>final<|message|>Hello!")


def test_reasoning_and_content_whole(client, server):
    r = client.chat.completions.create(model="gpt-oss", messages=MESSAGES, max_tokens=110, temperature=0,
                                       extra_body=forced(ANSWER))
    message = r.choices[0].message
    assert message.content == "Hello!", server.log_tail()
    assert message.model_extra.get("reasoning") == "A greeting."
    assert not message.tool_calls
    assert r.choices[0].finish_reason == "stop"


def test_reasoning_and_content_streamed(client):
    reasoning, content = "", ""
    stream = client.chat.completions.create(model="gpt-oss", messages=MESSAGES, max_tokens=110, temperature=0,
                                            stream=True, extra_body=forced(ANSWER))
    for chunk in stream:
        if not chunk.choices:
            continue
        delta = chunk.choices[0].delta
        reasoning += (delta.model_extra or {}).get("reasoning") or ""
        content += delta.content or ""
    assert reasoning == "A greeting."
    assert content == "Hello!"


# (No analysis first: with random weights the constrained reply spells much of it a byte a token.)
CALL = '<|channel|>commentary to=functions.w <|constrain|>json<|message|>{"c": 1}'


def test_tool_call_whole_and_streamed(client):
    r = client.chat.completions.create(model="gpt-oss", messages=MESSAGES, tools=TOOLS, max_tokens=110,
                                       temperature=0, extra_body=forced(CALL))
    choice = r.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    assert len(choice.message.tool_calls) == 1
    assert choice.message.tool_calls[0].function.name == "w"
    assert json.loads(choice.message.tool_calls[0].function.arguments) == {"c": 1}

    names, arguments, finish = [], "", None
    for chunk in client.chat.completions.create(model="gpt-oss", messages=MESSAGES, tools=TOOLS, max_tokens=110,
                                                temperature=0, stream=True, extra_body=forced(CALL)):
        if not chunk.choices:
            continue
        for call in chunk.choices[0].delta.tool_calls or []:
            if call.function and call.function.name:
                names.append(call.function.name)
            arguments += (call.function.arguments or "") if call.function else ""
        finish = chunk.choices[0].finish_reason or finish
    assert names == ["w"]
    assert json.loads(arguments) == {"c": 1}
    assert finish == "tool_calls"
