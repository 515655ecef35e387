"""``make bench``, the public feed: pull throughput and webhook delivery latency against the raw stack.

* pull: ``GET /v1/events`` pages of 500 through the feed service (key check, filters, CloudEvents encoding, HTTP)
  vs a raw asyncpg keyset read of the same rows (``WHERE seq > $1 ORDER BY seq LIMIT 500``);
* webhook: from the commit of a feed row (as the feed's consumer appends it: row + NOTIFY) to the receiver's 2xx
  through the delivery worker (wake-up, lease, signing, POST, delivery log) vs a raw httpx POST of the same body to
  the same receiver. p50 and p99, one event at a time.

The rows are written straight into the feed's table as its consumer writes them, so Kafka is not measured here.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from shared.devstack.stack import ServiceProcess, free_port, service_env
from tests.conftest import token

WARD = "phu-son"
TYPE = "public.incidents.incident.resolved.v1"
PAGE = 500


def _row(i: int) -> tuple[Any, ...]:
    eid = uuid.uuid4()
    data = {"id": str(eid), "ward_id": WARD, "subject": f"inc-{i}", "occurred_at": datetime.now(UTC).isoformat(),
            "incident_id": f"inc-{i}", "group_id": "grp-1", "category": "theft", "is_crime_tip": False,
            "outcome": "solved", "resolved_on": "2026-12-03"}
    return (eid, WARD, TYPE, f"inc-{i}", "urn:ward-platform:incidents", datetime.now(UTC), json.dumps(data))


INSERT = ("INSERT INTO feed_events (event_id, ward_id, event_type, subject, source, time, data) "
          "VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)")


async def _connect(db) -> asyncpg.Connection:
    conn = await asyncpg.connect(db.app_url("feed"))
    await conn.execute('SET search_path TO "feed"')
    return conn


async def seed(db, n: int) -> None:
    conn = await _connect(db)
    try:
        async with conn.transaction():
            await conn.executemany(INSERT, [_row(i) for i in range(n)])
    finally:
        await conn.close()


async def raw_keyset(db) -> tuple[float, int]:
    conn = await _connect(db)
    try:
        seq, got = 0, 0
        t = time.perf_counter()
        while rows := await conn.fetch(
                "SELECT seq, event_id, ward_id, event_type, subject, source, time, data FROM feed_events "
                "WHERE seq > $1 ORDER BY seq LIMIT $2", seq, PAGE):
            seq, got = rows[-1]["seq"], got + len(rows)
        return got / (time.perf_counter() - t), got
    finally:
        await conn.close()


async def feed_pull(base: str, key: str) -> tuple[float, int]:
    async with httpx.AsyncClient(base_url=base, timeout=60, headers={"Authorization": f"Bearer {key}"}) as c:
        cursor, got = None, 0
        t = time.perf_counter()
        while True:
            r = await c.get("/v1/events", params={"limit": PAGE, **({"after": cursor} if cursor else {})})
            r.raise_for_status()
            batch = r.json()
            if not batch:
                return got / (time.perf_counter() - t), got
            got += len(batch)
            cursor = r.headers["Feed-Next-Cursor"]


class Receiver:
    """A webhook receiver that notes when it answers each delivery (``time.perf_counter``, this process)."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        arrived = self.arrived

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:
                pass

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                arrived[self.headers.get("webhook-id") or self.headers.get("x-bench-id") or "?"] = time.perf_counter()
                self.send_response(204)
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/webhook"

    async def wait_for(self, key: str, timeout: float = 30) -> float:
        deadline = time.perf_counter() + timeout
        while key not in self.arrived:
            if time.perf_counter() > deadline:
                raise TimeoutError(f"delivery {key} did not arrive within {timeout}s")
            await asyncio.sleep(0.0005)
        return self.arrived[key]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _percentiles(samples: list[float]) -> tuple[float, float]:
    q = statistics.quantiles(samples, n=100, method="inclusive")
    return q[49] * 1000, q[98] * 1000


async def webhook_latency(db, base: str, key: str, receiver: Receiver, n: int) -> tuple[float, float] | None:
    async with httpx.AsyncClient(base_url=base, timeout=30, headers={"Authorization": f"Bearer {key}"}) as c:
        r = await c.post("/v1/webhooks", json={"url": receiver.url, "start": "now"})
        if r.status_code == 404:
            return None
        r.raise_for_status()
    conn = await _connect(db)
    samples = []
    try:
        for i in range(n):
            row = _row(i)
            async with conn.transaction():
                await conn.execute(INSERT, *row)
                await conn.execute("SELECT pg_notify('feed_events', '')")
            committed = time.perf_counter()
            samples.append(await receiver.wait_for(str(row[0])) - committed)
    finally:
        await conn.close()
    return _percentiles(samples)


async def raw_post_latency(receiver: Receiver, n: int) -> tuple[float, float]:
    body = json.dumps({"specversion": "1.0", "id": "x", "type": TYPE, "data": json.loads(_row(0)[6])})
    samples = []
    async with httpx.AsyncClient(timeout=30) as c:
        for _ in range(n):
            bench_id = uuid.uuid4().hex
            t = time.perf_counter()
            (await c.post(receiver.url, content=body, headers={"x-bench-id": bench_id,
                                                              "content-type": "application/cloudevents+json"}
                          )).raise_for_status()
            samples.append(receiver.arrived[bench_id] - t)
    return _percentiles(samples)


async def run(db, bootstrap: str, n: int, say: Callable[[str], None] = print) -> list[tuple[str, float, str, float]]:
    """Rows for the bench table (events/s), and prints the latency lines."""
    feed = ServiceProcess("feed", service_env("feed", db.admin_url, bootstrap, port=free_port(), ENVIRONMENT="test",
                                              FEED_ALLOW_PRIVATE_CALLBACKS="true"), Path(os.devnull)).start()
    receiver = Receiver()
    rows: list[tuple[str, float, str, float]] = []
    try:
        await asyncio.to_thread(feed.wait_ready, 60)
        async with httpx.AsyncClient(base_url=feed.base_url, timeout=30) as c:
            r = await c.post("/v1/subscribers", headers={"Authorization": f"Bearer {token('ward_official', WARD)}"},
                             json={"name": "bench", "wards": [WARD], "event_types": None, "oauth_client_id": None})
            r.raise_for_status()
            key = r.json()["api_key"]
        await seed(db, n)
        raw_rate, raw_n = await raw_keyset(db)
        pull_rate, pull_n = await feed_pull(feed.base_url, key)
        assert raw_n == pull_n == n, (raw_n, pull_n, n)
        rows.append(("feed pull: GET /v1/events", pull_rate, "raw asyncpg keyset read", raw_rate))
        samples = max(50, min(n // 100, 300))
        hook = await webhook_latency(db, feed.base_url, key, receiver, samples)
        raw = await raw_post_latency(receiver, samples)
        if hook is None:
            say("webhook latency: not measured (the feed answers 404 to POST /v1/webhooks on this build)")
        else:
            say(f"webhook latency, commit -> receiver's 2xx ({samples} events): p50 {hook[0]:.1f} ms, "
                f"p99 {hook[1]:.1f} ms; raw httpx POST: p50 {raw[0]:.1f} ms, p99 {raw[1]:.1f} ms "
                f"(ratio p50 {hook[0] / raw[0]:.1f}x, p99 {hook[1] / raw[1]:.1f}x)")
    finally:
        feed.stop()
        receiver.close()
    return rows
