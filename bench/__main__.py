"""``make bench``: the platform's plumbing against the raw stack, on this machine, in one run.

Each figure is printed next to its raw twin, measured in the same run, and their ratio (what travels between
machines and changes). The raw twins are what a person writing the same plumbing by hand would write:

* relay: outbox rows -> Kafka through ``OutboxRelay`` vs raw aiokafka ``send`` of every message, then one await of
  all the futures (acks=all, linger 5 ms);
* consumer: Kafka -> inbox + one effect row through the runtime's batch consumer vs raw aiokafka ``getmany`` with
  the batch's inbox rows and effect rows written by one ``unnest`` insert each, one transaction per batch, offsets
  committed after it;
* command: one state row + outbox event + audit row per transaction (16 concurrent) vs raw asyncpg one state row +
  one outbox row per transaction on the same 16 connections;
* latency (p50 / p99): relay lag (the commit of an outbox row -> the broker's acknowledgement, marked in the row)
  vs one raw ``send`` awaited; a three-hop flow (command commits, its event reaches a consumer that writes and
  emits, whose event reaches a second consumer that writes) vs the same three hops in raw aiokafka + asyncpg;
* growth (``--growth``): relay, consumer and republish (``wardctl republish``: published rows made unpublished
  and sent again, the refill of a broker that lost its log) at 10k and 100k events (``--million`` adds 1M);
* memory: resident set of one service process at rest;
* the public feed (bench/feed.py): pull throughput vs a raw asyncpg keyset read of the same rows, and webhook
  delivery latency (p50/p99, commit -> receiver's 2xx) vs a raw httpx POST;
* HTTP (bench/http.py): p50/p99, requests/s and errors of incidents' list, read and report under 50 locust clients
  vs a bare FastAPI app running the same SQL, and the service's memory at rest and under that load.
* latency under the demo's load (bench/demo_latency.py): relay lag and the commit-to-consumer hop of every event
  ``python -m demo`` causes on the whole platform, from the services' tables, vs a raw send and a raw hop.

No timed assertion anywhere: this prints numbers for people to compare.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import ClassVar

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from bench import demo_latency as bench_demo
from bench import feed as bench_feed
from bench import http as bench_http
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
from shared.events import Event, to_kafka
from shared.relay import OutboxRelay, make_producer
from shared.runtime import ServiceRuntime
from tests.conftest import make_database, settings_for
from tests.integration.probe import PROBE_SQL, ProbeRecorded, consumer_runtime, create_probe_tables

RAW_TOPIC = "registry.households"
#: The bench's own latency settings: what docs/benchmarks.md says the development configuration uses.
FETCH_MAX_WAIT_MS = 5


class BenchHop(Event):
    """The second hop of the bench's three-hop flow (the consumer of ``ProbeRecorded`` emits it)."""

    event_type: ClassVar[str] = "incidents.bench.hop.v1"
    topic: ClassVar[str] = "incidents.warnings"
    value: int


class BenchPing(Event):
    """What the relay-lag measure commits: on a topic nobody in the bench consumes."""

    event_type: ClassVar[str] = "registry.bench.ping.v1"
    topic: ClassVar[str] = "registry.residence"
    value: int


def _events(n: int, start: int = 0) -> list[ProbeRecorded]:
    return [ProbeRecorded(ward_id="phu-son", subject=f"agg-{i % 64}", value=i, secret_note="x" * 120)
            for i in range(start, start + n)]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _ms(values: list[float]) -> tuple[float, float]:
    if not values:
        return float("nan"), float("nan")
    return _pct(values, 0.5) * 1000, _pct(values, 0.99) * 1000


@contextlib.contextmanager
def uninstrumented():
    """The raw twins run without the asyncpg instrumentation a service process installs (it patches asyncpg for the
    whole process once a runtime has started): a person writing raw code would not have it."""
    from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor

    inst = AsyncPGInstrumentor()
    was = inst.is_instrumented_by_opentelemetry
    if was:
        inst.uninstrument()
    try:
        yield
    finally:
        if was:
            from shared.telemetry import tracer_provider

            inst.instrument(tracer_provider=tracer_provider())


