"""The SQL of the registry's own schema, one repository per aggregate, nothing else.

Rows come out as dicts whose id is named for what it is (``group_id``, ``resident_id``...), the name every reply
and event uses; the tables keep their ``id`` column. Lists answer one page (``shared.paging``).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import asyncpg

from services.registry.domain import APPROXIMATE_DECIMALS
from shared.keyrotation import EncryptedColumn
from shared.paging import Keyset, PageRequest

NATIONAL_ID_PURPOSE = "national_id"


def national_id_context(resident_id: str) -> str:
    """Binds the ciphertext to its row: copied into another row, it does not decrypt."""
    return f"registry/resident/{resident_id}/national_id"


#: Every encrypted column of this service, for `wardctl keys rotate|status` (shared.keyrotation).
ENCRYPTED_COLUMNS = (
    EncryptedColumn("residents", "id", "national_id_cipher", lambda row: national_id_context(row["id"]),
                    index_column="national_id_index", index_purpose=NATIONAL_ID_PURPOSE),
)

BY_CREATION = Keyset.of("created_at:timestamptz", "id:text")
BY_NAME = Keyset.of("name:text", "id:text")
RESIDENTS_BY_NAME = Keyset.of("r.full_name:text", "r.id:text")
TEAMS_BY_KIND = Keyset.of("kind:text", "name:text", "id:text")
MEMBERS_BY_APPOINTMENT = Keyset.of("m.id:bigint")
STAY_NOTICES_BY_ARRIVAL = Keyset.of("arrived_at:timestamptz", "id:text")


def named(row: asyncpg.Record | dict[str, Any], id_name: str) -> dict[str, Any]:
    """A row with its ``id`` under the name the API gives it."""
    out = dict(row)
    out[id_name] = out.pop("id")
    return out


class _Table:
    """What the repositories share: one table, rows by id, inserts and updates of columns written in this module
    (never from request data: values always travel as parameters, hence the S608 waivers)."""

    table: str = ""
    id_name: str = ""
    select: str = ""  # the row as the repository shows it (defaults to the table's columns)
    keyset: Keyset = BY_CREATION  # the order of its lists

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    def _select(self) -> str:
        return self.select or f"SELECT * FROM {self.table}"  # noqa: S608

    def _out(self, row: asyncpg.Record | None) -> dict[str, Any] | None:
        return None if row is None else named(row, self.id_name)

    async def get(self, id_: str, *, lock: bool = False) -> dict[str, Any] | None:
        if lock:
            await self.conn.execute(f"SELECT 1 FROM {self.table} WHERE id = $1 FOR UPDATE", id_)  # noqa: S608
        return self._out(await self.conn.fetchrow(f"SELECT * FROM ({self._select()}) t WHERE id = $1", id_))  # noqa: S608

    async def _insert(self, values: dict[str, Any], *, on_conflict_nothing: bool = False, table: str = "") -> bool:
        values = {("id" if k == self.id_name and not table else k): v for k, v in values.items()}
        columns = ", ".join(values)
        params = ", ".join(f"${i}" for i in range(1, len(values) + 1))
        suffix = " ON CONFLICT DO NOTHING" if on_conflict_nothing else ""
        status = await self.conn.execute(
            f"INSERT INTO {table or self.table} ({columns}) VALUES ({params}){suffix}", *values.values())  # noqa: S608
        return status.endswith(" 1")

    async def add(self, row: dict[str, Any], *, if_absent: bool = False) -> bool:
        """Insert ``row``; with ``if_absent``, False (and nothing written) when its id or a unique key is taken."""
        return await self._insert(row, on_conflict_nothing=if_absent)

    async def update(self, id_: str, values: dict[str, Any]) -> None:
        sets = ", ".join(f"{c} = ${i}" for i, c in enumerate(values, start=2))
        await self.conn.execute(f"UPDATE {self.table} SET {sets} WHERE id = $1", id_, *values.values())  # noqa: S608

    async def page(self, filters: dict[str, Any], page: PageRequest) -> dict[str, Any]:
        """One page with equality filters (None values ignored), in the repository's order."""
        keyset = self.keyset
        where, args = [], []
        for column, value in filters.items():
            if value is None:
                continue
            args.append(value)
            where.append(f"{column} = ${len(args)}")
        rows = await self.conn.fetch(keyset.query(f"SELECT * FROM ({self._select()}) t", where, args, page), *args)  # noqa: S608
        return keyset.page(rows, page, lambda r: named(r, self.id_name))


class WardRepository(_Table):
    table, id_name = "wards", "ward_id"


