"""Greedy output through the server equals `troupe generate` for the same prompt: one request alone,
and 16 concurrent requests of different prompt lengths and max_tokens (continuous batching must
not change results beyond floating-point tolerance); and `troupe generate` itself gives the same
text whether a prompt runs in one step or in chunks.

Tolerance: texts must be equal, except that they may part at a near-tie — the token where they
first differ must be one the server itself ranks within NEAR_TIE nats of the token it chose (so
that summation order alone could flip the choice). Anything else fails."""
from __future__ import annotations

import asyncio

import openai
import pytest

from conftest import SERVED_NAME, run_generate

NEAR_TIE = 0.05

TOPICS = ["the ocean", "a mountain village", "old trains", "the moon", "bread baking", "a lost cat",
          "winter in the city", "a lighthouse keeper"]


def make_cases() -> list[dict]:
    cases = []
    for i in range(16):
        topic = TOPICS[i % len(TOPICS)]
        filler = " ".join(f"Fact {j}: {topic} is worth describing in detail." for j in range(i * 2))
        chat = i % 2 == 0
        prompt = (f"{filler} Write two sentences about {topic}." if chat
                  else f"{filler} Here is a short story about {topic}. It begins:").strip()
        cases.append({"prompt": prompt, "chat": chat, "max_tokens": 8 + (i * 5) % 17})
    return cases


CASES = make_cases()


def entries_of(choice, chat: bool) -> list[tuple[str, float, list[tuple[str, float]]]] | None:
    """(token, logprob, [(alternative, logprob)]) per generated token, from either API's logprobs."""
    if choice.logprobs is None:
        return None
    if chat:
        return [(e.token, e.logprob, [(a.token, a.logprob) for a in e.top_logprobs]) for e in choice.logprobs.content]
    lp = choice.logprobs
    return [(t, v, list((top or {}).items())) for t, v, top in zip(lp.tokens, lp.token_logprobs, lp.top_logprobs)]


async def collect_stream(stream, chat: bool) -> tuple[str, list]:
    """A streamed response's text and its entries_of(), chunk by chunk."""
    text, entries = "", []
    async for chunk in stream:
        for ch in chunk.choices:
            text += (ch.delta.content or "") if chat else ch.text
            if ch.logprobs and (ch.logprobs.content if chat else ch.logprobs.tokens):
                entries += entries_of(ch, chat)
    return text, entries


def assert_matches_reference(served: str, entries, reference: str, label: str) -> None:
    if served == reference:
        return
    assert entries, f"{label}: server {served!r} != troupe generate {reference!r} (no logprobs to judge a tie)"
    prefix = ""
    for i, (token, logprob, top) in enumerate(entries):
        if reference.startswith(prefix + token) and (token or prefix == reference):
            prefix += token
            continue
        rest = reference[len(prefix):]
        alternatives = [(a, v) for a, v in top if a != token and
                        ((a and rest.startswith(a)) or (not rest and a.startswith("<|")))]
        assert alternatives, (f"{label}: parted at token {i} ({token!r}) and the reference's continuation "
                              f"{rest[:20]!r} is not among the server's top tokens {top}\n"
                              f"server:    {served!r}\nreference: {reference!r}")
        gap = logprob - max(v for _, v in alternatives)
        assert gap <= NEAR_TIE, (f"{label}: parted at token {i} ({token!r}) where the margin is {gap:.4f} nats, "
                                 f"not a near-tie\nserver:    {served!r}\nreference: {reference!r}")
        return
    pytest.fail(f"{label}: server text is a strict prefix of the reference\nserver:    {served!r}\n"
                f"reference: {reference!r}")


@pytest.fixture(scope="module")
def references(model_path) -> list[str]:
    return [run_generate(model_path, c["prompt"], c["max_tokens"], c["chat"]) for c in CASES]


def request_kwargs(case: dict) -> dict:
    kw = dict(model=SERVED_NAME, max_tokens=case["max_tokens"], temperature=0)
    if case["chat"]:
        kw.update(messages=[{"role": "user", "content": case["prompt"]}], logprobs=True, top_logprobs=3)
    else:
        kw.update(prompt=case["prompt"], logprobs=3)
    return kw


@pytest.mark.parametrize("index", [0, 1, 15])
def test_alone_matches_troupe_generate(client, references, index):
    case = CASES[index]
    kw = request_kwargs(case)
    if case["chat"]:
        r = client.chat.completions.create(**kw)
        served = r.choices[0].message.content or ""
    else:
        r = client.completions.create(**kw)
        served = r.choices[0].text
    assert_matches_reference(served, entries_of(r.choices[0], case["chat"]), references[index],
                             f"case {index} alone")


def check_all_at_once(server, references, one, label):
    """Sends every case at once through `one(client, case) -> (text, logprob entries)` and checks
    each against `troupe generate`."""
    async def all_at_once():
        async with openai.AsyncOpenAI(base_url=server.base_url + "/v1", api_key="none", max_retries=0,
                                      timeout=240) as ac:
            return await asyncio.gather(*(one(ac, c) for c in CASES))

    results = asyncio.run(all_at_once())
    for i, ((served, entries), reference) in enumerate(zip(results, references)):
        assert_matches_reference(served, entries, reference, f"case {i} of {label}")


def test_sixteen_concurrent_match_troupe_generate(server, references):
    async def one(ac, case):
        kw = request_kwargs(case)
        if case["chat"]:
            r = await ac.chat.completions.create(**kw)
            return r.choices[0].message.content or "", entries_of(r.choices[0], True)
        r = await ac.completions.create(**kw)
        return r.choices[0].text, entries_of(r.choices[0], False)

    check_all_at_once(server, references, one, "16 concurrent")


def test_concurrent_streams_match_troupe_generate(server, references):
    """The same 16 prompts, streamed at once (with logprobs in the chunks): each matches too."""
    async def one(ac, case):
        api = ac.chat.completions if case["chat"] else ac.completions
        return await collect_stream(await api.create(stream=True, **request_kwargs(case)), case["chat"])

    check_all_at_once(server, references, one, "16 concurrent streams")


def test_a_prompt_in_chunks_gives_the_text_of_one_step(model_path, references):
    """`troupe generate` runs a prompt longer than --max-num-batched-tokens in chunks, as the server
    does: case 15's ~300-token prompt in chunks of 64, and of 37 (chunks that end inside a 16-slot
    KV block), gives the text of the reference run, whose prompt fits the default 512 in one step."""
    case = CASES[15]
    assert len(case["prompt"].split()) > 200, "case 15 must span several chunks of 64"
    for chunk in ["64", "37"]:
        got = run_generate(model_path, case["prompt"], case["max_tokens"], case["chat"],
                           ["--max-num-batched-tokens", chunk])
        assert got == references[15], f"chunks of {chunk}: {got!r} != {references[15]!r}"