# -- relay -------------------------------------------------------------------------------------------------------
async def raw_produce(bootstrap: str, events: list[ProbeRecorded]) -> float:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    encoded = [to_kafka(e) for e in events]
    t = time.perf_counter()
    futures = [await producer.send(RAW_TOPIC, value=v, key=k.encode(), headers=list(h.items())) for k, v, h in encoded]
    await asyncio.gather(*futures)
    elapsed = time.perf_counter() - t
    await producer.stop()
    return len(events) / elapsed


async def _fill_outbox(pool: asyncpg.Pool, n: int) -> None:
    chunk = 5000
    for start in range(0, n, chunk):
        async with pool.acquire() as conn, conn.transaction():
            await outbox.enqueue(conn, *_events(min(chunk, n - start), start))


async def _drain(pool: asyncpg.Pool, bootstrap: str) -> float:
    total = await pool.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL")
    relay = OutboxRelay(pool, "registry", lambda: make_producer(bootstrap), batch_size=1000)
    t = time.perf_counter()
    while await relay.publish_once():
        pass
    elapsed = time.perf_counter() - t
    await relay.stop()
    return total / elapsed


async def relay_publish(db, bootstrap: str, n: int) -> float:
    pool = await create_pool(db.app_url("registry"), "registry", max_size=4)
    try:
        await pool.execute("DELETE FROM outbox")
        await _fill_outbox(pool, n)
        return await _drain(pool, bootstrap)
    finally:
        await pool.close()


async def republish(db, bootstrap: str) -> tuple[float, float]:
    """``wardctl republish`` over everything published: rows made unpublished, then sent again. The rows a refill
    sends were published long before (autovacuum has been by): ``VACUUM`` first, as the schema owner, so that the
    measure is not of the dead index entries the drain just left (claiming through them times out at 100k)."""
    owner = await asyncpg.connect(db.owner_url("registry"))
    try:
        await owner.execute("VACUUM (ANALYZE) registry.outbox")
    finally:
        await owner.close()
    pool = await create_pool(db.app_url("registry"), "registry", max_size=4)
    try:
        t = time.perf_counter()
        async with pool.acquire() as conn:  # as `wardctl republish` does: chunks, each committed
            now = datetime.now(UTC)
            n = await outbox.mark_for_republish(conn, now - timedelta(days=1), now + timedelta(days=1))
        rate = await _drain(pool, bootstrap)
        seconds = time.perf_counter() - t  # the refill: from the operator's command to the last row acknowledged
        return (n / seconds if n else rate), seconds
    finally:
        await pool.close()


# -- consumer ----------------------------------------------------------------------------------------------------
async def raw_consume(db, bootstrap: str, n: int) -> float:
    """What a person writes by hand: getmany, decode, the batch's inbox rows and effects in one transaction with
    one ``unnest`` insert each (duplicates skipped by the inbox's key), then the offsets."""
    conn = await asyncpg.connect(db.app_url("incidents"))
    await conn.execute('SET search_path TO "incidents"; '
                       "CREATE TEMP TABLE raw_inbox (message_id text PRIMARY KEY, topic text, handled_at timestamptz "
                       "DEFAULT now()); CREATE TEMP TABLE raw_effects (event_id uuid PRIMARY KEY, subject text, value int)")
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
                                group_id=f"raw-{uuid.uuid4().hex[:6]}", auto_offset_reset="earliest")
    await consumer.start()
    consumer.subscribe([RAW_TOPIC])
    got = 0
    t = None
    while got < n:
        batch = await consumer.getmany(timeout_ms=500, max_records=500)
        records = [r for recs in batch.values() for r in recs]
        if not records:
            continue
        if t is None:
            t = time.perf_counter()
        ids, subjects, values = [], [], []
        for r in records:
            body = json.loads(r.value)
            ids.append(dict(r.headers)["ce_id"].decode())
            subjects.append(body["subject"])
            values.append(body["value"])
        async with conn.transaction():
            fresh = await conn.fetch(
                "INSERT INTO raw_inbox (message_id, topic) SELECT unnest($1::text[]), $2 "
                "ON CONFLICT DO NOTHING RETURNING message_id", ids, RAW_TOPIC)
            keep = {r["message_id"] for r in fresh}
            rows = [(i, s, v) for i, s, v in zip(ids, subjects, values, strict=True) if i in keep]
            await conn.execute(
                "INSERT INTO raw_effects SELECT * FROM unnest($1::uuid[], $2::text[], $3::int[])",
                [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows])
        await consumer.commit()
        got += len(records)
    elapsed = time.perf_counter() - (t or time.perf_counter())
    await consumer.stop()
    await conn.close()
    return n / elapsed


