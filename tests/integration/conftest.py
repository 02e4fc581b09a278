"""Fixtures: one real `troupe serve` for the whole session (the default model, generous limits), a
second one with --api-key and tiny limits, and OpenAI clients pointed at them."""
from __future__ import annotations

import json
import lzma
import os
import subprocess
from pathlib import Path

import openai
import pytest

from troupe_server import TroupeServer, http_request, named_servers, troupe_bin

SERVED_NAME = "smollm2-it"
TINY_NAME = "smollm2-tiny"
TINY_API_KEY = "it-secret-key-0123456789"
MAIN_MAX_MODEL_LEN = 2048
TINY_MAX_MODEL_LEN = 64
MAIN_MAX_NUM_SEQS = 64


# Cheap, broad checks first, so that with -x a basic failure is the one reported.
MODULE_ORDER = ["test_openai_api", "test_api_shapes", "test_errors", "test_generate_parity", "test_disconnects", "test_loadgen",
                "test_structured_output"]


CHAT_TEMPLATES = Path(__file__).resolve().parent.parent / "fixtures" / "chat_template"


def chat_template_file(name: str, folder: Path) -> Path:
    """A real model's chat template from the parity fixtures (chat_template/NAME.json.xz, as
    tools/make_chat_template_fixtures.py wrote it), as a .jinja file in `folder` for --chat-template."""
    out = folder / f"{name}.jinja"
    out.write_text(json.loads(lzma.decompress((CHAT_TEMPLATES / f"{name}.json.xz").read_bytes()))["template"])
    return out


def module_servers(model: str, configs: dict[str, list[str]], log_dir: Path):
    """The body of a module fixture that serves one model several ways: `yield from` it (or loop over
    it) to get named_servers' {name: server}. A server that does not start fails the fixture with its
    log; one that died by the end fails the teardown."""
    try:
        with named_servers(model, configs, log_dir) as started:
            yield started
            for name, server in started.items():
                assert server.alive(), f"{name} server died\n{server.log_tail()}"
    except RuntimeError as e:
        pytest.fail(str(e), pytrace=False)


def pytest_collection_modifyitems(items):
    def rank(item):
        name = item.module.__name__.rsplit(".", 1)[-1]
        return MODULE_ORDER.index(name) if name in MODULE_ORDER else len(MODULE_ORDER)
    items.sort(key=rank)  # stable: keeps the order within each file


@pytest.fixture(scope="session")
def model_path() -> str:
    value = os.environ.get("TROUPE_DEFAULT_MODEL", "")
    if not value:
        pytest.fail("TROUPE_DEFAULT_MODEL is not set: point it at the SmolLM2-135M-Instruct Q4_1 GGUF "
                    "(tools/fetch_default_model.sh prints its path)", pytrace=False)
    if ("/" in value or value.endswith(".gguf")) and not Path(value).exists():
        pytest.fail(f"TROUPE_DEFAULT_MODEL={value} does not exist", pytrace=False)
    if not troupe_bin().exists():
        pytest.fail(f"no troupe binary at {troupe_bin()} (set TROUPE_BIN or build the troupe target)", pytrace=False)
    return value


def _serve(model: str, args: list[str], log: Path):
    server = TroupeServer(model, args, log_path=log)
    try:
        server.start()
    except RuntimeError as e:
        pytest.fail(str(e), pytrace=False)
    yield server
    alive_before_stop = server.alive()
    code = server.stop()
    if not alive_before_stop:
        pytest.fail(f"troupe serve died during the tests (status {code})\n{server.log_tail()}", pytrace=False)
    if code != 0:
        pytest.fail(f"troupe serve exited with status {code} on SIGTERM (want 0)\n{server.log_tail()}", pytrace=False)


@pytest.fixture(scope="session")
def server(model_path, tmp_path_factory):
    log = tmp_path_factory.mktemp("troupe-main") / "serve.log"
    yield from _serve(model_path, [
        "--served-model-name", SERVED_NAME,
        "--max-model-len", str(MAIN_MAX_MODEL_LEN),
        "--max-num-seqs", str(MAIN_MAX_NUM_SEQS),
        "--kv-cache-memory", str(512 * 1024 * 1024),
        # Tool calling as vLLM offers it (SmolLM2's template follows the Hermes format).
        "--enable-auto-tool-choice", "--tool-call-parser", "hermes",
    ], log)


@pytest.fixture(scope="session")
def tiny_server(model_path, tmp_path_factory):
    log = tmp_path_factory.mktemp("troupe-tiny") / "serve.log"
    yield from _serve(model_path, [
        "--served-model-name", TINY_NAME,
        "--api-key", TINY_API_KEY,
        "--max-model-len", str(TINY_MAX_MODEL_LEN),
        "--max-num-seqs", "2",
        "--kv-cache-memory", str(16 * 1024 * 1024),
    ], log)


@pytest.fixture(autouse=True)
def _servers_survive(request):
    """Whatever a test sent, the servers it used are still running and healthy afterwards."""
    yield
    for name in ("server", "tiny_server"):
        if name in request.fixturenames:
            srv = request.getfixturevalue(name)
            assert srv.alive(), f"{name} died during this test\n{srv.log_tail()}"
            status, _, _ = http_request(srv.port, "GET", "/health", timeout=10)
            assert status == 200, f"{name}: /health answered {status} after this test"


@pytest.fixture(scope="session")
def client(server) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.base_url + "/v1", api_key="no-key-needed", max_retries=0, timeout=120)


@pytest.fixture(scope="session")
def tiny_client(tiny_server) -> openai.OpenAI:
    return openai.OpenAI(base_url=tiny_server.base_url + "/v1", api_key=TINY_API_KEY, max_retries=0, timeout=60)


def run_generate(model: str, prompt: str, max_tokens: int, chat: bool, extra_args: list[str] | None = None) -> str:
    """`troupe generate` for one prompt, greedy; returns the generated text."""
    cmd = [str(troupe_bin()), "generate", model, "--prompt", prompt, "--max-tokens", str(max_tokens),
           *(extra_args or [])]
    if chat:
        cmd.append("--chat")
    done = subprocess.run(cmd, capture_output=True, timeout=300)
    assert done.returncode == 0, f"{cmd} exited {done.returncode}: {done.stderr.decode(errors='replace')}"
    out = done.stdout.decode("utf-8")
    assert out.endswith("\n"), "troupe generate ends its output with a newline"
    return out[:-1]
