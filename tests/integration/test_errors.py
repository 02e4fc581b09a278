"""Bad requests get OpenAI-style 4xx errors (the right exception class in the `openai` client) and
never take the server down: after each test the autouse fixture in conftest.py checks /health."""
from __future__ import annotations

import http.client
import json

import openai
import pytest

from conftest import MAIN_MAX_MODEL_LEN, SERVED_NAME, TINY_API_KEY, TINY_MAX_MODEL_LEN, TINY_NAME
from troupe_server import HOST, http_request, oversized_request

CHAT = [{"role": "user", "content": "Say hi."}]
LONG_TEXT = " ".join(f"word{i} and" for i in range(120))  # well over 64 tokens


def assert_error_body(data: bytes, status: int) -> dict:
    body = json.loads(data)
    assert isinstance(body.get("error"), dict), body
    err = body["error"]
    assert isinstance(err.get("message"), str) and err["message"], body
    assert isinstance(err.get("type"), str) and err["type"], body
    assert str(err.get("code")) == str(status), body
    return err


# --- through the openai client --------------------------------------------------------------------

@pytest.mark.parametrize("endpoint", ["chat", "completions"])
def test_unknown_model_is_not_found(client, endpoint):
    with pytest.raises(openai.NotFoundError) as e:
        if endpoint == "chat":
            client.chat.completions.create(model="no-such-model", messages=CHAT, max_tokens=2)
        else:
            client.completions.create(model="no-such-model", prompt="hi", max_tokens=2)
    assert e.value.status_code == 404
    assert "no-such-model" in str(e.value)


WRONG_TYPES = [
    {"temperature": "hot"},
    {"max_tokens": "ten"},
    {"max_tokens": 3.5},
    {"messages": "hello"},
    {"messages": [{"role": "user", "content": 42}]},
    {"messages": [{"content": "no role"}]},
    {"stream": "yes"},
    {"n": "two"},
    {"stop": 5},
    {"seed": "abc"},
    {"logprobs": "yes"},
    {"model": 17},
]


@pytest.mark.parametrize("override", WRONG_TYPES, ids=lambda o: json.dumps(o))
def test_chat_wrong_types_are_bad_requests(client, override):
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model=SERVED_NAME, messages=CHAT, max_tokens=2, extra_body=override)
    assert e.value.status_code == 400


@pytest.mark.parametrize("override", [{"prompt": {"text": "hi"}}, {"prompt": [1.5, 2]}, {"prompt": None},
                                      {"max_tokens": [1]}, {"echo": "no"}], ids=lambda o: json.dumps(o))
def test_completion_wrong_types_are_bad_requests(client, override):
    with pytest.raises(openai.BadRequestError):
        client.completions.create(model=SERVED_NAME, prompt="hi", max_tokens=2, extra_body=override)


OUT_OF_RANGE = [
    {"temperature": -1},
    {"top_p": 1.5},
    {"max_tokens": 0},
    {"max_tokens": -3},
    {"n": 0},
    {"frequency_penalty": 3.0},
    {"presence_penalty": -2.5},
    {"logprobs": True, "top_logprobs": -1},
    {"top_logprobs": 2},  # top_logprobs needs logprobs: true
]


@pytest.mark.parametrize("override", OUT_OF_RANGE, ids=lambda o: json.dumps(o))
def test_out_of_range_values_are_bad_requests(client, override):
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model=SERVED_NAME, messages=CHAT, max_tokens=2, extra_body=override)
    assert e.value.status_code == 400


def test_empty_prompt_is_a_bad_request(client):
    with pytest.raises(openai.BadRequestError):
        client.completions.create(model=SERVED_NAME, prompt="", max_tokens=2)


def test_max_tokens_beyond_context_is_a_bad_request(client):
    with pytest.raises(openai.BadRequestError) as e:
        client.completions.create(model=SERVED_NAME, prompt="hi", max_tokens=MAIN_MAX_MODEL_LEN + 100)
    assert str(MAIN_MAX_MODEL_LEN) in e.value.message


def _count(server, **body) -> int:
    status, _, data = http_request(server.port, "POST", "/tokenize", {"model": SERVED_NAME, **body})
    assert status == 200, data
    return json.loads(data)["count"]


def test_prompt_too_long_names_both_lengths(tiny_client, server):
    n = _count(server, prompt=LONG_TEXT)
    assert n > TINY_MAX_MODEL_LEN
    with pytest.raises(openai.BadRequestError) as e:
        tiny_client.completions.create(model=TINY_NAME, prompt=LONG_TEXT, max_tokens=4)
    assert str(TINY_MAX_MODEL_LEN) in e.value.message and str(n) in e.value.message, e.value.message
    messages = [{"role": "user", "content": LONG_TEXT}]
    n_chat = _count(server, messages=messages)
    with pytest.raises(openai.BadRequestError) as e:
        tiny_client.chat.completions.create(model=TINY_NAME, messages=messages, max_tokens=4)
    assert str(TINY_MAX_MODEL_LEN) in e.value.message and str(n_chat) in e.value.message, e.value.message


