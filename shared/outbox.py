"""The transactional outbox: events are written in the caller's transaction, with the state they describe.

``enqueue(conn, *events)`` must be called on the connection of the transaction that makes the change; the
relay (``shared.relay``) publishes the rows afterwards. Public counterparts (``Event.to_public``) become rows
of their own for the public topic, so the public feed is fed by the same guarantee.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import asyncpg

from shared.events import Event, to_kafka
from shared.telemetry import current_trace_carrier

INSERT_SQL = """
INSERT INTO outbox (event_id, topic, message_key, event_type, headers, payload, trace_context)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (event_id) DO NOTHING
"""


def _row(event: Event, trace_context: dict[str, str]) -> tuple[Any, ...]:
    key, value, headers = to_kafka(event)
    return (
        event.id,
        event.topic,
        key,
        event.event_type,
        {k: v.decode() for k, v in headers.items()},
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
        public = event.to_public()
        if public is not None:
            rows.append(_row(public, carrier))
    await conn.executemany(INSERT_SQL, rows)
    await conn.execute("SELECT pg_notify(current_schema() || '_outbox', '')")


async def enqueue_raw(
    conn: asyncpg.Connection,
    *,
    event_id: Any,
    topic: str,
    key: str,
    event_type: str,
    headers: dict[str, str],
    payload: bytes,
) -> None:
    """An already-encoded message (a dead letter) through the same outbox and relay."""
    await conn.execute(INSERT_SQL, event_id, topic, key, event_type, headers, payload, current_trace_carrier())
    await conn.execute("SELECT pg_notify(current_schema() || '_outbox', '')")


async def mark_for_republish(
    conn: asyncpg.Connection, since: datetime, until: datetime, topics: Iterable[str] | None = None
) -> int:
    """Make published rows of a time range unpublished again, so the relay sends them once more.

    For a broker that lost its log: consumers' inboxes make the repeats harmless.
    """
    topic_list = list(topics) if topics else None
    result = await conn.execute(
        """UPDATE outbox SET published_at = NULL, lease_owner = NULL, lease_until = NULL
           WHERE created_at >= $1 AND created_at < $2 AND published_at IS NOT NULL
             AND ($3::text[] IS NULL OR topic = ANY($3))""",
        since,
        until,
        topic_list,
    )
    await conn.execute("SELECT pg_notify(current_schema() || '_outbox', '')")
    return int(result.split()[-1])


async def purge_published(conn: asyncpg.Connection, retention_days: int) -> int:
    """Delete rows published more than ``retention_days`` ago (kept until then for ``wardctl republish``).
    A scheduled job of every service (``outbox-retention``), one replica at a time."""
    result = await conn.execute(
        "DELETE FROM outbox WHERE published_at IS NOT NULL AND published_at < now() - make_interval(days => $1)",
        retention_days,
    )
    return int(result.split()[-1])
