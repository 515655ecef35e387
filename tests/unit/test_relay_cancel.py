"""The relay's loop ends when its task is cancelled, even at the moment a NOTIFY wakes it (``ServiceRuntime.stop``
cancels it and waits for it before ``relay.stop``: a loop that went on held its LISTEN connection and the
shutdown)."""

from __future__ import annotations

import asyncio

import pytest

from shared.relay import OutboxRelay


async def test_a_cancellation_arriving_with_a_wake_up_ends_the_relay_loop() -> None:
    relay = OutboxRelay(None, "registry", lambda: None, idle_wait_s=30)  # type: ignore[arg-type]
    turns = 0

    async def nothing() -> None:
        return None

    async def publish_once() -> int:
        nonlocal turns
        turns += 1
        return 0

    relay._ensure_listening = nothing  # type: ignore[method-assign]
    relay.refresh_gauges = nothing  # type: ignore[method-assign]
    relay.publish_once = publish_once  # type: ignore[method-assign]
    task = asyncio.create_task(relay.run())
    while turns == 0:
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)  # idle, waiting to be woken
    relay._on_notify()  # an outbox insert committed ...
    task.cancel()  # ... as the shutdown begins
    done, _ = await asyncio.wait({task}, timeout=2)
    if not done:
        relay._stopping = True
        relay._wake.set()
        await asyncio.wait({task}, timeout=2)
        pytest.fail(f"the relay went on after its cancellation ({turns} turns)")
    assert task.cancelled()
