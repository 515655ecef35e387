"""``python -m bench --only demo``: relay lag and the commit-to-consumer hop under the demo's load, from the tables.

The whole platform runs as ``make test``'s e2e fixture starts it (``tests.e2e.conftest.running_platform``: every
service a process on a fresh database and a fresh tansu broker, traces exported over OTLP), on a PostgreSQL of its
own started with ``wal_level = logical``; ``python -m demo`` replays the article against it, as ``make demo`` does
against ``make run``. Once every outbox is drained and the inboxes are still, every service's ``outbox`` and
``inbox`` are read:

* relay lag: ``published_at`` (the relay marks the rows once the broker acknowledged them) minus the row's time;
* hop: the consuming service's inbox row (``message_id`` = the event id, ``outcome = 'handled'``) minus the
  producer's outbox row, for every consuming service.

Two clocks for "the row's time". ``outbox.created_at`` and ``inbox.handled_at`` are ``now()``: the start of the
writing transaction, not its commit (which is when the relay can see the row and the effect is done). The tables
hold no commit time (``xmin`` of an outbox row is the relay's, which updated it), so the commits are read from the
write-ahead log: a logical replication slot (``test_decoding``, ``include-timestamp``) made just before the replay
gives each transaction's commit timestamp and the outbox and inbox rows it inserted. Both are printed: the first
as the issue measured it, the second the honest one (the producer's own transaction no longer counts as lag).

Left out or apart: rows created before the replay started (the platform's own start-up), and the public copies
(topic ``public.ward-events``, consumed by the feed), reported on their own lines.

Raw twins, on the bench's own broker and database, while the demo runs (the machine as loaded) and after the
platform stopped (idle): one ``send`` awaited (``raw_send_latency``, the relay lag's twin), and one hop by hand
(commit a row, send acks=all, a consumer's ``getmany`` writes a row and commits; commit to commit).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from shared.devstack.stack import ROOT, EmbeddedPostgres
from shared.events import PUBLIC_TOPIC
from shared.settings import SERVICES, ServiceSettings

SLOT = "bench_demo_latency"
RAW_HOP_TOPIC = "registry.teams"  # on the bench's own broker, where nothing else reads it meanwhile
#: The services' own consumer setting (the raw hop's consumer waits as long for a fetch).
FETCH_MAX_WAIT_MS = ServiceSettings.model_fields["kafka_fetch_max_wait_ms"].default
TARGET_MS = 20.0

RawSend = Callable[[str, int], Awaitable[list[float]]]


# -- the computation ---------------------------------------------------------------------------------------------
def percentile(values: list[float], q: float) -> float:
    """Nearest rank, as ``python -m bench`` computes its latency percentiles."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] if ordered else float("nan")


@dataclass(frozen=True)
class Sample:
    seconds: float
    service: str  # the producer
    topic: str
    event_type: str
    event_id: str
    consumer: str | None = None  # hops only
    at: float = 0.0  # seconds from the replay's start to the producer's row


@dataclass
class Measures:
    relay: list[Sample] = field(default_factory=list)  # published_at - created_at
    hop: list[Sample] = field(default_factory=list)  # handled_at - created_at
    relay_public: list[Sample] = field(default_factory=list)
    hop_public: list[Sample] = field(default_factory=list)
    relay_commit: list[Sample] = field(default_factory=list)  # published_at - the producer's commit
    hop_commit: list[Sample] = field(default_factory=list)  # the consumer's commit - the producer's commit
    relay_public_commit: list[Sample] = field(default_factory=list)
    hop_public_commit: list[Sample] = field(default_factory=list)
    tx_open: list[float] = field(default_factory=list)  # producer commit - created_at
    before: int = 0  # outbox rows created before the replay (excluded, with their consumers' rows)
    unpublished: int = 0
    unmatched_inbox: int = 0  # handled rows of no outbox row of this database
    publish_batch: dict[str, int] = field(default_factory=dict)  # event id -> rows its relay marked with it
    consumer_batch: dict[tuple[str, str], int] = field(default_factory=dict)  # (consumer, event id) -> rows in its tx
    relay_idle: dict[str, float] = field(default_factory=dict)  # event id -> seconds since its relay last marked
    lag: dict[str, float] = field(default_factory=dict)  # event id -> its relay lag (commit-based if known)


