"""Hostile and unlucky traffic against a real `troupe serve` with small limits (issue 10): what
operators throw at a server, and what it must survive. Its own CTest entry ("integration: hostile
traffic", under 3 minutes on 2 cores); docs/RELIABILITY.md maps each promise to a test here.

- 200+ malformed or hostile requests (bad JSON, every field with wrong types and ranges, bad media
  types, wrong methods and paths, oversized headers and bodies, broken HTTP): each gets a 4xx in
  OpenAI's error shape, and the server stays up.
- Out-of-vocabulary prompt ids are a 400 for every request shape, while other streams run on; no
  error message carries another request's content.
- HEAD on GET routes: headers only, so a kept-alive HEAD-then-GET probe (aiperf's) reads clean.
- Admission: a burst fills max_num_seqs + max_queue_len before any 503; each 503 has Retry-After.
- A disconnect storm and a client that stops reading (--stream-write-timeout) free their KV blocks.
- Throughout, probe requests get exactly the greedy text they get alone (or part at a near-tie):
  no request lost another's tokens.
- SIGTERM with streams open (a server of its own): /health 503, requests that fit the grace period
  finish, the rest end with an error event, `data: [DONE]` and the last chunk; exit status 0.
- At the end the server is alive, KV blocks in use and the running/waiting gauges are 0.
"""
from __future__ import annotations

import asyncio
import http.client
import json
import os
import signal
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import openai
import pytest

from conftest import _serve
from test_generate_parity import assert_matches_reference
from troupe_server import HOST, TroupeServer, http_request, kv_blocks_used, metric_total, read_response

NAME = "smollm2-hostile"
MAX_MODEL_LEN = 2048
MAX_NUM_SEQS = 8
MAX_QUEUE_LEN = 16
VOCAB = 49152  # SmolLM2's
STREAM_WRITE_TIMEOUT_S = 2
MAX_BODY = 256 * 1024


@pytest.fixture(scope="module")
def hostile(model_path, tmp_path_factory):
    log = tmp_path_factory.mktemp("troupe-hostile") / "serve.log"
    yield from _serve(model_path, [
        "--served-model-name", NAME,
        "--max-model-len", str(MAX_MODEL_LEN),
        "--max-num-seqs", str(MAX_NUM_SEQS),
        "--max-queue-len", str(MAX_QUEUE_LEN),
        "--kv-cache-memory", str(256 * 1024 * 1024),
        "--stream-write-timeout", str(STREAM_WRITE_TIMEOUT_S),
        "--max-body-bytes", str(MAX_BODY),
    ], log)


@pytest.fixture(autouse=True)
def _hostile_survives(request):
    yield
    if "hostile" in request.fixturenames:
        srv = request.getfixturevalue("hostile")
        assert srv.alive(), f"the server died during this test\n{srv.log_tail()}"
        status, _, _ = http_request(srv.port, "GET", "/health", timeout=10)
        assert status == 200, f"/health answered {status} after this test"


def wait_until(predicate, timeout_s: float, what: str, poll_s: float = 0.1) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout_s} s"
        time.sleep(poll_s)


def raw_exchange(port: int, data: bytes, timeout: float = 20.0) -> tuple[int, dict, bytes]:
    """Sends raw bytes on a fresh connection and reads one response: (status, headers, body)."""
    sock = socket.create_connection((HOST, port), timeout=timeout)
    try:
        try:
            sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        received = read_response(sock, time.monotonic() + timeout)
        head, sep, rest = received.partition(b"\r\n\r\n")
        if sep:
            lines = head.decode("latin-1").split("\r\n")
            headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
            length = int(headers.get("content-length", "0"))
            if len(rest) >= length:
                return int(lines[0].split()[1]), headers, rest[:length]
        raise AssertionError(f"no complete HTTP response (got {received[:200]!r})")
    finally:
        sock.close()