class GroupRepository(_Table):
    """Residential groups (tổ dân phố), with the number of households registered in each."""

    table, id_name = "groups", "group_id"
    select = ("SELECT g.*, (SELECT count(*) FROM households h WHERE h.group_id = g.id)::int AS household_count "
              "FROM groups g")

    keyset = BY_NAME

    async def page_of_ward(self, ward_id: str, page: PageRequest) -> dict[str, Any]:
        return await self.page({"ward_id": ward_id}, page)


class HouseholdRepository(_Table):
    table, id_name = "households", "household_id"

    async def headed_by(self, resident_id: str) -> bool:
        return bool(await self.conn.fetchval("SELECT 1 FROM households WHERE head_resident_id = $1", resident_id))


class ResidentRepository(_Table):
    table, id_name = "residents", "resident_id"

    async def lock(self, resident_id: str) -> None:
        """Serialise declarations of one person, so two concurrent overlapping ones cannot both pass the check."""
        await self.conn.execute("SELECT 1 FROM residents WHERE id = $1 FOR UPDATE", resident_id)

    async def of_household(self, household_id: str) -> list[dict[str, Any]]:
        """The residents of one household (part of the household document: at most 200)."""
        rows = await self.conn.fetch(
            "SELECT * FROM residents WHERE household_id = $1 ORDER BY created_at, id LIMIT 200", household_id)
        return [named(r, self.id_name) for r in rows]

    async def page_of_ward(self, ward_id: str, *, group_id: str | None, household_ids: list[str],
                           page: PageRequest) -> dict[str, Any]:
        """Residents have no group column (their group is their household's): filter through households. Every
        id in ``household_ids`` must match (a resident's own household narrows any household filter)."""
        args: list[Any] = [ward_id, group_id, household_ids]
        where = ["r.ward_id = $1", "$2::text IS NULL OR h.group_id = $2", "r.household_id = ALL($3::text[])"]
        sql = RESIDENTS_BY_NAME.query(
            "SELECT r.*, h.group_id FROM residents r JOIN households h ON h.id = r.household_id", where, args, page)
        return RESIDENTS_BY_NAME.page(await self.conn.fetch(sql, *args), page, lambda r: named(r, self.id_name))

    async def national_id_taken(self, ward_id: str, indexes: list[str], except_id: str | None = None) -> bool:
        """Is the number registered to another resident of this ward (another ward's residents are never
        consulted)? ``indexes``: its blind index under every configured index key (during a key rotation a row
        may still hold the old key's index)."""
        return bool(await self.conn.fetchval(
            "SELECT 1 FROM residents WHERE ward_id = $1 AND national_id_index = ANY($2::text[]) "
            "AND id IS DISTINCT FROM $3", ward_id, indexes, except_id))


_MEMBER_COLUMNS = ("m.resident_id, m.role, m.appointed_on, m.appointment_act, m.left_on, r.full_name, r.sex, "
                   "r.household_id")


class TeamRepository(_Table):
    """Teams and their members (a member is part of the team: its changes lock the team's row)."""

    table, id_name = "teams", "team_id"

    async def page_of_ward(self, ward_id: str, group_id: str | None, kind: str | None,
                           page: PageRequest | None) -> dict[str, Any]:
        """One page of teams in (kind, name) order; every team of the filter when ``page`` is None."""
        where = ["ward_id = $1", "$2::text IS NULL OR group_id = $2", "$3::text IS NULL OR kind = $3"]
        args: list[Any] = [ward_id, group_id, kind]
        if page is None:
            rows = await self.conn.fetch(TEAMS_BY_KIND.unpaged("SELECT * FROM teams", where), *args)
            return {"items": [named(r, self.id_name) for r in rows], "next_cursor": None}
        rows = await self.conn.fetch(TEAMS_BY_KIND.query("SELECT * FROM teams", where, args, page), *args)
        return TEAMS_BY_KIND.page(rows, page, lambda r: named(r, self.id_name))

    async def active_members(self, team_id: str) -> list[dict[str, Any]]:
        rows = await self.conn.fetch(
            f"SELECT {_MEMBER_COLUMNS} FROM team_members m JOIN residents r ON r.id = m.resident_id "  # noqa: S608
            "WHERE m.team_id = $1 AND m.left_on IS NULL ORDER BY m.id", team_id)
        return [dict(r) for r in rows]

    async def active_membership(self, team_id: str, resident_id: str) -> dict[str, Any] | None:
        row = await self.conn.fetchrow(
            "SELECT * FROM team_members WHERE team_id = $1 AND resident_id = $2 AND left_on IS NULL FOR UPDATE",
            team_id, resident_id)
        return None if row is None else dict(row)

    async def add_member(self, row: dict[str, Any]) -> None:
        await self._insert(row, table="team_members")

    async def change_role(self, membership_id: int, role: str, appointment_act: str | None) -> None:
        await self.conn.execute(
            "UPDATE team_members SET role = $2, appointment_act = coalesce($3, appointment_act) WHERE id = $1",
            membership_id, role, appointment_act)

    async def end_membership(self, membership_id: int, left_on: date) -> None:
        await self.conn.execute("UPDATE team_members SET left_on = $2 WHERE id = $1", membership_id, left_on)

    async def members_page(self, team_id: str, active: bool | None, page: PageRequest) -> dict[str, Any]:
        """A team's members, past and present, in order of appointment."""
        args: list[Any] = [team_id, active]
        where = ["m.team_id = $1", "$2::boolean IS NULL OR (m.left_on IS NULL) = $2"]
        rows = await self.conn.fetch(MEMBERS_BY_APPOINTMENT.query(
            f"SELECT m.id, {_MEMBER_COLUMNS} FROM team_members m JOIN residents r ON r.id = m.resident_id",  # noqa: S608
            where, args, page), *args)
        return MEMBERS_BY_APPOINTMENT.page(rows, page, lambda r: {k: v for k, v in dict(r).items() if k != "id"})


