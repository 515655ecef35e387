"""Scheduled checks of the awards service."""

from __future__ import annotations

import asyncpg

from services.awards import commands
from shared.clock import ward_today


async def evaluate_criteria(conn: asyncpg.Connection) -> int:
    """Daily: apply this year's criteria of every ward, so new achievements are proposed without waiting for an
    official to ask (officials can still run it at once: ``POST /v1/wards/{w}/nominations/evaluate``)."""
    year = ward_today().year
    wards = await conn.fetch("SELECT DISTINCT ward_id FROM criteria WHERE year = $1 ORDER BY ward_id", year)
    proposed = 0
    for row in wards:
        proposed += len(await commands.evaluate_criteria(conn, row["ward_id"], year))
    return proposed