def assert_openai_error(status: int, body: bytes, label: str) -> None:
    assert 400 <= status < 500, f"{label}: status {status}, body {body[:300]!r}"
    parsed = json.loads(body)
    err = parsed.get("error")
    assert isinstance(err, dict), f"{label}: not an OpenAI error body: {parsed}"
    assert isinstance(err.get("message"), str) and err["message"], f"{label}: {parsed}"
    assert isinstance(err.get("type"), str) and err["type"], f"{label}: {parsed}"
    assert str(err.get("code")) == str(status), f"{label}: {parsed}"


# --- the requests ------------------------------------------------------------------------------

CHAT = [{"role": "user", "content": "Say hi."}]
ROUTES = ["/v1/chat/completions", "/v1/completions", "/tokenize"]

BAD_BODIES = [
    b"", b" ", b"null", b"true", b"1", b'"a string"', b"[]", b"[1, 2]", b"{", b'{"model":}', b'{"model": "x",}',
    b"{'single': 1}", b'{"a": 1} {"b": 2}', b"\xef\xbb\xbf{}", b"\x00\x01\x02", b'{"prompt": "\xff\xfe"}',
    b'{"prompt": "\\ud800", "messages": [{"role": "user", "content": "\\ud800"}]}',
    b'{"prompt": "x\\udc00", "messages": [{"role": "user", "content": "\\udc00x"}]}',
    b"[" * 5000, b'{"a":' * 5000, b'{"temperature": NaN}', b'{"temperature": Infinity}',
]

CHAT_FIELD_CASES = [
    {"model": 17}, {"model": []}, {"model": "no-such-model"},
    {"messages": None}, {"messages": "hello"}, {"messages": []}, {"messages": [1]}, {"messages": [{}]},
    {"messages": [{"role": "wizard", "content": "x"}]}, {"messages": [{"role": "user", "content": 5}]},
    {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]},
    {"messages": [{"role": "user", "content": [{"type": "text"}]}]},
    {"temperature": "hot"}, {"temperature": -1}, {"temperature": 2.5}, {"temperature": []},
    {"top_p": 0}, {"top_p": 1.5}, {"top_p": "x"}, {"top_k": -2}, {"top_k": "x"}, {"top_k": 1.5},
    {"min_p": -0.1}, {"min_p": 2}, {"presence_penalty": 3}, {"presence_penalty": -3}, {"frequency_penalty": "x"},
    {"repetition_penalty": 0}, {"repetition_penalty": -1}, {"seed": "x"}, {"seed": 1.5}, {"seed": 2 ** 70},
    {"max_tokens": -1}, {"max_tokens": 0}, {"max_tokens": "x"}, {"max_tokens": 1.5}, {"max_tokens": 10 ** 12},
    {"max_tokens": []}, {"max_completion_tokens": -1}, {"max_completion_tokens": "x"}, {"max_completion_tokens": 0},
    {"max_tokens": 4000}, {"min_tokens": -1}, {"min_tokens": 10 ** 9}, {"n": 0}, {"n": 129}, {"n": "2"}, {"n": 1.5},
    {"stream": "yes"}, {"stream": 1}, {"stream_options": {"include_usage": True}}, {"stream_options": "x"},
    {"stream": True, "stream_options": {"include_usage": "yes"}}, {"stop": 5}, {"stop": [1]}, {"stop": [""]},
    {"stop": {"a": 1}}, {"stop_token_ids": [-1]}, {"stop_token_ids": "x"}, {"stop_token_ids": [1.5]},
    {"logprobs": "yes"}, {"logprobs": 5}, {"logprobs": True, "top_logprobs": 21},
    {"logprobs": True, "top_logprobs": -1}, {"top_logprobs": 5}, {"response_format": "x"},
    {"response_format": {"type": 5}}, {"response_format": {}}, {"tools": "x"}, {"tools": [1]},
    {"tools": [{"type": "function"}]}, {"logit_bias": {"1": 500}}, {"logit_bias": {"x": 5}}, {"logit_bias": {str(VOCAB): 5}},
    {"logit_bias": {"-1": 5}}, {"logit_bias": {"1": "5"}}, {"logit_bias": [1]}, {"allowed_token_ids": []},
    {"allowed_token_ids": [VOCAB]}, {"allowed_token_ids": "1"}, {"bad_words": [""]}, {"bad_words": "x"}, {"bad_words": [5]},
    {"bad_words": [" "]}, {"stop": ["s"] * 20000}, {"stop": "s" * 1000}, {"stop_token_ids": list(range(1000))},
    {"stop_token_ids": [VOCAB]}, {"tools": [{"type": "function", "function": {"name": "f"}}] * 200},
    {"best_of": 2}, {"continue_final_message": True},
    {"chat_template": "{{ x }}"}, {"chat_template_kwargs": "x"}, {"add_generation_prompt": "x"},
    {"ignore_eos": "x"}, {"include_stop_str_in_output": 1}, {"user": 5},
]

