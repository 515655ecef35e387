"""SQL of the feed schema: the public events in feed order, the subscribers and their API keys.

Rows come back as plain dicts; the in-memory fakes of tests/feed/fakes.py answer the same, and one handler suite
runs over both.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from services.feed.domain import Filter
from shared.errors import Conflict
from shared.events import CE_SOURCE_PREFIX, PublicEvent
from shared.paging import Keyset, PageRequest

SUBSCRIBERS_BY_CREATION = Keyset.of("created_at:timestamptz", "subscriber_id:text")
#: Channel of the NOTIFY every append sends (delivered at commit): long-polls, streams and the webhook worker wake.
NOTIFY_CHANNEL = "feed_events"
_APPEND_LOCK = "feed:append"
_EVENT_COLUMNS = "seq, event_id, ward_id, event_type, subject, source, time, data"


def _dict(row: asyncpg.Record | None) -> dict[str, Any] | None:
    return None if row is None else dict(row)


def _event(row: asyncpg.Record) -> dict[str, Any]:
    return dict(row)  # data: a dict already (the pool's jsonb codec)


class FeedEventRepository:
    """Every public event once, in ``seq`` order (the cursor's)."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def append(self, event: PublicEvent) -> bool:
        """Append the event unless it is there (by id). Appends are serialised so that they commit in ``seq``
        order; each one NOTIFYs at commit. True when it was new."""
        await self.conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", _APPEND_LOCK)
        seq = await self.conn.fetchval(
            """INSERT INTO feed_events (event_id, ward_id, event_type, subject, source, time, data)
               VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb) ON CONFLICT (event_id) DO NOTHING RETURNING seq""",
            event.id, event.ward_id, event.event_type, event.subject, f"{CE_SOURCE_PREFIX}{event.source_service}",
            event.occurred_at, event.model_dump(mode="json"),
        )
        if seq is None:
            return False
        await self.conn.execute("SELECT pg_notify($1, '')", NOTIFY_CHANNEL)
        return True

    async def after(self, seq: int, limit: int, where: Filter) -> list[dict[str, Any]]:
        """At most ``limit`` events after ``seq`` that ``where`` admits, in order."""
        rows = await self.conn.fetch(
            f"SELECT {_EVENT_COLUMNS} FROM feed_events WHERE seq > $1 AND ward_id = ANY($2::text[]) "  # noqa: S608
            "AND ($3::text[] IS NULL OR event_type = ANY($3::text[])) ORDER BY seq LIMIT $4",
            seq, list(where.wards), None if where.event_types is None else list(where.event_types), limit,
        )
        return [_event(r) for r in rows]

    async def get(self, event_id: str) -> dict[str, Any] | None:
        row = await self.conn.fetchrow(f"SELECT {_EVENT_COLUMNS} FROM feed_events WHERE event_id = $1::uuid",  # noqa: S608
                                       event_id)
        return None if row is None else _event(row)

    async def last_seq(self) -> int:
        return int(await self.conn.fetchval("SELECT COALESCE(max(seq), 0) FROM feed_events"))


class SubscriberRepository:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def add(self, row: dict[str, Any]) -> None:
        try:
            await self.conn.execute(
                """INSERT INTO subscribers (subscriber_id, name, wards, event_types, oauth_client_id, created_by)
                   VALUES ($1, $2, $3, $4, $5, $6)""",
                row["subscriber_id"], row["name"], row["wards"], row["event_types"], row["oauth_client_id"],
                row["created_by"])
        except asyncpg.UniqueViolationError as exc:
            raise Conflict("another subscriber already has this oauth_client_id") from exc

    async def get(self, subscriber_id: str) -> dict[str, Any] | None:
        return _dict(await self.conn.fetchrow("SELECT * FROM subscribers WHERE subscriber_id = $1", subscriber_id))

    async def by_client(self, oauth_client_id: str) -> dict[str, Any] | None:
        return _dict(await self.conn.fetchrow("SELECT * FROM subscribers WHERE oauth_client_id = $1",
                                              oauth_client_id))

    async def page(self, ward_id: str | None, page: PageRequest) -> list[dict[str, Any]]:
        """Subscribers all of whose wards are ``ward_id`` (every subscriber when None)."""
        args: list[Any] = []
        where: list[str] = []
        if ward_id is not None:
            args.append([ward_id])
            where.append("wards <@ $1::text[]")
        rows = await self.conn.fetch(SUBSCRIBERS_BY_CREATION.query("SELECT * FROM subscribers", where, args, page),
                                     *args)
        return [dict(r) for r in rows]

    async def disable(self, subscriber_id: str) -> None:
        await self.conn.execute(
            "UPDATE subscribers SET status = 'disabled', disabled_at = COALESCE(disabled_at, now()) "
            "WHERE subscriber_id = $1", subscriber_id)

    async def count_use(self, subscriber_id: str) -> None:
        await self.conn.execute(
            "UPDATE subscribers SET use_count = use_count + 1, last_used_at = now() WHERE subscriber_id = $1",
            subscriber_id)


class ApiKeyRepository:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def add(self, key_id: str, subscriber_id: str, key_hash: bytes, created_by: str) -> dict[str, Any]:
        row = await self.conn.fetchrow(
            "INSERT INTO api_keys (key_id, subscriber_id, key_hash, created_by) VALUES ($1, $2, $3, $4) "
            "RETURNING key_id, created_at", key_id, subscriber_id, key_hash, created_by)
        return dict(row)

    async def get(self, key_id: str) -> dict[str, Any] | None:
        return _dict(await self.conn.fetchrow("SELECT * FROM api_keys WHERE key_id = $1", key_id))

    async def of(self, subscriber_id: str) -> list[dict[str, Any]]:
        rows = await self.conn.fetch(
            "SELECT key_id, created_at, revoked_at, last_used_at, use_count FROM api_keys "
            "WHERE subscriber_id = $1 ORDER BY created_at, key_id", subscriber_id)
        return [dict(r) for r in rows]

    async def revoke(self, key_id: str) -> None:
        await self.conn.execute("UPDATE api_keys SET revoked_at = COALESCE(revoked_at, now()) WHERE key_id = $1",
                                key_id)

    async def count_use(self, key_id: str) -> None:
        await self.conn.execute(
            "UPDATE api_keys SET use_count = use_count + 1, last_used_at = now() WHERE key_id = $1", key_id)
