"""Dead letters that can be recovered (`wardctl dead-letters` run as from a shell, against the running consumer)
and events of an unknown type parked until a version that knows the type starts."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from typing import ClassVar

import asyncpg
import pytest
from prometheus_client import REGISTRY

from shared import deadletters
from shared.audit import AuditKeys, verify_chain
from shared.consumer import RawMessage
from shared.db import create_pool
from shared.devstack.stack import ROOT
from shared.events import Event, to_kafka
from shared.runtime import ServiceRuntime
from tests.conftest import settings_for
from tests.integration.conftest import eventually
from tests.integration.probe import ProbeRecorded
from tests.kafka_helpers import produce

pytestmark = pytest.mark.integration


async def wardctl(db, *args: str) -> subprocess.CompletedProcess[str]:
    """`wardctl dead-letters ...` as a shell runs it; in a thread, so the service running in this test's event loop
    (its relay and consumer) goes on meanwhile."""
    return await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "shared.cli", "dead-letters", *args], cwd=ROOT,
        env={**os.environ, "DATABASE_URL": db.app_url("incidents")}, capture_output=True, text=True, timeout=120)


def probe_runtime(settings, handle) -> ServiceRuntime:
    """The incidents schema as a consumer of ProbeRecorded, with the handler the test gives."""
    runtime = ServiceRuntime(settings, description="probe consumer")
    runtime.consume({ProbeRecorded: handle})
    return runtime


async def effect(conn: asyncpg.Connection, event: ProbeRecorded) -> None:
    await conn.execute("INSERT INTO probe_effects (event_id, subject, value) VALUES ($1, $2, $3)",
                       event.id, event.subject, event.value)


async def _count(db, sql: str, *args: object) -> int:
    return int(await db.fetchval("incidents", sql, *args))


async def _send(bootstrap: str, event: Event, **header_overrides: bytes) -> None:
    key, value, headers = to_kafka(event)
    headers.update(header_overrides)
    await produce(bootstrap, event.topic, value, key=key.encode(), headers=list(headers.items()))


def _parked_gauge(event_type: str) -> float | None:
    return REGISTRY.get_sample_value("ward_parked_events", {"service": "incidents", "event_type": event_type})


# -- parking ---------------------------------------------------------------------------------------------------------
def _new_event_type(type_name: str) -> type[Event]:
    """A contract this process did not know until now: what a newer version of the consumer brings."""

    class ProbeNoted(Event):
        """A newer producer's event."""

        event_type: ClassVar[str] = type_name
        topic: ClassVar[str] = "registry.wards"
        value: int

    return ProbeNoted


