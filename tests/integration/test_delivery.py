"""The outbox, the relay, the inbox and the dead-letter topic against real PostgreSQL and tansu."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest

from shared.events import PUBLIC_TOPIC, to_kafka
from shared.relay import OutboxRelay, make_producer
from tests.conftest import auth, settings_for
from tests.integration.conftest import eventually
from tests.integration.probe import ProbeRecorded, consumer_runtime, publisher_app
from tests.kafka_helpers import header, produce, read_topic

pytestmark = pytest.mark.integration


async def _post(app, body: dict, **headers: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://probe") as client:
        return await client.post("/probe", json=body, headers={**auth("ward_official"), **headers})


async def test_committed_change_is_published_and_rolled_back_one_is_not(probe_db, broker, started):
    app, runtime = publisher_app(settings_for("registry", probe_db, broker))
    await started(runtime)
    ok = await _post(app, {"id": "kept", "value": 1})
    assert ok.status_code == 201
    failed = await _post(app, {"id": "gone", "value": 2, "fail": True})
    assert failed.status_code == 500
    assert failed.headers["content-type"] == "application/problem+json"
    assert await probe_db.fetchval("registry", "SELECT count(*) FROM probe_state WHERE id = 'gone'") == 0

    records = await read_topic(broker.bootstrap, "registry.wards", min_count=1, timeout=20)
    await eventually(lambda: _published(probe_db))
    records = await read_topic(broker.bootstrap, "registry.wards", min_count=1, timeout=5)
    keys = [r.key.decode() for r in records]
    assert keys == ["kept"]
    rec = records[0]
    assert header(rec, "ce_type") == "registry.probe.recorded.v1"
    assert header(rec, "ce_specversion") == "1.0"
    assert header(rec, "ce_subject") == "kept"
    assert header(rec, "ce_source") == "urn:ward-platform:registry"
    assert header(rec, "content-type") == "application/json"
    assert header(rec, "ce_id") and header(rec, "ce_time") and header(rec, "traceparent")
    assert json.loads(rec.value)["value"] == 1


async def _published(db) -> bool:
    return await db.fetchval("registry", "SELECT count(*) = 0 FROM outbox WHERE published_at IS NULL")


async def test_public_topic_gets_the_public_model_only(probe_db, broker, started):
    app, runtime = publisher_app(settings_for("registry", probe_db, broker))
    await started(runtime)
    assert (await _post(app, {"id": "p1", "value": 7})).status_code == 201
    records = await read_topic(broker.bootstrap, PUBLIC_TOPIC, min_count=1, timeout=20)
    assert len(records) == 1
    body = json.loads(records[0].value)
    assert body["value"] == 7
    assert "secret_note" not in body and b"CCCD" not in records[0].value
    assert header(records[0], "ce_type") == "public.registry.probe.recorded.v1"


async def test_event_delivered_to_another_service_and_duplicates_handled_once(probe_db, broker, started):
    app, publisher = publisher_app(settings_for("registry", probe_db, broker))
    await started(publisher)
    consumer = await started(consumer_runtime(settings_for("incidents", probe_db, broker)))
    assert (await _post(app, {"id": "a1", "value": 10})).status_code == 201

    async def handled() -> bool:
        return await probe_db.fetchval("incidents", "SELECT count(*) FROM probe_effects") == 1

    await eventually(handled)
    # The same event delivered twice more (a redelivery, a republish): it changes nothing.
    records = await read_topic(broker.bootstrap, "registry.wards", min_count=1)
    for _ in range(2):
        await produce(broker.bootstrap, "registry.wards", records[0].value, key=records[0].key,
                      headers=list(records[0].headers))
    marker = ProbeRecorded(ward_id="phu-son", subject="after", value=11)
    key, value, headers = to_kafka(marker)
    await produce(broker.bootstrap, "registry.wards", value, key=key.encode(), headers=list(headers.items()))
    await eventually(lambda: _has_effect(probe_db, "after"))
    assert await probe_db.fetchval("incidents", "SELECT count(*) FROM probe_effects WHERE subject = 'a1'") == 1
    assert consumer.consumer is not None


async def _has_effect(db, subject: str) -> bool:
    return bool(await db.fetchval("incidents", "SELECT count(*) FROM probe_effects WHERE subject = $1", subject))


async def test_poison_messages_go_to_dead_letter_and_the_next_is_handled(probe_db, broker, started):
    await started(consumer_runtime(settings_for("incidents", probe_db, broker), fail_values={666}))
    good = ProbeRecorded(ward_id="phu-son", subject="good", value=1)
    bad_handler = ProbeRecorded(ward_id="phu-son", subject="bad", value=666)
    _, gv, gh = to_kafka(good)
    _, bv, bh = to_kafka(bad_handler)
    unknown_headers = dict(gh, ce_type=b"registry.probe.recorded.v9", ce_id=str(uuid.uuid4()).encode())
    garbage_type = dict(gh, ce_type=b"no version here", ce_id=str(uuid.uuid4()).encode())
    invalid_body = gv.replace(b'"value":1', b'"value":"one"')
    invalid_headers = dict(gh, ce_id=str(uuid.uuid4()).encode())
    assert invalid_body != gv
    # all on one key, so one partition: the order is the order of this list
    await produce(broker.bootstrap, "registry.wards", b"{not json", key=b"k", headers=list(gh.items()))
    await produce(broker.bootstrap, "registry.wards", gv, key=b"k", headers=list(unknown_headers.items()))
    await produce(broker.bootstrap, "registry.wards", gv, key=b"k", headers=list(garbage_type.items()))
    await produce(broker.bootstrap, "registry.wards", invalid_body, key=b"k", headers=list(invalid_headers.items()))
    await produce(broker.bootstrap, "registry.wards", bv, key=b"k", headers=list(bh.items()))
    await produce(broker.bootstrap, "registry.wards", gv, key=b"k", headers=list(gh.items()))

    await eventually(lambda: _has_effect(probe_db, "good"))
    dead = await read_topic(broker.bootstrap, "incidents.dead-letter", min_count=4, timeout=20)
    assert len(dead) == 4
    errors = sorted(header(r, "dlq_error") for r in dead)
    assert any("not a CloudEvents" in e or "undecodable" in e for e in errors)
    assert any("unknown event type 'no version here'" in e for e in errors)  # not a versioned type: garbage
    assert any("registry.probe.recorded.v1 failed validation" in e for e in errors)  # known type, invalid body
    assert any("handler refuses value 666" in e for e in errors)
    assert not any("recorded.v9" in e for e in errors)  # a well-formed type it does not know: parked, below
    assert {r.value for r in dead} == {b"{not json", gv, invalid_body, bv}  # the original messages
    assert all(header(r, "dlq_original_topic") == "registry.wards" for r in dead)
    handled_bad = [r for r in dead if header(r, "dlq_attempts") == "3"]
    assert len(handled_bad) == 1  # the failing handler was tried the bounded number of times
    assert await probe_db.fetchval("incidents", "SELECT count(*) FROM dead_letters") == 4
    parked = await probe_db.fetch("incidents", "SELECT message_id, event_type, payload FROM parked_events")
    assert [(r["message_id"], r["event_type"], bytes(r["payload"])) for r in parked] == [
        (unknown_headers["ce_id"].decode(), "registry.probe.recorded.v9", gv)]


async def test_two_relays_on_one_outbox_publish_every_row_once(probe_db, broker):
    from shared import outbox
    from shared.db import create_pool

    settings = settings_for("registry", probe_db, broker)
    pool = await create_pool(settings.database_url, "registry")
    events = [ProbeRecorded(ward_id="phu-son", subject=f"agg-{i % 7}", value=i) for i in range(300)]
    async with pool.acquire() as conn, conn.transaction():
        await outbox.enqueue(conn, *events)
    relays = [OutboxRelay(pool, "registry", lambda: make_producer(broker.bootstrap), batch_size=20) for _ in range(2)]
    import asyncio

    counts = [0, 0]

    async def drain(i: int) -> None:
        while True:
            n = await relays[i].publish_once()
            counts[i] += n
            if n == 0 and await relays[i].backlog() == 0:
                return

    await asyncio.gather(drain(0), drain(1))
    for r in relays:
        await r.stop()
    await pool.close()
    assert sum(counts) == 600  # 300 events + their 300 public counterparts, each exactly once
    assert all(c > 0 for c in counts), counts  # both replicas took part
    records = await read_topic(broker.bootstrap, "registry.wards", min_count=300)
    assert len(records) == 300
    # one aggregate's events stay in order across the two relays
    by_key: dict[str, list[int]] = {}
    for r in sorted(records, key=lambda r: (r.partition, r.offset)):
        by_key.setdefault(r.key.decode(), []).append(json.loads(r.value)["value"])
    assert all(v == sorted(v) for v in by_key.values())


async def test_relay_killed_mid_batch_loses_nothing(probe_db, broker):
    """A relay that claimed a batch and died before marking it: after its lease, another publishes it all."""
    from shared import outbox
    from shared.db import create_pool

    pool = await create_pool(probe_db.app_url("registry"), "registry")
    events = [ProbeRecorded(ward_id="phu-son", subject=f"k{i}", value=i) for i in range(50)]
    async with pool.acquire() as conn, conn.transaction():
        await outbox.enqueue(conn, *events)
    dying = OutboxRelay(pool, "registry", lambda: make_producer(broker.bootstrap), batch_size=30, lease_s=1.0)
    claimed = await dying.claim()  # claimed, then the process "dies": never published, never marked
    assert len(claimed) == 30
    survivor = OutboxRelay(pool, "registry", lambda: make_producer(broker.bootstrap), batch_size=100, lease_s=1.0)
    first = await survivor.publish_once()
    assert first == 70  # the leased rows are not touched while the lease holds
    import asyncio

    await asyncio.sleep(1.2)
    assert await survivor.publish_once() == 30
    await survivor.stop()
    await dying.stop()
    await pool.close()
    records = await read_topic(broker.bootstrap, "registry.wards", min_count=50)
    assert sorted(json.loads(r.value)["value"] for r in records) == list(range(50))


async def test_one_relay_pipelines_batches_and_keeps_each_key_in_order(probe_db, broker):
    """Several batches a cycle, the next claimed while the last is in flight: every row once, each key in order."""
    from shared import outbox
    from shared.db import create_pool

    pool = await create_pool(probe_db.app_url("registry"), "registry")
    events = [ProbeRecorded(ward_id="phu-son", subject=f"piped-{i % 5}", value=i) for i in range(200)]
    async with pool.acquire() as conn, conn.transaction():
        await outbox.enqueue(conn, *events)
    relay = OutboxRelay(pool, "registry", lambda: make_producer(broker.bootstrap), batch_size=15, max_batches=4)
    cycles = []
    while n := await relay.publish_once():
        cycles.append(n)
    await relay.stop()
    await pool.close()
    assert sum(cycles) == 400 and cycles[0] == 60  # four batches of 15 in the first cycle
    records = await read_topic(broker.bootstrap, "registry.wards", min_count=200)
    by_key: dict[str, list[int]] = {}
    for r in sorted(records, key=lambda r: (r.partition, r.offset)):
        if r.key.decode().startswith("piped-"):
            by_key.setdefault(r.key.decode(), []).append(json.loads(r.value)["value"])
    assert sorted(len(v) for v in by_key.values()) == [40] * 5
    assert all(v == sorted(v) for v in by_key.values())


async def test_claim_takes_later_rows_of_own_keys_in_flight_never_of_another_relays(probe_db, broker):
    """Migration shared/0009: a relay's own rows in flight do not hold back its next claim of the same key; another
    relay's do, and so do the leases a relay leaves behind when its cycle fails (it takes a new name)."""
    from shared import outbox
    from shared.db import create_pool

    pool = await create_pool(probe_db.app_url("registry"), "registry")
    events = [ProbeRecorded(ward_id="phu-son", subject=f"own-{i % 2}", value=i) for i in range(8)]
    async with pool.acquire() as conn, conn.transaction():
        await outbox.enqueue(conn, *events)
    a = OutboxRelay(pool, "registry", lambda: make_producer(broker.bootstrap), batch_size=4)
    b = OutboxRelay(pool, "registry", lambda: make_producer(broker.bootstrap), batch_size=100)
    first = await a.claim()
    assert len(first) == 4
    held = {r["message_key"] for r in first}
    assert not {r["message_key"] for r in await b.claim()} & held  # B takes none of A's keys in flight
    second = await a.claim()
    assert {r["message_key"] for r in second} & held  # A goes on with its own keys
    assert min(r["seq"] for r in second) > max(r["seq"] for r in first if r["message_key"] in held)
    await a._abandon(None, None, ConnectionError("broker gone"))  # a failed cycle: A is another relay now
    assert not {r["message_key"] for r in await a.claim()} & held
    await a.stop()
    await b.stop()
    await pool.close()


