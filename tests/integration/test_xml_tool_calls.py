"""The XML-style tool calls of Qwen3-Coder (`--tool-call-parser qwen3_coder`, vLLM's name), of
GLM-4.5/4.6 (`glm45`, `<arg_key>`/`<arg_value>` pairs), of MiniMax-M2 (`minimax_m2`, several
`<invoke>`s to a `<minimax:tool_call>` block) and of Seed-OSS (`seed_oss`, Qwen3-Coder's calls in
`<seed:tool_call>`, after `<seed:think>` reasoning) through the served chat API, read by the real
`openai` client: parameters typed by the request's tool schema, arguments as vLLM reports them,
whole and streamed; with `--reasoning-parser qwen3` (or `glm45`) too, the reasoning before the call
split off; GLM-4.6's, MiniMax-M2's, Seed-OSS's and Qwen3.5's chat templates given with --chat-template pick the
format without flags (MiniMax-M2's opens the reply inside <think>: `deepseek_r1` splits it; Qwen3.5's too, which
`qwen3` then splits as vLLM's qwen3 parser does). On
SmolLM2 (the default model) each reply is forced with a regex constraint to one such text, so that
the test is of the parsing and the response shapes."""
from __future__ import annotations

import json
import re

import openai
import pytest

from conftest import chat_template_file, module_servers


TOOLS = [{"type": "function", "function": {
    "name": "edit", "description": "Edit a file",
    "parameters": {"type": "object", "properties": {"path": {"type": "string"}, "line": {"type": "integer"},
                                                    "dry": {"type": "boolean"}}}}}]
CALL = "Sure.\n<tool_call>\n<function=edit>\n<parameter=path>\na.py\n</parameter>\n<parameter=line>\n7\n</parameter>\n<parameter=dry>\ntrue\n</parameter>\n</function>\n</tool_call>"
ARGUMENTS = {"path": "a.py", "line": 7, "dry": True}
GLM_CALL = ("Sure.\n<tool_call>edit\n<arg_key>path</arg_key>\n<arg_value>a.py</arg_value>\n<arg_key>line</arg_key>\n"
            "<arg_value>7</arg_value>\n<arg_key>dry</arg_key>\n<arg_value>true</arg_value>\n</tool_call>")
SEED_CALL = ("Checking.</seed:think>Sure.\n<seed:tool_call>\n<function=edit>\n<parameter=path>\na.py\n</parameter>\n"
             "<parameter=line>\n7\n</parameter>\n<parameter=dry>\ntrue\n</parameter>\n</function>\n</seed:tool_call>")
MINIMAX_CALL = ("Checking.\n</think>\n\nSure.\n<minimax:tool_call>\n<invoke name=\"edit\">\n<parameter name=\"path\">a.py</parameter>\n"
                "<parameter name=\"line\">7</parameter>\n<parameter name=\"dry\">true</parameter>\n</invoke>\n"
                "<invoke name=\"edit\">\n<parameter name=\"path\">b.py</parameter>\n</invoke>\n</minimax:tool_call>")


@pytest.fixture(scope="module")
def servers(model_path, tmp_path_factory):
    folder = tmp_path_factory.mktemp("xml-tools")
    glm_template = chat_template_file("glm4_6", folder)
    seed_template = chat_template_file("seed_oss", folder)
    qwen3_5_template = chat_template_file("qwen3_5", folder)
    minimax_template = chat_template_file("minimax_m2", folder)
    configs = {"coder": ["--tool-call-parser", "qwen3_coder", "--threads", "2"],
               "thinking": ["--tool-call-parser", "qwen3_coder", "--reasoning-parser", "qwen3", "--threads", "2"],
               "glm": ["--tool-call-parser", "glm45", "--reasoning-parser", "glm45", "--threads", "2"],
               "glm_template": ["--chat-template", str(glm_template), "--threads", "2"],
               "minimax": ["--chat-template", str(minimax_template), "--reasoning-parser", "deepseek_r1", "--threads", "2"],
               "seed": ["--chat-template", str(seed_template), "--reasoning-parser", "seed_oss", "--threads", "2"],
               "qwen3_5": ["--chat-template", str(qwen3_5_template), "--reasoning-parser", "qwen3", "--threads", "2"]}
    yield from module_servers(model_path, configs, folder)


def create(server, text: str, stream: bool, **extra):
    client = openai.OpenAI(base_url=server.base_url + "/v1", api_key="none", max_retries=0, timeout=120)
    return client.chat.completions.create(
        model=client.models.list().data[0].id, messages=[{"role": "user", "content": "Fix line 7"}], tools=TOOLS,
        max_tokens=200, temperature=0, stream=stream,
        extra_body={"structured_outputs": {"regex": re.escape(text)}, **extra})


def test_call_whole(servers):
    choice = create(servers["coder"], CALL, False).choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content == "Sure.\n"
    assert [c.function.name for c in choice.message.tool_calls] == ["edit"]
    assert choice.message.tool_calls[0].function.arguments == json.dumps(ARGUMENTS)