async def platform_consume(db, bootstrap: str, n: int) -> float:
    """The runtime's batch consumer of ``incidents`` over the ``n`` events the relay just published (its group's
    committed offsets are kept between calls, so each call reads what is new)."""
    watch = await db.connect("incidents")
    before = await watch.fetchval("SELECT count(*) FROM probe_effects")
    runtime = consumer_runtime(settings_for("incidents", db, None, kafka_bootstrap_servers=bootstrap,
                                            kafka_fetch_max_wait_ms=FETCH_MAX_WAIT_MS))
    await runtime.start()
    await runtime.wait_until_assigned(60)
    t = None
    # Polled every 20 ms for small sizes; at 100k and more, a count(*) every 20 ms over a table of that size would
    # keep a core of the database busy and slow the consumer measured (0.5 s is < 0.5% of those runs).
    interval = 0.02 if n <= 20_000 else 0.5
    while (got := await watch.fetchval("SELECT count(*) FROM probe_effects") - before) < n:
        if got and t is None:
            t = time.perf_counter()
        await asyncio.sleep(interval)
    elapsed = time.perf_counter() - (t or time.perf_counter())
    await runtime.stop()
    await watch.close()
    return n / elapsed if elapsed else float("nan")


# -- command -----------------------------------------------------------------------------------------------------
async def raw_commands(db, n: int, concurrency: int = 16) -> float:
    pool = await asyncpg.create_pool(db.app_url("registry"), min_size=concurrency, max_size=concurrency,
                                     server_settings={"search_path": "registry"})
    run = uuid.uuid4().hex[:6]

    async def one(i: int) -> None:
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute("INSERT INTO probe_state (id, value) VALUES ($1, $2)", f"raw-{run}-{i}", i)
            await conn.execute(
                "INSERT INTO outbox (event_id, topic, message_key, event_type, headers, payload) VALUES ($1, 'x', 'k', 't', '{}', 'p')",
                uuid.uuid4())

    rate = await _run_concurrently(one, n, concurrency)
    await pool.execute("DELETE FROM outbox WHERE topic = 'x'")
    await pool.close()
    return rate


AUDIT_KEY = b"bench-audit-key-not-a-secret-0123456789"


async def platform_commands(db, n: int, concurrency: int = 16) -> float:
    from shared import audit

    pool = await create_pool(db.app_url("registry"), "registry", min_size=concurrency, max_size=concurrency)
    keys = audit.AuditKeys("bench", {"bench": AUDIT_KEY})
    run = uuid.uuid4().hex[:6]

    async def one(i: int) -> None:
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute("INSERT INTO probe_state (id, value) VALUES ($1, $2)", f"p-{run}-{i}", i)
            await outbox.enqueue(conn, ProbeRecorded(ward_id="phu-son", subject=f"p-{i}", value=i))
            await audit.record(conn, keys, actor="bench", actor_roles=["admin"], ward_id="phu-son", command="bench",
                               target_type="probe", target_id=f"p-{i}")

    rate = await _run_concurrently(one, n, concurrency)
    async with pool.acquire() as conn:
        report = await audit.verify(conn, keys)
    await pool.execute("UPDATE outbox SET published_at = now() WHERE published_at IS NULL")  # not for the relay
    await pool.close()
    if not report.ok:
        raise SystemExit(f"the audit chain the command bench wrote does not verify: {report.broken}")
    return rate


