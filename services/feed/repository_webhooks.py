"""The SQL of webhooks (feed schema): the subscriber's management, and the worker's lease, attempts and position.

The worker holds a webhook's row lock (``FOR UPDATE SKIP LOCKED``) for the whole of one delivery, in one
transaction with what the attempt changes: the lock is the lease (one delivery in flight per webhook, whatever the
number of replicas), and a replica that dies mid-delivery changes nothing, so the event is sent again
(at-least-once) and never skipped.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from services.feed.repository import NOTIFY_CHANNEL
from shared.paging import Keyset, PageRequest

Row = dict[str, Any]
WEBHOOKS = Keyset.of("created_at:timestamptz", "webhook_id:text")
DELIVERIES = Keyset.of("attempted_at:timestamptz", "delivery_id:text", descending=True)

_MATCHES = ("(w.wards IS NULL OR e.ward_id = ANY (w.wards)) "
            "AND (w.event_types IS NULL OR e.event_type = ANY (w.event_types))")
_PUBLIC = ("webhook_id, subscriber_id, url, wards, event_types, status, paused_reason, position, failures, "
           "first_failed_at, next_attempt_at, created_at, updated_at")


class WebhookRepository:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    # -- the subscriber's management --------------------------------------------------------------------
    async def add(self, webhook_id: str, subscriber_id: str, url: str, wards: list[str] | None,
                  event_types: list[str] | None, secret_sealed: bytes, position: int) -> Row:
        row = await self.conn.fetchrow(
            "INSERT INTO webhooks (webhook_id, subscriber_id, url, wards, event_types, secret_sealed, position) "  # noqa: S608 - constant fragments
            f"VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {_PUBLIC}",
            webhook_id, subscriber_id, url, wards, event_types, secret_sealed, position)
        return dict(row)

    async def get(self, webhook_id: str) -> Row | None:
        row = await self.conn.fetchrow(f"SELECT {_PUBLIC} FROM webhooks WHERE webhook_id = $1", webhook_id)  # noqa: S608 - constant fragments
        return dict(row) if row else None

    async def page(self, subscriber_id: str, page: PageRequest) -> list[Row]:
        args: list[Any] = [subscriber_id]
        rows = await self.conn.fetch(
            WEBHOOKS.query(f"SELECT {_PUBLIC} FROM webhooks", ["subscriber_id = $1"], args, page), *args)  # noqa: S608 - constant fragments
        return [dict(r) for r in rows]

    async def set_status(self, webhook_id: str, status: str, reason: str | None) -> Row:
        """Pause (with a reason) or resume: a resumed webhook retries its held event now, with a fresh window."""
        row = await self.conn.fetchrow(
            "UPDATE webhooks SET status = $2, paused_reason = $3, updated_at = now(), "  # noqa: S608 - constant fragments
            "  failures = CASE WHEN $2 = 'active' THEN 0 ELSE failures END, "
            "  first_failed_at = CASE WHEN $2 = 'active' THEN NULL ELSE first_failed_at END, "
            "  next_attempt_at = CASE WHEN $2 = 'active' THEN now() ELSE next_attempt_at END "
            f"WHERE webhook_id = $1 RETURNING {_PUBLIC}", webhook_id, status, reason)
        if status == "active":
            await self.conn.execute("SELECT pg_notify($1, '')", NOTIFY_CHANNEL)  # wakes the workers
        return dict(row)

    async def set_secret(self, webhook_id: str, secret_sealed: bytes, *, previous_until: datetime) -> None:
        """The new secret; the one it replaces still signs until ``previous_until`` (one previous secret: a second
        rotation within the grace period ends the first one's)."""
        await self.conn.execute(
            "UPDATE webhooks SET previous_secret_sealed = secret_sealed, previous_secret_until = $3, "
            "secret_sealed = $2, updated_at = now() WHERE webhook_id = $1", webhook_id, secret_sealed, previous_until)

    async def deliveries(self, webhook_id: str, page: PageRequest) -> list[Row]:
        args: list[Any] = [webhook_id]
        rows = await self.conn.fetch(
            DELIVERIES.query("SELECT * FROM webhook_deliveries", ["webhook_id = $1"], args, page), *args)
        return [dict(r) for r in rows]

    async def delivery(self, webhook_id: str, delivery_id: str) -> Row | None:
        row = await self.conn.fetchrow(
            "SELECT * FROM webhook_deliveries WHERE webhook_id = $1 AND delivery_id = $2", webhook_id, delivery_id)
        return dict(row) if row else None

    async def request_redelivery(self, webhook_id: str, seq: int) -> None:
        await self.conn.execute("INSERT INTO webhook_redeliveries (webhook_id, seq) VALUES ($1, $2)", webhook_id, seq)
        await self.conn.execute("SELECT pg_notify($1, '')", NOTIFY_CHANNEL)  # wakes the workers

    # -- the worker ----------------------------------------------------------------------------------------
    async def lease(self, now: datetime) -> Row | None:
        """Lock one webhook of an active subscriber that has work: a redelivery asked for, or (active and due) an
        event past its position. Rows another replica holds are skipped."""
        row = await self.conn.fetchrow(
            "SELECT w.* FROM webhooks w "  # noqa: S608 - constant fragments
            "WHERE EXISTS (SELECT 1 FROM subscribers s WHERE s.subscriber_id = w.subscriber_id "
            "              AND s.status = 'active') "
            "AND (EXISTS (SELECT 1 FROM webhook_redeliveries r WHERE r.webhook_id = w.webhook_id) "
            "   OR (w.status = 'active' AND w.next_attempt_at <= $1 "
            f"      AND EXISTS (SELECT 1 FROM feed_events e WHERE e.seq > w.position AND {_MATCHES}))) "
            "ORDER BY w.next_attempt_at LIMIT 1 FOR UPDATE OF w SKIP LOCKED", now)
        return dict(row) if row else None

    async def held_event(self, webhook: Row) -> Row | None:
        row = await self.conn.fetchrow(
            "SELECT e.* FROM feed_events e, (SELECT $2::text[] AS wards, $3::text[] AS event_types) w "  # noqa: S608 - constant fragments
            f"WHERE e.seq > $1 AND {_MATCHES} ORDER BY e.seq LIMIT 1",
            webhook["position"], webhook["wards"], webhook["event_types"])
        return dict(row) if row else None

    async def take_redeliveries(self, webhook_id: str) -> list[Row]:
        rows = await self.conn.fetch(
            "WITH taken AS (DELETE FROM webhook_redeliveries WHERE webhook_id = $1 RETURNING redelivery_id, seq) "
            "SELECT e.* FROM taken JOIN feed_events e USING (seq) ORDER BY taken.redelivery_id", webhook_id)
        return [dict(r) for r in rows]

    async def log_attempt(self, attempt: Row) -> None:
        await self.conn.execute(
            "INSERT INTO webhook_deliveries (delivery_id, webhook_id, seq, event_id, event_type, attempt, manual, "
            "attempted_at, http_status, duration_ms, error, outcome) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            attempt["delivery_id"], attempt["webhook_id"], attempt["seq"], attempt["event_id"],
            attempt["event_type"], attempt["attempt"], attempt["manual"], attempt["attempted_at"],
            attempt["http_status"], attempt["duration_ms"], attempt["error"], attempt["outcome"])

    async def delivered(self, webhook_id: str, seq: int, now: datetime) -> None:
        await self.conn.execute(
            "UPDATE webhooks SET position = $2, failures = 0, first_failed_at = NULL, next_attempt_at = $3, "
            "updated_at = now() WHERE webhook_id = $1", webhook_id, seq, now)

    async def failed(self, webhook_id: str, failures: int, first_failed_at: datetime, retry_at: datetime) -> None:
        await self.conn.execute(
            "UPDATE webhooks SET failures = $2, first_failed_at = $3, next_attempt_at = $4, updated_at = now() "
            "WHERE webhook_id = $1", webhook_id, failures, first_failed_at, retry_at)

    async def gave_up(self, webhook_id: str, failures: int, first_failed_at: datetime, reason: str) -> None:
        await self.conn.execute(
            "UPDATE webhooks SET status = 'paused', paused_reason = $4, failures = $2, first_failed_at = $3, "
            "updated_at = now() WHERE webhook_id = $1", webhook_id, failures, first_failed_at, reason)
