"""SQL of the registry's own schema, nothing else. Functions take the caller's connection (its transaction)."""

from __future__ import annotations

from datetime import date
from typing import Any

import asyncpg

from services.registry.domain import ActiveMember
from shared.keyrotation import EncryptedColumn
from shared.paging import Keyset, PageRequest

# Tables whose rows a request may name by id. The generic helpers below build SQL from these names and from
# column names written in this package (never from request data: values always travel as parameters), hence
# the S608 waivers.
TABLES = ("wards", "groups", "households", "residents", "teams", "facilities", "boarding_houses", "declarations",
          "stay_notices")

NATIONAL_ID_PURPOSE = "national_id"


def national_id_context(resident_id: str) -> str:
    """Binds the ciphertext to its row: copied into another row, it does not decrypt."""
    return f"registry/resident/{resident_id}/national_id"


#: Every encrypted column of this service, for `wardctl keys rotate|status` (shared.keyrotation).
ENCRYPTED_COLUMNS = (
    EncryptedColumn("residents", "id", "national_id_cipher", lambda row: national_id_context(row["id"]),
                    index_column="national_id_index", index_purpose=NATIONAL_ID_PURPOSE),
)


async def get(conn: asyncpg.Connection, table: str, id_: str, *, lock: bool = False) -> asyncpg.Record | None:
    assert table in TABLES
    sql = f"SELECT * FROM {table} WHERE id = $1" + (" FOR UPDATE" if lock else "")  # noqa: S608
    return await conn.fetchrow(sql, id_)


BY_CREATION = Keyset.of("created_at:timestamptz", "id:text")
BY_NAME = Keyset.of("name:text", "id:text")


async def page(conn: asyncpg.Connection, table: str, filters: dict[str, Any], page: PageRequest,
               keyset: Keyset = BY_CREATION) -> list[asyncpg.Record]:
    """One page of ``table`` with equality filters (None values ignored), in ``keyset`` order (shared.paging)."""
    assert table in TABLES
    where, args = [], []
    for column, value in filters.items():
        if value is None:
            continue
        args.append(value)
        where.append(f"{column} = ${len(args)}")
    return await conn.fetch(keyset.query(f"SELECT * FROM {table}", where, args, page), *args)  # noqa: S608


async def insert(conn: asyncpg.Connection, table: str, values: dict[str, Any], *, on_conflict_nothing: bool = False) -> bool:
    assert table in TABLES or table in ("team_members", "boarding_house_checks")
    columns = ", ".join(values)
    params = ", ".join(f"${i}" for i in range(1, len(values) + 1))
    suffix = " ON CONFLICT DO NOTHING" if on_conflict_nothing else ""
    status = await conn.execute(f"INSERT INTO {table} ({columns}) VALUES ({params}){suffix}", *values.values())  # noqa: S608
    return status.endswith(" 1")


async def update(conn: asyncpg.Connection, table: str, id_: str, values: dict[str, Any]) -> None:
    assert table in TABLES
    sets = ", ".join(f"{c} = ${i}" for i, c in enumerate(values, start=2))
    await conn.execute(f"UPDATE {table} SET {sets} WHERE id = $1", id_, *values.values())  # noqa: S608


# -- residents -----------------------------------------------------------------------------------------------
async def resident_with_group(conn: asyncpg.Connection, resident_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT r.*, h.group_id FROM residents r JOIN households h ON h.id = r.household_id WHERE r.id = $1",
        resident_id,
    )


async def household_members(conn: asyncpg.Connection, household_id: str) -> list[asyncpg.Record]:
    """The residents of one household (part of the household document: at most 200, as before)."""
    return await conn.fetch("SELECT * FROM residents WHERE household_id = $1 ORDER BY created_at, id LIMIT 200",
                            household_id)


RESIDENTS_BY_NAME = Keyset.of("r.full_name:text", "r.id:text")


async def list_residents(conn: asyncpg.Connection, ward_id: str, *, group_id: str | None, household_ids: list[str],
                         page: PageRequest) -> list[asyncpg.Record]:
    """Residents have no group column (their group is their household's): filter through households. Every
    id in ``household_ids`` must match (a resident's own household narrows any household filter)."""
    args: list[Any] = [ward_id, group_id, household_ids]
    where = ["r.ward_id = $1", "$2::text IS NULL OR h.group_id = $2", "r.household_id = ALL($3::text[])"]
    sql = RESIDENTS_BY_NAME.query("SELECT r.*, h.group_id FROM residents r JOIN households h ON h.id = r.household_id",
                                  where, args, page)
    return await conn.fetch(sql, *args)