async def _run_concurrently(fn, n: int, concurrency: int) -> float:
    queue = iter(range(n))
    t = time.perf_counter()

    async def worker() -> None:
        for i in queue:
            await fn(i)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return n / (time.perf_counter() - t)


# -- latency -----------------------------------------------------------------------------------------------------
async def raw_send_latency(bootstrap: str, count: int, gap_s: float = 0.02) -> list[float]:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    key, value, headers = to_kafka(_events(1)[0])
    out = []
    try:
        for _ in range(count):
            t = time.perf_counter()
            await (await producer.send(RAW_TOPIC, value=value, key=key.encode(), headers=list(headers.items())))
            out.append(time.perf_counter() - t)
            await asyncio.sleep(gap_s)
    finally:
        await producer.stop()
    return out


async def relay_lag(db, bootstrap: str, count: int, gap_s: float = 0.02) -> list[float]:
    """The relay of a running service (``ServiceRuntime``), idle between single commits: commit -> published_at."""
    runtime = ServiceRuntime(settings_for("registry", db, None, kafka_bootstrap_servers=bootstrap))
    await runtime.start()
    pool = await create_pool(db.app_url("registry"), "registry", max_size=2)
    try:
        while not runtime.relay.broker_ok:
            await asyncio.sleep(0.05)
        committed: dict[uuid.UUID, float] = {}
        for i in range(count):
            event = BenchPing(ward_id="phu-son", subject=f"ping-{i % 64}", value=i)
            async with pool.acquire() as conn, conn.transaction():
                await outbox.enqueue(conn, event)
            committed[event.id] = time.time()
            await asyncio.sleep(gap_s)
        while await pool.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL"):
            await asyncio.sleep(0.05)
        rows = await pool.fetch("SELECT event_id, extract(epoch FROM published_at) AS p FROM outbox "
                                "WHERE event_id = ANY($1::uuid[])", list(committed))
        return [float(r["p"]) - committed[r["event_id"]] for r in rows if r["event_id"] in committed]
    finally:
        await pool.close()
        await runtime.stop()


async def platform_three_hops(db, bootstrap: str, count: int, gap_s: float = 0.03) -> list[float]:
    """registry commits (state + event + audit row), incidents handles it (an effect row and a ``BenchHop`` event in
    its outbox), mediation handles that (a row): first commit -> the last consumer's transaction committed."""
    from shared import audit

    conn = await asyncpg.connect(db.owner_url("mediation"))
    await conn.execute('SET search_path TO "mediation"; '
                       "CREATE TABLE IF NOT EXISTS bench_hops (subject text PRIMARY KEY, value int)")
    await conn.close()
    done: dict[str, float] = {}

    async def on_probe(conn: asyncpg.Connection, event: ProbeRecorded) -> None:
        await conn.execute("INSERT INTO probe_effects (event_id, subject, value) VALUES ($1, $2, $3)",
                           event.id, event.subject, event.value)
        await outbox.enqueue(conn, BenchHop(ward_id=event.ward_id, subject=event.subject, value=event.value))

    async def on_hop(conn: asyncpg.Connection, event: BenchHop) -> None:
        await conn.execute("INSERT INTO bench_hops (subject, value) VALUES ($1, $2)", event.subject, event.value)

    def runtime(service: str, handlers=None) -> ServiceRuntime:
        r = ServiceRuntime(settings_for(service, db, None, kafka_bootstrap_servers=bootstrap,
                                        kafka_fetch_max_wait_ms=FETCH_MAX_WAIT_MS))
        if handlers:
            r.consume(handlers)
        return r

    first, second, third = runtime("registry"), runtime("incidents", {ProbeRecorded: on_probe}), runtime(
        "mediation", {BenchHop: on_hop})
    for r in (first, second, third):
        await r.start()
    await asyncio.gather(second.wait_until_assigned(60), third.wait_until_assigned(60))
    last = third.consumer
    original = last.handle_batch

    async def timed(messages):
        batch = list(messages)
        await original(batch)
        now = time.perf_counter()
        for m in batch:
            subject = dict(m.headers).get("ce_subject", b"").decode()
            done.setdefault(subject, now)

    last.handle_batch = timed
    pool = await create_pool(db.app_url("registry"), "registry", max_size=2)
    keys = audit.AuditKeys("bench", {"bench": AUDIT_KEY})
    started: dict[str, float] = {}
    try:
        await asyncio.sleep(1)
        for i in range(count):
            subject = f"hop-{uuid.uuid4().hex[:10]}"
            async with pool.acquire() as conn, conn.transaction():
                await conn.execute("INSERT INTO probe_state (id, value) VALUES ($1, $2)", subject, i)
                await outbox.enqueue(conn, ProbeRecorded(ward_id="phu-son", subject=subject, value=i))
                await audit.record(conn, keys, actor="bench", actor_roles=["admin"], ward_id="phu-son",
                                   command="bench", target_type="probe", target_id=subject)
            started[subject] = time.perf_counter()
            await asyncio.sleep(gap_s)
        deadline = time.perf_counter() + 30
        while len(set(started) & set(done)) < count and time.perf_counter() < deadline:
            await asyncio.sleep(0.05)
        return [done[s] - t for s, t in started.items() if s in done]
    finally:
        await pool.close()
        for r in (first, second, third):
            await r.stop()


