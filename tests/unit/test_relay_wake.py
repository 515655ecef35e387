"""A NOTIFY that arrives while the relay's claim is in flight, and the claim finds nothing (it read the outbox
before that commit), wakes the relay's next cycle: it is not cleared with the idle wait's event. Before, the
relay slept its whole idle wait (1 s) with the row committed: a tail of the relay lag under the demo's load
(docs/benchmarks.md, "Latency under the demo's load")."""

from __future__ import annotations

import asyncio

import pytest

from shared.relay import OutboxRelay


async def test_a_wake_up_during_an_empty_claim_starts_the_next_cycle() -> None:
    relay = OutboxRelay(None, "registry", lambda: None, idle_wait_s=3600)  # type: ignore[arg-type]
    turns = 0
    second = asyncio.Event()

    async def nothing() -> None:
        return None

    async def publish_once() -> int:
        nonlocal turns
        turns += 1
        if turns == 1:
            relay._on_notify()  # a row committed after the claim read the outbox, before it returned
        else:
            second.set()
        return 0

    relay._ensure_listening = nothing  # type: ignore[method-assign]
    relay.refresh_gauges = nothing  # type: ignore[method-assign]
    relay.publish_once = publish_once  # type: ignore[method-assign]
    task = asyncio.create_task(relay.run())
    try:
        await asyncio.wait_for(second.wait(), 5)  # the idle wait is an hour: without the wake-up, never
    except TimeoutError:
        pytest.fail("the wake-up that came during an empty claim was lost: the relay sleeps its idle wait")
    finally:
        relay._stopping = True
        relay._wake.set()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
