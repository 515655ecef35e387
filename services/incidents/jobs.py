"""Scheduled checks of the incidents service."""

from __future__ import annotations

from datetime import date

import asyncpg

from services.incidents import repository as repo
from services.incidents.domain import is_overdue
from shared import clock, outbox
from shared.contracts.incidents import IncidentOverdue


async def flag_overdue_tips(conn: asyncpg.Connection, today: date | None = None) -> int:
    """Flag crime tips past their deadline and emit IncidentOverdue once per deadline (an extended deadline
    that passes too is flagged again). Returns how many were flagged."""
    today = today or clock.ward_today()
    flagged = 0
    for inc in await repo.open_tips_past_deadline(conn, today):
        if not is_overdue(inc["state"], inc["deadline_on"], inc["overdue_flagged_on"], today):
            continue
        await repo.update_incident(conn, inc["incident_id"], overdue_flagged_on=inc["deadline_on"])
        await repo.add_transition(conn, inc["incident_id"], "flag_overdue", inc["state"], inc["state"], "scheduler",
                                  f"deadline {inc['deadline_on'].isoformat()} passed")
        await outbox.enqueue(conn, IncidentOverdue(
            ward_id=inc["ward_id"], subject=inc["incident_id"], incident_id=inc["incident_id"],
            group_id=inc["group_id"], category=inc["category"], deadline_on=inc["deadline_on"],
            received_at=inc["received_at"],
        ))
        flagged += 1
    return flagged
