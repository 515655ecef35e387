"""SQL of the donations schema, and nothing else: one repository per aggregate, created on the unit of work's
connection (and so its transaction). Money is bigint đồng, read back as Python int; rows come back as dicts.

The fakes in tests/donations/fakes.py answer the same methods with the same results; the handler suite runs
over both."""

from __future__ import annotations

from datetime import date
from typing import Any

import asyncpg

from shared.errors import Conflict
from shared.paging import Keyset, PageRequest

Row = dict[str, Any]


def _row(record: asyncpg.Record | None) -> Row | None:
    return dict(record) if record is not None else None


class _Repository:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def _insert(self, table: str, row: dict[str, Any]) -> None:
        """INSERT one row; ``table`` and the column names come from this module's code, never from input."""
        cols = ", ".join(row)
        params = ", ".join(f"${i}" for i in range(1, len(row) + 1))
        await self.conn.execute(f"INSERT INTO {table} ({cols}) VALUES ({params})", *row.values())  # noqa: S608


TEAMS_BY_ID = Keyset.of("team_id:text")


class TeamRepository(_Repository):
    """The projection of the registry's teams and their current members (who may collect for a campaign)."""

    async def ward_of(self, team_id: str) -> str | None:
        return await self.conn.fetchval("SELECT ward_id FROM teams WHERE team_id = $1", team_id)

    async def upsert(self, *, team_id: str, ward_id: str, group_id: str, kind: str, name: str | None) -> None:
        await self.conn.execute(
            """INSERT INTO teams (team_id, ward_id, group_id, kind, name) VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT (team_id) DO UPDATE SET group_id = EXCLUDED.group_id,
                 name = COALESCE(EXCLUDED.name, teams.name)""",
            team_id, ward_id, group_id, kind, name)

    async def set_member(self, *, team_id: str, resident_id: str, full_name: str, role: str, active: bool) -> None:
        await self.conn.execute(
            """INSERT INTO team_members (team_id, resident_id, full_name, role, active) VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT (team_id, resident_id) DO UPDATE
                 SET full_name = EXCLUDED.full_name, role = EXCLUDED.role, active = EXCLUDED.active""",
            team_id, resident_id, full_name, role, active)

    async def by_id(self, team_ids: list[str]) -> dict[str, Row]:
        rows = await self.conn.fetch("SELECT * FROM teams WHERE team_id = ANY($1::text[])", team_ids)
        return {r["team_id"]: dict(r) for r in rows}

    async def is_active_member(self, team_id: str, resident_id: str) -> bool:
        return bool(await self.conn.fetchval(
            "SELECT active FROM team_members WHERE team_id = $1 AND resident_id = $2", team_id, resident_id))

    async def page(self, ward_id: str, page: PageRequest, *, group_id: str | None = None,
                   kind: str | None = None) -> list[Row]:
        """A page of the ward's teams (by id), each with its current members (``members``: resident id, name,
        role), oldest id first; one row beyond the page tells the caller there is more."""
        args: list[Any] = [ward_id, group_id, kind]
        rows = await self.conn.fetch(TEAMS_BY_ID.query(
            "SELECT * FROM teams", ["ward_id = $1", "$2::text IS NULL OR group_id = $2",
                                    "$3::text IS NULL OR kind = $3"], args, page), *args)
        teams = [dict(r) for r in rows]
        members = await self.conn.fetch(
            "SELECT team_id, resident_id, full_name, role FROM team_members WHERE active "
            "AND team_id = ANY($1::text[]) ORDER BY team_id, resident_id", [t["team_id"] for t in teams])
        for team in teams:
            team["members"] = [{"resident_id": m["resident_id"], "full_name": m["full_name"], "role": m["role"]}
                               for m in members if m["team_id"] == team["team_id"]]
        return teams


class HouseholdRepository(_Repository):
    """The projection of the registry's households: how many each residential group has."""

    async def add(self, *, household_id: str, ward_id: str, group_id: str) -> None:
        # The registry never moves a household to another group; a repeated event changes nothing.
        await self.conn.execute(
            "INSERT INTO group_households (household_id, ward_id, group_id) VALUES ($1, $2, $3) "
            "ON CONFLICT (household_id) DO NOTHING", household_id, ward_id, group_id)

    async def group(self, group_id: str) -> Row | None:
        """The group (``group_id``, ``ward_id``, ``households``), or None before its first household arrived."""
        row = await self.conn.fetchrow(
            "SELECT group_id, min(ward_id) AS ward_id, count(*)::int AS households FROM group_households "
            "WHERE group_id = $1 GROUP BY group_id", group_id)
        return _row(row)

    async def count(self, ward_id: str, group_id: str) -> int:
        return int(await self.conn.fetchval(
            "SELECT count(*) FROM group_households WHERE ward_id = $1 AND group_id = $2", ward_id, group_id))


CAMPAIGNS_BY_OPENING = Keyset.of("opened_at:timestamptz", "campaign_id:text")