async def test_unknown_type_is_parked_and_handled_in_order_when_a_version_that_knows_it_starts(probe_db, broker, started):
    new_type = f"registry.probe-{uuid.uuid4().hex[:8]}.noted.v2"  # unknown to this process so far
    old = await started(probe_runtime(settings_for("incidents", probe_db, broker), effect))
    ids = [str(uuid.uuid4()) for _ in range(3)]
    body = ProbeRecorded(ward_id="phu-son", subject="n", value=0)
    for n, event_id in enumerate(ids):  # a producer deployed before its consumer: v2 events the consumer cannot read
        raw = body.model_copy(update={"id": uuid.UUID(event_id), "value": n})
        await _send(broker.bootstrap, raw, ce_type=new_type.encode(), ce_id=event_id.encode())
    marker = ProbeRecorded(ward_id="phu-son", subject="after-parked", value=99)
    await _send(broker.bootstrap, marker)

    async def marker_handled() -> bool:
        return await _count(probe_db, "SELECT count(*) FROM probe_effects WHERE subject = 'after-parked'") == 1

    await eventually(marker_handled)  # the partition went on past the parked events
    parked = await probe_db.fetch("incidents", "SELECT message_id, event_type FROM parked_events ORDER BY seq")
    assert [(r["message_id"], r["event_type"]) for r in parked] == [(i, new_type) for i in ids]
    assert await _count(probe_db, "SELECT count(*) FROM dead_letters") == 0  # parked, not dead-lettered
    assert await _count(probe_db, "SELECT count(*) FROM inbox WHERE message_id = ANY($1::text[])", ids) == 0
    assert _parked_gauge(new_type) == 3
    shown = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "shared.cli", "parked", "incidents"], cwd=ROOT,
        env={**os.environ, "DATABASE_URL": probe_db.app_url("incidents")}, capture_output=True, text=True, timeout=60)
    assert "incidents: 3 parked events" in shown.stdout and shown.stdout.count(new_type) == 3, shown.stdout + shown.stderr
    # The same events delivered again (a republish) are parked once.
    await _send(broker.bootstrap, body.model_copy(update={"id": uuid.UUID(ids[0])}), ce_type=new_type.encode(),
                ce_id=ids[0].encode())
    second_marker = ProbeRecorded(ward_id="phu-son", subject="after-repeat", value=98)
    await _send(broker.bootstrap, second_marker)
    await eventually(lambda: _has(probe_db, "after-repeat"))
    assert await _count(probe_db, "SELECT count(*) FROM parked_events") == 3
    await old.stop()

    # The version that knows the type starts: it drains the parked events, in order, through the inbox.
    noted = _new_event_type(new_type)
    seen: list[int] = []

    async def on_noted(conn: asyncpg.Connection, event) -> None:
        seen.append(event.value)
        await conn.execute("INSERT INTO probe_effects (event_id, subject, value) VALUES ($1, 'noted', $2)",
                           event.id, event.value)

    new = ServiceRuntime(settings_for("incidents", probe_db, None), description="newer consumer")
    new.consume({ProbeRecorded: effect, noted: on_noted})
    await started(new, wait_assigned=False)  # no broker at all: the drain needs only the database
    assert seen == [0, 1, 2]
    assert await _count(probe_db, "SELECT count(*) FROM parked_events") == 0
    rows = await probe_db.fetch("incidents", "SELECT message_id, outcome FROM inbox WHERE message_id = ANY($1::text[])",
                                ids)
    assert {r["message_id"]: r["outcome"] for r in rows} == dict.fromkeys(ids, "handled")
    assert _parked_gauge(new_type) == 0
    assert await new.consumer.drain_parked() == 0  # nothing left, nothing handled twice
    assert await _count(probe_db, "SELECT count(*) FROM probe_effects WHERE subject = 'noted'") == 3


async def _has(db, subject: str) -> bool:
    return await _count(db, "SELECT count(*) FROM probe_effects WHERE subject = $1", subject) == 1


# -- redrive ----------------------------------------------------------------------------------------------------------
async def test_redrive_of_a_still_failing_event_stays_dead_lettered_then_the_fixed_version_handles_it_once(
    probe_db, broker, started
):
    calls = {"n": 0}

    async def buggy(conn: asyncpg.Connection, event: ProbeRecorded) -> None:
        calls["n"] += 1
        raise RuntimeError(f"bug hit on call {calls['n']}")

    failing = await started(probe_runtime(settings_for("incidents", probe_db, broker), buggy))
    event = ProbeRecorded(ward_id="phu-son", subject="victim", value=7)
    await _send(broker.bootstrap, event)

    async def dead() -> bool:
        return await _count(probe_db, "SELECT count(*) FROM dead_letters WHERE message_id = $1", str(event.id)) == 1

    await eventually(dead)
    listed = await wardctl(probe_db, "list", "incidents")
    assert listed.returncode == 0, listed.stderr
    assert str(event.id) in listed.stdout and "bug hit on call 3" in listed.stdout

    # The bug is not fixed yet: the redrive fails again, the record stays open with the new attempts' error.
    out = await wardctl(probe_db, "redrive", "incidents", "--event-id", str(event.id), "--wait", "60")
    assert out.returncode == 1, out.stdout + out.stderr
    assert "failed again 1" in out.stdout
    row = (await probe_db.fetch("incidents", "SELECT * FROM dead_letters WHERE message_id = $1", str(event.id)))[0]
    assert (row["status"], row["attempts"], row["redrives"]) == ("open", 6, 1)
    assert "bug hit on call 6" in row["error"]
    assert await probe_db.fetchval("incidents", "SELECT outcome FROM inbox WHERE message_id = $1",
                                   str(event.id)) == "dead_lettered"
    await failing.stop()

    # The fixed version runs; the operator redrives everything open, as from a shell.
    await started(probe_runtime(settings_for("incidents", probe_db, broker), effect))
    out = await wardctl(probe_db, "redrive", "incidents", "--all", "--wait", "60")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "redriven 1" in out.stdout
    assert await _count(probe_db, "SELECT count(*) FROM probe_effects WHERE event_id = $1", event.id) == 1
    assert await probe_db.fetchval("incidents", "SELECT outcome FROM inbox WHERE message_id = $1",
                                   str(event.id)) == "handled"
    row = (await probe_db.fetch("incidents", "SELECT * FROM dead_letters WHERE message_id = $1", str(event.id)))[0]
    assert row["status"] == "redriven" and row["resolved_at"] is not None
    audit = await probe_db.fetch("incidents", "SELECT command, target_id FROM audit_log ORDER BY seq")
    assert [(a["command"], a["target_id"]) for a in audit] == [("dead_letters.redrive", str(row["id"]))] * 2

    # Nothing happens twice: the original republished, and the redrive asked for again, change nothing.
    await _send(broker.bootstrap, event)
    again = await wardctl(probe_db, "redrive", "incidents", "--all")
    assert again.returncode == 0 and "0 dead letters queued" in again.stdout, again.stdout
    marker = ProbeRecorded(ward_id="phu-son", subject="later", value=1)
    await _send(broker.bootstrap, marker)
    await eventually(lambda: _has(probe_db, "later"))
    assert await _count(probe_db, "SELECT count(*) FROM probe_effects WHERE event_id = $1", event.id) == 1


