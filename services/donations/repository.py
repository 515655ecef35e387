"""SQL of the donations schema, and nothing else. Every function takes the caller's connection (and so its
transaction); money is bigint đồng, read back as Python int."""

from __future__ import annotations

from datetime import date
from typing import Any

import asyncpg

from shared.paging import Keyset, PageRequest


async def _insert(conn: asyncpg.Connection, table: str, row: dict[str, Any]) -> None:
    """INSERT one row; ``table`` and the column names come from this module's code, never from input."""
    cols = ", ".join(row)
    params = ", ".join(f"${i}" for i in range(1, len(row) + 1))
    await conn.execute(f"INSERT INTO {table} ({cols}) VALUES ({params})", *row.values())  # noqa: S608

# -- the team projection ---------------------------------------------------------------------------------------


async def upsert_team(conn: asyncpg.Connection, *, team_id: str, ward_id: str, group_id: str, kind: str,
                      name: str | None) -> None:
    await conn.execute(
        """INSERT INTO teams (team_id, ward_id, group_id, kind, name) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (team_id) DO UPDATE SET group_id = EXCLUDED.group_id,
             name = COALESCE(EXCLUDED.name, teams.name)""",
        team_id, ward_id, group_id, kind, name,
    )


async def team_ward(conn: asyncpg.Connection, team_id: str) -> str | None:
    return await conn.fetchval("SELECT ward_id FROM teams WHERE team_id = $1", team_id)


async def set_member(conn: asyncpg.Connection, *, team_id: str, resident_id: str, full_name: str, role: str,
                     active: bool) -> None:
    await conn.execute(
        """INSERT INTO team_members (team_id, resident_id, full_name, role, active) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (team_id, resident_id) DO UPDATE
             SET full_name = EXCLUDED.full_name, role = EXCLUDED.role, active = EXCLUDED.active""",
        team_id, resident_id, full_name, role, active,
    )


async def teams_by_id(conn: asyncpg.Connection, team_ids: list[str]) -> dict[str, asyncpg.Record]:
    rows = await conn.fetch("SELECT * FROM teams WHERE team_id = ANY($1::text[])", team_ids)
    return {r["team_id"]: r for r in rows}


async def is_active_member(conn: asyncpg.Connection, team_id: str, resident_id: str) -> bool:
    return bool(await conn.fetchval(
        "SELECT active FROM team_members WHERE team_id = $1 AND resident_id = $2", team_id, resident_id))


# -- campaigns -------------------------------------------------------------------------------------------------


async def insert_campaign(conn: asyncpg.Connection, row: dict[str, Any], team_ids: list[str]) -> None:
    await _insert(conn, "campaigns", row)
    await conn.executemany("INSERT INTO campaign_teams (campaign_id, team_id) VALUES ($1, $2)",
                           [(row["campaign_id"], t) for t in team_ids])


async def get_campaign(conn: asyncpg.Connection, campaign_id: str, *, lock: bool = False) -> asyncpg.Record | None:
    # Every write that moves money locks the campaign row first: contributions, reversals and expenses of one
    # campaign are serialised, so "target reached" is decided once and the balance checked before spending
    # cannot be spent twice by two concurrent approvals.
    sql = "SELECT * FROM campaigns WHERE campaign_id = $1" + (" FOR UPDATE" if lock else "")  # noqa: S608
    return await conn.fetchrow(sql, campaign_id)


async def campaign_team_ids(conn: asyncpg.Connection, campaign_id: str) -> list[str]:
    rows = await conn.fetch("SELECT team_id FROM campaign_teams WHERE campaign_id = $1 ORDER BY team_id", campaign_id)
    return [r["team_id"] for r in rows]


CAMPAIGNS_BY_OPENING = Keyset.of("opened_at:timestamptz", "campaign_id:text")


async def list_campaigns(conn: asyncpg.Connection, ward_id: str, page: PageRequest) -> list[asyncpg.Record]:
    args: list[Any] = [ward_id]
    return await conn.fetch(CAMPAIGNS_BY_OPENING.query("SELECT * FROM campaigns", ["ward_id = $1"], args, page), *args)


async def mark_target_reached(conn: asyncpg.Connection, campaign_id: str, on: date) -> bool:
    """True only for the caller that set it (the `IS NULL` guard makes it once even without the row lock)."""
    return bool(await conn.fetchval(
        "UPDATE campaigns SET target_reached_on = $2 WHERE campaign_id = $1 AND target_reached_on IS NULL "
        "RETURNING true", campaign_id, on))


async def close_campaign(conn: asyncpg.Connection, campaign_id: str, on: date) -> None:
    await conn.execute("UPDATE campaigns SET closed_on = $2 WHERE campaign_id = $1", campaign_id, on)


# -- the ledger ------------------------------------------------------------------------------------------------


async def insert_entry(conn: asyncpg.Connection, row: dict[str, Any]) -> None:
    await _insert(conn, "ledger_entries", row)


