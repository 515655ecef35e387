"""``make bench``: the platform's plumbing against the raw stack, on this machine, in one run.

Measures, each as events per second and as a ratio to the raw baseline measured just before it:

* relay: outbox rows -> Kafka through ``OutboxRelay`` vs raw aiokafka ``send`` (acks=all, linger 5 ms);
* consumer: Kafka -> inbox + one effect row through the runtime's batch consumer vs raw aiokafka ``getmany`` +
  asyncpg ``executemany`` in one transaction per batch;
* command: one state row + outbox event + audit row per transaction (16 concurrent) vs raw asyncpg one state row +
  one outbox row per transaction;
* memory: resident set of one service process at rest;
* the public feed (bench/feed.py): pull throughput vs a raw asyncpg keyset read of the same rows, and webhook
  delivery latency (p50/p99, commit -> receiver's 2xx) vs a raw httpx POST.

No timed assertion anywhere: this prints numbers for people to compare.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from bench import feed as bench_feed
from shared import outbox
from shared.db import create_pool
from shared.devstack.stack import (
    EmbeddedPostgres,
    ServiceProcess,
    TansuBroker,
    create_topics,
    free_port,
    service_env,
)
from shared.events import to_kafka
from shared.relay import OutboxRelay, make_producer
from tests.conftest import make_database, settings_for
from tests.integration.probe import PROBE_SQL, ProbeRecorded, consumer_runtime, create_probe_tables

TOPIC = "registry.wards"


def _events(n: int) -> list[ProbeRecorded]:
    return [ProbeRecorded(ward_id="phu-son", subject=f"agg-{i % 64}", value=i, secret_note="x" * 120) for i in range(n)]


async def raw_produce(bootstrap: str, events: list[ProbeRecorded]) -> float:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    encoded = [to_kafka(e) for e in events]
    t = time.perf_counter()
    futures = [await producer.send("registry.households", value=v, key=k.encode(), headers=list(h.items())) for k, v, h in encoded]
    await asyncio.gather(*futures)
    elapsed = time.perf_counter() - t
    await producer.stop()
    return len(events) / elapsed


async def relay_publish(db, bootstrap: str, events: list[ProbeRecorded]) -> float:
    pool = await create_pool(db.app_url("registry"), "registry", max_size=4)
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("DELETE FROM outbox")
        for i in range(0, len(events), 1000):
            await outbox.enqueue(conn, *events[i : i + 1000])
    total = await pool.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL")
    relay = OutboxRelay(pool, "registry", lambda: make_producer(bootstrap), batch_size=1000)
    t = time.perf_counter()
    while await relay.publish_once():
        pass
    elapsed = time.perf_counter() - t
    await relay.stop()
    await pool.close()
    return total / elapsed


async def raw_consume(db, bootstrap: str, n: int) -> float:
    conn = await asyncpg.connect(db.app_url("incidents"))
    await conn.execute('SET search_path TO "incidents"; CREATE TEMP TABLE raw_effects (id text PRIMARY KEY, v bytea)')
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=5,
                                group_id=f"raw-{uuid.uuid4().hex[:6]}", auto_offset_reset="earliest")
    await consumer.start()
    consumer.subscribe(["registry.households"])
    got = 0
    t = time.perf_counter()
    while got < n:
        batch = await consumer.getmany(timeout_ms=500, max_records=500)
        rows = [(f"{r.partition}/{r.offset}", r.value) for recs in batch.values() for r in recs]
        if rows:
            async with conn.transaction():
                await conn.executemany("INSERT INTO raw_effects VALUES ($1, $2) ON CONFLICT DO NOTHING", rows)
            await consumer.commit()
            got += len(rows)
    elapsed = time.perf_counter() - t
    await consumer.stop()
    await conn.close()
    return n / elapsed


async def platform_consume(db, bootstrap: str, n: int) -> float:
    runtime = consumer_runtime(settings_for("incidents", db, None, kafka_bootstrap_servers=bootstrap))
    t = time.perf_counter()
    await runtime.start()
    await runtime.wait_until_assigned(60)
    t = time.perf_counter()
    while await db.fetchval("incidents", "SELECT count(*) FROM probe_effects") < n:
        await asyncio.sleep(0.05)
    elapsed = time.perf_counter() - t
    await runtime.stop()
    return n / elapsed


async def raw_commands(db, n: int, concurrency: int = 16) -> float:
    pool = await asyncpg.create_pool(db.app_url("registry"), min_size=concurrency, max_size=concurrency,
                                     server_settings={"search_path": "registry"})

    async def one(i: int) -> None:
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute("INSERT INTO probe_state (id, value) VALUES ($1, $2)", f"raw-{i}", i)
            await conn.execute(
                "INSERT INTO outbox (event_id, topic, message_key, event_type, headers, payload) VALUES ($1, 'x', 'k', 't', '{}', 'p')",
                uuid.uuid4())

    return await _run_concurrently(one, n, concurrency, pool)


async def platform_commands(db, n: int, concurrency: int = 16) -> float:
    from shared import audit

    pool = await create_pool(db.app_url("registry"), "registry", min_size=concurrency, max_size=concurrency)
    keys = audit.AuditKeys("bench", {"bench": b"bench-audit-key-not-a-secret-0123456789"})

    async def one(i: int) -> None:
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute("INSERT INTO probe_state (id, value) VALUES ($1, $2)", f"p-{i}", i)
            await outbox.enqueue(conn, ProbeRecorded(ward_id="phu-son", subject=f"p-{i}", value=i))
            await audit.record(conn, keys, actor="bench", actor_roles=["admin"], ward_id="phu-son", command="bench",
                               target_type="probe", target_id=f"p-{i}")

    return await _run_concurrently(one, n, concurrency, pool)


async def _run_concurrently(fn, n: int, concurrency: int, pool) -> float:
    queue = iter(range(n))
    t = time.perf_counter()

    async def worker() -> None:
        for i in queue:
            await fn(i)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - t
    await pool.close()
    return n / elapsed


def service_rss_mib(db, bootstrap: str) -> float:
    import psutil

    p = ServiceProcess("registry", service_env("registry", db.admin_url, bootstrap, port=free_port(), ENVIRONMENT="test")).start()
    try:
        p.wait_ready(60)
        time.sleep(1)
        return psutil.Process(p.proc.pid).memory_info().rss / 2**20
    finally:
        p.stop()


async def main(n: int) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="ward-bench-"))
    os.chmod(tmp, 0o755)
    pg = EmbeddedPostgres(tmp / "pg").start()
    broker = TansuBroker().start()
    try:
        await create_topics(broker.bootstrap)
        db = await make_database(pg.admin_url)
        await create_probe_tables(db)
        assert PROBE_SQL
        events = _events(n)
        rows = []
        raw_p = await raw_produce(broker.bootstrap, events)
        relay_p = await relay_publish(db, broker.bootstrap, events)
        rows.append(("relay: outbox -> Kafka", relay_p, "raw aiokafka produce", raw_p))
        raw_c = await raw_consume(db, broker.bootstrap, n)
        plat_c = await platform_consume(db, broker.bootstrap, n)
        rows.append(("consumer: Kafka -> inbox + effect", plat_c, "raw getmany + executemany", raw_c))
        cmds = max(n // 5, 500)
        raw_cmd = await raw_commands(db, cmds)
        plat_cmd = await platform_commands(db, cmds)
        rows.append(("command: state + outbox + audit", plat_cmd, "raw state + outbox row", raw_cmd))
        rss = await asyncio.to_thread(service_rss_mib, db, broker.bootstrap)
        notes: list[str] = []
        rows += await bench_feed.run(db, broker.bootstrap, n, say=notes.append)
        print(f"\n{'measure':<36}{'platform/s':>12}  {'baseline':<28}{'raw/s':>12}{'ratio':>8}")
        for name, plat, base, raw in rows:
            print(f"{name:<36}{plat:>12,.0f}  {base:<28}{raw:>12,.0f}{plat / raw:>8.2f}")
        print(f"\nmemory: one service process at rest: {rss:.0f} MiB RSS")
        for note in notes:
            print(note)
        print(f"({n} events of ~{len(to_kafka(events[0])[1])} B; 2-core machine numbers vary between runs: compare ratios)")
    finally:
        broker.stop()
        pg.stop("immediate")
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("-n", type=int, default=20_000, help="events per measure")
    asyncio.run(main(parser.parse_args().n))
