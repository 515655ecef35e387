"""Scheduled checks of the donations service."""

from __future__ import annotations

import asyncpg

from services.donations import repository as repo
from shared import outbox
from shared.clock import ward_today
from shared.contracts.donations import PledgeInstalmentOverdue


async def flag_overdue_instalments(conn: asyncpg.Connection) -> int:
    """Flag, once each, the pledge instalments past their due date and unpaid; returns how many were flagged."""
    today = ward_today()
    flagged = 0
    for row in await repo.unflagged_overdue(conn, today):
        if await repo.flag_overdue(conn, row["pledge_id"], row["number"], today):
            flagged += 1
            await outbox.enqueue(conn, PledgeInstalmentOverdue(
                ward_id=row["ward_id"], subject=row["campaign_id"], pledge_id=row["pledge_id"],
                campaign_id=row["campaign_id"], instalment_number=row["number"], due_on=row["due_on"],
                amount_vnd=row["amount_vnd"], team_id=row["team_id"]))
    return flagged