class _Placed(_Table):
    """A table of records with a point (``latitude``, ``longitude``, nullable): lists filtered by a bounding box as
    the viewer sees the points (``domain.precision_for``). The exact and the snapped filters use the GiST index on
    ``point(longitude, latitude)``; the group filter, the one on the groups' areas."""

    async def page_within(self, filters: dict[str, Any], page: PageRequest, *,
                          bbox: tuple[float, float, float, float] | None, precision: str) -> dict[str, Any]:
        where, args = [], []
        for column, value in filters.items():
            if value is not None:
                args.append(value)
                where.append(f"{column} = ${len(args)}")
        if bbox is not None:
            n = len(args)
            args.extend(bbox)
            box = f"box(point(${n + 1}::float8, ${n + 2}::float8), point(${n + 3}::float8, ${n + 4}::float8))"
            if precision == "exact":
                where.append(f"point(longitude, latitude) <@ {box}")
            elif precision == "approximate":
                # the snapped point lies in the box; the exact one, then, within half a step of it (indexed)
                half = 0.5 * 10 ** -APPROXIMATE_DECIMALS
                near = (f"box(point(${n + 1}::float8 - {half}, ${n + 2}::float8 - {half}), "
                        f"point(${n + 3}::float8 + {half}, ${n + 4}::float8 + {half}))")
                where.append(f"point(longitude, latitude) <@ {near}")
                where.append(f"point(round(longitude::numeric, {APPROXIMATE_DECIMALS})::float8, "
                             f"round(latitude::numeric, {APPROXIMATE_DECIMALS})::float8) <@ {box}")
            else:
                where.append("EXISTS (SELECT 1 FROM group_areas a WHERE a.group_id = t.group_id AND "  # noqa: S608
                             f"box(point(a.min_lon, a.min_lat), point(a.max_lon, a.max_lat)) && {box})")
        sql = self.keyset.query(f"SELECT * FROM ({self._select()}) t", where, args, page)  # noqa: S608
        return self.keyset.page(await self.conn.fetch(sql, *args), page, lambda r: named(r, self.id_name))


class FacilityRepository(_Placed):
    table, id_name = "facilities", "facility_id"


class BoardingHouseRepository(_Placed):
    table, id_name = "boarding_houses", "boarding_house_id"

    async def add_check(self, row: dict[str, Any]) -> None:
        await self._insert(row, table="boarding_house_checks")

    async def not_checked_since(self, ward_id: str, since: date) -> list[dict[str, Any]]:
        rows = await self.conn.fetch(
            """SELECT b.id, b.name, b.group_id,
                      (SELECT max(c.checked_on) FROM boarding_house_checks c WHERE c.boarding_house_id = b.id)
                      AS last_checked_on
               FROM boarding_houses b
               WHERE b.ward_id = $1 AND NOT EXISTS (
                   SELECT 1 FROM boarding_house_checks c WHERE c.boarding_house_id = b.id AND c.checked_on >= $2)
               ORDER BY b.name, b.id""", ward_id, since)
        return [named(r, self.id_name) for r in rows]


