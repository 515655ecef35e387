"""``ServiceRuntime.stop`` ends whatever its steps do: a background task that does not end when cancelled and holds
the pool's connections (the audit head at shutdown then finds none) is logged and left, never waited for without
bound, and nothing is raised."""

from __future__ import annotations

import asyncio
import logging

import pytest

from shared.runtime import ServiceRuntime
from tests.conftest import settings_for

pytestmark = pytest.mark.integration


async def test_stop_ends_when_a_task_ignores_its_cancellation_holding_every_connection(db, caplog):
    runtime = ServiceRuntime(settings_for("registry", db, None, db_pool_max=2), description="stop bounds")
    runtime.stop_step_timeout_s = 0.5
    release = asyncio.Event()
    holding = asyncio.Event()

    async def stubborn() -> None:
        assert runtime.pool is not None
        async with runtime.pool.acquire():  # the other of the two: the relay's LISTEN connection, until relay stop
            holding.set()
            while not release.is_set():
                try:
                    await release.wait()
                except asyncio.CancelledError:
                    pass  # a task that does not end when cancelled

    runtime.background("stubborn", stubborn)
    await runtime.start()
    stubborn_task = next(t for t in runtime._tasks if t.get_name().endswith("-stubborn"))
    try:
        await asyncio.wait_for(holding.wait(), 10)
        while runtime.relay is None or runtime.relay._listen_conn is None:
            await asyncio.sleep(0.05)
        caplog.set_level(logging.WARNING, logger="shared.runtime")
        loop = asyncio.get_running_loop()
        began = loop.time()
        stopping = asyncio.create_task(runtime.stop())
        await asyncio.wait({stopping}, timeout=15)  # not wait_for: it would wait for a cancelled stop to end
        took = loop.time() - began
        assert stopping.done(), "stop did not end"
        stopping.result()  # nothing raised
        assert took < 10, took  # its steps bounded at 0.5 s (the audit head 1 s), whatever the load
        timed_out = [r for r in caplog.records if r.getMessage() == "shutdown step timed out"]
        assert [r.job for r in timed_out][:2] == ["background tasks", "audit head at shutdown"]
        assert timed_out[0].tasks == ["registry-stubborn"]
    finally:
        release.set()
        await asyncio.wait({stubborn_task, *([stopping] if "stopping" in locals() else [])}, timeout=30)
