"""vLLM's --reasoning-parser through the served chat API: a reply's text before </think> comes back
as the message's `reasoning`, the rest as content, whole and streamed, read by the real `openai`
client; without the flag the text is returned as generated. On SmolLM2 (the default model), each
reply is forced with a regex constraint to a text with think tags, so that the test is of the
parsing and the response shapes rather than of what a 135M model chooses to write.

With a vocabulary that has `</think>` as one token, a constraint (response_format, structured_outputs,
a forced tool call) applies after the reasoning, as vLLM applies its grammar: the tiny Qwen3 fixture
with its tokenizer given `</think>` shows it, the token forced first by logit_bias."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import openai
import pytest

from conftest import module_servers

REPLY = "<think>Two and two.</think>Four."


@pytest.fixture(scope="module")
def servers(model_path, tmp_path_factory):
    configs = {"r1": ["--reasoning-parser", "deepseek_r1", "--threads", "2"],
               "qwen3": ["--reasoning-parser", "qwen3", "--threads", "2"],
               "granite": ["--reasoning-parser", "granite", "--threads", "2"],
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


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_granite_phrases_split_the_reasoning(servers, stream):
    # Granite 3.2/3.3 asked to think (chat_template_kwargs {"thinking": true}) write these phrases.
    for reply in ("Here is my thought process:\nTwo and two.\nHere is my response:\nFour.",
                  "Here's my thought process:\nTwo and two.\nHere's my response:\nFour."):
        assert ask(servers["granite"], stream, reply) == ("\nTwo and two.\n", "\nFour."), reply
    assert ask(servers["granite"], stream, "Four.") == (None, "Four.")


def test_without_the_flag_the_text_is_as_generated(servers):
    assert ask(servers["plain"], False) == (None, REPLY)


THINK_END = 1099  # the id the edited fixture tokenizer gives `</think>`


@pytest.fixture(scope="module")
def thinking_servers(tmp_path_factory):
    """The tiny Qwen3 fixture whose tokenizer knows `</think>` as one token, as Qwen3's, DeepSeek-R1's
    and GLM-4.5's do (an added token that is not special: it stays in the text for the parser)."""
    model = tmp_path_factory.mktemp("thinking") / "qwen3"
    shutil.copytree(Path(__file__).resolve().parent.parent / "fixtures" / "models" / "qwen3", model)
    tokenizer = json.loads((model / "tokenizer.json").read_text())
    tokenizer["added_tokens"].append({"id": THINK_END, "content": "</think>", "single_word": False, "lstrip": False,
                                      "rstrip": False, "normalized": False, "special": False})
    (model / "tokenizer.json").write_text(json.dumps(tokenizer))
    configs = {"r1": ["--reasoning-parser", "deepseek_r1", "--threads", "2"],
               "qwen3": ["--reasoning-parser", "qwen3", "--threads", "2"], "plain": ["--threads", "2"]}
    yield from module_servers(str(model), configs, tmp_path_factory.mktemp("thinking-logs"))


REGEX = {"structured_outputs": {"regex": "[ab]{4}"}}


def ask_biased(server, constraint: dict, messages=None, **extra):
    """A greedy chat reply under `constraint` with `</think>` pushed first by logit_bias (which the
    grammar masks where it applies), its token ids returned."""
    client = openai.OpenAI(base_url=server.base_url + "/v1", api_key="none", max_retries=0, timeout=120)
    r = client.chat.completions.create(
        model=client.models.list().data[0].id, messages=messages or [{"role": "user", "content": "hi"}],
        max_tokens=12, temperature=0, logit_bias={str(THINK_END): 100},
        extra_body={"return_token_ids": True, **constraint, **extra})
    return r.choices[0]


@pytest.mark.parametrize("constraint", [REGEX,
                                        {"response_format": {"type": "json_schema", "json_schema": {
                                            "name": "v", "schema": {"enum": ["yes", "no"]}}}}],
                         ids=["regex", "json_schema"])
def test_a_constraint_applies_after_the_reasoning(thinking_servers, constraint):
    valid = re.compile("[ab]{4}" if "structured_outputs" in constraint else '"(yes|no)"')
    # With the parser, the constraint waits for </think>: the bias makes it the first token, the
    # constrained answer follows, and the reply's content is the answer alone.
    thought = ask_biased(thinking_servers["r1"], constraint)
    assert thought.model_extra["token_ids"][0] == THINK_END
    assert valid.fullmatch(thought.message.content), thought.message.content
    assert not (thought.message.model_extra or {}).get("reasoning")
    # Without it the constraint holds from the first token, whatever the bias.
    plain = ask_biased(thinking_servers["plain"], constraint)
    assert THINK_END not in plain.model_extra["token_ids"]
    assert valid.fullmatch(plain.message.content), plain.message.content


def test_the_prompt_decides_where_the_reasoning_stands(thinking_servers):
    # An earlier turn's reasoning in the history does not end this reply's: the constraint still waits.
    history = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "<think>a</think>b"},
               {"role": "user", "content": "again"}]
    later = ask_biased(thinking_servers["r1"], REGEX, history)
    assert later.model_extra["token_ids"][0] == THINK_END
    assert re.fullmatch("[ab]{4}", later.message.content)
    # A prompt that ends by closing the reasoning (Qwen3's template with enable_thinking false writes
    # "<think>\n\n</think>\n\n"): constrained from the first token.
    closed = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "<think>\n\n</think>\n\n"}]
    direct = ask_biased(thinking_servers["qwen3"], REGEX, closed, continue_final_message=True,
                        add_generation_prompt=False)
    assert THINK_END not in direct.model_extra["token_ids"]
    assert re.fullmatch("[ab]{4}", direct.message.content)