class CampaignRepository(_Repository):
    """Campaigns, their collecting teams and the teams credited with reaching the target."""

    async def add(self, row: dict[str, Any], team_ids: list[str]) -> None:
        await self._insert("campaigns", row)
        await self.conn.executemany("INSERT INTO campaign_teams (campaign_id, team_id) VALUES ($1, $2)",
                                    [(row["campaign_id"], t) for t in team_ids])

    async def get(self, campaign_id: str, *, lock: bool = False) -> Row | None:
        # Every write that moves money locks the campaign row first: contributions, reversals and expenses of one
        # campaign are serialised, so "target reached" is decided once and the balance checked before spending
        # cannot be spent twice by two concurrent approvals.
        sql = "SELECT * FROM campaigns WHERE campaign_id = $1" + (" FOR UPDATE" if lock else "")  # noqa: S608
        return _row(await self.conn.fetchrow(sql, campaign_id))

    async def team_ids(self, campaign_id: str) -> list[str]:
        rows = await self.conn.fetch(
            "SELECT team_id FROM campaign_teams WHERE campaign_id = $1 ORDER BY team_id", campaign_id)
        return [r["team_id"] for r in rows]

    async def page(self, ward_id: str, page: PageRequest) -> list[Row]:
        args: list[Any] = [ward_id]
        rows = await self.conn.fetch(
            CAMPAIGNS_BY_OPENING.query("SELECT * FROM campaigns", ["ward_id = $1"], args, page), *args)
        return [dict(r) for r in rows]

    async def mark_target_reached(self, campaign_id: str, on: date) -> bool:
        """True only for the caller that set it (the `IS NULL` guard makes it once even without the row lock)."""
        return bool(await self.conn.fetchval(
            "UPDATE campaigns SET target_reached_on = $2 WHERE campaign_id = $1 AND target_reached_on IS NULL "
            "RETURNING true", campaign_id, on))

    async def close(self, campaign_id: str, on: date) -> None:
        await self.conn.execute("UPDATE campaigns SET closed_on = $2 WHERE campaign_id = $1", campaign_id, on)

    async def credited_teams(self, campaign_id: str) -> list[str]:
        rows = await self.conn.fetch(
            "SELECT team_id FROM campaign_team_credits WHERE campaign_id = $1 ORDER BY team_id", campaign_id)
        return [r["team_id"] for r in rows]

    async def credit_team(self, campaign_id: str, team_id: str, total_vnd: int) -> bool:
        return bool(await self.conn.fetchval(
            "INSERT INTO campaign_team_credits (campaign_id, team_id, total_vnd) VALUES ($1, $2, $3) "
            "ON CONFLICT DO NOTHING RETURNING true", campaign_id, team_id, total_vnd))


CONTRIBUTIONS_BY_SEQ = Keyset.of("c.seq:bigint")


class LedgerRepository(_Repository):
    """The append-only ledger (sổ thu): contributions and the entries that reverse them."""

    async def add(self, row: dict[str, Any]) -> None:
        """The campaign's lock (held by the caller) makes a second use of a receipt or a second reversal
        unreachable; the unique indexes are the backstop, answered as the conflict they are."""
        try:
            await self._insert("ledger_entries", row)
        except asyncpg.UniqueViolationError as exc:
            raise Conflict("this receipt number is already used in this campaign, or the contribution was "
                           "already reversed") from exc

    async def get(self, entry_id: str) -> Row | None:
        return _row(await self.conn.fetchrow("SELECT * FROM ledger_entries WHERE entry_id = $1", entry_id))

    async def receipt_used(self, campaign_id: str, receipt_number: str) -> bool:
        return bool(await self.conn.fetchval(
            "SELECT true FROM ledger_entries WHERE campaign_id = $1 AND receipt_number = $2 "
            "AND entry_kind = 'contribution'", campaign_id, receipt_number))

    async def is_reversed(self, entry_id: str) -> bool:
        return bool(await self.conn.fetchval(
            "SELECT true FROM ledger_entries WHERE reverses_entry_id = $1", entry_id))

    async def raised_vnd(self, campaign_id: str) -> int:
        return int(await self.conn.fetchval(
            "SELECT COALESCE(sum(amount_vnd), 0) FROM ledger_entries WHERE campaign_id = $1", campaign_id))

    async def team_totals(self, campaign_id: str) -> dict[str, int]:
        rows = await self.conn.fetch(
            "SELECT team_id, sum(amount_vnd) AS total FROM ledger_entries WHERE campaign_id = $1 "
            "AND team_id IS NOT NULL GROUP BY team_id ORDER BY team_id", campaign_id)
        return {r["team_id"]: int(r["total"]) for r in rows}

    async def entries(self, campaign_id: str) -> list[Row]:
        rows = await self.conn.fetch("SELECT * FROM ledger_entries WHERE campaign_id = $1 ORDER BY seq", campaign_id)
        return [dict(r) for r in rows]

    async def contributions_page(self, campaign_id: str, page: PageRequest) -> list[Row]:
        """A page of the campaign's contributions in the order they were recorded, each with the entry that
        reversed it, if any (``reversal_kind``, ``reversed_vnd`` as a positive amount, ``reversal_reason``)."""
        args: list[Any] = [campaign_id]
        rows = await self.conn.fetch(CONTRIBUTIONS_BY_SEQ.query(
            "SELECT c.*, r.entry_kind AS reversal_kind, -r.amount_vnd AS reversed_vnd, r.reason AS reversal_reason "
            "FROM ledger_entries c LEFT JOIN ledger_entries r ON r.reverses_entry_id = c.entry_id",
            ["c.campaign_id = $1", "c.entry_kind = 'contribution'"], args, page), *args)
        return [dict(r) for r in rows]