async def national_id_taken(conn: asyncpg.Connection, ward_id: str, indexes: list[str],
                            except_id: str | None = None) -> bool:
    """Is the number registered to another resident of this ward (another ward's residents are never consulted)?
    ``indexes``: its blind index under every configured index key (during a key rotation a row may still hold
    the old key's index)."""
    return bool(await conn.fetchval(
        "SELECT 1 FROM residents WHERE ward_id = $1 AND national_id_index = ANY($2::text[]) "
        "AND id IS DISTINCT FROM $3",
        ward_id, indexes, except_id,
    ))


# -- teams -----------------------------------------------------------------------------------------------------
async def active_members(conn: asyncpg.Connection, team_id: str) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT m.resident_id, m.role, m.appointed_on, m.appointment_act, r.full_name, r.sex, r.household_id
           FROM team_members m JOIN residents r ON r.id = m.resident_id
           WHERE m.team_id = $1 AND m.left_on IS NULL ORDER BY m.id""",
        team_id,
    )


def as_active(rows: list[asyncpg.Record]) -> list[ActiveMember]:
    return [ActiveMember(r["resident_id"], r["role"], r["sex"]) for r in rows]


async def active_membership(conn: asyncpg.Connection, team_id: str, resident_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT * FROM team_members WHERE team_id = $1 AND resident_id = $2 AND left_on IS NULL FOR UPDATE",
        team_id, resident_id,
    )


async def lock_team(conn: asyncpg.Connection, team_id: str) -> asyncpg.Record | None:
    """Serialise membership changes of one team, so the compliance in each event is the team's true state."""
    return await get(conn, "teams", team_id, lock=True)


# -- declarations ----------------------------------------------------------------------------------------------
async def lock_resident(conn: asyncpg.Connection, resident_id: str) -> None:
    """Serialise declarations of one person, so two concurrent overlapping ones cannot both pass the check."""
    await conn.execute("SELECT 1 FROM residents WHERE id = $1 FOR UPDATE", resident_id)


async def active_declarations(conn: asyncpg.Connection, resident_id: str, kind: str) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT * FROM declarations WHERE resident_id = $1 AND kind = $2 AND status = 'active'", resident_id, kind
    )


async def due_for_expiry(conn: asyncpg.Connection, today: date) -> list[asyncpg.Record]:
    # SKIP LOCKED: a declaration being renewed right now is left for the next run rather than waited for.
    return await conn.fetch(
        """SELECT * FROM declarations WHERE kind = 'temporary_residence' AND status = 'active' AND valid_until < $1
           ORDER BY valid_until, id FOR UPDATE SKIP LOCKED""",
        today,
    )


async def expiring_within(conn: asyncpg.Connection, ward_id: str, until: date) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT d.id, d.resident_id, d.group_id, d.kind, d.valid_until, r.full_name
           FROM declarations d JOIN residents r ON r.id = d.resident_id
           WHERE d.ward_id = $1 AND d.status = 'active' AND d.valid_until <= $2 ORDER BY d.valid_until, d.id""",
        ward_id, until,
    )


async def lodgers_without_notice(conn: asyncpg.Connection, ward_id: str) -> list[asyncpg.Record]:
    """Residents living in a boarding house under an active temporary residence with no stay notice there."""
    return await conn.fetch(
        """SELECT d.resident_id, d.boarding_house_id, d.room, d.group_id, r.full_name
           FROM declarations d JOIN residents r ON r.id = d.resident_id
           WHERE d.ward_id = $1 AND d.kind = 'temporary_residence' AND d.status = 'active'
             AND d.boarding_house_id IS NOT NULL
             AND NOT EXISTS (SELECT 1 FROM stay_notices s WHERE s.boarding_house_id = d.boarding_house_id
                             AND s.lodger_resident_id = d.resident_id)
           ORDER BY d.boarding_house_id, d.resident_id""",
        ward_id,
    )


async def houses_not_checked_since(conn: asyncpg.Connection, ward_id: str, since: date) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT b.id, b.name, b.group_id,
                  (SELECT max(c.checked_on) FROM boarding_house_checks c WHERE c.boarding_house_id = b.id) AS last_checked_on
           FROM boarding_houses b
           WHERE b.ward_id = $1 AND NOT EXISTS (
               SELECT 1 FROM boarding_house_checks c WHERE c.boarding_house_id = b.id AND c.checked_on >= $2)
           ORDER BY b.name, b.id""",
        ward_id, since,
    )
