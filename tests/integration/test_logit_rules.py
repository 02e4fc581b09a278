"""logit_bias (OpenAI), allowed_token_ids and bad_words (vLLM) through the official `openai` client
against the real server, on both endpoints: what they do to the text, that logprobs stay the
model's own (vLLM's default "raw_logprobs"), that the limits on list-valued fields hold, and the
400s with vLLM's (or OpenAI's) messages."""
from __future__ import annotations

import json

import openai
import pytest

from conftest import SERVED_NAME
from troupe_server import http_request

VOCAB = 49152  # SmolLM2's logit rows
PROMPT = "The capital of France is"  # greedy: " Paris."


def token_ids(server, text: str) -> list[int]:
    status, _, body = http_request(server.port, "POST", "/tokenize", {"prompt": text, "add_special_tokens": False})
    assert status == 200, body
    return json.loads(body)["tokens"]


def one_token(server, text: str) -> int:
    ids = token_ids(server, text)
    assert len(ids) == 1, (text, ids)
    return ids[0]


def complete(client, **kw):
    return client.completions.create(model=SERVED_NAME, prompt=PROMPT, **kw)


def test_greedy_reference_says_paris(client):
    # What the other tests change: the unconstrained greedy answer.
    assert complete(client, max_tokens=2, temperature=0).choices[0].text.startswith(" Paris")


def test_a_strong_positive_bias_forces_a_token_on_both_endpoints(server, client):
    the = one_token(server, " the")
    r = complete(client, max_tokens=6, temperature=1.0, seed=4, n=3, logit_bias={str(the): 100})
    for c in r.choices:
        assert c.text == " the" * 6, c.text
    chat = client.chat.completions.create(model=SERVED_NAME, messages=[{"role": "user", "content": "Hi"}],
                                          max_tokens=5, temperature=0, logit_bias={str(the): 100})
    assert chat.choices[0].message.content.split() == ["the"] * 5, chat.choices[0].message.content


def test_a_strong_negative_bias_removes_the_greedy_choice(server, client):
    paris = one_token(server, " Paris")
    r = complete(client, max_tokens=4, temperature=0, logit_bias={str(paris): -100})
    assert "Paris" not in r.choices[0].text
    # Streamed: the same text.
    stream = complete(client, max_tokens=4, temperature=0, logit_bias={str(paris): -100}, stream=True)
    assert "".join(c.choices[0].text for c in stream if c.choices) == r.choices[0].text


def test_allowed_token_ids_restricts_every_token(server, client):
    allowed = [one_token(server, " yes"), one_token(server, " no")]
    r = complete(client, max_tokens=8, temperature=1.0, seed=2, n=4, extra_body={"allowed_token_ids": allowed})
    for c in r.choices:
        assert c.text.replace(" yes", "").replace(" no", "") == "", c.text
        assert len(c.text) >= 8 * 3
    chat = client.chat.completions.create(model=SERVED_NAME, messages=[{"role": "user", "content": "Yes or no?"}],
                                          max_tokens=4, temperature=0.7, seed=1,
                                          extra_body={"allowed_token_ids": allowed})
    assert chat.choices[0].message.content.replace("yes", "").replace("no", "").strip() == ""


def test_bad_words_remove_a_word_greedy_decoding_would_write(client):
    plain = complete(client, max_tokens=12, temperature=0).choices[0].text
    assert "Paris" in plain
    r = complete(client, max_tokens=12, temperature=0, extra_body={"bad_words": ["Paris"]})
    assert "Paris" not in r.choices[0].text
    assert r.choices[0].text != plain
    chat = client.chat.completions.create(model=SERVED_NAME,
                                          messages=[{"role": "user", "content": "Name the capital of France in one word."}],
                                          max_tokens=30, temperature=0, extra_body={"bad_words": ["Paris"]})
    assert "Paris" not in chat.choices[0].message.content


def test_logprobs_are_the_models_own_whatever_the_rules(server, client):
    # vLLM computes logprobs before applying these rules (its default logprobs mode): the token
    # forced by allowed_token_ids shows its real, low logprob, and the alternatives are unchanged.
    yes = one_token(server, " yes")
    free = complete(client, max_tokens=1, temperature=0, logprobs=2).choices[0].logprobs
    forced = complete(client, max_tokens=1, temperature=0, logprobs=2, extra_body={"allowed_token_ids": [yes]})
    lp = forced.choices[0].logprobs
    assert forced.choices[0].text == " yes"
    assert lp.token_logprobs[0] < -1.0
    for token, value in free.top_logprobs[0].items():
        assert lp.top_logprobs[0][token] == pytest.approx(value, abs=1e-6)