COMPLETION_FIELD_CASES = [
    {"prompt": None}, {"prompt": 5}, {"prompt": []}, {"prompt": [[]]}, {"prompt": [-1]}, {"prompt": [1.5]},
    {"prompt": [[1], "a"]}, {"prompt": ["a", 5]}, {"prompt": [True]}, {"prompt": {"a": 1}}, {"prompt": ""},
    {"prompt": [99999999]}, {"prompt": [VOCAB]}, {"prompt": [[VOCAB + 5]]}, {"prompt": [1, 2, 2 ** 31]},
    {"prompt": [[1, 2], [3, VOCAB]]}, {"prompt": [[[1]]]},
    {"prompt": "hi", "max_completion_tokens": -1}, {"prompt": "hi", "max_completion_tokens": "x"},
    {"prompt": "hi", "max_completion_tokens": 5}, {"prompt": "hi", "response_format": "x"},
    {"prompt": "hi", "response_format": {"type": "json_schema"}}, {"prompt": "hi", "suffix": "x"},
    {"prompt": "hi", "echo": "x"}, {"prompt": "hi", "logprobs": -1}, {"prompt": "hi", "logprobs": "x"},
    {"prompt": "hi", "logprobs": 21}, {"prompt": " ".join(["word"] * 3000)},
    {"prompt": "hi", "max_tokens": MAX_MODEL_LEN}, {"prompt": [1] * (MAX_MODEL_LEN + 10)},
]

METHOD_PATH_CASES = [
    ("GET", "/v1/chat/completions"), ("PUT", "/v1/completions"), ("DELETE", "/v1/models"), ("PATCH", "/health"),
    ("POST", "/metrics"), ("GET", "/tokenize"), ("GET", "/v1"), ("GET", "/v1/"), ("GET", "/v2/models"),
    ("POST", "/v1/completions/"), ("GET", "/../../etc/passwd"), ("GET", "/%00"), ("OPTIONS", "/v1/models"),
]


def generation_body(path: str, override: dict) -> bytes:
    if path == "/v1/chat/completions":
        body = {"model": NAME, "messages": CHAT, "max_tokens": 2}
    else:
        body = {"model": NAME, "prompt": "Hi", "max_tokens": 2}
    body.update(override)
    return json.dumps(body).encode()


def post(port: int, path: str, body: bytes, content_type: str | None = "application/json") -> tuple[int, dict, bytes]:
    headers = {"Content-Type": content_type} if content_type is not None else {}
    return http_request(port, "POST", path, body, headers, timeout=60)


