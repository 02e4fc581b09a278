"""Tool calls written as Python calls through the served chat API, read by the real `openai` client:
LFM2's and LFM2.5's `<|tool_call_start|>[name(key=value)]<|tool_call_end|>` blocks (vLLM's `lfm2`
parser) — named by the flag, and picked without flags from LFM2.5's own chat template — and
`--tool-call-parser pythonic` (Llama 3.2 / 4 with their pythonic templates), whole and streamed. On
SmolLM2 (the default model) each reply is forced with a regex constraint to one such text, so that
the test is of the parsing and the response shapes."""
from __future__ import annotations

import re

import openai
import pytest

from conftest import chat_template_file, module_servers

TOOLS = [{"type": "function", "function": {
    "name": "get_weather", "description": "Weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}}}}}]
LFM2_REPLY = "Let me look.<|tool_call_start|>[get_weather(city='Zürich', days=3), get_weather(city=\"Paris\")]<|tool_call_end|>"
ARGUMENTS = ['{"city": "Zürich", "days": 3}', '{"city": "Paris"}']


@pytest.fixture(scope="module")
def servers(model_path, tmp_path_factory):
    folder = tmp_path_factory.mktemp("pythonic-tools")
    lfm2_template = chat_template_file("lfm2_5", folder)
    configs = {"lfm2": ["--tool-call-parser", "lfm2", "--threads", "2"],
               "lfm2_template": ["--chat-template", str(lfm2_template), "--threads", "2"],
               "pythonic": ["--tool-call-parser", "pythonic", "--threads", "2"]}
    yield from module_servers(model_path, configs, folder)


def create(server, text: str, stream: bool):
    client = openai.OpenAI(base_url=server.base_url + "/v1", api_key="none", max_retries=0, timeout=120)
    return client.chat.completions.create(
        model=client.models.list().data[0].id, messages=[{"role": "user", "content": "Weather in Zürich and Paris?"}],
        tools=TOOLS, max_tokens=200, temperature=0, stream=stream,
        extra_body={"structured_outputs": {"regex": re.escape(text)}})


def streamed(stream) -> tuple[str, dict[int, str], dict[int, str], set[str], str | None]:
    content, names, arguments, ids, finish = "", {}, {}, set(), None
    for chunk in stream:
        if not chunk.choices:
            continue
        delta = chunk.choices[0].delta
        content += delta.content or ""
        for call in delta.tool_calls or []:
            if call.id:
                ids.add(call.id)
            if call.function and call.function.name:
                names[call.index] = call.function.name
            if call.function and call.function.arguments is not None:
                arguments[call.index] = arguments.get(call.index, "") + call.function.arguments
        finish = chunk.choices[0].finish_reason or finish
    return content, names, arguments, ids, finish


@pytest.mark.parametrize("config", ["lfm2", "lfm2_template"])
def test_lfm2_calls_whole_and_streamed(servers, config):
    choice = create(servers[config], LFM2_REPLY, False).choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content == "Let me look."
    assert [c.function.name for c in choice.message.tool_calls] == ["get_weather", "get_weather"]
    assert [c.function.arguments for c in choice.message.tool_calls] == ARGUMENTS
    assert len({c.id for c in choice.message.tool_calls}) == 2
    content, names, arguments, ids, finish = streamed(create(servers[config], LFM2_REPLY, True))
    assert (content, finish) == ("Let me look.", "tool_calls")
    assert names == {0: "get_weather", 1: "get_weather"} and len(ids) == 2
    assert arguments == {0: ARGUMENTS[0], 1: ARGUMENTS[1]}


def test_lfm2_text_without_a_block_is_content(servers):
    choice = create(servers["lfm2"], "No tools needed: it is [sunny].", False).choices[0]
    assert (choice.finish_reason, choice.message.content, choice.message.tool_calls) == \
        ("stop", "No tools needed: it is [sunny].", None)


def test_pythonic_reply_is_the_list_of_calls(servers):
    reply = "[get_weather(city='Zürich', days=3), get_weather(city=\"Paris\")]"
    choice = create(servers["pythonic"], reply, False).choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    assert [c.function.arguments for c in choice.message.tool_calls] == ARGUMENTS
    content, _, arguments, _, finish = streamed(create(servers["pythonic"], reply, True))
    assert (content, arguments, finish) == ("", {0: ARGUMENTS[0], 1: ARGUMENTS[1]}, "tool_calls")