_INSTALMENT_STATE = """
SELECT i.*, f.flagged_on,
       EXISTS (SELECT 1 FROM ledger_entries c
               WHERE c.pledge_id = i.pledge_id AND c.instalment_number = i.number
                 AND NOT EXISTS (SELECT 1 FROM ledger_entries r WHERE r.reverses_entry_id = c.entry_id)) AS paid
FROM pledge_instalments i LEFT JOIN instalment_overdue_flags f USING (pledge_id, number)
"""


class PledgeRepository(_Repository):
    """Pledges (cam kết ủng hộ), their instalments and the overdue flags."""

    async def add(self, row: dict[str, Any], instalments: list[tuple[int, date, int]]) -> None:
        await self._insert("pledges", row)
        await self.conn.executemany(
            "INSERT INTO pledge_instalments (pledge_id, number, due_on, amount_vnd) VALUES ($1, $2, $3, $4)",
            [(row["pledge_id"], n, d, a) for n, d, a in instalments])

    async def get(self, pledge_id: str) -> Row | None:
        return _row(await self.conn.fetchrow("SELECT * FROM pledges WHERE pledge_id = $1", pledge_id))

    async def instalments(self, pledge_id: str) -> list[Row]:
        """Each instalment with ``paid`` (by an unreversed contribution) and ``flagged_on`` (overdue flag)."""
        rows = await self.conn.fetch(_INSTALMENT_STATE + " WHERE i.pledge_id = $1 ORDER BY i.number", pledge_id)
        return [dict(r) for r in rows]

    async def unflagged_overdue(self, today: date) -> list[Row]:
        rows = await self.conn.fetch(
            "SELECT s.*, p.campaign_id, p.team_id, c.ward_id FROM (" + _INSTALMENT_STATE + ") s "  # noqa: S608
            "JOIN pledges p USING (pledge_id) JOIN campaigns c ON c.campaign_id = p.campaign_id "
            "WHERE s.due_on < $1 AND NOT s.paid AND s.flagged_on IS NULL ORDER BY s.pledge_id, s.number", today)
        return [dict(r) for r in rows]

    async def flag_overdue(self, pledge_id: str, number: int, on: date) -> bool:
        return bool(await self.conn.fetchval(
            "INSERT INTO instalment_overdue_flags (pledge_id, number, flagged_on) VALUES ($1, $2, $3) "
            "ON CONFLICT DO NOTHING RETURNING true", pledge_id, number, on))


EXPENSES_BY_PROPOSAL = Keyset.of("e.proposed_at:timestamptz", "e.expense_id:text")


class ExpenseRepository(_Repository):
    """Expenses (khoản chi) and their approvals (insert-only, like the ledger)."""

    async def add(self, row: dict[str, Any]) -> None:
        await self._insert("expenses", row)

    async def get(self, expense_id: str) -> Row | None:
        return _row(await self.conn.fetchrow(
            "SELECT e.*, a.approved_by, a.approval_ref, a.approved_at FROM expenses e "
            "LEFT JOIN expense_approvals a USING (expense_id) WHERE e.expense_id = $1", expense_id))

    async def approve(self, expense_id: str, approved_by: str, approval_ref: str) -> None:
        await self.conn.execute(
            "INSERT INTO expense_approvals (expense_id, approved_by, approval_ref) VALUES ($1, $2, $3)",
            expense_id, approved_by, approval_ref)

    async def spent_vnd(self, campaign_id: str) -> int:
        return int(await self.conn.fetchval(
            "SELECT COALESCE(sum(e.amount_vnd), 0) FROM expenses e JOIN expense_approvals a USING (expense_id) "
            "WHERE e.campaign_id = $1", campaign_id))

    async def approved(self, campaign_id: str) -> list[Row]:
        rows = await self.conn.fetch(
            "SELECT e.* FROM expenses e JOIN expense_approvals a USING (expense_id) WHERE e.campaign_id = $1 "
            "ORDER BY a.approved_at", campaign_id)
        return [dict(r) for r in rows]

    async def page(self, campaign_id: str, page: PageRequest) -> list[Row]:
        """A page of the campaign's expenses, proposed or approved, oldest proposal first."""
        args: list[Any] = [campaign_id]
        rows = await self.conn.fetch(EXPENSES_BY_PROPOSAL.query(
            "SELECT e.*, a.approved_by, a.approval_ref, a.approved_at FROM expenses e "
            "LEFT JOIN expense_approvals a USING (expense_id)", ["e.campaign_id = $1"], args, page), *args)
        return [dict(r) for r in rows]