def test_rules_work_with_a_structured_output_constraint(client):
    # The grammar mask and the rules both apply: the choice is never the biased-away one.
    r = complete(client, max_tokens=5, temperature=0, extra_body={"guided_choice": ["Paris", "Lyon"], "bad_words": ["Paris"]})
    assert r.choices[0].text == "Lyon"


def expect_400(client, words: str, param: str, chat: bool = False, **kw):
    with pytest.raises(openai.BadRequestError) as info:
        if chat:
            client.chat.completions.create(model=SERVED_NAME, messages=[{"role": "user", "content": "x"}], max_tokens=2, **kw)
        else:
            complete(client, max_tokens=2, **kw)
    err = info.value.body
    assert info.value.status_code == 400
    assert words in err["message"], err
    assert err["param"] == param, err
    assert err["type"] == "invalid_request_error"


@pytest.mark.parametrize("chat", [False, True])
def test_invalid_values_are_400_with_vllms_messages(client, chat):
    expect_400(client, f"token_id(s) [{VOCAB}] in logit_bias contain out-of-vocab token ids. Vocabulary size: {VOCAB}",
               "logit_bias", chat, logit_bias={str(VOCAB): 5})
    expect_400(client, "logit_bias contains key(s) that cannot be converted to integer token IDs: ['abc']",
               "logit_bias", chat, logit_bias={"abc": 5})
    expect_400(client, "'logit_bias' values must be between -100 and 100", "logit_bias", chat, logit_bias={"5": 150})
    expect_400(client, "allowed_token_ids contains out-of-vocab token id!", "allowed_token_ids", chat,
               extra_body={"allowed_token_ids": [1, VOCAB]})
    expect_400(client, "allowed_token_ids is not None and empty!", "allowed_token_ids", chat,
               extra_body={"allowed_token_ids": []})
    expect_400(client, "bad_words cannot contain an empty string.", "bad_words", chat, extra_body={"bad_words": [""]})
    expect_400(client, "bad_words entries must tokenize to at least one token.", "bad_words", chat,
               extra_body={"bad_words": ["  "]})
    expect_400(client, f"token_id(s) [{VOCAB + 1}] in stop_token_ids contain out-of-vocab token ids", "stop_token_ids",
               chat, extra_body={"stop_token_ids": [VOCAB + 1]})


def test_rules_that_exclude_every_token_are_400(server, client):
    paris = one_token(server, " Paris")
    expect_400(client, "exclude every token", "allowed_token_ids",
               extra_body={"allowed_token_ids": [paris], "bad_words": ["Paris"]})


def test_list_fields_are_bounded(client):
    expect_400(client, "'stop' may hold at most 64 strings, got 100000.", "stop", stop=["x"] * 100000)
    expect_400(client, "'stop' strings may be at most 256 bytes long", "stop", stop=["x" * 300])
    expect_400(client, "'stop_token_ids' may hold at most 256 token ids", "stop_token_ids",
               extra_body={"stop_token_ids": list(range(300))})
    expect_400(client, "'logit_bias' may hold at most 1024 entries, got 2000.", "logit_bias",
               logit_bias={str(i): 1 for i in range(2000)})
    expect_400(client, "'bad_words' may hold at most 128 words", "bad_words", extra_body={"bad_words": ["w"] * 200})
    tool = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
    expect_400(client, "'tools' may hold at most 128 tools, got 129.", "tools", chat=True, tools=[tool] * 129)
    with pytest.raises(openai.BadRequestError) as info:
        client.completions.create(model=SERVED_NAME, prompt=["p"] * 1025, max_tokens=1)
    assert "'prompt' may hold at most 1024 prompts" in info.value.body["message"]
    # At the limits: accepted.
    r = complete(client, max_tokens=2, temperature=0, stop=[f"stop{i}" for i in range(64)],
                 logit_bias={str(i): 0 for i in range(1024)})
    assert r.choices[0].finish_reason in ("length", "stop")