async def raw_three_hops(db, bootstrap: str, count: int, gap_s: float = 0.03) -> list[float]:
    """The same three hops by hand: commit a row then send (acks=all); a consumer (getmany) writes a row, commits,
    sends; a second consumer writes a row and commits. First commit -> the last commit."""
    topics = ("registry.teams", "registry.facilities")
    url = db.app_url("incidents")
    c_first, c_mid, c_last = [await asyncpg.connect(url) for _ in range(3)]
    for c in (c_first, c_mid, c_last):
        await c.execute('SET search_path TO "incidents"')
    owner = await asyncpg.connect(db.owner_url("incidents"))
    await owner.execute('SET search_path TO "incidents"; '
                        "CREATE TABLE IF NOT EXISTS raw_hops (hop int, subject text, PRIMARY KEY (hop, subject))")
    await owner.close()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    mid_producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    consumers = []
    for topic in topics:
        c = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=FETCH_MAX_WAIT_MS)
        await c.start()
        tps = [TopicPartition(topic, p) for p in sorted(c.partitions_for_topic(topic) or await _partitions(c, topic))]
        c.assign(tps)
        await c.seek_to_end(*tps)
        consumers.append(c)
    await producer.start()
    await mid_producer.start()
    done: dict[str, float] = {}
    stop = asyncio.Event()

    async def hop(consumer, conn, hop_no: int, forward) -> None:
        while not stop.is_set():
            batch = await consumer.getmany(timeout_ms=100, max_records=500)
            records = [r for recs in batch.values() for r in recs]
            if not records:
                continue
            subjects = [r.key.decode() for r in records]
            async with conn.transaction():
                await conn.execute("INSERT INTO raw_hops SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING",
                                   hop_no, subjects)
            if forward is not None:
                futs = [await forward.send(topics[1], value=r.value, key=r.key) for r in records]
                await asyncio.gather(*futs)
            else:
                now = time.perf_counter()
                for s in subjects:
                    done.setdefault(s, now)

    tasks = [asyncio.create_task(hop(consumers[0], c_mid, 2, mid_producer)),
             asyncio.create_task(hop(consumers[1], c_last, 3, None))]
    started: dict[str, float] = {}
    try:
        await asyncio.sleep(0.5)
        for _ in range(count):
            subject = f"raw-{uuid.uuid4().hex[:10]}"
            t = time.perf_counter()
            async with c_first.transaction():
                await c_first.execute("INSERT INTO raw_hops VALUES (1, $1)", subject)
            started[subject] = t
            await (await producer.send(topics[0], value=b"x" * 270, key=subject.encode()))
            await asyncio.sleep(gap_s)
        deadline = time.perf_counter() + 30
        while len(set(started) & set(done)) < count and time.perf_counter() < deadline:
            await asyncio.sleep(0.05)
        return [done[s] - t for s, t in started.items() if s in done]
    finally:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        for c in consumers:
            await c.stop()
        await producer.stop()
        await mid_producer.stop()
        for c in (c_first, c_mid, c_last):
            await c.close()


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> set[int]:
    while not (parts := consumer.partitions_for_topic(topic)):
        await consumer._client.force_metadata_update()
        await asyncio.sleep(0.1)
    return parts