def test_call_streamed(servers):
    content, names, arguments, finish = "", [], "", None
    for chunk in create(servers["coder"], CALL, True):
        if not chunk.choices:
            continue
        delta = chunk.choices[0].delta
        content += delta.content or ""
        for call in delta.tool_calls or []:
            if call.function and call.function.name:
                names.append(call.function.name)
            arguments += (call.function.arguments or "") if call.function else ""
        finish = chunk.choices[0].finish_reason or finish
    assert (content, names, finish) == ("Sure.\n", ["edit"], "tool_calls")
    assert arguments == json.dumps(ARGUMENTS)


def test_reasoning_then_call(servers):
    message = create(servers["thinking"], "<think>Line 7.</think>\n" + CALL, False).choices[0].message
    assert message.model_extra.get("reasoning") == "Line 7."
    assert message.tool_calls[0].function.arguments == json.dumps(ARGUMENTS)


@pytest.mark.parametrize("config", ["glm", "glm_template"])
def test_glm45_call_whole_and_streamed(servers, config):
    # "glm": the flags; "glm_template": no flags, GLM-4.6's template read as glm45.
    choice = create(servers[config], GLM_CALL, False).choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content == "Sure.\n"
    assert [c.function.name for c in choice.message.tool_calls] == ["edit"]
    assert choice.message.tool_calls[0].function.arguments == json.dumps(ARGUMENTS)
    content, arguments, finish = "", "", None
    for chunk in create(servers[config], GLM_CALL, True):
        if chunk.choices:
            content += chunk.choices[0].delta.content or ""
            for call in chunk.choices[0].delta.tool_calls or []:
                arguments += (call.function.arguments or "") if call.function else ""
            finish = chunk.choices[0].finish_reason or finish
    assert (content, arguments, finish) == ("Sure.\n", json.dumps(ARGUMENTS), "tool_calls")


def streamed_parts(stream) -> tuple[str, str, str]:
    """A streamed reply's reasoning, content and tool-call arguments, each joined over its deltas."""
    reasoning, content, arguments = "", "", ""
    for chunk in stream:
        if chunk.choices:
            delta = chunk.choices[0].delta
            reasoning += delta.model_extra.get("reasoning") or ""
            content += delta.content or ""
            for call in delta.tool_calls or []:
                arguments += (call.function.arguments or "") if call.function else ""
    return reasoning, content, arguments


def test_glm45_reasoning_then_call(servers):
    message = create(servers["glm"], "<think>Line 7.</think>\n" + GLM_CALL, False).choices[0].message
    assert message.model_extra.get("reasoning") == "Line 7."
    assert message.tool_calls[0].function.arguments == json.dumps(ARGUMENTS)


def test_minimax_m2_invokes_whole_and_streamed(servers):
    # No --tool-call-parser: MiniMax-M2's template names the format; the reply starts in <think>.
    choice = create(servers["minimax"], MINIMAX_CALL, False).choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.model_extra.get("reasoning") == "Checking.\n"
    assert choice.message.content == "\n\nSure.\n"
    assert [c.function.name for c in choice.message.tool_calls] == ["edit", "edit"]
    assert [c.function.arguments for c in choice.message.tool_calls] == [json.dumps(ARGUMENTS), '{"path": "b.py"}']
    calls: dict[int, str] = {}
    for chunk in create(servers["minimax"], MINIMAX_CALL, True):
        for call in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
            calls[call.index] = calls.get(call.index, "") + ((call.function.arguments or "") if call.function else "")
    assert calls == {0: json.dumps(ARGUMENTS), 1: '{"path": "b.py"}'}


def test_seed_oss_call_after_reasoning(servers):
    # No --tool-call-parser: Seed-OSS's template (integer-keyed thinking budgets) names the format.
    choice = create(servers["seed"], SEED_CALL, False).choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.model_extra.get("reasoning") == "Checking."
    assert choice.message.content == "Sure.\n"
    assert choice.message.tool_calls[0].function.arguments == json.dumps(ARGUMENTS)
    reasoning, _, arguments = streamed_parts(create(servers["seed"], SEED_CALL, True))
    assert (reasoning, arguments) == ("Checking.", json.dumps(ARGUMENTS))


def test_qwen3_5_reasoning_opened_by_its_template(servers):
    """Qwen3.5's template opens <think> in the prompt, so with --reasoning-parser qwen3 (vLLM's recipe
    for it) the reply starts in reasoning; with enable_thinking false it closes an empty block there,
    and the reply is content. Its Qwen3-Coder calls are read without --tool-call-parser."""
    reply = "Checking.\n</think>\n\n" + CALL
    choice = create(servers["qwen3_5"], reply, False).choices[0]
    assert choice.message.model_extra.get("reasoning") == "Checking.\n"
    assert choice.message.content == "\n\nSure.\n"
    assert choice.message.tool_calls[0].function.arguments == json.dumps(ARGUMENTS)
    reasoning, content, _ = streamed_parts(create(servers["qwen3_5"], reply, True))
    assert (reasoning, content) == ("Checking.\n", "\n\nSure.\n")
    direct = create(servers["qwen3_5"], CALL, False, chat_template_kwargs={"enable_thinking": False}).choices[0]
    assert direct.message.model_extra.get("reasoning") is None
    assert direct.message.content == "Sure.\n"
    assert direct.message.tool_calls[0].function.arguments == json.dumps(ARGUMENTS)
