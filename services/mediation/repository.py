"""SQL of the mediation schema, one repository per aggregate: the case (with its parties, mediators, sessions and
follow-ups), and the registry's teams and residents this service keeps as projections.

Rows come back as plain dicts (column name -> value) and cases as ``domain.CaseFile``; the in-memory fakes of
tests/mediation/fakes.py answer the same, and one handler suite runs over both.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import asyncpg

from services.mediation.domain import CaseFile, CaseFilters, CaseScope, Member, Party
from shared.paging import Keyset, PageRequest

CASES_BY_RECEIPT = Keyset.of("c.received_at:timestamptz", "c.case_id:text")
TEAMS_BY_GROUP = Keyset.of("group_id:text", "team_id:text")

#: The columns a command may change on a case (names are interpolated from here only; values are parameters).
UPDATABLE = frozenset({"team_id", "kind", "status", "refusal_ground", "refusal_reason", "agreement", "carry_out_how",
                       "carry_out_by", "demands", "directed_to", "withdrawal_reason", "concluded_on", "notes"})


def _dict(row: asyncpg.Record | None) -> dict[str, Any] | None:
    return None if row is None else dict(row)


class TeamRepository:
    """Projection of the registry's mediation teams (tổ hòa giải) and their mediators."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def upsert(self, *, team_id: str, ward_id: str, group_id: str, name: str | None, compliant: bool,
                     issues: list[str]) -> None:
        await self.conn.execute(
            """INSERT INTO teams (team_id, ward_id, group_id, name, registry_compliant, registry_issues)
               VALUES ($1, $2, $3, $4, $5, $6)
               ON CONFLICT (team_id) DO UPDATE SET group_id = EXCLUDED.group_id,
                 name = COALESCE(EXCLUDED.name, teams.name), registry_compliant = EXCLUDED.registry_compliant,
                 registry_issues = EXCLUDED.registry_issues, updated_at = now()""",
            team_id, ward_id, group_id, name, compliant, issues,
        )

    async def upsert_member(self, team_id: str, m: Member, *, active: bool) -> None:
        await self.conn.execute(
            """INSERT INTO team_members (team_id, resident_id, household_id, full_name, sex, role, active)
               VALUES ($1, $2, $3, $4, $5, $6, $7)
               ON CONFLICT (team_id, resident_id) DO UPDATE SET household_id = EXCLUDED.household_id,
                 full_name = EXCLUDED.full_name, sex = EXCLUDED.sex, role = EXCLUDED.role, active = EXCLUDED.active""",
            team_id, m.resident_id, m.household_id, m.full_name, m.sex, m.role, active,
        )

    async def get(self, team_id: str) -> dict[str, Any] | None:
        return _dict(await self.conn.fetchrow(
            "SELECT team_id, ward_id, group_id, name, registry_compliant FROM teams WHERE team_id = $1", team_id))

    async def ids_of_group(self, ward_id: str, group_id: str) -> list[str]:
        return [r["team_id"] for r in await self.conn.fetch(
            "SELECT team_id FROM teams WHERE ward_id = $1 AND group_id = $2 ORDER BY team_id", ward_id, group_id)]

    async def members(self, team_id: str) -> list[Member]:
        """The active mediators, the leader's role first (roles sort deputy, leader, member), then by name."""
        rows = await self.conn.fetch(
            "SELECT * FROM team_members WHERE team_id = $1 AND active ORDER BY role, full_name", team_id)
        return [Member(r["resident_id"], r["household_id"], r["full_name"], r["sex"], r["role"]) for r in rows]

    async def page(self, ward_id: str, page: PageRequest) -> dict[str, Any]:
        """A page of the ward's teams, each with ``members``."""
        args: list[Any] = [ward_id]
        rows = await self.conn.fetch(TEAMS_BY_GROUP.query(
            "SELECT team_id, ward_id, group_id, name, registry_compliant FROM teams", ["ward_id = $1"], args, page),
            *args)
        listed = TEAMS_BY_GROUP.page(rows, page)
        listed["items"] = [{**t, "members": await self.members(t["team_id"])} for t in listed["items"]]
        return listed