async def get_entry(conn: asyncpg.Connection, entry_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM ledger_entries WHERE entry_id = $1", entry_id)


async def receipt_used(conn: asyncpg.Connection, campaign_id: str, receipt_number: str) -> bool:
    return bool(await conn.fetchval(
        "SELECT true FROM ledger_entries WHERE campaign_id = $1 AND receipt_number = $2 AND entry_kind = 'contribution'",
        campaign_id, receipt_number))


async def is_reversed(conn: asyncpg.Connection, entry_id: str) -> bool:
    return bool(await conn.fetchval("SELECT true FROM ledger_entries WHERE reverses_entry_id = $1", entry_id))


async def raised_vnd(conn: asyncpg.Connection, campaign_id: str) -> int:
    return int(await conn.fetchval(
        "SELECT COALESCE(sum(amount_vnd), 0) FROM ledger_entries WHERE campaign_id = $1", campaign_id))


async def team_totals(conn: asyncpg.Connection, campaign_id: str) -> dict[str, int]:
    rows = await conn.fetch(
        "SELECT team_id, sum(amount_vnd) AS total FROM ledger_entries WHERE campaign_id = $1 AND team_id IS NOT NULL "
        "GROUP BY team_id ORDER BY team_id", campaign_id)
    return {r["team_id"]: int(r["total"]) for r in rows}


async def ledger(conn: asyncpg.Connection, campaign_id: str) -> list[asyncpg.Record]:
    return await conn.fetch("SELECT * FROM ledger_entries WHERE campaign_id = $1 ORDER BY seq", campaign_id)


# -- pledges ---------------------------------------------------------------------------------------------------


async def insert_pledge(conn: asyncpg.Connection, row: dict[str, Any], instalments: list[tuple[int, date, int]]) -> None:
    await _insert(conn, "pledges", row)
    await conn.executemany(
        "INSERT INTO pledge_instalments (pledge_id, number, due_on, amount_vnd) VALUES ($1, $2, $3, $4)",
        [(row["pledge_id"], n, d, a) for n, d, a in instalments])


async def get_pledge(conn: asyncpg.Connection, pledge_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM pledges WHERE pledge_id = $1", pledge_id)


_INSTALMENT_STATE = """
SELECT i.*, f.flagged_on,
       EXISTS (SELECT 1 FROM ledger_entries c
               WHERE c.pledge_id = i.pledge_id AND c.instalment_number = i.number
                 AND NOT EXISTS (SELECT 1 FROM ledger_entries r WHERE r.reverses_entry_id = c.entry_id)) AS paid
FROM pledge_instalments i LEFT JOIN instalment_overdue_flags f USING (pledge_id, number)
"""


async def instalments(conn: asyncpg.Connection, pledge_id: str) -> list[asyncpg.Record]:
    return await conn.fetch(_INSTALMENT_STATE + " WHERE i.pledge_id = $1 ORDER BY i.number", pledge_id)


async def unflagged_overdue(conn: asyncpg.Connection, today: date) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT s.*, p.campaign_id, p.team_id, c.ward_id FROM (" + _INSTALMENT_STATE + ") s "  # noqa: S608
        "JOIN pledges p USING (pledge_id) JOIN campaigns c ON c.campaign_id = p.campaign_id "
        "WHERE s.due_on < $1 AND NOT s.paid AND s.flagged_on IS NULL ORDER BY s.pledge_id, s.number", today)


async def flag_overdue(conn: asyncpg.Connection, pledge_id: str, number: int, on: date) -> bool:
    return bool(await conn.fetchval(
        "INSERT INTO instalment_overdue_flags (pledge_id, number, flagged_on) VALUES ($1, $2, $3) "
        "ON CONFLICT DO NOTHING RETURNING true", pledge_id, number, on))


# -- expenses --------------------------------------------------------------------------------------------------


async def insert_expense(conn: asyncpg.Connection, row: dict[str, Any]) -> None:
    await _insert(conn, "expenses", row)


async def get_expense(conn: asyncpg.Connection, expense_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT e.*, a.approved_by, a.approval_ref, a.approved_at FROM expenses e "
        "LEFT JOIN expense_approvals a USING (expense_id) WHERE e.expense_id = $1", expense_id)


async def approve_expense(conn: asyncpg.Connection, expense_id: str, approved_by: str, approval_ref: str) -> None:
    await conn.execute("INSERT INTO expense_approvals (expense_id, approved_by, approval_ref) VALUES ($1, $2, $3)",
                       expense_id, approved_by, approval_ref)


async def spent_vnd(conn: asyncpg.Connection, campaign_id: str) -> int:
    return int(await conn.fetchval(
        "SELECT COALESCE(sum(e.amount_vnd), 0) FROM expenses e JOIN expense_approvals a USING (expense_id) "
        "WHERE e.campaign_id = $1", campaign_id))


async def approved_expenses(conn: asyncpg.Connection, campaign_id: str) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT e.* FROM expenses e JOIN expense_approvals a USING (expense_id) WHERE e.campaign_id = $1 "
        "ORDER BY a.approved_at", campaign_id)