class DeclarationRepository(_Table):
    """Temporary residence (tạm trú) and temporary absence (tạm vắng) declarations."""

    table, id_name = "declarations", "declaration_id"

    async def active(self, resident_id: str, kind: str) -> list[dict[str, Any]]:
        rows = await self.conn.fetch(
            "SELECT * FROM declarations WHERE resident_id = $1 AND kind = $2 AND status = 'active'", resident_id, kind)
        return [named(r, self.id_name) for r in rows]

    async def due_for_expiry(self, today: date) -> list[dict[str, Any]]:
        # SKIP LOCKED: a declaration being renewed right now is left for the next run rather than waited for.
        rows = await self.conn.fetch(
            """SELECT * FROM declarations WHERE kind = 'temporary_residence' AND status = 'active'
               AND valid_until < $1 ORDER BY valid_until, id FOR UPDATE SKIP LOCKED""", today)
        return [named(r, self.id_name) for r in rows]

    async def expiring_within(self, ward_id: str, until: date) -> list[dict[str, Any]]:
        rows = await self.conn.fetch(
            """SELECT d.id, d.resident_id, d.group_id, d.kind, d.valid_until, r.full_name
               FROM declarations d JOIN residents r ON r.id = d.resident_id
               WHERE d.ward_id = $1 AND d.status = 'active' AND d.valid_until <= $2 ORDER BY d.valid_until, d.id""",
            ward_id, until)
        return [named(r, self.id_name) for r in rows]

    async def lodgers_without_notice(self, ward_id: str) -> list[dict[str, Any]]:
        """Residents living in a boarding house under an active temporary residence with no stay notice there."""
        rows = await self.conn.fetch(
            """SELECT d.resident_id, d.boarding_house_id, d.room, d.group_id, r.full_name
               FROM declarations d JOIN residents r ON r.id = d.resident_id
               WHERE d.ward_id = $1 AND d.kind = 'temporary_residence' AND d.status = 'active'
                 AND d.boarding_house_id IS NOT NULL
                 AND NOT EXISTS (SELECT 1 FROM stay_notices s WHERE s.boarding_house_id = d.boarding_house_id
                                 AND s.lodger_resident_id = d.resident_id)
               ORDER BY d.boarding_house_id, d.resident_id""", ward_id)
        return [dict(r) for r in rows]


class StayNoticeRepository(_Table):
    """Stay notices (thông báo lưu trú) filed for lodgers of boarding houses."""

    table, id_name = "stay_notices", "notice_id"
    keyset = STAY_NOTICES_BY_ARRIVAL


#: At most this many groups' areas in one FeatureCollection (a ward has tens of groups).
MAX_AREAS = 500


class GroupAreaRepository(_Table):
    """Residential groups' areas (one per group, replaced when redrawn), with the group's name."""

    table, id_name = "group_areas", "group_id"
    select = "SELECT a.*, g.name FROM group_areas a JOIN groups g ON g.id = a.group_id"

    async def put(self, row: dict[str, Any]) -> None:
        """Set a group's area: insert, or replace the one it had."""
        values = {("id" if k == "group_id" else k): v for k, v in row.items()}
        await self.conn.execute(
            """INSERT INTO group_areas (group_id, ward_id, geometry, vertex_count, min_lon, min_lat, max_lon, max_lat)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
               ON CONFLICT (group_id) DO UPDATE SET geometry = EXCLUDED.geometry,
                   vertex_count = EXCLUDED.vertex_count, min_lon = EXCLUDED.min_lon, min_lat = EXCLUDED.min_lat,
                   max_lon = EXCLUDED.max_lon, max_lat = EXCLUDED.max_lat, updated_at = now()""",
            values["id"], values["ward_id"], values["geometry"], values["vertex_count"], values["min_lon"],
            values["min_lat"], values["max_lon"], values["max_lat"])

    async def of_group(self, group_id: str) -> dict[str, Any] | None:
        row = await self.conn.fetchrow(f"{self.select} WHERE a.group_id = $1", group_id)
        return None if row is None else dict(row)

    async def of_ward(self, ward_id: str, bbox: tuple[float, float, float, float] | None) -> list[dict[str, Any]]:
        """The ward's areas by group name (those whose bounding box meets ``bbox``, when given)."""
        where = "a.ward_id = $1"
        args: list[Any] = [ward_id]
        if bbox is not None:
            where += (" AND box(point(a.min_lon, a.min_lat), point(a.max_lon, a.max_lat)) && "
                      "box(point($2::float8, $3::float8), point($4::float8, $5::float8))")
            args.extend(bbox)
        rows = await self.conn.fetch(
            f"{self.select} WHERE {where} ORDER BY g.name, a.group_id LIMIT {MAX_AREAS}", *args)
        return [dict(r) for r in rows]