def build_cases(port: int) -> list[tuple[str, callable]]:
    """(label, thunk returning (status, headers, body)) for every hostile request."""
    cases = []
    for path in ROUTES:
        for i, body in enumerate(BAD_BODIES):
            cases.append((f"bad body {i} to {path}", lambda p=path, b=body: post(port, p, b)))
        for content_type in ("text/plain", None, "multipart/form-data; boundary=x", "application/x-www-form-urlencoded"):
            cases.append((f"{content_type} to {path}",
                          lambda p=path, c=content_type: post(port, p, generation_body(p, {}), c)))
    for override in CHAT_FIELD_CASES:
        cases.append((f"chat {override}"[:120], lambda o=override: post(port, "/v1/chat/completions",
                                                                       generation_body("/v1/chat/completions", o))))
    for override in COMPLETION_FIELD_CASES:
        cases.append((f"completion {override}"[:120], lambda o=override: post(port, "/v1/completions",
                                                                             generation_body("/v1/completions", o))))
    for method, path in METHOD_PATH_CASES:
        cases.append((f"{method} {path}", lambda m=method, p=path: http_request(port, m, p, b"{}" if m != "GET" else None)))
    raw = {
        "oversized header": b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 40000 + b"\r\n\r\n",
        "many headers": b"GET /health HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 100) for i in range(300)) + b"\r\n",
        "oversized body": b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % (MAX_BODY + 1),
        "bad content-length": b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n{}",
        "negative content-length": b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n{}",
        "content-length and chunked": (b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                       b"Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"),
        "bad chunk size": (b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                           b"Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"),
        "garbage request line": b"HELLO THERE\r\n\r\n",
        "http2 preface": b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        "binary noise": bytes(range(256)) + b"\r\n\r\n",
        "no version": b"GET /health\r\n\r\n",
        "space in path": b"GET /v1/ models HTTP/1.1\r\nHost: x\r\n\r\n",
        "header without colon": b"GET /health HTTP/1.1\r\nHost x\r\n\r\n",
    }
    for label, data in raw.items():
        cases.append((label, lambda d=data: raw_exchange(port, d)))
    return cases


def test_hostile_requests_get_openai_4xx_and_the_server_survives(hostile):
    cases = build_cases(hostile.port)
    assert len(cases) >= 200, len(cases)

    def run(case):
        label, thunk = case
        try:
            status, headers, body = thunk()
            if label == "oversized header" or label == "many headers":
                assert status == 431, f"{label}: {status}"
            if label == "oversized body":
                assert status == 413, f"{label}: {status}"
            if label.startswith(("GET /v1/chat", "PUT", "DELETE", "PATCH", "POST /metrics", "GET /tokenize", "OPTIONS")):
                assert status == 405 and headers.get("allow"), f"{label}: {status} {headers}"
            assert_openai_error(status, body, label)
            return label, status, None
        except (AssertionError, OSError, ValueError) as e:
            return label, 0, f"{label}: {e}"

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(run, cases))
    failures = [error for _, _, error in results if error]
    assert not failures, "\n".join(failures)
    statuses = {s for _, s, _ in results}
    assert statuses <= {400, 404, 405, 413, 431}, statuses
    # Out-of-vocabulary ids name the problem (vLLM's wording) rather than failing inside the engine.
    status, _, body = post(hostile.port, "/v1/completions", generation_body("/v1/completions", {"prompt": [VOCAB]}))
    assert status == 400 and "out of vocabulary" in json.loads(body)["error"]["message"].lower(), body
    status, _, body = post(hostile.port, "/v1/completions", generation_body("/v1/completions", {"prompt": "\\ud800"}))
    assert status == 200, "a JSON escape written as text (backslash, u, d, 8...) is ordinary text"


# --- isolation ---------------------------------------------------------------------------------

PROBES = [
    ("Marker-ALPHA. The capital of France is", 12),
    ("Marker-BRAVO. Water boils at a temperature of", 10),
    ("Marker-CHARLIE. The three primary colors are", 12),
    ("Marker-DELTA. Once upon a time, in a small village,", 14),
]


