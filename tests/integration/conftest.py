from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from tests.integration.probe import create_probe_tables

pytestmark = pytest.mark.integration


@pytest.fixture
async def probe_db(db):
    await create_probe_tables(db)
    return db


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 30.0, interval: float = 0.1) -> None:
    """Wait until ``check()`` is true (the real broker and relay are asynchronous); fail after ``timeout``."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        if await check():
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)


@pytest.fixture
async def started() -> AsyncIterator[Callable]:
    """Start runtimes (and stop them at the end of the test)."""
    runtimes = []

    async def start(runtime, *, wait_assigned: bool = True):
        await runtime.start()
        runtimes.append(runtime)
        if wait_assigned and runtime.handlers:
            await runtime.wait_until_assigned(40)
        return runtime

    yield start
    for r in reversed(runtimes):
        await r.stop()