def stats(values: list[float]) -> tuple[float, float, float, int]:
    """p50, p99, max (ms) and the count."""
    if not values:
        return float("nan"), float("nan"), float("nan"), 0
    return percentile(values, 0.5) * 1000, percentile(values, 0.99) * 1000, max(values) * 1000, len(values)


async def read_tables(db, services: tuple[str, ...] = SERVICES) -> tuple[list[dict], list[dict]]:
    """Every service's outbox rows and handled inbox rows, each with its service."""
    outbox: list[dict] = []
    inbox: list[dict] = []
    for svc in services:
        for r in await db.fetch(svc, "SELECT event_id::text AS event_id, topic, event_type, created_at, published_at "
                                     "FROM outbox"):
            outbox.append({**dict(r), "service": svc})
        for r in await db.fetch(svc, "SELECT message_id, topic, event_type, handled_at FROM inbox "
                                     "WHERE outcome = 'handled'"):
            inbox.append({**dict(r), "service": svc})
    return outbox, inbox


def compute(outbox: list[dict], inbox: list[dict], since: datetime,
            commits: tuple[dict[str, datetime], dict[tuple[str, str], datetime]] | None = None) -> Measures:
    """The samples, from the rows ``read_tables`` returns and the commit times ``read_commits`` returns (outbox
    event id -> commit; (consumer service, message id) -> commit)."""
    m = Measures()
    out_commit, in_commit = commits or ({}, {})
    produced: dict[str, dict] = {}
    marks: dict[str, list[datetime]] = defaultdict(list)
    for r in outbox:
        if r["created_at"] < since:
            m.before += 1
            produced[r["event_id"]] = {**r, "before": True}
            continue
        produced[r["event_id"]] = r
        if r["published_at"] is None:
            m.unpublished += 1
            continue
        marks[r["service"]].append(r)
        public = r["topic"] == PUBLIC_TOPIC
        s = Sample((r["published_at"] - r["created_at"]).total_seconds(), *_what(r), at=_at(r, since))
        (m.relay_public if public else m.relay).append(s)
        m.lag[r["event_id"]] = s.seconds
        committed = out_commit.get(r["event_id"])
        if committed is not None:
            m.tx_open.append((committed - r["created_at"]).total_seconds())
            c = Sample((r["published_at"] - committed).total_seconds(), *_what(r), at=_at(r, since))
            (m.relay_public_commit if public else m.relay_commit).append(c)
            m.lag[r["event_id"]] = c.seconds
    for rows in marks.values():  # one relay per service: its marks, in order
        counts = Counter(r["published_at"] for r in rows)
        ordered = sorted(counts)
        previous = dict(zip(ordered[1:], ordered, strict=False))
        for r in rows:
            m.publish_batch[r["event_id"]] = counts[r["published_at"]]
            before = previous.get(r["published_at"])
            m.relay_idle[r["event_id"]] = (r["published_at"] - before).total_seconds() if before else float("inf")
    consumer_tx: dict[tuple[str, datetime], int] = Counter((r["service"], r["handled_at"]) for r in inbox)
    for r in inbox:
        p = produced.get(r["message_id"])
        if p is None:
            m.unmatched_inbox += 1
            continue
        if p.get("before"):
            continue
        m.consumer_batch[(r["service"], r["message_id"])] = consumer_tx[(r["service"], r["handled_at"])]
        public = p["topic"] == PUBLIC_TOPIC
        s = Sample((r["handled_at"] - p["created_at"]).total_seconds(), *_what(p), consumer=r["service"], at=_at(p, since))
        (m.hop_public if public else m.hop).append(s)
        produced_at, consumed_at = out_commit.get(p["event_id"]), in_commit.get((r["service"], r["message_id"]))
        if produced_at is not None and consumed_at is not None:
            c = Sample((consumed_at - produced_at).total_seconds(), *_what(p), consumer=r["service"], at=_at(p, since))
            (m.hop_public_commit if public else m.hop_commit).append(c)
    return m


