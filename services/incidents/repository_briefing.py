"""The report queries of the monthly briefing (giao ban): one group's month, from this service's own tables and
its projections of registry and mediation events. ``briefing.py`` turns their rows into the document."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

import asyncpg

from shared.clock import WARD_TZ


def ward_midnight(day: date) -> datetime:
    """The instant a day of the ward's calendar begins."""
    return datetime.combine(day, time.min, tzinfo=WARD_TZ)


@dataclass(frozen=True)
class MonthRows:
    """What happened in one group in one month, as rows (dicts)."""

    incident_counts: list[dict[str, Any]]  # category, state, n
    overdue_tips: list[dict[str, Any]]
    warnings: list[dict[str, Any]]
    residences: list[dict[str, Any]]
    late_stays: list[dict[str, Any]]
    mediation_cases: list[dict[str, Any]]


class BriefingRepository:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def month(self, ward_id: str, group_id: str, start: date, end: date) -> MonthRows:
        """The rows of the month ``[start, end)`` (days in the ward's time)."""
        t0, t1 = ward_midnight(start), ward_midnight(end)
        fetch = self.conn.fetch
        incidents = await fetch(
            "SELECT category, state, count(*) AS n FROM incidents WHERE ward_id = $1 AND group_id = $2 "
            "AND received_at >= $3 AND received_at < $4 GROUP BY category, state ORDER BY category, state",
            ward_id, group_id, t0, t1,
        )
        # Overdue tips: flagged by the scheduled check, still undecided, received up to the end of the month.
        overdue = await fetch(
            "SELECT incident_id, category, deadline_on, state FROM incidents WHERE ward_id = $1 AND group_id = $2 "
            "AND is_crime_tip AND overdue_flagged_on IS NOT NULL AND state NOT IN ('resolved', 'closed') "
            "AND received_at < $3 ORDER BY deadline_on, incident_id",
            ward_id, group_id, t1,
        )
        # A document of one group's month, not a list: its rows are bounded by that scope (GET /v1/warnings pages).
        warnings = await fetch(
            "SELECT warning_id, kind, issued_on, incident_id FROM warnings WHERE ward_id = $1 AND group_id = $2 "
            "AND issued_on >= $3 AND issued_on < $4 ORDER BY issued_on, warning_id", ward_id, group_id, start, end)
        expiring = await fetch(
            "SELECT declaration_id, resident_id, valid_until, status FROM temporary_residences "
            "WHERE ward_id = $1 AND group_id = $2 AND ((status = 'active' AND valid_until < $4) "
            "OR (status = 'expired' AND changed_on < $4 AND changed_on >= $3)) "
            "ORDER BY valid_until NULLS LAST, declaration_id",
            ward_id, group_id, start, end,
        )
        late_stays = await fetch(
            "SELECT notice_id, boarding_house_id, arrived_at, notified_at FROM stay_notices WHERE ward_id = $1 "
            "AND group_id = $2 AND late AND arrived_at >= $3 AND arrived_at < $4 ORDER BY arrived_at, notice_id",
            ward_id, group_id, t0, t1,
        )
        cases = await fetch(
            "SELECT case_id, kind, origin, status, referral_incident_id, concluded_on FROM mediation_cases "
            "WHERE ward_id = $1 AND group_id = $2 AND (status = 'open' OR (concluded_on >= $3 AND concluded_on < $4) "
            "OR (opened_at >= $5 AND opened_at < $6)) ORDER BY case_id",
            ward_id, group_id, start, end, t0, t1,
        )
        return MonthRows(*([dict(r) for r in rows] for rows in (incidents, overdue, warnings, expiring, late_stays,
                                                                 cases)))
