"""``python -m bench --only demo`` (bench/demo_latency.py): the relay lag and the hop computed from real outbox and
inbox tables, the public copies and the start-up's rows kept apart, and the commit times read from
``test_decoding``'s lines. No demo and no platform run here: the rows are written with known times."""

from __future__ import annotations

import json
import math
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from bench.demo_latency import (
    Measures,
    Result,
    Sample,
    compute,
    idle_at_commit,
    parse_commits,
    read_tables,
    stats,
    table,
)
from shared.events import PUBLIC_TOPIC

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def at(ms: float) -> datetime:
    return T0 + timedelta(milliseconds=ms)


async def _outbox(db, service: str, topic: str, created: datetime, published: datetime | None) -> str:
    event_id = str(uuid.uuid4())
    conn = await db.connect(service)
    try:
        await conn.execute(
            "INSERT INTO outbox (event_id, topic, message_key, event_type, headers, payload, created_at, published_at) "
            "VALUES ($1, $2, 'k', $3, $4, 'p', $5, $6)",
            uuid.UUID(event_id), topic, f"{service}.thing.v1", json.dumps({}), created, published)
    finally:
        await conn.close()
    return event_id


async def _inbox(db, service: str, message_id: str, handled: datetime, outcome: str = "handled") -> None:
    conn = await db.connect(service)
    try:
        await conn.execute("INSERT INTO inbox (message_id, topic, event_type, outcome, handled_at) "
                           "VALUES ($1, 't', 'e', $2, $3)", message_id, outcome, handled)
    finally:
        await conn.close()


async def test_relay_lag_and_hops_from_the_services_tables(db) -> None:
    e1 = await _outbox(db, "registry", "registry.teams", at(0), at(10))
    p1 = await _outbox(db, "registry", PUBLIC_TOPIC, at(0), at(10))  # e1's public copy, marked with it
    e2 = await _outbox(db, "registry", "registry.teams", at(1000), at(1030))
    e3 = await _outbox(db, "incidents", "incidents.incidents", at(2000), at(2050))
    old = await _outbox(db, "registry", "registry.wards", at(-5000), at(-4990))  # the platform's start-up
    await _outbox(db, "incidents", "incidents.incidents", at(3000), None)  # not yet published
    await _inbox(db, "incidents", e1, at(40))
    await _inbox(db, "mediation", e1, at(2090))  # mediation's one transaction handled e1 and e3
    await _inbox(db, "mediation", e3, at(2090))
    await _inbox(db, "feed", p1, at(260))
    await _inbox(db, "incidents", old, at(-4900))
    await _inbox(db, "incidents", e2, at(1100), outcome="dead_lettered")
    await _inbox(db, "notify", str(uuid.uuid4()), at(500))  # of no outbox row here
    commits = ({e1: at(4), e3: at(2040)}, {("incidents", e1): at(45)})

    outbox, inbox = await read_tables(db)
    m = compute(outbox, inbox, T0, commits)

    assert sorted((s.service, round(s.seconds, 6)) for s in m.relay) == [
        ("incidents", 0.05), ("registry", 0.01), ("registry", 0.03)]
    assert stats([s.seconds for s in m.relay]) == pytest.approx((30.0, 50.0, 50.0, 3))
    assert [(s.topic, s.seconds) for s in m.relay_public] == [(PUBLIC_TOPIC, 0.01)]
    assert (m.before, m.unpublished, m.unmatched_inbox) == (1, 1, 1)
    assert sorted((s.service, s.consumer, round(s.seconds, 6)) for s in m.hop) == [
        ("incidents", "mediation", 0.09), ("registry", "incidents", 0.04), ("registry", "mediation", 2.09)]
    assert [(s.consumer, s.seconds) for s in m.hop_public] == [("feed", 0.26)]
    # from the commits: e1 and e3 only (e2 has none), the hop where both ends have one
    assert sorted(round(s.seconds, 6) for s in m.relay_commit) == [0.006, 0.01]
    assert [(s.event_id, round(s.seconds, 6)) for s in m.hop_commit] == [(e1, 0.041)]
    assert sorted(round(v, 6) for v in m.tx_open) == [0.004, 0.04]
    assert m.relay_public_commit == m.hop_public_commit == []
    # what the tail is made of
    assert (m.publish_batch[e1], m.publish_batch[e2]) == (2, 1)
    assert math.isinf(m.relay_idle[e1]) and m.relay_idle[e2] == pytest.approx(1.02)
    assert m.consumer_batch[("mediation", e3)] == m.consumer_batch[("mediation", e1)] == 2
    assert m.consumer_batch[("incidents", e1)] == 1

    printed = "\n".join(table(Result(m, [0.002] * 10, [0.004] * 10, [0.01] * 10, [0.02] * 10, 1.0, 0, [], "1 1 1")))
    relay_line = next(line for line in printed.splitlines() if line.startswith("relay lag, created_at"))
    assert relay_line.split()[5:11] == ["30.0", "50.0", "50.0", "3", "25.0x", "12.5x"] and relay_line.endswith("MISSED")
    assert next(line for line in printed.splitlines() if line.startswith("relay lag, commit")).endswith("met")
    assert "registry->incidents" in printed and "relay 6 + consumer 35 ms" in printed


def test_commit_times_are_read_from_test_decodings_lines() -> None:
    eid = "3f1c9a0e-8d7b-4c59-9a51-0b6f2f0e9d11"
    lines = [  # as pg_logical_slot_get_changes(..., 'include-timestamp', 'on') prints them (xid, data)
        ("901", "table registry.outbox: INSERT: seq[bigint]:7 event_id[uuid]:'" + eid + "' topic[text]:'registry.teams'"
                " message_key[text]:'k' payload[bytea]:'\\x7b7d'"),
        ("902", "table incidents.inbox: INSERT: message_id[text]:'" + eid + "' topic[text]:'registry.teams' "
                "event_type[text]:'e' outcome[text]:'handled' handled_at[timestamp with time zone]:'2026-12-03 "
                "17:20:00.2+00'"),
        ("902", "table incidents.incidents: INSERT: incident_id[text]:'x'"),
        ("903", "table feed.inbox: INSERT: message_id[text]:'it''s' topic[text]:'t'"),  # never committed here
        ("901", "COMMIT 901 (at 2026-12-03 17:20:00.123456+00)"),
        ("902", "COMMIT 902 (at 2026-12-03 17:20:00.2345+00)"),
    ]
    out, into = parse_commits(lines)
    assert out == {eid: datetime(2026, 12, 3, 17, 20, 0, 123456, tzinfo=UTC)}
    assert into == {("incidents", eid): datetime(2026, 12, 3, 17, 20, 0, 234500, tzinfo=UTC)}


def test_a_slow_row_found_its_relay_idle_when_the_relays_previous_mark_came_before_its_commit() -> None:
    m = Measures(relay_idle={"a": 1.5, "b": 0.2, "c": 9.0, "d": 0.01})
    samples = [Sample(1.0, "registry", "t", "e", "a"),  # previous mark 0.5 s before the commit: idle, woke late
               Sample(0.3, "registry", "t", "e", "b"),  # previous mark 0.1 s after it: busy with others
               Sample(0.05, "registry", "t", "e", "c"),  # fast: not counted
               Sample(0.4, "registry", "t", "e", "d")]
    assert idle_at_commit(m, samples) == (1, 2)