def _what(r: dict) -> tuple[str, str, str, str]:
    return r["service"], r["topic"], r["event_type"], r["event_id"]


def _at(r: dict, since: datetime) -> float:
    return (r["created_at"] - since).total_seconds()


# -- commit times from the write-ahead log -----------------------------------------------------------------------
_CHANGE = re.compile(r"^table (?P<schema>[\w\"]+)\.(?P<table>outbox|inbox): INSERT: ")
_EVENT_ID = re.compile(r"\bevent_id\[uuid\]:'([0-9a-f-]{36})'")
_MESSAGE_ID = re.compile(r"\bmessage_id\[text\]:'((?:[^']|'')*)'")
_COMMIT = re.compile(r"^COMMIT(?: \d+)? \(at (?P<at>[^)]+)\)")


def parse_commits(changes: list[tuple[str, str]]) -> tuple[dict[str, datetime], dict[tuple[str, str], datetime]]:
    """``(xid, data)`` rows of ``test_decoding`` (``include-timestamp``): outbox event id -> its commit, and
    (service, inbox message id) -> its commit."""
    at: dict[str, datetime] = {}
    rows: list[tuple[str, str, str, str]] = []
    for xid, data in changes:
        if (c := _COMMIT.match(data)) is not None:
            at[xid] = datetime.fromisoformat(c["at"])
        elif (t := _CHANGE.match(data)) is not None:
            found = (_EVENT_ID if t["table"] == "outbox" else _MESSAGE_ID).search(data)
            if found:
                rows.append((xid, t["schema"].strip('"'), t["table"], found[1].replace("''", "'")))
    out: dict[str, datetime] = {}
    into: dict[tuple[str, str], datetime] = {}
    for xid, schema, table, key in rows:
        if xid in at:
            if table == "outbox":
                out[key] = at[xid]
            else:
                into[(schema, key)] = at[xid]
    return out, into


async def read_commits(admin_url: str) -> tuple[dict[str, datetime], dict[tuple[str, str], datetime]]:
    conn = await asyncpg.connect(admin_url)
    try:
        changes = await conn.fetch(
            "SELECT xid::text AS xid, data FROM pg_logical_slot_get_changes($1, NULL, NULL, 'include-timestamp', 'on', "
            "'skip-empty-xacts', 'on') WHERE data LIKE 'COMMIT%' OR data ~ '^table \\S+\\.(outbox|inbox): INSERT: '",
            SLOT)
        await conn.execute("SELECT pg_drop_replication_slot($1)", SLOT)
    finally:
        await conn.close()
    return parse_commits([(r["xid"], r["data"]) for r in changes])


