"""vLLM's skip_special_tokens and the text of the token that ends a sequence, through the official
`openai` client against the real server on SmolLM2: special tokens' text appears only when asked
for, and the eos or stop id that finishes a choice stays out of its text unless
include_stop_str_in_output (vLLM's detokenizer drops it), while its id is still counted."""
from __future__ import annotations

import openai
import pytest

from conftest import SERVED_NAME
from test_logit_rules import one_token

IM_START, IM_END = 1, 2  # SmolLM2's control tokens <|im_start|> and <|im_end|> (its eos)


def complete(client, **kw):
    return client.completions.create(model=SERVED_NAME, prompt="The capital of France is", temperature=0, **kw)


def test_special_tokens_are_in_the_text_only_when_not_skipped(client):
    forced = {"logit_bias": {str(IM_START): 100}, "max_tokens": 3}
    skipped = complete(client, **forced)
    assert skipped.choices[0].text == ""
    assert skipped.usage.completion_tokens == 3
    kept = complete(client, **forced, extra_body={"skip_special_tokens": False})
    assert kept.choices[0].text == "<|im_start|>" * 3
    # Streamed chat, the same rule.
    stream = client.chat.completions.create(model=SERVED_NAME, messages=[{"role": "user", "content": "Hi"}],
                                            stream=True, **forced, extra_body={"skip_special_tokens": False})
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == "<|im_start|>" * 3


def test_the_eos_that_ends_a_choice_stays_out_of_its_text_unless_asked_for(client):
    forced = {"logit_bias": {str(IM_END): 100}, "max_tokens": 5, "logprobs": 1}
    ended = complete(client, **forced, extra_body={"skip_special_tokens": False})
    assert ended.choices[0].finish_reason == "stop"
    assert ended.choices[0].text == ""
    assert ended.choices[0].logprobs.tokens == ["<|im_end|>"]  # the token itself is still reported
    included = complete(client, **forced, extra_body={"skip_special_tokens": False, "include_stop_str_in_output": True})
    assert included.choices[0].text == "<|im_end|>"


def test_a_stop_token_id_that_is_an_ordinary_word_stays_out_of_the_text(server, client):
    the = one_token(server, " the")
    forced = {"logit_bias": {str(the): 100}, "max_tokens": 5}
    r = complete(client, **forced, extra_body={"stop_token_ids": [the]})
    assert r.choices[0].finish_reason == "stop"
    assert r.choices[0].stop_reason == the
    assert r.choices[0].text == ""
    assert r.usage.completion_tokens == 1
    included = complete(client, **forced, extra_body={"stop_token_ids": [the], "include_stop_str_in_output": True})
    assert included.choices[0].text == " the"
    stream = complete(client, **forced, stream=True, extra_body={"stop_token_ids": [the]})
    assert "".join(c.choices[0].text for c in stream if c.choices) == ""


def test_spaces_between_special_tokens_is_accepted_and_type_checked(client):
    r = complete(client, max_tokens=2, extra_body={"spaces_between_special_tokens": False})
    assert r.choices[0].text.startswith(" Paris")
    for field in ("skip_special_tokens", "spaces_between_special_tokens"):
        with pytest.raises(openai.BadRequestError) as e:
            complete(client, max_tokens=2, extra_body={field: "no"})
        assert e.value.body["param"] == field
