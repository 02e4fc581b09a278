"""vLLM's prompt_logprobs through the official `openai` client against the real server on SmolLM2,
checked against the echo-with-logprobs path that computes the same prompt logprobs (itself
checked against llama.cpp and transformers elsewhere): per prompt token the prompt's token and the
top N with their ranks, null for the first; the chat response carries its prompt's; streaming is
refused as vLLM refuses it."""
from __future__ import annotations

import math

import openai
import pytest

from conftest import SERVED_NAME
from troupe_server import tokenize

PROMPT = "The quick brown fox jumps over the lazy dog"


def test_completions_prompt_logprobs_match_the_echoed_prompts(server, client):
    ids = tokenize(server.port, {"prompt": PROMPT})
    r = client.completions.create(model=SERVED_NAME, prompt=PROMPT, max_tokens=2, temperature=0,
                                  extra_body={"prompt_logprobs": 2})
    positions = r.choices[0].model_dump()["prompt_logprobs"]
    assert len(positions) == len(ids) and positions[0] is None
    echo = client.completions.create(model=SERVED_NAME, prompt=PROMPT, max_tokens=1, temperature=0, echo=True,
                                     logprobs=2).choices[0].logprobs
    for k in range(1, len(ids)):
        entry = positions[k]
        own = entry[str(ids[k])]
        assert math.isclose(own["logprob"], echo.token_logprobs[k], abs_tol=1e-5), k
        # The same tokens as the echo's top_logprobs (the top 2 and the prompt's own), by text.
        assert {e["decoded_token"]: pytest.approx(e["logprob"], abs=1e-5) for e in entry.values()} == \
            echo.top_logprobs[k]
        assert {e["rank"] for e in entry.values()} >= {1, 2}
        best = max(e["logprob"] for e in entry.values())
        assert (own["rank"] == 1) == (own["logprob"] == best)
        assert len(entry) in (2, 3)  # the prompt's token, once, and the top 2
    # Not asked for: not there; with echo and logprobs, the echo keeps its own top-N.
    assert "prompt_logprobs" not in client.completions.create(model=SERVED_NAME, prompt=PROMPT, max_tokens=1).choices[0].model_dump()
    both = client.completions.create(model=SERVED_NAME, prompt=PROMPT, max_tokens=1, temperature=0, echo=True, logprobs=1,
                                     extra_body={"prompt_logprobs": 3}).choices[0]
    assert all(len(t) in (1, 2) for t in both.logprobs.top_logprobs[1:len(ids)])  # top 1, and the prompt's token
    assert all(len(e) in (3, 4) for e in both.model_dump()["prompt_logprobs"][1:])


def test_chat_reports_its_prompts_logprobs_and_streaming_is_refused(server, client):
    messages = [{"role": "user", "content": "Say hi."}]
    r = client.chat.completions.create(model=SERVED_NAME, messages=messages, max_tokens=2, extra_body={"prompt_logprobs": 0})
    positions = r.model_dump()["prompt_logprobs"]
    ids = tokenize(server.port, {"messages": messages})
    assert len(positions) == len(ids) == r.usage.prompt_tokens
    assert positions[0] is None
    assert all(list(p.keys()) == [str(ids[k])] for k, p in enumerate(positions) if k > 0)
    for stream_call in (lambda: client.chat.completions.create(model=SERVED_NAME, messages=messages, max_tokens=2, stream=True,
                                                               extra_body={"prompt_logprobs": 1}),
                        lambda: client.completions.create(model=SERVED_NAME, prompt=PROMPT, max_tokens=2, stream=True,
                                                          extra_body={"prompt_logprobs": 1})):
        with pytest.raises(openai.BadRequestError) as e:
            stream_call()
        assert "`prompt_logprobs` are not available when `stream=True`." in e.value.message
    with pytest.raises(openai.BadRequestError):
        client.completions.create(model=SERVED_NAME, prompt=PROMPT, max_tokens=1, extra_body={"prompt_logprobs": 21})