def run_probe(port: int, prompt: str, max_tokens: int) -> tuple[str, list, str]:
    status, _, body = http_request(port, "POST", "/v1/completions",
                                   {"model": NAME, "prompt": prompt, "max_tokens": max_tokens, "temperature": 0,
                                    "logprobs": 3}, timeout=120)
    assert status == 200, body
    choice = json.loads(body)["choices"][0]
    lp = choice["logprobs"]
    entries = [(t, v, list((top or {}).items())) for t, v, top in zip(lp["tokens"], lp["token_logprobs"], lp["top_logprobs"])]
    return choice["text"], entries, choice["finish_reason"]


@pytest.fixture(scope="module")
def probe_references(hostile) -> list[str]:
    """Each probe's greedy text when it runs alone."""
    return [run_probe(hostile.port, p, n)[0] for p, n in PROBES]


def assert_probes_intact(port: int, references: list[str], results) -> None:
    for (prompt, n), reference, (text, entries, finish) in zip(PROBES, references, results):
        assert finish in ("length", "stop"), finish
        assert_matches_reference(text, entries, reference, prompt[:15])


def test_out_of_vocabulary_ids_fail_alone_while_others_run(hostile, probe_references):
    bad_shapes = [[VOCAB], [99999999], [1, 2, VOCAB + 1], [[VOCAB]], [2 ** 31 - 1], [[5, 6], [7, VOCAB]]]
    errors: list[str] = []

    def bad(i: int):
        status, _, body = post(hostile.port, "/v1/completions",
                               json.dumps({"model": NAME, "prompt": bad_shapes[i % len(bad_shapes)], "max_tokens": 4,
                                           "stream": i % 2 == 0}).encode())
        assert status == 400, body
        errors.append(json.loads(body)["error"]["message"])

    with ThreadPoolExecutor(max_workers=8) as pool:
        probes = [pool.submit(run_probe, hostile.port, p, n) for p, n in PROBES]
        bads = [pool.submit(bad, i) for i in range(20)]
        for f in bads:
            f.result()
        results = [f.result() for f in probes]
    assert_probes_intact(hostile.port, probe_references, results)
    for message in errors:
        assert "Marker-" not in message, f"an error carried another request's content: {message}"


# --- HEAD ----------------------------------------------------------------------------------------