def test_prompt_too_long_while_streaming_is_a_bad_request(tiny_client):
    with pytest.raises(openai.BadRequestError):
        for _ in tiny_client.completions.create(model=TINY_NAME, prompt=LONG_TEXT, max_tokens=4, stream=True):
            pass


def test_tiny_server_serves_with_the_right_key(tiny_client):
    r = tiny_client.completions.create(model=TINY_NAME, prompt="The sky is", max_tokens=3, temperature=0)
    assert r.choices[0].finish_reason in ("stop", "length")
    assert r.usage.completion_tokens <= 3


def test_bad_api_key_is_an_authentication_error(tiny_server):
    bad = openai.OpenAI(base_url=tiny_server.base_url + "/v1", api_key="wrong-key", max_retries=0, timeout=30)
    with pytest.raises(openai.AuthenticationError) as e:
        bad.chat.completions.create(model=TINY_NAME, messages=CHAT, max_tokens=2)
    assert e.value.status_code == 401
    with pytest.raises(openai.AuthenticationError):
        bad.models.list()
    # A key that shares a prefix with the real one, and one that extends it, are wrong too.
    for key in (TINY_API_KEY[:-1], TINY_API_KEY + "x"):
        status, _, data = http_request(tiny_server.port, "GET", "/v1/models", headers={"Authorization": f"Bearer {key}"})
        assert status == 401
    status, _, data = http_request(tiny_server.port, "POST", "/v1/completions",
                                   {"model": TINY_NAME, "prompt": "hi", "max_tokens": 1})
    assert status == 401
    assert_error_body(data, 401)
    status, _, _ = http_request(tiny_server.port, "GET", "/health")
    assert status == 200, "health needs no key"


# --- raw HTTP -------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/completions", "/tokenize"])
@pytest.mark.parametrize("payload", [b'{"model": "x", "prompt": ', b"not json at all", b"[1, 2, 3]", b"",
                                     b'{"model": "x"} trailing'])
def test_malformed_json_is_400(server, path, payload):
    status, headers, data = http_request(server.port, "POST", path, payload, {"Content-Type": "application/json"})
    assert status == 400, data
    assert headers.get("content-type", "").startswith("application/json")
    assert_error_body(data, 400)


@pytest.mark.parametrize("payload", [
    b'{"model": "smollm2-it", "prompt": "caf\xe9 \xff\xfe", "max_tokens": 2}',
    b'{"model": "smollm2-it", "messages": [{"role": "user", "content": "\xc3\x28"}], "max_tokens": 2}',
    b'{"model": "smollm2-it", "prompt": "ok", "max_tokens": 2, "st\xedp": 1}',
])
def test_invalid_utf8_is_400(server, payload):
    path = "/v1/chat/completions" if b"messages" in payload else "/v1/completions"
    status, _, data = http_request(server.port, "POST", path, payload, {"Content-Type": "application/json"})
    assert status == 400, data
    assert_error_body(data, 400)


def test_body_too_large_is_413(server):
    status, response = oversized_request(server.port, "/v1/completions", 256 * 1024 * 1024)
    assert status == 413, response[:300]


@pytest.mark.parametrize("method,path", [("GET", "/v1/nothing"), ("POST", "/v1/nothing"), ("GET", "/"),
                                         ("GET", "/v1/models/../../etc/passwd"), ("GET", "/v2/models")])
def test_unknown_path_is_404(server, method, path):
    status, _, data = http_request(server.port, method, path, b"{}" if method == "POST" else None)
    assert status == 404, data


def test_wrong_method_is_rejected(server):
    status, _, _ = http_request(server.port, "GET", "/v1/chat/completions")
    assert status in (404, 405)


def test_keep_alive_serves_several_requests_on_one_connection(server):
    conn = http.client.HTTPConnection(HOST, server.port, timeout=60)
    try:
        for i in range(3):
            conn.request("POST", "/v1/completions",
                         body=json.dumps({"model": SERVED_NAME, "prompt": f"Number {i}:", "max_tokens": 2}),
                         headers={"Content-Type": "application/json"})
            resp = conn.getresponse()
            body = json.loads(resp.read())
            assert resp.status == 200, body
            assert body["choices"][0]["text"] is not None
        # An error answer keeps the connection usable too.
        conn.request("POST", "/v1/completions", body=b"{bad", headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        resp.read()
        assert resp.status == 400
        conn.request("GET", "/v1/models")
        resp = conn.getresponse()
        assert resp.status == 200 and json.loads(resp.read())["data"][0]["id"] == SERVED_NAME
    finally:
        conn.close()


def test_validation_error_body_is_openai_shaped(server):
    status, _, data = http_request(server.port, "POST", "/v1/chat/completions",
                                   {"model": SERVED_NAME, "messages": CHAT, "temperature": "hot"})
    assert status == 400
    err = assert_error_body(data, 400)
    assert "temperature" in err["message"] or err.get("param") == "temperature"