# -- the raw hop -------------------------------------------------------------------------------------------------
async def raw_one_hop(db, bootstrap: str, count: int | None, stop: asyncio.Event | None = None,
                      gap_s: float = 0.03) -> list[float]:
    """Commit a row, send it (acks=all, awaited); a consumer (``getmany``) writes a row and commits: from the first
    commit to the second. ``count`` hops, or until ``stop`` is set."""
    owner = await asyncpg.connect(db.owner_url("incidents"))
    await owner.execute('SET search_path TO "incidents"; '
                        "CREATE TABLE IF NOT EXISTS raw_one_hop (side text, subject text, PRIMARY KEY (side, subject))")
    await owner.close()
    conns = [await asyncpg.connect(db.app_url("incidents")) for _ in range(2)]
    for c in conns:
        await c.execute('SET search_path TO "incidents"')
    first, second = conns
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                fetch_max_wait_ms=FETCH_MAX_WAIT_MS)
    await producer.start()
    await consumer.start()
    while not (parts := consumer.partitions_for_topic(RAW_HOP_TOPIC)):
        await consumer._client.force_metadata_update()
        await asyncio.sleep(0.1)
    tps = [TopicPartition(RAW_HOP_TOPIC, p) for p in sorted(parts)]
    consumer.assign(tps)
    await consumer.seek_to_end(*tps)
    committed: dict[str, float] = {}
    done: dict[str, float] = {}
    finished = asyncio.Event()

    async def consume() -> None:
        while not finished.is_set():
            batch = await consumer.getmany(timeout_ms=100, max_records=500)
            subjects = [r.key.decode() for recs in batch.values() for r in recs]
            if not subjects:
                continue
            async with second.transaction():
                await second.execute("INSERT INTO raw_one_hop SELECT 'got', unnest($1::text[]) ON CONFLICT DO NOTHING",
                                     subjects)
            now = time.perf_counter()
            for s in subjects:
                done.setdefault(s, now)

    task = asyncio.create_task(consume())
    try:
        await asyncio.sleep(0.3)
        i = 0
        while (count is None or i < count) and not (stop is not None and stop.is_set()):
            subject = f"raw1-{uuid.uuid4().hex[:10]}"
            async with first.transaction():
                await first.execute("INSERT INTO raw_one_hop VALUES ('sent', $1)", subject)
            committed[subject] = time.perf_counter()
            await (await producer.send(RAW_HOP_TOPIC, value=b"x" * 270, key=subject.encode()))
            await asyncio.sleep(gap_s)
            i += 1
        deadline = time.perf_counter() + 30
        while len(set(committed) & set(done)) < len(committed) and time.perf_counter() < deadline:
            await asyncio.sleep(0.05)
        return [done[s] - t for s, t in committed.items() if s in done]
    finally:
        finished.set()
        await asyncio.gather(task, return_exceptions=True)
        await consumer.stop()
        await producer.stop()
        for c in conns:
            await c.close()


async def _raw_sends_until(raw_send: RawSend, bootstrap: str, stop: asyncio.Event) -> list[float]:
    out: list[float] = []
    while not stop.is_set():
        out += await raw_send(bootstrap, 25)
    return out


# -- the run -----------------------------------------------------------------------------------------------------
@dataclass
class Result:
    measures: Measures
    raw_send_idle: list[float]
    raw_send_load: list[float]
    raw_hop_idle: list[float]
    raw_hop_load: list[float]
    demo_seconds: float
    demo_exit: int
    demo_tail: list[str]
    load: str


def _logical_postgres(datadir: Path) -> EmbeddedPostgres:
    """An embedded PostgreSQL as ``make run``'s, with ``wal_level = logical`` (for the commit timestamps)."""
    pg = EmbeddedPostgres(datadir).start()

    async def configure() -> None:
        conn = await asyncpg.connect(pg.admin_url)
        try:
            await conn.execute("ALTER SYSTEM SET wal_level = logical")
        finally:
            await conn.close()

    asyncio.run(configure())
    return pg.start()  # stop, start: the setting takes effect


async def _settle(plat, timeout: float = 90) -> None:
    """Until every outbox is drained and no inbox has grown for 2 s."""
    deadline = time.monotonic() + timeout
    last, still = -1, 0
    while time.monotonic() < deadline:
        pending = handled = 0
        for svc in SERVICES:
            pending += await plat.db.fetchval(svc, "SELECT count(*) FROM outbox WHERE published_at IS NULL")
            handled += await plat.db.fetchval(svc, "SELECT count(*) FROM inbox")
        still = still + 1 if (pending == 0 and handled == last) else 0
        if still >= 4:
            return
        last = handled
        await asyncio.sleep(0.5)


async def _replay(plat) -> tuple[int, float, list[str]]:
    args = [sys.executable, "-m", "demo", "--timeout", "120"]
    for svc in SERVICES:
        args += [f"--{svc}", plat.url(svc)]
    t = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(*args, cwd=ROOT, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.STDOUT)
    out, _ = await proc.communicate()
    return proc.returncode or 0, time.perf_counter() - t, out.decode(errors="replace").splitlines()