class ResidentRepository:
    """Projection of the registry's residents: their households, so a mediator of a party's household is excluded."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def upsert(self, *, resident_id: str, ward_id: str, household_id: str, group_id: str,
                     full_name: str) -> None:
        await self.conn.execute(
            """INSERT INTO residents (resident_id, ward_id, household_id, group_id, full_name)
               VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT (resident_id) DO UPDATE SET household_id = EXCLUDED.household_id,
                 group_id = EXCLUDED.group_id, full_name = EXCLUDED.full_name""",
            resident_id, ward_id, household_id, group_id, full_name,
        )

    async def move(self, resident_id: str, household_id: str, group_id: str) -> None:
        await self.conn.execute("UPDATE residents SET household_id = $2, group_id = $3 WHERE resident_id = $1",
                                resident_id, household_id, group_id)

    async def rename(self, resident_id: str, full_name: str) -> None:
        await self.conn.execute("UPDATE residents SET full_name = $2 WHERE resident_id = $1", resident_id, full_name)

    async def household_of(self, resident_id: str, ward_id: str) -> str | None:
        """The household of a resident of ``ward_id`` (a resident of another ward is as unknown as no resident)."""
        return await self.conn.fetchval(
            "SELECT household_id FROM residents WHERE resident_id = $1 AND ward_id = $2", resident_id, ward_id)


class CaseRepository:
    """Mediation cases (vụ việc hòa giải) and what hangs off them."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def add(self, *, case_id: str, ward_id: str, group_id: str, team_id: str | None,
                  referral_incident_id: str | None, origin: str, kind: str, summary: str, status: str,
                  received_at: datetime, received_on: date, assignment_due: date, opened_by: str,
                  parties: list[Party]) -> bool:
        """Insert a case with its parties; False when a case for that referral already exists."""
        inserted = await self.conn.fetchval(
            """INSERT INTO cases (case_id, ward_id, group_id, team_id, referral_incident_id, origin, kind, summary,
                                  status, received_at, received_on, assignment_due, opened_by)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
               ON CONFLICT DO NOTHING RETURNING true""",
            case_id, ward_id, group_id, team_id, referral_incident_id, origin, kind, summary, status,
            received_at, received_on, assignment_due, opened_by,
        )
        if not inserted:
            return False
        await self.conn.executemany(
            "INSERT INTO case_parties (case_id, position, resident_id, household_id, display_name) "
            "VALUES ($1, $2, $3, $4, $5)",
            [(case_id, i, p.resident_id, p.household_id, p.display_name) for i, p in enumerate(parties, start=1)],
        )
        return True

    async def get(self, case_id: str, *, for_update: bool = False) -> dict[str, Any] | None:
        # Commands lock the case row: two concurrent endings cannot both win.
        if for_update:
            return _dict(await self.conn.fetchrow("SELECT * FROM cases WHERE case_id = $1 FOR UPDATE", case_id))
        return _dict(await self.conn.fetchrow("SELECT * FROM cases WHERE case_id = $1", case_id))

    async def of_referral(self, incident_id: str) -> dict[str, Any] | None:
        return _dict(await self.conn.fetchrow("SELECT * FROM cases WHERE referral_incident_id = $1", incident_id))

    async def update(self, case_id: str, **fields: Any) -> None:
        unknown = set(fields) - UPDATABLE
        if unknown:
            raise ValueError(f"not updatable: {unknown}")
        sets = ", ".join(f"{name} = ${i}" for i, name in enumerate(fields, start=2))
        await self.conn.execute(f"UPDATE cases SET {sets} WHERE case_id = $1", case_id, *fields.values())  # noqa: S608

    async def parties(self, case_id: str) -> list[Party]:
        rows = await self.conn.fetch("SELECT * FROM case_parties WHERE case_id = $1 ORDER BY position", case_id)
        return [Party(r["display_name"], r["resident_id"], r["household_id"]) for r in rows]

    async def mediators(self, case_id: str) -> list[dict[str, Any]]:
        return [dict(r) for r in await self.conn.fetch(
            "SELECT mediator_id, full_name, chosen_by_parties, assigned_on, late FROM case_mediators "
            "WHERE case_id = $1 ORDER BY assigned_on, full_name", case_id)]

    async def add_mediator(self, case_id: str, m: Member, *, chosen_by_parties: bool, assigned_on: date,
                           late: bool) -> bool:
        return bool(await self.conn.fetchval(
            """INSERT INTO case_mediators (case_id, mediator_id, full_name, chosen_by_parties, assigned_on, late)
               VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING true""",
            case_id, m.resident_id, m.full_name, chosen_by_parties, assigned_on, late,
        ))

    async def add_session(self, *, session_id: str, case_id: str, held_at: datetime, place: str | None,
                          mediator_ids: list[str], parties_present: list[int], invitees: list[dict[str, str]],
                          notes: str | None) -> None:
        await self.conn.execute(
            """INSERT INTO sessions (session_id, case_id, held_at, place, mediator_ids, parties_present, invitees,
                                     notes)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
            session_id, case_id, held_at, place, mediator_ids, parties_present, invitees, notes,
        )

    async def sessions(self, case_id: str) -> list[dict[str, Any]]:
        return [dict(r) for r in await self.conn.fetch(
            "SELECT session_id, held_at, place, mediator_ids, parties_present, invitees, notes FROM sessions "
            "WHERE case_id = $1 ORDER BY held_at, session_id", case_id)]

    async def add_follow_up(self, *, follow_up_id: str, case_id: str, checked_on: date, progress: str,
                            notes: str | None) -> None:
        await self.conn.execute(
            "INSERT INTO follow_ups (follow_up_id, case_id, checked_on, progress, notes) VALUES ($1, $2, $3, $4, $5)",
            follow_up_id, case_id, checked_on, progress, notes,
        )

    async def follow_ups(self, case_id: str) -> list[dict[str, Any]]:
        return [dict(r) for r in await self.conn.fetch(
            "SELECT follow_up_id, checked_on, progress, notes FROM follow_ups WHERE case_id = $1 "
            "ORDER BY checked_on, follow_up_id", case_id)]

    async def file(self, case_id: str) -> CaseFile | None:
        """The case with everything that hangs off it (what the API shows and the record book lists)."""
        case = await self.get(case_id)
        return None if case is None else await self._file(case)

    async def _file(self, case: dict[str, Any]) -> CaseFile:
        case_id = case["case_id"]
        return CaseFile(case, await self.parties(case_id), await self.mediators(case_id),
                        await self.sessions(case_id), await self.follow_ups(case_id))

    async def page(self, scope: CaseScope, filters: CaseFilters, page: PageRequest, today: date) -> dict[str, Any]:
        """A page of the cases ``scope`` reaches, oldest receipt first, filtered; items are ``CaseFile``."""
        args: list[Any] = [scope.ward_id, scope.everything, list(scope.team_ids), scope.party_resident_id]
        where = ["c.ward_id = $1",
                 "$2 OR c.team_id = ANY($3::text[]) OR EXISTS (SELECT 1 FROM case_parties p "
                 "WHERE p.case_id = c.case_id AND p.resident_id = $4)"]
        for column, value in (("status", filters.status), ("kind", filters.kind), ("group_id", filters.group_id),
                              ("team_id", filters.team_id), ("referral_incident_id", filters.referral_incident_id)):
            if value is not None:
                args.append(str(value))
                where.append(f"c.{column} = ${len(args)}")
        if filters.assignment_late is not None:
            # domain.case_assignment_late in SQL (it depends on today, so it is not stored): late when the first
            # assignment came after the due date, or none has come while the case waits and the date has passed.
            args.extend([today, filters.assignment_late])
            where.append(
                f"""(CASE WHEN m.first_assigned IS NOT NULL THEN m.first_assigned > c.assignment_due
                          WHEN c.status = 'received' THEN ${len(args) - 1}::date > c.assignment_due
                          ELSE false END) = ${len(args)}""")
        select = ("SELECT c.* FROM cases c LEFT JOIN (SELECT case_id, min(assigned_on) AS first_assigned "
                  "FROM case_mediators GROUP BY case_id) m ON m.case_id = c.case_id")
        rows = await self.conn.fetch(CASES_BY_RECEIPT.query(select, where, args, page), *args)
        listed = CASES_BY_RECEIPT.page(rows, page)
        listed["items"] = [await self._file(c) for c in listed["items"]]
        return listed

    async def of_team_year(self, team_id: str, year: int) -> list[CaseFile]:
        """The cases a team received in ``year`` (the ward's calendar), in the order received: the record book."""
        rows = await self.conn.fetch(
            """SELECT * FROM cases WHERE team_id = $1 AND received_on >= make_date($2, 1, 1)
                 AND received_on < make_date($2 + 1, 1, 1)
               ORDER BY received_on, received_at, case_id""",
            team_id, year,
        )
        return [await self._file(dict(r)) for r in rows]
