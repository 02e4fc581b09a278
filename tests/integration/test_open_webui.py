"""What Open WebUI (and clients written from OpenAI's guides) send and expect, against servers
started with no tool flags at all:

- Open WebUI's default chat request: its 36 built-in tools, no tool_choice, streamed with usage.
  On SmolLM2 (whose template renders no tools) it is answered in text and counted; with a
  template that writes <tool_call> blocks (Qwen2.5's, given with --chat-template) the Hermes
  parser is chosen from the template. --disable-auto-tool-choice restores vLLM's 400.
- Streamed tool calls accumulate with the loop of OpenAI's function-calling guide, verbatim:
  `arguments +=` from the first delta on (no `or ""` guard).
- /tokenize renders `tools` as the chat completion does.
- Every refused request leaves a log line (request id, endpoint, status, reason) and a count by
  reason on /metrics.
- GET /v1/models/{id} (the SDK's models.retrieve)."""
from __future__ import annotations

import json
import re

import openai
import pytest

from conftest import chat_template_file
from troupe_server import TroupeServer, http_request, metric_total



def open_webui_tools() -> list[dict]:
    """36 function tools in the shape Open WebUI sends its built-in ones: names, descriptions and
    JSON-schema parameters of several kinds (strings, enums, integers, arrays, optional fields)."""
    names = ["search_web", "fetch_url", "get_current_timestamp", "calculate_timestamp", "search_notes", "view_note",
             "write_note", "replace_note_content", "search_chats", "view_chat", "search_knowledge_bases",
             "query_knowledge_bases", "search_knowledge_files", "view_knowledge_file", "query_knowledge_files",
             "list_knowledge_bases", "search_memories", "add_memory", "replace_memory_content", "delete_memory",
             "list_memories", "search_channels", "search_channel_messages", "view_channel_message",
             "view_channel_thread", "get_tool_info", "list_tools", "generate_image", "edit_image", "execute_code",
             "list_files", "read_file", "create_file", "update_file", "run_terminal", "get_weather"]
    assert len(names) == 36
    tools = []
    for i, name in enumerate(names):
        properties: dict = {"query": {"type": "string", "description": f"What {name} looks for."}}
        required = ["query"]
        if i % 3 == 1:
            properties["count"] = {"type": "integer", "description": "How many results.", "default": 5}
        if i % 4 == 2:
            properties["mode"] = {"type": "string", "enum": ["fast", "thorough"]}
            required.append("mode")
        if i % 5 == 3:
            properties["ids"] = {"type": "array", "items": {"type": "string"}}
        tools.append({"type": "function", "function": {
            "name": name, "description": f"Open WebUI built-in tool {name.replace('_', ' ')}.",
            "parameters": {"type": "object", "properties": properties, "required": required}}})
    return tools


TOOLS = open_webui_tools()
MESSAGES = [{"role": "user", "content": "What is the capital of France? Answer in one word."}]


def serve(model_path: str, tmp_path, args: list[str], name: str = "webui") -> TroupeServer:
    server = TroupeServer(model_path, ["--served-model-name", name, "--max-model-len", "4096", *args],
                          log_path=tmp_path / f"serve-{name}.log")
    try:
        server.start()
    except RuntimeError as e:
        pytest.fail(str(e), pytrace=False)
    return server


def open_webui_stream(server, name: str):
    """Open WebUI's default request: every tool, no tool_choice, streamed with usage."""
    client = openai.OpenAI(base_url=server.base_url + "/v1", api_key="none", max_retries=0, timeout=120)
    text, calls, finish, usage = "", {}, None, None
    for chunk in client.chat.completions.create(model=name, messages=MESSAGES, tools=TOOLS, stream=True,
                                                stream_options={"include_usage": True}, max_tokens=24,
                                                temperature=0):
        usage = chunk.usage or usage
        for choice in chunk.choices:
            text += choice.delta.content or ""
            finish = choice.finish_reason or finish
            for tool_call in choice.delta.tool_calls or []:
                calls.setdefault(tool_call.index, tool_call)
    return text, calls, finish, usage


def test_open_webui_default_request_on_a_model_without_a_tool_format(model_path, tmp_path):
    server = serve(model_path, tmp_path, [])
    try:
        assert "no tool-call format troupe parses" in server.log_tail()
        text, calls, finish, usage = open_webui_stream(server, "webui")
        assert text and not calls and finish in ("stop", "length"), (text, calls, finish)
        # SmolLM2's template renders no tools: the prompt is the conversation alone.
        _, _, body = http_request(server.port, "POST", "/tokenize", {"messages": MESSAGES}, timeout=30)
        assert usage.prompt_tokens == json.loads(body)["count"], usage
        assert metric_total(server.port, "troupe_auto_tools_as_text_total") == 1
    finally:
        assert server.stop() == 0, server.log_tail()


