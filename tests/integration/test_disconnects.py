"""64 streams at once; half of them are dropped mid-stream by closing the connection. The other 32
must complete, and once they have, the KV blocks in use return to zero: the dropped requests were
cancelled and their blocks freed (had they run on, they would hold blocks for their remaining
DROPPED_MAX_TOKENS tokens, far longer than the polling window)."""
from __future__ import annotations

import asyncio
import time

import openai

from conftest import SERVED_NAME
from troupe_server import kv_blocks_used

STREAMS = 64
KEPT_MAX_TOKENS = 24
DROPPED_MAX_TOKENS = 400
CHUNKS_BEFORE_DROP = 2
ZERO_WITHIN_S = 10.0


def prompt(i: int) -> str:
    return f"Story number {i}. " + "The long road went on and on, " * (1 + i % 5) + "and then"


def test_dropped_streams_free_their_kv_blocks(server):
    peak_used = 0.0

    async def watch_kv(stop: asyncio.Event):
        nonlocal peak_used
        deadline = time.monotonic() + 300
        while not stop.is_set() and time.monotonic() < deadline:
            peak_used = max(peak_used, await asyncio.to_thread(kv_blocks_used, server.port))
            try:
                await asyncio.wait_for(stop.wait(), timeout=0.25)
            except asyncio.TimeoutError:
                pass

    async def kept(ac, i):
        text, finish, usage = "", None, None
        stream = await ac.completions.create(model=SERVED_NAME, prompt=prompt(i), max_tokens=KEPT_MAX_TOKENS,
                                             temperature=0, stream=True, stream_options={"include_usage": True})
        async for chunk in stream:
            for ch in chunk.choices:
                text += ch.text
                finish = ch.finish_reason or finish
            usage = chunk.usage or usage
        return text, finish, usage

    async def dropped(ac, i):
        stream = await ac.completions.create(model=SERVED_NAME, prompt=prompt(i), max_tokens=DROPPED_MAX_TOKENS,
                                             temperature=0, stream=True)
        seen = 0
        async for chunk in stream:
            if any(ch.text for ch in chunk.choices):
                seen += 1
            if seen >= CHUNKS_BEFORE_DROP:
                break
        await stream.close()
        return seen

    async def run():
        stop = asyncio.Event()
        watcher = asyncio.create_task(watch_kv(stop))
        async with openai.AsyncOpenAI(base_url=server.base_url + "/v1", api_key="none", max_retries=0,
                                      timeout=300) as ac:
            tasks = [kept(ac, i) if i % 2 == 0 else dropped(ac, i) for i in range(STREAMS)]
            results = await asyncio.gather(*tasks)
        stop.set()
        await watcher
        return results

    results = asyncio.run(run())
    kept_results = results[0::2]
    dropped_results = results[1::2]
    assert all(seen == CHUNKS_BEFORE_DROP for seen in dropped_results), dropped_results
    for i, (text, finish, usage) in enumerate(kept_results):
        assert finish in ("stop", "length"), f"kept stream {2 * i} ended without a finish reason"
        assert usage is not None and 1 <= usage.completion_tokens <= KEPT_MAX_TOKENS
        if finish == "length":
            assert usage.completion_tokens == KEPT_MAX_TOKENS
        assert text, f"kept stream {2 * i} produced no text"
    assert peak_used > 0, "KV blocks in use never showed above zero while 64 streams ran"

    deadline = time.monotonic() + ZERO_WITHIN_S
    used = kv_blocks_used(server.port)
    while used != 0 and time.monotonic() < deadline:
        time.sleep(0.2)
        used = kv_blocks_used(server.port)
    assert used == 0, f"KV blocks still in use {ZERO_WITHIN_S} s after every stream ended or was dropped: {used}"

    # And the server still answers normally.
    r = openai.OpenAI(base_url=server.base_url + "/v1", api_key="none", max_retries=0, timeout=60).completions.create(
        model=SERVED_NAME, prompt="After the storm,", max_tokens=3, temperature=0)
    assert r.choices[0].finish_reason in ("stop", "length")
