"""Broker outages, a broker that lost its log, and database failures under the consumer."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from shared.db import create_pool
from shared.devstack.stack import TansuBroker, create_topics
from shared.events import to_kafka
from shared.outbox import mark_for_republish
from tests.conftest import auth, settings_for
from tests.integration.conftest import eventually
from tests.integration.probe import ProbeRecorded, consumer_runtime, publisher_app
from tests.kafka_helpers import produce

pytestmark = pytest.mark.integration


def _client(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url="http://t")


async def _effects(db) -> dict[str, int]:
    rows = await db.fetch("incidents", "SELECT subject, value FROM probe_effects")
    return {r["subject"]: r["value"] for r in rows}


async def test_commands_accepted_while_broker_down_arrive_after_restart_and_republish_refills_a_lost_log(
    probe_db, started
):
    broker = TansuBroker().start()
    await create_topics(broker.bootstrap)
    port = broker.port
    try:
        app, publisher = publisher_app(settings_for("registry", probe_db, broker))
        await started(publisher)
        consumer = await started(consumer_runtime(settings_for("incidents", probe_db, broker)))
        async with _client(app) as client:
            assert (await client.post("/probe", json={"id": "before", "value": 1}, headers=auth("ward_official"))).status_code == 201
            await eventually(lambda: _has(probe_db, "before"))

            # 1. The broker goes away. Commands are still accepted; their events wait in the outbox.
            broker.kill()
            for i in range(5):
                r = await client.post("/probe", json={"id": f"during-{i}", "value": 10 + i}, headers=auth("ward_official"))
                assert r.status_code == 201
            assert await probe_db.fetchval("registry", "SELECT count(*) FROM outbox WHERE published_at IS NULL") >= 5

            # 2. It comes back on the same port, empty (memory storage: its log is gone).
            broker = TansuBroker(port).start()
            await create_topics(broker.bootstrap)
            # Each event has its own key, so they come back on different partitions, in no order between them.
            await eventually(lambda: _count_is(probe_db, 6), timeout=90)
            assert sorted(await _effects(probe_db)) == ["before", *(f"during-{i}" for i in range(5))]

        # 3. The consumer's state is the reference. A new consumer database replays from the refilled log.
        reference = await _effects(probe_db)
        await consumer.stop()
        await probe_db.fetch("incidents", "DELETE FROM probe_effects")
        await probe_db.fetch("incidents", "DELETE FROM inbox")
        broker.kill()
        broker = TansuBroker(port).start()  # lost its log again
        await create_topics(broker.bootstrap)
        pool = await create_pool(probe_db.app_url("registry"), "registry")
        async with pool.acquire() as conn, conn.transaction():
            n = await mark_for_republish(conn, datetime.now(UTC) - timedelta(hours=1), datetime.now(UTC) + timedelta(minutes=1))
        await pool.close()
        assert n >= 12  # 6 events + their public copies
        fresh = await started(consumer_runtime(settings_for("incidents", probe_db, broker)))
        await eventually(lambda: _count_is(probe_db, len(reference)), timeout=90)
        # republishing twice more is harmless: the inbox absorbs the duplicates
        pool = await create_pool(probe_db.app_url("registry"), "registry")
        async with pool.acquire() as conn, conn.transaction():
            await mark_for_republish(conn, datetime.now(UTC) - timedelta(hours=1), datetime.now(UTC) + timedelta(minutes=1))
        await pool.close()
        await asyncio.sleep(3)
        assert await _effects(probe_db) == reference
        assert fresh is not None
    finally:
        broker.stop()


async def test_a_broker_back_without_its_topics_gets_none_created_by_the_relay_and_the_events_wait(probe_db, started):
    """tansu creates a topic on demand, with four partitions, when a client asks for its metadata. Consumers that
    joined with the list's three would not read the fourth; the relay must create nothing and wait for the stack to
    create the topics from deploy/topics.json."""
    from aiokafka.admin import AIOKafkaAdminClient

    broker = TansuBroker().start()  # no topics yet
    try:
        app, publisher = publisher_app(settings_for("registry", probe_db, broker))
        await started(publisher)
        async with _client(app) as client:
            r = await client.post("/probe", json={"id": "early", "value": 1}, headers=auth("ward_official"))
            assert r.status_code == 201

            async def held() -> bool:
                return await probe_db.fetchval(
                    "registry", "SELECT count(*) FROM outbox WHERE published_at IS NULL AND last_error = 'TopicNotCreated'") > 0

            await eventually(held, timeout=30)
            admin = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap)
            await admin.start()
            try:
                assert await admin.list_topics() == []  # nothing created by the relay's metadata requests
            finally:
                await admin.close()
            await create_topics(broker.bootstrap)

            async def sent() -> bool:
                return await probe_db.fetchval("registry", "SELECT count(*) FROM outbox WHERE published_at IS NULL") == 0

            await eventually(sent, timeout=30)
    finally:
        broker.stop()


async def _has(db, subject: str) -> bool:
    return bool(await db.fetchval("incidents", "SELECT count(*) FROM probe_effects WHERE subject = $1", subject))


async def _count_is(db, n: int) -> bool:
    return await db.fetchval("incidents", "SELECT count(*) FROM probe_effects") == n


async def test_database_failure_in_a_batch_is_retried_not_skipped(probe_db, broker, started, caplog):
    """A handler hitting an infrastructure error (the database went away) must not let a later commit skip it; the
    log says each event handled once, after its transaction committed (never for the batches rolled back)."""
    caplog.set_level("INFO", logger="ward.events")
    runtime = consumer_runtime(settings_for("incidents", probe_db, broker))
    failures = {"left": 3}
    original = runtime.handlers[ProbeRecorded]

    async def flaky(conn, event):
        if event.value == 2 and failures["left"] > 0:
            failures["left"] -= 1
            raise ConnectionError("database connection lost")
        await original(conn, event)

    runtime.handlers[ProbeRecorded] = flaky
    await started(runtime)
    for i in range(1, 4):
        key, value, headers = to_kafka(ProbeRecorded(ward_id="phu-son", subject=f"s{i}", value=i))
        await produce(broker.bootstrap, "registry.wards", value, key=b"same-partition", headers=list(headers.items()))
    await eventually(lambda: _count_is(probe_db, 3), timeout=60)
    assert failures["left"] == 0
    assert await _effects(probe_db) == {"s1": 1, "s2": 2, "s3": 3}
    assert await probe_db.fetchval("incidents", "SELECT count(*) FROM dead_letters") == 0
    handled = [r for r in caplog.records if r.name == "ward.events" and r.getMessage() == "event handled"]
    assert len(handled) == len({r.message_id for r in handled}) == 3
    assert {r.topic for r in handled} == {"registry.wards"} and all(len(r.trace_id) == 32 for r in handled)
