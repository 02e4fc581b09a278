"""Llama 4's tool calls through the served chat API, read by the real `openai` client: JSON objects of
`{"name": ..., "parameters": {...}}` as its template asks for them, which vLLM reads with its
`llama4_json` parser (Llama 3's), after the `<|python_start|><|python_end|>` its template writes
before a call message's JSON; named by `--tool-call-parser llama4_json` and picked without flags from
Llama 4's own chat template, whole and streamed. On SmolLM2 (the default model) each reply is forced
with a regex constraint to one such text, so that the test is of the parsing and the response shapes;
the template's rendering is tests/fixtures/chat_template/llama4.json's."""
from __future__ import annotations

import json

import pytest

from conftest import chat_template_file, module_servers
from test_pythonic_tool_calls import create, streamed

CALL = '{"name": "get_weather", "parameters": {"city": "Zürich", "days": 3}}'


@pytest.fixture(scope="module")
def servers(model_path, tmp_path_factory):
    folder = tmp_path_factory.mktemp("llama4-tools")
    template = chat_template_file("llama4", folder)
    configs = {"llama4_json": ["--tool-call-parser", "llama4_json", "--threads", "2"],
               "llama4_template": ["--chat-template", str(template), "--threads", "2"]}
    yield from module_servers(model_path, configs, folder)


@pytest.mark.parametrize("config", ["llama4_json", "llama4_template"])
@pytest.mark.parametrize("before", ["", "<|python_start|><|python_end|>"])
def test_llama4_calls_whole_and_streamed(servers, config, before):
    reply = before + CALL
    choice = create(servers[config], reply, False).choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    assert [c.function.name for c in choice.message.tool_calls] == ["get_weather"]
    assert json.loads(choice.message.tool_calls[0].function.arguments) == {"city": "Zürich", "days": 3}
    content, names, arguments, ids, finish = streamed(create(servers[config], reply, True))
    assert (content, finish) == ("", "tool_calls")
    assert names == {0: "get_weather"} and len(ids) == 1
    assert json.loads(arguments[0]) == {"city": "Zürich", "days": 3}


def test_llama4_text_is_content(servers):
    for reply in ("It is sunny in Paris.", "The forecast: {sunny}."):
        choice = create(servers["llama4_template"], reply, False).choices[0]
        assert (choice.finish_reason, choice.message.content, choice.message.tool_calls) == ("stop", reply, None)
