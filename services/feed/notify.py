"""Waking readers when the feed grows: one LISTEN connection per replica on the channel every append NOTIFYs
(``repository.NOTIFY_CHANNEL``, delivered at commit). Long-polls, SSE streams and the webhook worker wait here.

A waiter takes the ``generation`` before it reads, and waits for it to change: a notification that arrives between
its read and its wait is not lost. Waits are bounded by the caller (they read again anyway), so a lost connection
costs latency, never an event; the connection is re-opened with backoff, and a reconnect wakes every waiter.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import asyncpg

from services.feed.repository import NOTIFY_CHANNEL

log = logging.getLogger(__name__)


class FeedNotifier:
    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.generation = 0
        self._changed = asyncio.Event()

    def wake(self, *_args: Any) -> None:
        self.generation += 1
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def wait(self, generation: int, timeout: float) -> bool:
        """Wait until the feed has changed since ``generation`` (True) or ``timeout`` passes (False)."""
        if self.generation != generation:
            return True
        changed = self._changed
        try:
            await asyncio.wait_for(changed.wait(), timeout)
        except TimeoutError:
            return self.generation != generation
        return True

    async def run(self) -> None:
        """Keep a LISTEN connection open until cancelled."""
        delay = 0.5
        while True:
            try:
                await self._listen()
                delay = 0.5
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("feed LISTEN connection lost; reconnecting", extra={"error": type(exc).__name__})
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)

    async def _listen(self) -> None:
        conn = await asyncpg.connect(self.dsn, server_settings={"application_name": "ward-feed-listen"})
        lost = asyncio.Event()
        try:
            conn.add_termination_listener(lambda _c: lost.set())
            await conn.add_listener(NOTIFY_CHANNEL, self.wake)
            self.wake()  # what was appended while we were not listening
            while not lost.is_set():  # a dead server is noticed by the keepalive query
                try:
                    await asyncio.wait_for(lost.wait(), 30)
                except TimeoutError:
                    await conn.fetchval("SELECT 1", timeout=10)
        finally:
            if not conn.is_closed():
                try:
                    await asyncio.wait_for(conn.close(), 5)
                except Exception:
                    conn.terminate()
