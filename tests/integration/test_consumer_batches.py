"""The consumer's whole-batch path (``EventConsumer._handle_fast``) and its fall back to event by event, against
PostgreSQL: a failing handler in a batch gives exactly the per-event semantics (attempts, dead letter, the others
handled once), and a handler that swallows a database error cannot make the batch look committed."""

from __future__ import annotations

from collections import Counter

import asyncpg
import pytest

from shared.consumer import EventConsumer, RawMessage
from shared.db import create_pool
from shared.events import to_kafka
from tests.integration.probe import ProbeRecorded

pytestmark = pytest.mark.integration


def _raw(event: ProbeRecorded, offset: int) -> RawMessage:
    key, value, headers = to_kafka(event)
    return RawMessage("registry.wards", 0, offset, key.encode(), value, tuple(headers.items()))


async def _effect(conn: asyncpg.Connection, event: ProbeRecorded) -> None:
    await conn.execute("INSERT INTO probe_effects (event_id, subject, value) VALUES ($1, $2, $3)",
                       event.id, event.subject, event.value)


async def test_a_failing_handler_in_a_batch_gets_the_per_event_attempts_and_the_others_are_handled_once(probe_db):
    events = [ProbeRecorded(ward_id="phu-son", subject=s, value=i) for i, s in enumerate(
        ["before", "poison", "after", "flaky", "quick"])]
    calls: Counter[str] = Counter()

    async def handle(conn: asyncpg.Connection, e: ProbeRecorded) -> None:
        calls[e.subject] += 1
        await _effect(conn, e)
        if e.subject == "poison" or (e.subject == "flaky" and calls["flaky"] == 1):
            raise ValueError(f"handler refuses {e.subject}")

    pool = await create_pool(probe_db.app_url("incidents"), "incidents")
    try:
        consumer = EventConsumer("incidents", pool, {ProbeRecorded: handle},
                                 dead_letter_topic="incidents.dead-letter", retry_backoff_s=0.001)
        # The whole batch first: it stops at the poison (its first attempt) and is rolled back; taken again event by
        # event, the poison gets its second and third attempts only, the flaky one its retry.
        await consumer.handle_batch([_raw(e, i) for i, e in enumerate(events)])
        assert calls == {"before": 2, "poison": 3, "after": 1, "flaky": 2, "quick": 1}
        effects = await probe_db.fetch("incidents", "SELECT subject, count(*) AS n FROM probe_effects GROUP BY subject")
        assert {r["subject"]: r["n"] for r in effects} == {"before": 1, "after": 1, "flaky": 1, "quick": 1}
        inbox = await probe_db.fetch("incidents", "SELECT message_id, outcome FROM inbox")
        assert {r["message_id"]: r["outcome"] for r in inbox} == {
            str(e.id): ("dead_lettered" if e.subject == "poison" else "handled") for e in events}
        dead = await probe_db.fetch("incidents", "SELECT message_id, attempts, error FROM dead_letters")
        assert [(r["message_id"], r["attempts"]) for r in dead] == [(str(events[1].id), 3)]
        assert "handler refuses poison" in dead[0]["error"]

        # Delivered again (a redelivery after a crash before the offsets were committed) beside a new event: the
        # whole-batch path takes it, handles the new one once and nothing again.
        calls.clear()
        fresh = ProbeRecorded(ward_id="phu-son", subject="fresh", value=9)
        await consumer.handle_batch([_raw(e, i) for i, e in enumerate([*events, fresh, fresh])])
        assert calls == {"fresh": 1}
        assert await probe_db.fetchval("incidents", "SELECT count(*) FROM probe_effects") == 5
        assert await probe_db.fetchval("incidents", "SELECT count(*) FROM dead_letters") == 1

        # With one attempt allowed, the failure on the whole-batch path is the last one: dead-lettered at once.
        calls.clear()
        once = EventConsumer("incidents", pool, {ProbeRecorded: handle}, dead_letter_topic="incidents.dead-letter",
                             max_attempts=1, retry_backoff_s=0.001)
        poison = ProbeRecorded(ward_id="phu-son", subject="poison", value=7)
        await once.handle_batch([_raw(poison, 20)])
        assert calls == {"poison": 1}
        assert await probe_db.fetchval("incidents", "SELECT attempts FROM dead_letters WHERE message_id = $1",
                                       str(poison.id)) == 1
    finally:
        await pool.close()


async def test_a_handler_that_swallows_a_database_error_does_not_make_the_batch_look_committed(probe_db):
    """PostgreSQL answers COMMIT of a failed transaction with a silent rollback: the whole-batch path must not take
    that for success (the offsets would be committed over events that left nothing), nor charge the next event
    with the failure."""
    events = [ProbeRecorded(ward_id="phu-son", subject=s, value=i) for i, s in enumerate(["first", "swallows"])]
    calls: Counter[str] = Counter()

    async def handle(conn: asyncpg.Connection, e: ProbeRecorded) -> None:
        calls[e.subject] += 1
        await _effect(conn, e)
        if e.subject == "swallows":
            try:
                await conn.execute("INSERT INTO probe_effects (event_id, subject, value) VALUES ($1, 'x', 0)", e.id)
            except asyncpg.UniqueViolationError:
                pass  # the transaction is aborted all the same

    pool = await create_pool(probe_db.app_url("incidents"), "incidents")
    try:
        consumer = EventConsumer("incidents", pool, {ProbeRecorded: handle},
                                 dead_letter_topic="incidents.dead-letter", retry_backoff_s=0.001)
        # Event by event, the savepoint's release fails in the aborted transaction and nothing more can run in it:
        # the batch raises, is not acknowledged, and nothing of it committed.
        with pytest.raises(asyncpg.PostgresError):
            await consumer.handle_batch([_raw(e, i) for i, e in enumerate(events)])
        assert calls["first"] == 2  # taken again, event by event, after the batch was found rolled back
        assert await probe_db.fetchval("incidents", "SELECT count(*) FROM inbox") == 0
        assert await probe_db.fetchval("incidents", "SELECT count(*) FROM probe_effects") == 0
    finally:
        await pool.close()
