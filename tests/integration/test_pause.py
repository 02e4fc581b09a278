"""vLLM's development routes, POST /pause and /resume (VLLM_SERVER_DEV_MODE=1), as an RL trainer
or an operator drives them: with the `openai` client streaming beside them, a pause (mode abort, the
default) ends the running request with finish_reason "abort" and counts it; a request sent while
paused waits and, on /resume, gives what `troupe generate` gives."""
from __future__ import annotations

import json
import os
import threading
import time

import openai
import pytest

from conftest import run_generate
from troupe_server import TroupeServer, http_request, parse_metrics


@pytest.fixture(scope="module")
def dev_server(tmp_path_factory):
    model = os.environ["TROUPE_DEFAULT_MODEL"]
    server = TroupeServer(model, ["--served-model-name", "smol", "--max-model-len", "4096", "--threads", "2"],
                          log_path=tmp_path_factory.mktemp("troupe-pause") / "serve.log",
                          env={"VLLM_SERVER_DEV_MODE": "1"})
    try:
        server.start()
    except RuntimeError as e:
        pytest.fail(str(e), pytrace=False)
    yield model, server
    assert server.alive(), server.log_tail()
    assert server.stop() == 0, server.log_tail()


def is_paused(server) -> bool:
    status, _, body = http_request(server.port, "GET", "/is_paused", timeout=10)
    assert status == 200, body
    return json.loads(body)["is_paused"]


def test_pause_aborts_a_stream_and_holds_new_requests_until_resume(dev_server):
    model, server = dev_server
    client = openai.OpenAI(base_url=server.base_url + "/v1", api_key="none", max_retries=0, timeout=120)
    assert not is_paused(server)

    stream = client.completions.create(model="smol", prompt="Once upon a time", max_tokens=3000, temperature=0,
                                       stream=True)
    chunks = iter(stream)
    first = next(chunks)  # the request is running
    assert first.choices[0].text
    status, _, body = http_request(server.port, "POST", "/pause", timeout=30)  # mode abort
    assert (status, body) == (200, b'{"status":"paused"}'), body
    finish = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finish == ["abort"], finish
    assert is_paused(server)

    # Sent while paused: held, not refused, until /resume.
    answer: dict = {}
    prompt = "What is the capital of France?"

    def ask():
        r = client.chat.completions.create(model="smol", messages=[{"role": "user", "content": prompt}], max_tokens=12,
                                           temperature=0)
        answer["text"] = r.choices[0].message.content
        answer["finish"] = r.choices[0].finish_reason

    asker = threading.Thread(target=ask)
    asker.start()
    time.sleep(1.0)
    assert asker.is_alive() and not answer, answer
    _, _, metrics = http_request(server.port, "GET", "/metrics", timeout=10)
    samples = parse_metrics(metrics.decode())
    waiting = [v for n, _, v in samples if n == "vllm:num_requests_waiting"]
    assert waiting == [1.0], waiting
    aborts = [v for n, labels, v in samples if n == "troupe_request_aborts_total" and labels.get("reason") == "pause"]
    assert aborts == [1.0], aborts

    status, _, body = http_request(server.port, "POST", "/resume", timeout=30)
    assert (status, body) == (200, b'{"status":"resumed"}'), body
    asker.join(timeout=60)
    assert not asker.is_alive()
    assert not is_paused(server)
    assert answer["text"] == run_generate(model, prompt, 12, True), answer
    assert answer["finish"] in ("stop", "length")


def test_pause_keep_freezes_a_stream_that_resume_continues_unchanged(dev_server):
    model, server = dev_server
    client = openai.OpenAI(base_url=server.base_url + "/v1", api_key="none", max_retries=0, timeout=120)
    prompt = "The quick brown fox"
    stream = client.completions.create(model="smol", prompt=prompt, max_tokens=400, temperature=0, stream=True)
    chunks = iter(stream)
    text = next(chunks).choices[0].text
    status, _, body = http_request(server.port, "POST", "/pause?mode=keep", timeout=30)
    assert status == 200, body
    resumed = False

    def resume_later():
        nonlocal resumed
        time.sleep(1.0)
        resumed = True
        http_request(server.port, "POST", "/resume", timeout=30)

    threading.Thread(target=resume_later).start()
    for chunk in chunks:
        text += chunk.choices[0].text if chunk.choices else ""
    assert resumed  # the stream could not end while frozen
    assert text == run_generate(model, prompt, 400, False)