async def run(db, bootstrap: str, raw_send: RawSend, samples: int = 300,
              say: Callable[[str], None] = print) -> Result | None:
    """``db`` and ``bootstrap``: the bench's own database and broker, for the raw twins; the platform gets its own.
    None (and what went wrong, said) if the platform could not run the replay: the other figures still print."""
    try:
        return await _run(db, bootstrap, raw_send, samples, say)
    except Exception as exc:
        say(f"demo latency: not measured: {exc!r}")
        return None


async def _run(db, bootstrap: str, raw_send: RawSend, samples: int, say: Callable[[str], None]) -> Result:
    from tests.e2e.conftest import running_platform

    tmp = Path(tempfile.mkdtemp(prefix="ward-bench-demo-"))
    os.chmod(tmp, 0o755)
    pg = await asyncio.to_thread(_logical_postgres, tmp / "pg")
    try:
        async with running_platform(pg.admin_url) as plat:
            admin = await asyncpg.connect(plat.db.admin_url)
            try:
                await admin.execute("SELECT pg_create_logical_replication_slot($1, 'test_decoding')", SLOT)
                since = await admin.fetchval("SELECT clock_timestamp()")
            finally:
                await admin.close()
            stop = asyncio.Event()
            raw_tasks = [asyncio.create_task(_raw_sends_until(raw_send, bootstrap, stop)),
                         asyncio.create_task(raw_one_hop(db, bootstrap, None, stop))]
            try:
                code, seconds, output = await _replay(plat)
            finally:
                stop.set()
                raw_send_load, raw_hop_load = await asyncio.gather(*raw_tasks)
            load = Path("/proc/loadavg").read_text().split()[:3]
            if code:
                say(f"demo: python -m demo exited with {code}: " + " | ".join(output[-5:]))
            await _settle(plat)
            outbox, inbox = await read_tables(plat.db)
            commits = await read_commits(plat.db.admin_url)
            if not os.environ.get("KEEP_E2E_LOGS"):  # as the e2e fixture: the services' logs kept only if asked
                shutil.rmtree(plat.logs, ignore_errors=True)
    finally:
        await asyncio.to_thread(pg.stop, "immediate")
        shutil.rmtree(tmp, ignore_errors=True)
    raw_send_idle = await raw_send(bootstrap, samples)
    raw_hop_idle = await raw_one_hop(db, bootstrap, samples)
    return Result(compute(outbox, inbox, since, commits), raw_send_idle, raw_send_load, raw_hop_idle, raw_hop_load,
                  seconds, code, output[-3:], " ".join(load))


# -- what is printed ---------------------------------------------------------------------------------------------
def _line(name: str, values: list[float], raw: list[float] | None, raw_load: list[float] | None,
          target: bool = False) -> str:
    p50, p99, mx, n = stats(values)
    r99 = stats(raw)[1] if raw else float("nan")
    l99 = stats(raw_load)[1] if raw_load else float("nan")
    ratio = f"{p99 / r99:>7.1f}x{p99 / l99:>7.1f}x" if raw else f"{'':>16}"
    mark = ("  met" if p99 <= TARGET_MS else "  MISSED") if target else ""
    return f"{name:<44}{p50:>7.1f}{p99:>7.1f}{mx:>8.1f}{n:>6}{ratio}{mark}"


def idle_at_commit(m: Measures, samples: list[Sample], over: float = 0.1) -> tuple[int, int]:
    """Of the relay-lag samples over ``over`` seconds: how many found their relay idle when they committed (its
    previous mark was before the commit: it was waiting for a wake-up) and how many found it busy (marking others)."""
    slow = [s for s in samples if s.seconds > over]
    idle = sum(1 for s in slow if m.relay_idle.get(s.event_id, 0.0) > s.seconds)
    return idle, len(slow) - idle


