"""Nemotron Nano 2's tool calls through the served chat API, read by the real `openai` client: text,
then `<TOOLCALL>` and a JSON list of {"name", "arguments"} objects, then `</TOOLCALL>` (the format
of NVIDIA's `nemotron_json` parser for vLLM), named by `--tool-call-parser nemotron_json` and picked
without flags from Nemotron Nano 2's own chat template, whole and streamed. On SmolLM2 (the default
model) each reply is forced with a regex constraint to one such text, so that the test is of the
parsing and the response shapes."""
from __future__ import annotations


import pytest

from conftest import chat_template_file, module_servers
from test_pythonic_tool_calls import ARGUMENTS, create, streamed

CALLS = ('<TOOLCALL>[{"name": "get_weather", "arguments": {"city": "Zürich", "days": 3}}, '
         '{"name": "get_weather", "arguments": {"city": "Paris"}}]</TOOLCALL>')


@pytest.fixture(scope="module")
def servers(model_path, tmp_path_factory):
    folder = tmp_path_factory.mktemp("nemotron-tools")
    template = chat_template_file("nemotron_nano_v2", folder)
    configs = {"nemotron_json": ["--tool-call-parser", "nemotron_json", "--threads", "2"],
               "nemotron_template": ["--chat-template", str(template), "--threads", "2"]}
    yield from module_servers(model_path, configs, folder)


@pytest.mark.parametrize("config", ["nemotron_json", "nemotron_template"])
@pytest.mark.parametrize("before", ["", "Let me check both cities.\n"])
def test_nemotron_calls_whole_and_streamed(servers, config, before):
    reply = before + CALLS
    choice = create(servers[config], reply, False).choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content == (before or None)
    assert [c.function.name for c in choice.message.tool_calls] == ["get_weather", "get_weather"]
    assert [c.function.arguments for c in choice.message.tool_calls] == ARGUMENTS
    assert len({c.id for c in choice.message.tool_calls}) == 2
    content, names, arguments, ids, finish = streamed(create(servers[config], reply, True))
    assert (content, finish) == (before, "tool_calls")
    assert names == {0: "get_weather", 1: "get_weather"} and len(ids) == 2
    assert arguments == {0: ARGUMENTS[0], 1: ARGUMENTS[1]}


def test_nemotron_text_is_content(servers):
    for reply in ("It is [sunny] in Paris.", "<TOOLCALL>I have no tool for that."):
        choice = create(servers["nemotron_json"], reply, False).choices[0]
        assert (choice.finish_reason, choice.message.content, choice.message.tool_calls) == ("stop", reply, None)
        content, names, _, _, finish = streamed(create(servers["nemotron_json"], reply, True))
        assert (content, names, finish) == (reply, {}, "stop")