async def test_claim_after_a_republish_probes_the_leased_rows_by_key_whatever_the_statistics(db):
    """Migration shared/0009: analysed while every row was published, then made unpublished at once (``wardctl
    republish``), the outbox must still be claimed through the leased rows' index, one probe per candidate by its key:
    the plan PostgreSQL chose before read the whole backlog for every candidate (60 s a claim at 200k rows)."""
    import asyncpg

    from shared import outbox
    from shared.db import create_pool

    owner = await asyncpg.connect(db.owner_url("registry"))
    await owner.execute(
        """INSERT INTO registry.outbox (event_id, topic, message_key, event_type, headers, payload, published_at)
           SELECT gen_random_uuid(), 'registry.wards', 'agg-' || (i % 16), 'x.v1', '{}', '\\x00', now()
           FROM generate_series(1, 3000) i""")
    await owner.execute("VACUUM (ANALYZE) registry.outbox")
    await owner.close()
    pool = await create_pool(db.app_url("registry"), "registry")
    from datetime import UTC, datetime, timedelta

    async with pool.acquire() as conn, conn.transaction():
        now = datetime.now(UTC)
        assert await outbox.mark_for_republish(conn, now - timedelta(days=1), now + timedelta(days=1)) == 3000
    await pool.fetch("SELECT seq FROM outbox_claim(100, 'another-relay', 30)")  # rows of every key in flight elsewhere
    await pool.close()

    admin = await asyncpg.connect(db.admin_url)  # auto_explain is loaded by a superuser
    plans: list[str] = []
    admin.add_log_listener(lambda _conn, message: plans.append(message.message))
    await admin.execute("""SET search_path TO registry; LOAD 'auto_explain';
        SET auto_explain.log_min_duration = 0; SET auto_explain.log_nested_statements = on;
        SET auto_explain.log_analyze = on; SET auto_explain.log_level = notice""")
    claimed = await admin.fetch("SELECT seq FROM outbox_claim(500, 'this-relay', 30)")
    await admin.close()
    assert claimed == []  # every key has an earlier row leased to another relay
    plan = next(p for p in plans if "outbox_leased_key" in p)
    import re

    assert re.search(r"Index Scan using outbox_leased_key on outbox p .*\n\s*Index Cond: \(\(message_key = o(_\d)?\."
                     r"message_key\) AND \(seq < o(_\d)?\.seq\)\)", plan), plan
    assert "Index Scan using outbox_unpublished on outbox p" not in plan, plan