# -- memory ------------------------------------------------------------------------------------------------------
def service_rss_mib(db, bootstrap: str) -> dict[str, float]:
    """Every service process at rest (started together, each on a free port, ready, then left alone 2 s): its
    resident set in MiB, or NaN for one that did not start here."""
    import psutil

    from shared.topology import DATABASE_SERVICES

    procs = {s: ServiceProcess(s, service_env(s, db.admin_url, bootstrap, port=free_port(), ENVIRONMENT="test"))
             for s in DATABASE_SERVICES}
    out: dict[str, float] = {}
    try:
        for p in procs.values():
            p.start()
        for name, p in procs.items():
            try:
                p.wait_ready(90)
            except Exception:  # reported as missing; the others are still measured
                out[name] = float("nan")
        time.sleep(2)
        for name, p in procs.items():
            if name not in out:
                out[name] = psutil.Process(p.proc.pid).memory_info().rss / 2**20
        return out
    finally:
        for p in procs.values():
            with contextlib.suppress(Exception):
                p.stop()


# -- growth ------------------------------------------------------------------------------------------------------
#: The consumer's growth is measured up to this size. Past it, the development broker (tansu 0.6, in memory) held the
#: topic's 2.2M messages and burnt a core for 11 minutes without answering one fetch of the consumer's group (its
#: produce stays flat: 35-44k msg/s from 0 to 1.2M messages), so the figure would be tansu's, not the platform's.
CONSUMER_GROWTH_MAX = 100_000


async def growth(db, bootstrap: str, sizes: list[int], say) -> list[dict[str, float]]:
    """Relay, consumer and republish throughput at each size, on the same database (the consumer's group goes on
    from where it was, so each size is read whole)."""
    out = []
    for n in sizes:
        t = time.perf_counter()
        row: dict[str, float] = {"n": n}
        with uninstrumented():
            row["raw_produce"] = await raw_produce(bootstrap, _events(min(n, 100_000)))
        row["relay"] = await relay_publish(db, bootstrap, n)
        if n <= CONSUMER_GROWTH_MAX:
            row["consumer"] = await platform_consume(db, bootstrap, n)
        else:  # docs/benchmarks.md, Growth: the development broker cannot serve this fetch
            say(f"growth {n:>9,}: consumer not measured: tansu (in memory) answers no fetch of a topic this long")
            row["consumer"] = float("nan")
        try:
            row["republish"], row["refill_s"] = await republish(db, bootstrap)
        except TimeoutError:  # a statement took longer than the pool's command timeout
            say(f"growth {n:>9,}: republish gave up: a statement took longer than 30 s (docs/benchmarks.md)")
            row["republish"] = row["refill_s"] = float("nan")
        row["seconds"] = time.perf_counter() - t
        say(f"growth {n:>9,}: relay {row['relay']:,.0f}/s, consumer {row['consumer']:,.0f}/s, "
            f"republish {row['republish']:,.0f}/s, refill {row['refill_s']:.0f} s (raw produce {row['raw_produce']:,.0f}/s), {row['seconds']:.0f} s")
        out.append(row)
        # the consumer's inbox grows with every size; keep the effect table's count meaningful for the next one
    return out