def test_open_webui_default_request_with_a_hermes_template(model_path, tmp_path):
    template = chat_template_file("qwen2_5", tmp_path)
    server = serve(model_path, tmp_path, ["--chat-template", str(template)])
    try:
        assert "tool calls are parsed as hermes (the chat template)" in server.log_tail()
        text, calls, finish, usage = open_webui_stream(server, "webui")
        assert finish in ("stop", "length", "tool_calls"), finish
        assert text or calls
        # The 36 tools are in the prompt, as Qwen2.5's template renders them, and /tokenize with the
        # same tools counts the same prompt (clients count prompt tokens with it).
        assert usage.prompt_tokens > 36 * 20, usage
        _, _, body = http_request(server.port, "POST", "/tokenize", {"messages": MESSAGES, "tools": TOOLS}, timeout=30)
        assert json.loads(body)["count"] == usage.prompt_tokens
        _, _, body = http_request(server.port, "POST", "/tokenize", {"messages": MESSAGES}, timeout=30)
        assert json.loads(body)["count"] < usage.prompt_tokens
        assert metric_total(server.port, "troupe_auto_tools_as_text_total") == 0
    finally:
        assert server.stop() == 0, server.log_tail()


def test_auto_tools_turned_off_is_vllms_400(model_path, tmp_path):
    server = serve(model_path, tmp_path, ["--disable-auto-tool-choice"])
    try:
        client = openai.OpenAI(base_url=server.base_url + "/v1", api_key="none", max_retries=0, timeout=60)
        with pytest.raises(openai.BadRequestError) as e:
            client.chat.completions.create(model="webui", messages=MESSAGES, tools=TOOLS, max_tokens=4)
        assert "--disable-auto-tool-choice" in e.value.message
    finally:
        assert server.stop() == 0, server.log_tail()


@pytest.mark.parametrize("choice", ["required", {"type": "function", "function": {"name": "get_weather"}}],
                         ids=["required", "named"])
def test_streamed_tool_calls_accumulate_with_openais_loop(client, choice):
    """The accumulation loop of OpenAI's function-calling guide, as written there: the first delta
    of a call is kept whole and every delta's arguments are appended to it."""
    from conftest import SERVED_NAME
    # An enum keeps the arguments short whatever the small model would write into a free string.
    weather = [{"type": "function", "function": {"name": "get_weather", "parameters": {
        "type": "object", "properties": {"city": {"type": "string", "enum": ["Oslo", "Paris", "Rome"]}},
        "required": ["city"]}}}]
    stream = client.chat.completions.create(model=SERVED_NAME, messages=[{"role": "user", "content": "Weather in Oslo?"}],
                                            tools=weather, tool_choice=choice, stream=True, max_tokens=64,
                                            temperature=0)
    final_tool_calls = {}
    for chunk in stream:
        for tool_call in chunk.choices[0].delta.tool_calls or [] if chunk.choices else []:
            index = tool_call.index
            if index not in final_tool_calls:
                final_tool_calls[index] = tool_call
            final_tool_calls[index].function.arguments += tool_call.function.arguments
    call = final_tool_calls[0]
    assert call.function.name == "get_weather"
    assert call.id.startswith("chatcmpl-tool-") and call.type == "function"
    try:
        arguments = json.loads(call.function.arguments)
    except json.JSONDecodeError as e:
        pytest.fail(f"arguments are not JSON ({e}): {call.function.arguments!r}")
    assert isinstance(arguments, dict), call.function.arguments


def test_refused_requests_are_logged_and_counted(server):
    before = metric_total(server.port, "troupe_requests_rejected_total", reason="invalid_request", endpoint="/v1/chat/completions")
    status, _, _ = http_request(server.port, "POST", "/v1/chat/completions",
                                {"model": "smollm2-it", "messages": [], "max_tokens": 4},
                                headers={"X-Request-Id": "webui-bad-1"}, timeout=30)
    assert status == 400
    status, _, _ = http_request(server.port, "GET", "/v1/nowhere", headers={"X-Request-Id": "webui-404"}, timeout=30)
    assert status == 404
    after = metric_total(server.port, "troupe_requests_rejected_total", reason="invalid_request", endpoint="/v1/chat/completions")
    assert after == before + 1
    assert metric_total(server.port, "troupe_requests_rejected_total", reason="not_found", endpoint="other", status="404") >= 1
    log = server.log_tail()
    assert re.search(r"rejected POST /v1/chat/completions status=400 reason=invalid_request request_id=webui-bad-1 "
                     r"tenant=anonymous param=messages message=", log), log[-2000:]
    assert "rejected GET /v1/nowhere status=404 reason=not_found request_id=webui-404" in log, log[-2000:]


def test_models_retrieve(client):
    from conftest import SERVED_NAME
    model = client.models.retrieve(SERVED_NAME)
    assert model.id == SERVED_NAME and model.object == "model"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("no-such-model")