async def test_republish_marks_a_range_in_chunks_and_nothing_outside_it(db):
    """``mark_for_republish`` in chunks of ``seq`` (each committed: one UPDATE of 2M rows outlived the command
    timeout): exactly the published rows of the range and topics, whatever the chunk size."""
    import asyncpg

    from shared import outbox

    owner = await asyncpg.connect(db.owner_url("registry"))
    await owner.execute(
        """INSERT INTO registry.outbox (event_id, topic, message_key, event_type, headers, payload, created_at,
                                        published_at)
           SELECT gen_random_uuid(), CASE WHEN i % 5 = 0 THEN 'public.ward-events' ELSE 'registry.wards' END,
                  'k' || i, 'x.v1', '{}', '\\x00',
                  CASE WHEN i <= 10 THEN now() - interval '3 days' ELSE now() END,
                  CASE WHEN i % 9 = 0 THEN NULL ELSE now() END
           FROM generate_series(1, 100) i""")
    await owner.close()
    from datetime import UTC, datetime, timedelta

    conn = await db.connect("registry")
    now = datetime.now(UTC)
    n = await outbox.mark_for_republish(conn, now - timedelta(days=1), now + timedelta(days=1), ["registry.wards"],
                                        chunk=7)
    in_range = [i for i in range(11, 101) if i % 5 and i % 9]  # published, this topic, in the range
    assert n == len(in_range)
    unpublished = await conn.fetch("SELECT message_key FROM outbox WHERE published_at IS NULL ORDER BY seq")
    assert [r["message_key"] for r in unpublished] == [f"k{i}" for i in range(1, 101) if i in in_range or i % 9 == 0]
    assert await outbox.mark_for_republish(conn, now - timedelta(days=1), now + timedelta(days=1), chunk=1000) == 16  # the public ones
    await conn.close()
