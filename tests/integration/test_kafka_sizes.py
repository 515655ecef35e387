"""One limit of a Kafka message's size (``KAFKA_MAX_MESSAGE_BYTES``) for the producer, the consumers and the
outbox: an event the outbox accepts is published and consumed; a larger one is refused when it is enqueued."""

from __future__ import annotations

import json
from typing import Any, ClassVar

import asyncpg
import httpx
import pytest
from fastapi import APIRouter

from shared import outbox
from shared.consumer import EventConsumer, RawMessage
from shared.db import create_pool
from shared.events import Event, to_kafka
from shared.http import create_app
from shared.runtime import ServiceRuntime
from tests.conftest import settings_for
from tests.integration.conftest import eventually

pytestmark = pytest.mark.integration


class BulkyRecorded(Event):
    """Test event whose size the test chooses (lists of strings: each string stays under the 10 000 limit)."""

    event_type: ClassVar[str] = "registry.bulky.recorded.v1"
    topic: ClassVar[str] = "registry.wards"
    parts: list[str]


def bulky(size: int, subject: str = "b1") -> BulkyRecorded:
    return BulkyRecorded(ward_id="phu-son", subject=subject, parts=["x" * 9_000] * (size // 9_000))


def test_one_setting_drives_producer_consumer_and_outbox(probe_db):
    settings = settings_for("registry", probe_db, None, kafka_max_message_bytes=300_000)
    ServiceRuntime(settings)
    try:
        assert outbox.max_message_bytes() == 300_000
    finally:
        outbox.set_max_message_bytes(1_000_000)
    assert "consumer_max_payload_bytes" not in type(settings).model_fields


async def test_producer_and_consumer_limits_come_from_the_setting(probe_db, started):
    settings = settings_for("registry", probe_db, None, kafka_max_message_bytes=300_000)
    runtime = ServiceRuntime(settings)

    async def noop(conn: asyncpg.Connection, event: BulkyRecorded) -> None:
        return None

    runtime.consume({BulkyRecorded: noop})
    try:
        await started(runtime, wait_assigned=False)
        assert runtime.relay is not None and runtime.consumer is not None
        producer = runtime.relay.producer_factory()
        assert producer._max_request_size == 300_000
        assert runtime.consumer.max_payload_bytes == 300_000
    finally:
        outbox.set_max_message_bytes(1_000_000)


async def test_an_event_near_the_limit_is_published_and_consumed(probe_db, broker, started):
    """900 kB: within the default limit of 1 000 000, so the consumer must take what the producer sent (before,
    the producer sent up to 1 MiB and every consumer refused more than 256 kB)."""
    publisher = ServiceRuntime(settings_for("registry", probe_db, broker), publishes=[BulkyRecorded])
    consumer = ServiceRuntime(settings_for("incidents", probe_db, broker))

    async def on_bulky(conn: asyncpg.Connection, event: BulkyRecorded) -> None:
        await conn.execute("INSERT INTO probe_effects (event_id, subject, value) VALUES ($1, $2, $3)",
                           event.id, event.subject, len(event.parts))

    consumer.consume({BulkyRecorded: on_bulky})
    await started(publisher, wait_assigned=False)
    await started(consumer)
    event = bulky(900_000)
    assert 850_000 < len(to_kafka(event)[1]) < 1_000_000
    assert publisher.pool is not None
    async with publisher.pool.acquire() as conn, conn.transaction():
        await outbox.enqueue(conn, event)

    async def handled() -> bool:
        return await probe_db.fetchval("incidents", "SELECT count(*) FROM probe_effects WHERE event_id = $1",
                                       event.id) == 1

    await eventually(handled, timeout=60)
    assert await probe_db.fetchval("incidents", "SELECT count(*) FROM dead_letters") == 0


async def test_an_event_over_the_limit_is_refused_when_enqueued_and_nothing_is_written(probe_db, started):
    runtime = ServiceRuntime(settings_for("registry", probe_db, None), publishes=[BulkyRecorded])
    router = APIRouter()

    @router.post("/bulky")
    async def make_bulky() -> dict[str, str]:
        assert runtime.pool is not None
        async with runtime.pool.acquire() as conn, conn.transaction():
            await conn.execute("INSERT INTO probe_state (id, value) VALUES ('bulky', 1)")
            await outbox.enqueue(conn, bulky(1_100_000))
        return {"status": "ok"}

    app = create_app(runtime, [router], title="bulky")
    await started(runtime, wait_assigned=False)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.post("/bulky")
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"].endswith("event-too-large") and problem["limit"] == 1_000_000
    assert "registry.bulky.recorded.v1" in problem["detail"] and "KAFKA_MAX_MESSAGE_BYTES" in problem["detail"]
    assert await probe_db.fetchval("registry", "SELECT count(*) FROM probe_state") == 0
    assert await probe_db.fetchval("registry", "SELECT count(*) FROM outbox") == 0


async def test_a_message_over_the_limit_is_dead_lettered_without_its_value(probe_db):
    """A consumer refuses a message over its limit; the dead letter carries the headers, not the value, so that
    the dead-letter row can itself be published."""
    pool = await create_pool(probe_db.app_url("incidents"), "incidents", min_size=1, max_size=2)
    outbox.set_max_message_bytes(300_000)
    try:
        async def never(conn: asyncpg.Connection, event: Any) -> None:
            raise AssertionError("an oversized message must not reach its handler")

        consumer = EventConsumer("incidents", pool, {BulkyRecorded: never}, dead_letter_topic="incidents.dead-letter",
                                 max_payload_bytes=300_000)
        event = bulky(400_000)
        key, value, headers = to_kafka(event)
        await consumer.handle_batch([RawMessage("registry.wards", 0, 7, key.encode(), value, tuple(headers.items()))])
    finally:
        outbox.set_max_message_bytes(1_000_000)
        await pool.close()
    dead = await probe_db.fetch("incidents", "SELECT error FROM dead_letters")
    assert len(dead) == 1 and "exceeds the limit of 300000" in dead[0]["error"]
    row = (await probe_db.fetch("incidents", "SELECT payload, headers FROM outbox WHERE topic = 'incidents.dead-letter'"))[0]
    assert bytes(row["payload"]) == b""
    headers = json.loads(row["headers"])
    assert "over KAFKA_MAX_MESSAGE_BYTES" in headers["dlq_payload_dropped"]
    assert headers["ce_id"] == str(event.id)