async def _dead_letter_one(db, event: ProbeRecorded):
    """Dead-letter ``event`` through the consumer itself (a failing handler), without a broker."""
    from shared.consumer import EventConsumer

    async def failing(conn: asyncpg.Connection, e: ProbeRecorded) -> None:
        raise ValueError("handler refuses it")

    pool = await create_pool(db.app_url("incidents"), "incidents")
    consumer = EventConsumer("incidents", pool, {ProbeRecorded: failing}, dead_letter_topic="incidents.dead-letter",
                             retry_backoff_s=0.001)
    key, value, headers = to_kafka(event)
    await consumer.handle_batch([RawMessage("registry.wards", 0, 1, key.encode(), value, tuple(headers.items()))])
    return pool


async def test_discard_closes_the_record_with_the_reason_in_the_audit_trail(probe_db):
    event = ProbeRecorded(ward_id="phu-son", subject="obsolete", value=3)
    pool = await _dead_letter_one(probe_db, event)
    await pool.close()
    dl_id = await _count(probe_db, "SELECT id FROM dead_letters WHERE message_id = $1", str(event.id))

    refused = await wardctl(probe_db, "discard", "incidents", "--id", str(dl_id))
    assert refused.returncode == 2 and "--reason" in refused.stderr  # a decision needs its reason
    unfiltered = await wardctl(probe_db, "redrive", "incidents")
    assert unfiltered.returncode == 2 and "--all" in unfiltered.stderr  # nothing selected by accident
    shown = await wardctl(probe_db, "show", "incidents", "--id", str(dl_id))
    assert shown.returncode == 0 and "handler refuses it" in shown.stdout and "registry.probe.recorded.v1" in shown.stdout
    assert "fields: id, occurred_at, secret_note, subject, value, ward_id" in shown.stdout  # not the body itself

    out = await wardctl(probe_db, "discard", "incidents", "--id", str(dl_id), "--reason", "superseded by case 12",
                  "--operator", "ops-lan")
    assert out.returncode == 0, out.stderr
    assert "1 dead letters discarded by ops-lan" in out.stdout
    row = (await probe_db.fetch("incidents", "SELECT * FROM dead_letters WHERE id = $1", dl_id))[0]
    assert (row["status"], row["resolved_by"]) == ("discarded", "ops-lan")
    audit = await probe_db.fetch("incidents", "SELECT * FROM audit_log")
    assert len(audit) == 1
    a = audit[0]
    details = a["details"] if isinstance(a["details"], dict) else json.loads(a["details"])
    assert (a["actor"], a["command"], a["target_type"], a["target_id"]) == (
        "ops-lan", "dead_letters.discard", "dead_letter", str(dl_id))
    assert details == {"reason": "superseded by case 12", "message_id": str(event.id), "topic": "registry.wards",
                       "event_type": "registry.probe.recorded.v1"}
    conn = await probe_db.connect("incidents")
    try:
        assert await verify_chain(conn, AuditKeys.from_settings(settings_for("incidents", probe_db, None))) is None
    finally:
        await conn.close()
    # A discarded event stays unhandled and is no longer redriven.
    assert await probe_db.fetchval("incidents", "SELECT outcome FROM inbox WHERE message_id = $1",
                                   str(event.id)) == "dead_lettered"
    again = await wardctl(probe_db, "redrive", "incidents", "--all")
    assert again.returncode == 0 and "0 dead letters queued" in again.stdout
    listed = await wardctl(probe_db, "list", "incidents", "--status", "discarded")
    assert str(event.id) in listed.stdout