def _tail(title: str, samples: list[Sample], m: Measures, relay: bool, top: int = 8) -> list[str]:
    if not samples:
        return []
    ordered = sorted(samples, key=lambda s: s.seconds, reverse=True)
    cut = percentile([s.seconds for s in samples], 0.95)
    where = Counter(f"{s.service}->{s.consumer}" if s.consumer else s.service for s in ordered if s.seconds >= cut)
    lines = [f"{title}: the slowest 5% (>= {cut * 1000:.0f} ms) by {'producer' if relay else 'producer->consumer'}: "
             + ", ".join(f"{k} {n}" for k, n in where.most_common(6))]
    if relay:
        idle, busy = idle_at_commit(m, samples)
        lines.append(f"  over 100 ms: {idle} found their relay idle at their commit (its previous mark before it: "
                     f"waiting for a wake-up; the idle wait is 1 s), {busy} found it busy")
    for s in ordered[:top]:
        idle = m.relay_idle.get(s.event_id, float("nan"))
        lag = m.lag.get(s.event_id, float("nan"))
        extra = (f"relay's previous mark {idle * 1000:.0f} ms before" if idle != float("inf")
                 else "its relay's first mark") + f", marked with {m.publish_batch.get(s.event_id, 0)} rows"
        if idle > lag:
            extra += " (relay idle at the commit)"
        if s.consumer:
            extra = (f"relay {lag * 1000:.0f} + consumer {(s.seconds - lag) * 1000:.0f} ms; {extra}; consumer tx of "
                     f"{m.consumer_batch.get((s.consumer, s.event_id), 0)} rows")
        who = f"{s.service}->{s.consumer}" if s.consumer else s.service
        lines.append(f"  {s.seconds * 1000:>7.1f} ms  +{s.at:>5.1f} s  {who:<22}{s.event_type:<44}{extra}")
    return lines


def table(r: Result) -> list[str]:
    m = r.measures
    head = (f"\nlatency under the demo's load (ms){'':10}{'p50':>7}{'p99':>7}{'max':>8}{'n':>6}"
            f"{'/ idle':>8}{'/ load':>8}  (p99 over the raw twin's p99, idle and under the demo)")
    lines = [head,
             _line("relay lag, commit -> published_at", [s.seconds for s in m.relay_commit], r.raw_send_idle,
                   r.raw_send_load, target=True),
             _line("relay lag, created_at -> published_at", [s.seconds for s in m.relay], r.raw_send_idle,
                   r.raw_send_load, target=True),
             _line("hop, commit -> consumer's commit", [s.seconds for s in m.hop_commit], r.raw_hop_idle,
                   r.raw_hop_load),
             _line("hop, created_at -> handled_at", [s.seconds for s in m.hop], r.raw_hop_idle, r.raw_hop_load),
             _line("public copies: relay lag, commit", [s.seconds for s in m.relay_public_commit], None, None),
             _line("public copies: hop to the feed, commit", [s.seconds for s in m.hop_public_commit], None, None),
             _line("producer's transaction: created_at -> commit", m.tx_open, None, None),
             _line("raw twin: one send awaited, idle", r.raw_send_idle, None, None),
             _line("raw twin: one send awaited, under the demo", r.raw_send_load, None, None),
             _line("raw twin: one hop (commit -> commit), idle", r.raw_hop_idle, None, None),
             _line("raw twin: one hop, under the demo", r.raw_hop_load, None, None),
             f"(demo: {r.demo_seconds:.0f} s, exit {r.demo_exit}; load average after it {r.load}; excluded: "
             f"{m.before} outbox rows of the platform's start-up, {m.unpublished} unpublished, "
             f"{m.unmatched_inbox} inbox rows of no outbox row; target: relay lag p99 <= {TARGET_MS:.0f} ms)"]
    lines += _tail("relay lag (commit)", m.relay_commit, m, relay=True)
    lines += _tail("hop (commit)", m.hop_commit, m, relay=False)
    return lines