def test_head_then_get_on_one_connection(hostile):
    conn = http.client.HTTPConnection(HOST, hostile.port, timeout=30)
    try:
        for path in ("/metrics", "/health", "/v1/models"):
            conn.request("GET", path)
            get = conn.getresponse()
            get_body = get.read()
            conn.request("HEAD", path)
            head = conn.getresponse()
            assert head.status == 200, (path, head.status)
            assert head.read() == b""
            assert head.getheader("content-type") == get.getheader("content-type")
            if path != "/metrics":  # metrics change between the two calls
                assert int(head.getheader("content-length")) == len(get_body)
            # The next response on the same connection parses (no stray body in between).
            conn.request("GET", path)
            again = conn.getresponse()
            assert again.status == 200
            again.read()
    finally:
        conn.close()
    # And no body bytes follow a HEAD reply on the wire.
    sock = socket.create_connection((HOST, hostile.port), timeout=10)
    try:
        sock.sendall(b"HEAD /v1/models HTTP/1.1\r\nHost: x\r\n\r\nGET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
        first, _, rest = data.partition(b"\r\n\r\n")
        assert first.startswith(b"HTTP/1.1 200"), data[:200]
        assert rest.startswith(b"HTTP/1.1 200"), f"bytes after the HEAD reply's header: {rest[:80]!r}"
    finally:
        sock.close()


# --- admission -----------------------------------------------------------------------------------

def test_a_burst_fills_running_slots_and_queue_before_503(hostile):
    burst = 60

    def one(i: int):
        return http_request(hostile.port, "POST", "/v1/completions",
                            {"model": NAME, "prompt": f"Burst {i}: count to ten:", "max_tokens": 24,
                             "ignore_eos": True, "temperature": 0}, timeout=180)

    barrier = threading.Barrier(burst)

    def synchronized(i: int):
        barrier.wait()
        return one(i)

    with ThreadPoolExecutor(max_workers=burst) as pool:
        results = list(pool.map(synchronized, range(burst)))
    ok = [r for r in results if r[0] == 200]
    refused = [r for r in results if r[0] == 503]
    assert len(ok) + len(refused) == burst, [r[0] for r in results]
    assert len(ok) >= MAX_NUM_SEQS + MAX_QUEUE_LEN, f"only {len(ok)} of {burst} admitted"
    for status, headers, body in refused:
        assert 1 <= int(headers["retry-after"]) <= 60, headers
        assert json.loads(body)["error"]["code"] == 503
    for status, _, body in ok:
        assert json.loads(body)["usage"]["completion_tokens"] == 24


# --- disconnects and stalled readers --------------------------------------------------------------

def test_disconnect_storm_frees_every_block(hostile, probe_references):
    async def storm():
        async with openai.AsyncOpenAI(base_url=hostile.base_url + "/v1", api_key="none", max_retries=0,
                                      timeout=120) as ac:
            async def drop(i):
                stream = await ac.completions.create(model=NAME, prompt=f"Storm {i}: a long story about ships",
                                                     max_tokens=500, temperature=0, stream=True,
                                                     extra_body={"ignore_eos": True})
                seen = 0
                async for chunk in stream:
                    seen += 1
                    if seen >= 1 + i % 3:
                        break
                await stream.close()

            async def probe(p, n):
                return await asyncio.to_thread(run_probe, hostile.port, p, n)

            drops = [drop(i) for i in range(MAX_NUM_SEQS * 2)]
            probes = [probe(p, n) for p, n in PROBES]
            results = await asyncio.gather(*drops, *probes, return_exceptions=True)
            return results[len(drops):], [r for r in results[: len(drops)] if isinstance(r, Exception)]

    probe_results, drop_errors = asyncio.run(storm())
    # A dropped stream may be refused (503: the queue was full); anything else is a failure.
    for e in drop_errors:
        assert isinstance(e, openai.APIStatusError) and e.status_code == 503, repr(e)
    assert_probes_intact(hostile.port, probe_references, probe_results)
    wait_until(lambda: kv_blocks_used(hostile.port) == 0, 20, "KV blocks in use back to 0")


def test_a_reader_that_stops_reading_is_cut_off_and_its_blocks_freed(hostile):
    generated_before = metric_total(hostile.port, "vllm:generation_tokens_total")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a small window, never drained
    sock.connect((HOST, hostile.port))
    try:
        body = json.dumps({"model": NAME, "prompt": "Stall: list numbers", "max_tokens": MAX_MODEL_LEN - 64,
                           "ignore_eos": True, "stream": True}).encode()
        sock.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        wait_until(lambda: kv_blocks_used(hostile.port) > 0, 30, "the stalled stream starting")
        start = time.monotonic()
        # Without the write timeout it would generate all ~2,000 tokens; with it, the request ends
        # once the kernel buffers are full and a write makes no progress for 2 s.
        wait_until(lambda: kv_blocks_used(hostile.port) == 0, 120, "the stalled stream's blocks freed", 0.25)
        took = time.monotonic() - start
        generated = metric_total(hostile.port, "vllm:generation_tokens_total") - generated_before
        assert generated < MAX_MODEL_LEN - 64, f"the stalled request ran to its end ({generated} tokens, {took:.1f} s)"
        print(f"stalled reader: cut off after {took:.1f} s and {generated:.0f} tokens")
    finally:
        sock.close()


def test_gauges_return_to_zero(hostile):
    def idle():
        return (kv_blocks_used(hostile.port) == 0 and metric_total(hostile.port, "vllm:num_requests_running") == 0
                and metric_total(hostile.port, "vllm:num_requests_waiting") == 0)
    wait_until(idle, 20, "KV usage and the running/waiting gauges back to 0")


# --- SIGTERM ---------------------------------------------------------------------------------------

def read_sse(resp) -> tuple[list[str], bool]:
    """The data payloads of an SSE response read to its end, and whether it ended cleanly (the
    terminating chunk arrived: http.client raises IncompleteRead otherwise)."""
    payloads, buffer = [], b""
    try:
        while chunk := resp.read1(65536):
            buffer += chunk
    except http.client.IncompleteRead:
        return [], False
    for frame in buffer.decode().split("\n\n"):
        if frame.startswith("data: "):
            payloads.append(frame[6:])
    return payloads, True


def test_sigterm_drains_then_ends_streams_properly(model_path, tmp_path):
    # The short streams must fit the grace period: a sanitizer build (several times slower) sets
    # TROUPE_TEST_SLOWDOWN (docs/RELIABILITY.md) to stretch it.
    grace_s = 4 * float(os.environ.get("TROUPE_TEST_SLOWDOWN", "1"))
    server = TroupeServer(model_path, ["--served-model-name", NAME, "--max-model-len", str(MAX_MODEL_LEN),
                                       "--max-num-seqs", "16", "--kv-cache-memory", str(128 * 1024 * 1024),
                                       "--shutdown-timeout", str(grace_s)], log_path=tmp_path / "serve.log")
    server.start()
    try:
        def open_stream(prompt: str, max_tokens: int):
            conn = http.client.HTTPConnection(HOST, server.port, timeout=120)
            conn.request("POST", "/v1/completions", json.dumps(
                {"model": NAME, "prompt": prompt, "max_tokens": max_tokens, "ignore_eos": True, "stream": True}),
                {"Content-Type": "application/json"})
            resp = conn.getresponse()
            assert resp.status == 200
            return conn, resp

        long_streams = [open_stream(f"Long {i}: tell a story", MAX_MODEL_LEN - 64) for i in range(6)]
        short_streams = [open_stream(f"Short {i}:", 8) for i in range(2)]
        probe = http.client.HTTPConnection(HOST, server.port, timeout=30)
        probe.request("GET", "/health")
        assert probe.getresponse().read() is not None
        sent = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        # Draining: the kept-alive probe connection hears 503; new connections are refused.
        time.sleep(0.3)
        probe.request("GET", "/health")
        health = probe.getresponse()
        assert health.status == 503
        health.read()
        with pytest.raises(OSError):
            http_request(server.port, "GET", "/health", timeout=5)
        # Requests that fit the grace period finish normally.
        for conn, resp in short_streams:
            payloads, clean = read_sse(resp)
            assert clean and payloads[-1] == "[DONE]"
            finishes = [c.get("finish_reason") for p in payloads[:-1] for c in json.loads(p).get("choices", [])]
            assert "length" in finishes, payloads[-3:]
        # The rest end after the grace period: an error event, [DONE], the terminating chunk.
        for conn, resp in long_streams:
            payloads, clean = read_sse(resp)
            assert clean, "the stream ended without its terminating chunk"
            assert payloads[-1] == "[DONE]", payloads[-2:]
            error = json.loads(payloads[-2]).get("error")
            assert error and error["code"] == 503 and "shutting down" in error["message"], payloads[-2]
            assert len(payloads) > 3, "the stream produced tokens before it was ended"
        code = server.proc.wait(timeout=grace_s + 15)
        took = time.monotonic() - sent
        assert code == 0, f"exit status {code}\n{server.log_tail()}"
        assert took < grace_s + 10, f"exit took {took:.1f} s"
        print(f"SIGTERM with 8 streams open: exit 0 after {took:.1f} s (grace {grace_s} s)")
    finally:
        server.stop()
