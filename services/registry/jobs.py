"""Scheduled checks of the registry, each run by one replica at a time (``ServiceRuntime.every``)."""

from __future__ import annotations

from datetime import date

import asyncpg

from services.registry import repository
from shared import clock, outbox
from shared.contracts.registry import TemporaryResidenceExpired


async def expire_temporary_residences(conn: asyncpg.Connection, today: date | None = None) -> int:
    """Mark every active temporary residence whose last valid day has passed as expired, with one
    ``TemporaryResidenceExpired`` each. The status change and the event share this transaction, so a declaration
    is expired (and announced) exactly once however often and on however many replicas the job runs."""
    today = today or clock.ward_today()
    rows = await repository.due_for_expiry(conn, today)
    for row in rows:
        await conn.execute("UPDATE declarations SET status = 'expired' WHERE id = $1", row["id"])
        await outbox.enqueue(conn, TemporaryResidenceExpired(
            ward_id=row["ward_id"], subject=row["id"], declaration_id=row["id"], resident_id=row["resident_id"],
            group_id=row["group_id"], expired_on=row["valid_until"]))
    return len(rows)
