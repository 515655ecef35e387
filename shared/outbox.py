"""The transactional outbox: events are written in the caller's transaction, with the state they describe.

``enqueue(conn, *events)`` must be called on the connection of the transaction that makes the change; the
relay (``shared.relay``) publishes the rows afterwards. Public counterparts (``Event.public_copies``) become rows
of their own for the public topic, so the public feed is fed by the same guarantee.

An event larger than ``KAFKA_MAX_MESSAGE_BYTES`` (measured as the producer will measure it) is refused here,
when it is enqueued: the change that would publish it is rolled back with a clear error, instead of a row that
the producer would refuse at publish time, again and again, holding back its aggregate's later events.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import asyncpg
from aiokafka.record.default_records import DefaultRecordBatchBuilder

from shared.errors import ProblemError
from shared.events import MAX_MESSAGE_BYTES, Event, to_kafka
from shared.telemetry import current_trace_carrier

INSERT_SQL = """
INSERT INTO outbox (event_id, topic, message_key, event_type, headers, payload, trace_context)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (event_id) DO NOTHING
"""


#: Room kept for the headers the relay adds when it publishes (``traceparent`` and ``tracestate``).
TRACE_HEADERS_ALLOWANCE = 600
_max_message_bytes = MAX_MESSAGE_BYTES


class EventTooLarge(ProblemError):
    """The change would publish an event larger than a Kafka message may be: nothing is written."""

    status, title, type_suffix = 422, "Event too large", "event-too-large"


def set_max_message_bytes(limit: int) -> None:
    """The service's ``KAFKA_MAX_MESSAGE_BYTES`` (set by the runtime; one value per process)."""
    global _max_message_bytes
    _max_message_bytes = limit


def max_message_bytes() -> int:
    return _max_message_bytes


def message_size(key: str, value: bytes, headers: dict[str, str]) -> int:
    """The size the producer checks against ``max_request_size``, with room for the trace headers."""
    return TRACE_HEADERS_ALLOWANCE + DefaultRecordBatchBuilder.estimate_size_in_bytes(
        key.encode(), value, [(k, v.encode()) for k, v in headers.items()])


def _row(event: Event, trace_context: dict[str, str]) -> tuple[Any, ...]:
    key, value, headers = to_kafka(event)
    text_headers = {k: v.decode() for k, v in headers.items()}
    size = message_size(key, value, text_headers)
    if size > _max_message_bytes:
        raise EventTooLarge(
            f"the {event.event_type} event this change would publish is {size} bytes, over the limit of "
            f"{_max_message_bytes} (KAFKA_MAX_MESSAGE_BYTES); nothing was changed",
            extra={"event_type": event.event_type, "size": size, "limit": _max_message_bytes},
        )
    return (
        event.id,
        event.topic,
        key,
        event.event_type,
        text_headers,
        value,
        trace_context,
    )


async def enqueue(conn: asyncpg.Connection, *events: Event) -> None:
    """Add events (and their public counterparts) to the outbox, inside the caller's transaction."""
    if not conn.is_in_transaction():
        raise RuntimeError("outbox.enqueue must run inside the transaction that makes the change")
    carrier = current_trace_carrier()
    rows = []
    for event in events:
        rows.append(_row(event, carrier))
        rows += [_row(public, carrier) for public in event.public_copies()]
    await conn.executemany(INSERT_SQL, rows)  # the insert wakes the relay (trigger outbox_notify, at commit)


async def enqueue_raw(
    conn: asyncpg.Connection,
    *,
    event_id: Any,
    topic: str,
    key: str,
    event_type: str,
    headers: dict[str, str],
    payload: bytes,
    trace_context: dict[str, str] | None = None,
) -> None:
    """An already-encoded message (a dead letter, a redrive) through the same outbox and relay. ``trace_context``
    (W3C traceparent/tracestate) defaults to the current span's.

    A message too large to publish goes without its value (a header says so): the dead-letter record and its
    headers still tell what it was, and an oversized row would block the relay."""
    if message_size(key, payload, headers) > _max_message_bytes:
        headers = {**headers, "dlq_payload_dropped": f"{len(payload)} bytes, over KAFKA_MAX_MESSAGE_BYTES"}
        payload = b""
    carrier = trace_context if trace_context is not None else current_trace_carrier()
    await conn.execute(INSERT_SQL, event_id, topic, key, event_type, headers, payload, carrier)


#: Rows made unpublished by one statement of ``mark_for_republish`` (each well inside the pool's command timeout).
REPUBLISH_CHUNK = 20_000


async def mark_for_republish(
    conn: asyncpg.Connection,
    since: datetime,
    until: datetime,
    topics: Iterable[str] | None = None,
    *,
    chunk: int = REPUBLISH_CHUNK,
) -> int:
    """Make published rows of a time range unpublished again, so the relay sends them once more, in ``seq`` order.

    For a broker that lost its log: consumers' inboxes make the repeats harmless. The range is marked ``chunk`` rows
    of ``seq`` at a time, each chunk in a transaction of its own (a savepoint when the caller holds one) that wakes
    the relay: one UPDATE of 2M rows ran past the 30 s command timeout and refilled nothing, where chunks let the
    relay send the first rows while the last are being marked.
    """
    topic_list = list(topics) if topics else None
    bounds = await conn.fetchrow(
        "SELECT min(seq) AS lo, max(seq) AS hi FROM outbox WHERE created_at >= $1 AND created_at < $2", since, until
    )
    if bounds["lo"] is None:
        return 0
    marked = 0
    for start in range(bounds["lo"], bounds["hi"] + 1, chunk):
        async with conn.transaction():
            result = await conn.execute(
                """UPDATE outbox SET published_at = NULL, lease_owner = NULL, lease_until = NULL
                   WHERE seq >= $4 AND seq < $5
                     AND created_at >= $1 AND created_at < $2 AND published_at IS NOT NULL
                     AND ($3::text[] IS NULL OR topic = ANY($3))""",
                since,
                until,
                topic_list,
                start,
                start + chunk,
            )
            await conn.execute("SELECT pg_notify(current_schema() || '_outbox', '')")
        marked += int(result.split()[-1])
    return marked


async def purge_published(conn: asyncpg.Connection, retention_days: int) -> int:
    """Delete rows published more than ``retention_days`` ago (kept until then for ``wardctl republish``).
    A scheduled job of every service (``outbox-retention``), one replica at a time."""
    result = await conn.execute(
        "DELETE FROM outbox WHERE published_at IS NOT NULL AND published_at < now() - make_interval(days => $1)",
        retention_days,
    )
    return int(result.split()[-1])
