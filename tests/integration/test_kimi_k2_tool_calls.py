"""Kimi K2's tool calls and thinking through the served chat API, read by the real `openai` client:
a `<|tool_calls_section_begin|>` section of `<|tool_call_begin|>functions.NAME:N<|tool_call_argument_begin|>
{...}<|tool_call_end|>` calls, as vLLM's `kimi_k2` parser reads them (the call's id the model's), named
by `--tool-call-parser kimi_k2` and picked without flags from Kimi K2's chat template, whole and
streamed; and `--reasoning-parser kimi_k2`'s thinking, which a tool-call section ends. On SmolLM2 (the
default model) each reply is forced with a regex constraint to one such text, so that the test is of
the parsing and the response shapes."""
from __future__ import annotations

import json

import pytest

from conftest import chat_template_file, module_servers
from test_pythonic_tool_calls import create, streamed

CALLS = ("<|tool_calls_section_begin|><|tool_call_begin|>functions.get_weather:0<|tool_call_argument_begin|>"
         '{"city": "Bern"}<|tool_call_end|><|tool_call_begin|>functions.get_time:1'
         '<|tool_call_argument_begin|>{}<|tool_call_end|><|tool_calls_section_end|>')
NAMES = ["get_weather", "get_time"]
IDS = ["functions.get_weather:0", "functions.get_time:1"]
ARGUMENTS = [{"city": "Bern"}, {}]


@pytest.fixture(scope="module")
def servers(model_path, tmp_path_factory):
    folder = tmp_path_factory.mktemp("kimi-k2-tools")
    template = chat_template_file("kimi_k2", folder)
    configs = {"kimi_k2": ["--tool-call-parser", "kimi_k2", "--threads", "2"],
               "kimi_k2_template": ["--chat-template", str(template), "--threads", "2"],
               "kimi_k2_reasoning": ["--chat-template", str(template), "--reasoning-parser", "kimi_k2", "--threads", "2"]}
    yield from module_servers(model_path, configs, folder)


@pytest.mark.parametrize("config", ["kimi_k2", "kimi_k2_template"])
@pytest.mark.parametrize("before", ["", "Ok."])
def test_kimi_k2_calls_whole_and_streamed(servers, config, before):
    reply = before + CALLS
    choice = create(servers[config], reply, False).choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content == (before or None)
    assert [c.function.name for c in choice.message.tool_calls] == NAMES
    assert [c.id for c in choice.message.tool_calls] == IDS
    assert [json.loads(c.function.arguments) for c in choice.message.tool_calls] == ARGUMENTS
    content, names, arguments, ids, finish = streamed(create(servers[config], reply, True))
    assert (content, finish) == (before, "tool_calls")
    assert names == dict(enumerate(NAMES)) and ids == set(IDS)
    assert [json.loads(arguments[0]), json.loads(arguments[1])] == ARGUMENTS


def test_kimi_k2_thinking_then_calls(servers):
    for reply in ("<think>Two calls.</think>" + CALLS, "<think>Two calls." + CALLS):
        choice = create(servers["kimi_k2_reasoning"], reply, False).choices[0]
        message = choice.message
        assert choice.finish_reason == "tool_calls", message
        assert message.reasoning == "Two calls."
        assert [json.loads(c.function.arguments) for c in message.tool_calls] == ARGUMENTS
        assert message.content is None


def test_kimi_k2_text_is_content(servers):
    for reply in ("It is sunny in Paris.", "<|tool_calls_section_begin|>no call here<|tool_calls_section_end|>"):
        choice = create(servers["kimi_k2"], reply, False).choices[0]
        assert (choice.finish_reason, choice.message.content, choice.message.tool_calls) == ("stop", reply, None)