def plot_growth(rows: list[dict[str, float]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    sizes = [r["n"] for r in rows]
    for key, label in (("relay", "relay (outbox -> Kafka)"), ("consumer", "consumer (inbox + effect)"),
                       ("republish", "republish (refill)"), ("raw_produce", "raw aiokafka produce")):
        ax1.plot(sizes, [r[key] for r in rows], marker="o", label=label)
        ax2.plot(sizes, [1e6 / r[key] for r in rows], marker="o", label=label)
    for ax in (ax1, ax2):
        ax.set_xscale("log")
        ax.set_xlabel("events")
        ax.grid(True, alpha=0.3)
    ax1.set_ylabel("events per second")
    ax1.set_title("throughput")
    ax2.set_ylabel("µs per event")
    ax2.set_title("cost per event (flat = no growth)")
    ax1.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def _logs_to(path: Path) -> None:
    import logging

    for handler in logging.getLogger().handlers:
        if getattr(handler, "_ward_json", False) and isinstance(handler, logging.StreamHandler):
            handler.setStream(path.open("w"))


# -- the run -----------------------------------------------------------------------------------------------------
async def main(args: argparse.Namespace) -> None:
    n = args.n
    tmp = Path(tempfile.mkdtemp(prefix="ward-bench-"))
    os.chmod(tmp, 0o755)
    pg = EmbeddedPostgres(tmp / "pg").start()
    broker = TansuBroker().start()
    started = time.perf_counter()
    # As in a service process: the SDK tracer provider, the asyncpg instrumentation, JSON logs (to a file here, so
    # that the figures stay readable; writing them is part of what the platform pays).
    from shared.telemetry import setup_telemetry

    setup_telemetry("bench")
    log_path = tmp / "service-logs.jsonl"
    _logs_to(log_path)
    try:
        await create_topics(broker.bootstrap)
        db = await make_database(pg.admin_url)
        await create_probe_tables(db)
        assert PROBE_SQL
        rows = []
        lat_rows = []
        notes: list[str] = []
        only = set((args.only or "relay,consumer,command,latency,memory,http,demo").split(","))
        if "relay" in only and "latency" in only:
            only.add("consumer")  # reads what the relay sent, so that the three-hop flow finds no backlog before it
        if "relay" in only or "consumer" in only:
            raw_p = relay_p = 0.0
            for _ in range(args.repeat):  # alternately, best of each: the least disturbed run of a shared machine
                with uninstrumented():
                    raw_p = max(raw_p, await raw_produce(broker.bootstrap, _events(n)))
                relay_p = max(relay_p, await relay_publish(db, broker.bootstrap, n))
            rows.append(("relay: outbox -> Kafka", relay_p, "raw aiokafka produce", raw_p))
        if "consumer" in only:
            with uninstrumented():
                raw_c = await raw_consume(db, broker.bootstrap, n)
            # every event the relay's runs published (best of --repeat): the three hops' consumers must find no backlog
            plat_c = await platform_consume(db, broker.bootstrap, n * args.repeat)
            rows.append(("consumer: Kafka -> inbox + effect", plat_c, "raw getmany + unnest", raw_c))
        if "command" in only:
            cmds = max(n // 5, 500)
            with uninstrumented():
                raw_cmd = await raw_commands(db, cmds)
            plat_cmd = await platform_commands(db, cmds)
            rows.append(("command: state + outbox + audit", plat_cmd, "raw state + outbox row", raw_cmd))
        if "latency" in only and not args.no_latency:
            count = args.latency_samples
            with uninstrumented():
                raw_l = await raw_send_latency(broker.bootstrap, count)
            plat_l = await relay_lag(db, broker.bootstrap, count)
            lat_rows.append(("relay lag, idle", plat_l, "raw send awaited", raw_l))
            with uninstrumented():
                raw_h = await raw_three_hops(db, broker.bootstrap, count)
            plat_h = await platform_three_hops(db, broker.bootstrap, count)
            lat_rows.append(("three hops: commit -> last effect", plat_h, "raw three hops", raw_h))
        rss = await asyncio.to_thread(service_rss_mib, db, broker.bootstrap) if "memory" in only else None
        http = await bench_http.run(db, broker.bootstrap, args.http_seconds, say=notes.append) if "http" in only else None
        demo = None
        if "demo" in only:  # the whole platform and the replay: ~2.5 min (docs/benchmarks.md)
            with uninstrumented():
                demo = await bench_demo.run(db, broker.bootstrap, raw_send_latency, args.latency_samples, notes.append)
        if not args.no_feed:
            rows += await bench_feed.run(db, broker.bootstrap, n, say=notes.append)
        grown: list[dict[str, float]] = []
        if args.growth or args.million:
            sizes = [10_000, 100_000] + ([1_000_000] if args.million else [])
            grown = await growth(db, broker.bootstrap, sizes, say=print)
            if args.json:
                Path(args.json).write_text(json.dumps(grown, indent=1))
            if args.plot:
                plot_growth(grown, Path(args.plot))
        print(f"\n{'measure':<36}{'platform/s':>12}  {'baseline':<28}{'raw/s':>12}{'ratio':>8}")
        for name, plat, base, raw in rows:
            print(f"{name:<36}{plat:>12,.0f}  {base:<28}{raw:>12,.0f}{plat / raw:>8.2f}")
        if lat_rows:
            print(f"\n{'latency (ms)':<36}{'p50':>7}{'p99':>7}  {'baseline':<22}{'p50':>7}{'p99':>7}{'p99 x':>8}")
            for name, plat, base, raw in lat_rows:
                (p50, p99), (r50, r99) = _ms(plat), _ms(raw)
                print(f"{name:<36}{p50:>7.1f}{p99:>7.1f}  {base:<22}{r50:>7.1f}{r99:>7.1f}{p99 / r99:>8.2f}"
                      f"   ({len(plat)}/{len(raw)} samples; mean {statistics.fmean(plat or [float('nan')]) * 1000:.1f} ms)")
        if grown:
            print(f"\n{'growth':>10}{'relay/s':>10}{'consumer/s':>12}{'republish/s':>13}{'refill s':>10}"
                  f"{'raw produce/s':>15}{'seconds':>9}")
            for r in grown:
                print(f"{r['n']:>10,}{r['relay']:>10,.0f}{r['consumer']:>12,.0f}{r['republish']:>13,.0f}"
                      f"{r['refill_s']:>10.0f}{r['raw_produce']:>15,.0f}{r['seconds']:>9.0f}")
        if rss is not None:
            print("\nmemory at rest (MiB RSS, target <= 120): "
                  + ", ".join(f"{name} {mib:.0f}" for name, mib in rss.items()))
        if http is not None:
            print("\n".join(bench_http.table(http)))
        if demo is not None:
            print("\n".join(bench_demo.table(demo)))
        for note in notes:
            print(note)
        print(f"({n} events of ~{len(to_kafka(_events(1)[0])[1])} B; the whole run took "
              f"{time.perf_counter() - started:.0f} s; 2-core machine numbers vary between runs: compare ratios)")
    finally:
        broker.stop()
        pg.stop("immediate")
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("-n", type=int, default=20_000, help="events per measure")
    parser.add_argument("--latency-samples", type=int, default=300, help="single events per latency measure")
    parser.add_argument("--only", help="comma-separated: relay, consumer, command, latency, memory, http, demo (default: all)")
    parser.add_argument("--repeat", type=int, default=3, help="relay: runs of each side, alternately (best of)")
    parser.add_argument("--no-latency", action="store_true", help="skip the latency measures")
    parser.add_argument("--no-feed", action="store_true", help="skip the public feed's measures")
    parser.add_argument("--http-seconds", type=int, default=20, help="seconds of locust load per HTTP target")
    parser.add_argument("--growth", action="store_true", help="relay, consumer, republish at 10k and 100k events")
    parser.add_argument("--million", action="store_true", help="growth up to 1M events as well (long: see docs)")
    parser.add_argument("--json", help="write the growth figures to this file")
    parser.add_argument("--plot", help="draw the growth curves to this PNG (needs matplotlib)")
    asyncio.run(main(parser.parse_args()))