async def test_two_replicas_given_the_redrive_at_once_handle_the_event_once(probe_db):
    """Two copies of a redrive (asked twice, or a rebalance) reach two consumers at the same moment: the row locks
    let one handle it; the other finds it resolved."""
    from shared.consumer import EventConsumer

    event = ProbeRecorded(ward_id="phu-son", subject="raced", value=5)
    pool = await _dead_letter_one(probe_db, event)
    try:
        async with pool.acquire() as conn, conn.transaction():
            keys = AuditKeys.from_settings(settings_for("incidents", probe_db, None))
            everything = deadletters.Selection(everything=True)
            queued, _ = await deadletters.redrive(conn, "incidents", everything, keys=keys, actor="t")
            await deadletters.redrive(conn, "incidents", everything, keys=keys, actor="t", again=True)
        assert len(queued) == 1
        rows = await pool.fetch("SELECT message_key, headers, payload FROM outbox WHERE headers ? 'ward_redrive_of'")
        # two copies of the original message, each naming the service and the record, for its own dead-letter topic
        # (the only topic besides its own that the service may write under the Kafka ACLs)
        assert len(rows) == 2
        assert {r["topic"] for r in await pool.fetch("SELECT topic FROM outbox")} == {"incidents.dead-letter"}
        calls: list[str] = []

        async def slow(conn: asyncpg.Connection, e: ProbeRecorded) -> None:
            calls.append(str(e.id))
            await asyncio.sleep(0.5)  # both replicas are inside at once if nothing serialises them
            await effect(conn, e)

        replicas = [EventConsumer("incidents", pool, {ProbeRecorded: slow}, dead_letter_topic="incidents.dead-letter")
                    for _ in range(2)]
        # A copy naming the record but carrying another body is refused: only the stored message is redriven.
        forged = ProbeRecorded(ward_id="phu-son", subject="raced", value=500)
        _, fv, fh = to_kafka(forged.model_copy(update={"id": event.id}))
        fake = RawMessage("incidents.dead-letter", 0, 9, b"raced", fv,
                          tuple(fh.items()) + tuple((k, str(v).encode()) for k, v in rows[0]["headers"].items()
                                                    if k.startswith("ward_redrive")))
        await EventConsumer("incidents", pool, {ProbeRecorded: slow},
                            dead_letter_topic="incidents.dead-letter").handle_batch([fake])
        assert calls == []
        assert await _count(probe_db, "SELECT count(*) FROM dead_letters WHERE status = 'redriving'") == 1
        msgs = [RawMessage("incidents.dead-letter", 0, 10 + i, bytes(r["message_key"].encode()), bytes(r["payload"]),
                           tuple((k, str(v).encode()) for k, v in r["headers"].items())) for i, r in enumerate(rows)]
        await asyncio.gather(*(c.handle_batch([m]) for c, m in zip(replicas, msgs, strict=True)))
        assert calls == [str(event.id)]
        assert await _count(probe_db, "SELECT count(*) FROM probe_effects WHERE event_id = $1", event.id) == 1
        assert await _count(probe_db, "SELECT count(*) FROM dead_letters WHERE status = 'redriven'") == 1
        # The dead-letter copies on that topic are passed by, never handled nor dead-lettered again; a redrive
        # header on another topic, or naming another service, is not taken either.
        copy = await pool.fetchrow("SELECT message_key, headers, payload FROM outbox WHERE NOT headers ? 'ward_redrive_of'")
        dlq_copy = RawMessage("incidents.dead-letter", 0, 1, copy["message_key"].encode(), bytes(copy["payload"]),
                              tuple((k, str(v).encode()) for k, v in copy["headers"].items()))
        other = EventConsumer("mediation", pool, {ProbeRecorded: slow}, dead_letter_topic="mediation.dead-letter")
        elsewhere = RawMessage("registry.wards", 0, 30, msgs[0].key, msgs[0].value, msgs[0].headers)
        async with pool.acquire() as conn, conn.transaction():
            assert await replicas[0]._handle_one(conn, dlq_copy) == "dead_letter_copy"
            assert await other._handle_one(conn, msgs[0]) == "not_mine"
            assert await replicas[0]._handle_one(conn, elsewhere) == "not_mine"
        assert calls == [str(event.id)]
        assert await _count(probe_db, "SELECT count(*) FROM dead_letters") == 1
    finally:
        await pool.close()
