"""SQL of the incidents schema: incidents, their transitions and footage, warnings, and the projections."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import asyncpg

from shared.keyrotation import EncryptedColumn
from shared.paging import Keyset, PageRequest

Conn = asyncpg.Connection


def identity_context(incident_id: str) -> str:
    return f"incidents:{incident_id}:reporter"


def warning_context(warning_id: str) -> str:
    return f"incidents:{warning_id}:warned-person"


#: Every encrypted column of this service, for `wardctl keys rotate|status` (shared.keyrotation).
ENCRYPTED_COLUMNS = (
    EncryptedColumn("incidents", "incident_id", "reporter_identity", lambda row: identity_context(row["incident_id"])),
    EncryptedColumn("warnings", "warning_id", "person", lambda row: warning_context(row["warning_id"])),
)

# -- incidents -------------------------------------------------------------------------------------------------
INCIDENT_COLUMNS = (
    "incident_id", "ward_id", "group_id", "category", "is_crime_tip", "state", "address", "latitude", "longitude",
    "happened_at", "description", "evidence", "anonymous", "reporter_ref", "reporter_identity", "follow_up_code",
    "secret_hash", "claim_verifier", "received_at", "deadline_on",
)


async def insert_incident(conn: Conn, row: dict[str, Any]) -> None:
    cols = ", ".join(INCIDENT_COLUMNS)
    params = ", ".join(f"${i}" for i in range(1, len(INCIDENT_COLUMNS) + 1))
    # Column names come from the constant above, never from input.
    sql = f"INSERT INTO incidents ({cols}) VALUES ({params})"  # noqa: S608
    await conn.execute(sql, *(row[c] for c in INCIDENT_COLUMNS))


async def get_incident(conn: Conn, incident_id: str, *, for_update: bool = False) -> asyncpg.Record | None:
    lock = " FOR UPDATE" if for_update else ""
    return await conn.fetchrow(f"SELECT * FROM incidents WHERE incident_id = $1{lock}", incident_id)  # noqa: S608


async def by_follow_up_code(conn: Conn, code: str) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM incidents WHERE follow_up_code = $1", code)


UPDATABLE = frozenset({
    "state", "outcome", "category", "is_crime_tip", "deadline_on", "deadline_extended", "overdue_flagged_on",
    "assignee_kind", "assignee_team_id", "assignee_officer", "mediation_case_id", "mediation_note",
    "resolution_note", "resolved_at", "closed_at",
})


async def update_incident(conn: Conn, incident_id: str, **fields: Any) -> None:
    unknown = set(fields) - UPDATABLE
    if unknown:  # names are code, not input; this keeps it so
        raise ValueError(f"not updatable: {sorted(unknown)}")
    sets = ", ".join(f"{name} = ${i}" for i, name in enumerate(fields, start=2))
    await conn.execute(f"UPDATE incidents SET {sets} WHERE incident_id = $1", incident_id, *fields.values())  # noqa: S608


INCIDENTS_NEWEST_FIRST = Keyset.of("received_at:timestamptz", "incident_id:text", descending=True)
TRANSITIONS_IN_ORDER = Keyset.of("seq:bigint")
WARNINGS_BY_DATE = Keyset.of("issued_on:date", "warning_id:text")


async def list_incidents(
    conn: Conn, ward_id: str, page: PageRequest, *, group_id: str | None = None, state: str | None = None,
    reporter_ref: str | None = None,
) -> list[asyncpg.Record]:
    """A page of the ward's incidents, newest first; a reporter's own list leaves out their anonymous tips."""
    args: list[Any] = [ward_id, group_id, state, reporter_ref]
    where = ["ward_id = $1", "$2::text IS NULL OR group_id = $2", "$3::text IS NULL OR state = $3",
             "$4::text IS NULL OR (reporter_ref = $4 AND NOT anonymous)"]
    return await conn.fetch(INCIDENTS_NEWEST_FIRST.query("SELECT * FROM incidents", where, args, page), *args)


async def add_transition(
    conn: Conn, incident_id: str, action: str, from_state: str | None, to_state: str, actor: str, reason: str | None
) -> None:
    await conn.execute(
        "INSERT INTO incident_transitions (incident_id, action, from_state, to_state, actor, reason) "
        "VALUES ($1, $2, $3, $4, $5, $6)",
        incident_id, action, from_state, to_state, actor, reason,
    )


async def transitions(conn: Conn, incident_id: str, page: PageRequest) -> list[asyncpg.Record]:
    args: list[Any] = [incident_id]
    return await conn.fetch(TRANSITIONS_IN_ORDER.query(
        "SELECT seq, action, from_state, to_state, actor, reason, at FROM incident_transitions",
        ["incident_id = $1"], args, page), *args)


async def add_footage(conn: Conn, incident_id: str, camera_id: str, start: datetime | None, end: datetime | None) -> None:
    await conn.execute(
        "INSERT INTO incident_footage (incident_id, camera_id, footage_from, footage_to) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT (incident_id, camera_id) DO UPDATE SET footage_from = EXCLUDED.footage_from, "
        "footage_to = EXCLUDED.footage_to",
        incident_id, camera_id, start, end,
    )


async def footage(conn: Conn, incident_id: str) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT camera_id, footage_from, footage_to FROM incident_footage WHERE incident_id = $1 ORDER BY camera_id",
        incident_id,
    )


async def open_tips_past_deadline(conn: Conn, today: date) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT * FROM incidents WHERE is_crime_tip AND state NOT IN ('resolved', 'closed') "
        "AND deadline_on < $1 AND overdue_flagged_on IS DISTINCT FROM deadline_on FOR UPDATE SKIP LOCKED",
        today,
    )


# -- warnings ----------------------------------------------------------------------------------------------------
async def insert_warning(conn: Conn, row: dict[str, Any]) -> None:
    await conn.execute(
        "INSERT INTO warnings (warning_id, ward_id, group_id, kind, person, reason, issued_on, incident_id, recorded_by) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        row["warning_id"], row["ward_id"], row["group_id"], row["kind"], row["person"], row["reason"],
        row["issued_on"], row["incident_id"], row["recorded_by"],
    )


async def list_warnings(conn: Conn, ward_id: str, group_id: str | None, start: date, end: date,
                        page: PageRequest) -> list[asyncpg.Record]:
    args: list[Any] = [ward_id, group_id, start, end]
    where = ["ward_id = $1", "$2::text IS NULL OR group_id = $2", "issued_on >= $3", "issued_on < $4"]
    return await conn.fetch(WARNINGS_BY_DATE.query("SELECT * FROM warnings", where, args, page), *args)


# -- projections -------------------------------------------------------------------------------------------------
async def group(conn: Conn, group_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM known_groups WHERE group_id = $1", group_id)


async def upsert_group(conn: Conn, group_id: str, ward_id: str, name: str) -> None:
    await conn.execute(
        "INSERT INTO known_groups (group_id, ward_id, name) VALUES ($1, $2, $3) "
        "ON CONFLICT (group_id) DO UPDATE SET name = EXCLUDED.name WHERE known_groups.ward_id = EXCLUDED.ward_id",
        group_id, ward_id, name,
    )


async def team(conn: Conn, team_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM known_teams WHERE team_id = $1", team_id)


async def upsert_team(conn: Conn, team_id: str, ward_id: str, group_id: str, kind: str, name: str | None) -> None:
    await conn.execute(
        "INSERT INTO known_teams (team_id, ward_id, group_id, kind, name) VALUES ($1, $2, $3, $4, $5) "
        "ON CONFLICT (team_id) DO UPDATE SET group_id = EXCLUDED.group_id, kind = EXCLUDED.kind, "
        "name = COALESCE(EXCLUDED.name, known_teams.name) WHERE known_teams.ward_id = EXCLUDED.ward_id",
        team_id, ward_id, group_id, kind, name,
    )


async def camera(conn: Conn, facility_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM cameras WHERE facility_id = $1", facility_id)


async def upsert_camera(conn: Conn, facility_id: str, ward_id: str, group_id: str, name: str, location: str) -> None:
    await conn.execute(
        "INSERT INTO cameras (facility_id, ward_id, group_id, name, location) VALUES ($1, $2, $3, $4, $5) "
        "ON CONFLICT (facility_id) DO UPDATE SET group_id = EXCLUDED.group_id, name = EXCLUDED.name, "
        "location = EXCLUDED.location WHERE cameras.ward_id = EXCLUDED.ward_id",
        facility_id, ward_id, group_id, name, location,
    )


async def decommission_camera(conn: Conn, facility_id: str, ward_id: str, on: date) -> None:
    await conn.execute(
        "UPDATE cameras SET decommissioned_on = $3 WHERE facility_id = $1 AND ward_id = $2", facility_id, ward_id, on
    )


async def upsert_residence(
    conn: Conn, declaration_id: str, ward_id: str, group_id: str, resident_id: str,
    valid_until: date | None, status: str, changed_on: date | None,
) -> None:
    await conn.execute(
        "INSERT INTO temporary_residences (declaration_id, ward_id, group_id, resident_id, valid_until, status, changed_on) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (declaration_id) DO UPDATE SET "
        "valid_until = COALESCE(EXCLUDED.valid_until, temporary_residences.valid_until), status = EXCLUDED.status, "
        "changed_on = EXCLUDED.changed_on WHERE temporary_residences.ward_id = EXCLUDED.ward_id",
        declaration_id, ward_id, group_id, resident_id, valid_until, status, changed_on,
    )


async def upsert_stay_notice(conn: Conn, row: dict[str, Any]) -> None:
    await conn.execute(
        "INSERT INTO stay_notices (notice_id, ward_id, group_id, boarding_house_id, arrived_at, notified_at, late) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (notice_id) DO NOTHING",
        row["notice_id"], row["ward_id"], row["group_id"], row["boarding_house_id"], row["arrived_at"],
        row["notified_at"], row["late"],
    )


async def upsert_mediation_case(conn: Conn, row: dict[str, Any]) -> None:
    """Keyed by case id; an older event (by occurrence) never overwrites a newer status."""
    await conn.execute(
        "INSERT INTO mediation_cases (case_id, ward_id, group_id, kind, origin, referral_incident_id, status, "
        "opened_at, concluded_on, last_event_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) "
        "ON CONFLICT (case_id) DO UPDATE SET "
        "origin = COALESCE(EXCLUDED.origin, mediation_cases.origin), "
        "opened_at = COALESCE(EXCLUDED.opened_at, mediation_cases.opened_at), "
        "status = CASE WHEN EXCLUDED.last_event_at >= mediation_cases.last_event_at THEN EXCLUDED.status "
        "ELSE mediation_cases.status END, "
        "concluded_on = COALESCE(EXCLUDED.concluded_on, mediation_cases.concluded_on), "
        "last_event_at = GREATEST(EXCLUDED.last_event_at, mediation_cases.last_event_at) "
        "WHERE mediation_cases.ward_id = EXCLUDED.ward_id",
        row["case_id"], row["ward_id"], row["group_id"], row["kind"], row.get("origin"),
        row.get("referral_incident_id"), row["status"], row.get("opened_at"), row.get("concluded_on"),
        row["last_event_at"],
    )


async def upsert_reporter_award(conn: Conn, row: dict[str, Any]) -> None:
    await conn.execute(
        "INSERT INTO reporter_awards (award_id, ward_id, reporter_ref, title, issuer, decision_number, decision_date, "
        "verification_code, year) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (award_id) DO NOTHING",
        row["award_id"], row["ward_id"], row["reporter_ref"], row["title"], row["issuer"], row["decision_number"],
        row["decision_date"], row["verification_code"], row["year"],
    )


async def revoke_reporter_award(conn: Conn, award_id: str, ward_id: str) -> None:
    await conn.execute("UPDATE reporter_awards SET revoked = true WHERE award_id = $1 AND ward_id = $2", award_id, ward_id)


async def awards_for(conn: Conn, ward_id: str, reporter_ref: str) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT * FROM reporter_awards WHERE ward_id = $1 AND reporter_ref = $2 AND NOT revoked ORDER BY decision_date",
        ward_id, reporter_ref,
    )
