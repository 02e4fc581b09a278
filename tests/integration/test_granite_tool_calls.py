"""Granite 3.x's tool calls through the served chat API, read by the real `openai` client: the reply
`<|tool_call|>` then a JSON list of {"name", "arguments"} objects (vLLM's `granite` parser), named by
`--tool-call-parser granite` and picked without flags from Granite 3.3's own chat template, whole and
streamed. On SmolLM2 (the default model) each reply is forced with a regex constraint to one such
text, so that the test is of the parsing and the response shapes."""
from __future__ import annotations


import pytest

from conftest import chat_template_file, module_servers
from test_pythonic_tool_calls import ARGUMENTS, create, streamed

CALLS = ('[{"name": "get_weather", "arguments": {"city": "Zürich", "days": 3}}, '
         '{"name": "get_weather", "arguments": {"city": "Paris"}}]')


@pytest.fixture(scope="module")
def servers(model_path, tmp_path_factory):
    folder = tmp_path_factory.mktemp("granite-tools")
    template = chat_template_file("granite3_3", folder)
    configs = {"granite": ["--tool-call-parser", "granite", "--threads", "2"],
               "granite_template": ["--chat-template", str(template), "--threads", "2"]}
    yield from module_servers(model_path, configs, folder)


@pytest.mark.parametrize("config", ["granite", "granite_template"])
@pytest.mark.parametrize("tag", ["<|tool_call|>", "<tool_call>", ""])
def test_granite_calls_whole_and_streamed(servers, config, tag):
    reply = tag + CALLS
    choice = create(servers[config], reply, False).choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    assert [c.function.name for c in choice.message.tool_calls] == ["get_weather", "get_weather"]
    assert [c.function.arguments for c in choice.message.tool_calls] == ARGUMENTS
    assert len({c.id for c in choice.message.tool_calls}) == 2
    content, names, arguments, ids, finish = streamed(create(servers[config], reply, True))
    assert (content, finish) == ("", "tool_calls")
    assert names == {0: "get_weather", 1: "get_weather"} and len(ids) == 2
    assert arguments == {0: ARGUMENTS[0], 1: ARGUMENTS[1]}


def test_granite_text_is_content(servers):
    for reply in ("It is [sunny] in Paris.", "<|tool_call|>I have no tool for that."):
        choice = create(servers["granite"], reply, False).choices[0]
        assert (choice.finish_reason, choice.message.content, choice.message.tool_calls) == ("stop", reply, None)
        content, names, _, _, finish = streamed(create(servers["granite"], reply, True))
        assert (content, names, finish) == (reply, {}, "stop")
