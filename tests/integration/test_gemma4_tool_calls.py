"""Gemma 4's tool calls and reasoning through the served chat API, read by the real `openai` client:
`<|tool_call>call:name{...}<tool_call|>` in Gemma's notation (strings between `<|"|>` marks), as
vLLM's `gemma4` parser reads them, named by `--tool-call-parser gemma4` and picked without flags
from Gemma 4's own chat template, whole and streamed; and `--reasoning-parser gemma4`'s thinking
channel (`<|channel>thought ... <channel|>`) before them. On SmolLM2 (the default model) each reply
is forced with a regex constraint to one such text, so that the test is of the parsing and the
response shapes."""
from __future__ import annotations

import json

import pytest

from conftest import chat_template_file, module_servers
from test_pythonic_tool_calls import create, streamed

CALLS = ('<|tool_call>call:get_weather{city:<|"|>Zürich<|"|>,days:3,units:{metric:true},hours:[9,18]}<tool_call|>'
         '<|tool_call>call:get_weather{city:<|"|>Paris<|"|>}<tool_call|>')
ARGUMENTS = [{"city": "Zürich", "days": 3, "units": {"metric": True}, "hours": [9, 18]}, {"city": "Paris"}]


@pytest.fixture(scope="module")
def servers(model_path, tmp_path_factory):
    folder = tmp_path_factory.mktemp("gemma4-tools")
    template = chat_template_file("gemma4", folder)
    configs = {"gemma4": ["--tool-call-parser", "gemma4", "--threads", "2"],
               "gemma4_template": ["--chat-template", str(template), "--threads", "2"],
               "gemma4_reasoning": ["--chat-template", str(template), "--reasoning-parser", "gemma4", "--threads", "2"]}
    yield from module_servers(model_path, configs, folder)


@pytest.mark.parametrize("config", ["gemma4", "gemma4_template"])
@pytest.mark.parametrize("before", ["", "Let me check both cities.\n"])
def test_gemma4_calls_whole_and_streamed(servers, config, before):
    reply = before + CALLS
    choice = create(servers[config], reply, False).choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content == (before or None)
    assert [c.function.name for c in choice.message.tool_calls] == ["get_weather", "get_weather"]
    assert [json.loads(c.function.arguments) for c in choice.message.tool_calls] == ARGUMENTS
    assert len({c.id for c in choice.message.tool_calls}) == 2
    content, names, arguments, ids, finish = streamed(create(servers[config], reply, True))
    assert (content, finish) == (before, "tool_calls")
    assert names == {0: "get_weather", 1: "get_weather"} and len(ids) == 2
    assert [json.loads(arguments[0]), json.loads(arguments[1])] == ARGUMENTS


def test_gemma4_reasoning_then_calls(servers):
    reply = "<|channel>thought\nTwo cities: two calls.<channel|>" + CALLS
    message = create(servers["gemma4_reasoning"], reply, False).choices[0].message
    assert message.reasoning == "Two cities: two calls."
    assert [json.loads(c.function.arguments) for c in message.tool_calls] == ARGUMENTS
    assert message.content is None


def test_gemma4_text_is_content(servers):
    for reply in ("It is sunny in Paris.", "<|tool_call>I have no tool for that.<tool_call|>"):
        choice = create(servers["gemma4"], reply, False).choices[0]
        assert (choice.finish_reason, choice.message.content, choice.message.tool_calls) == ("stop", reply, None)
