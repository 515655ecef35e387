"""SQL of the incidents schema, one repository per aggregate: incidents (with their transitions and footage),
warnings, and the projections of other services' events. Rows are answered as dicts (the fakes answer the same).
The monthly briefing's report queries are in ``repository_briefing.py``."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import asyncpg

from shared.keyrotation import EncryptedColumn
from shared.paging import Keyset, PageRequest

Conn = asyncpg.Connection


def _one(row: asyncpg.Record | None) -> dict[str, Any] | None:
    return None if row is None else dict(row)


def _all(rows: list[asyncpg.Record]) -> list[dict[str, Any]]:
    return [dict(r) for r in rows]


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

UPDATABLE = frozenset({
    "state", "outcome", "category", "is_crime_tip", "deadline_on", "deadline_extended", "overdue_flagged_on",
    "assignee_kind", "assignee_team_id", "assignee_officer", "mediation_case_id", "mediation_note",
    "resolution_note", "resolved_at", "closed_at",
})

INCIDENTS_NEWEST_FIRST = Keyset.of("received_at:timestamptz", "incident_id:text", descending=True)
TRANSITIONS_IN_ORDER = Keyset.of("seq:bigint")
WARNINGS_BY_DATE = Keyset.of("issued_on:date", "warning_id:text")
CAMERAS_BY_ID = Keyset.of("facility_id:text")
GROUPS_BY_WARD_AND_NAME = Keyset.of("ward_id:text", "name:text", "group_id:text")


class IncidentRepository:
    """An incident, its transitions (the trail of who moved it, when and why) and the footage it cites."""

    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    async def add(self, row: dict[str, Any]) -> None:
        cols = ", ".join(INCIDENT_COLUMNS)
        params = ", ".join(f"${i}" for i in range(1, len(INCIDENT_COLUMNS) + 1))
        # Column names come from the constant above, never from input.
        sql = f"INSERT INTO incidents ({cols}) VALUES ({params})"  # noqa: S608
        await self.conn.execute(sql, *(row[c] for c in INCIDENT_COLUMNS))

    async def get(self, incident_id: str, *, for_update: bool = False) -> dict[str, Any] | None:
        lock = " FOR UPDATE" if for_update else ""
        return _one(await self.conn.fetchrow(f"SELECT * FROM incidents WHERE incident_id = $1{lock}",  # noqa: S608
                                             incident_id))

    async def by_follow_up_code(self, code: str) -> dict[str, Any] | None:
        return _one(await self.conn.fetchrow("SELECT * FROM incidents WHERE follow_up_code = $1", code))

    async def update(self, incident_id: str, **fields: Any) -> None:
        unknown = set(fields) - UPDATABLE
        if unknown:  # names are code, not input; this keeps it so
            raise ValueError(f"not updatable: {sorted(unknown)}")
        sets = ", ".join(f"{name} = ${i}" for i, name in enumerate(fields, start=2))
        await self.conn.execute(f"UPDATE incidents SET {sets} WHERE incident_id = $1",  # noqa: S608
                                incident_id, *fields.values())

    async def list(self, ward_id: str, page: PageRequest, *, group_id: str | None = None, state: str | None = None,
                   reporter_ref: str | None = None) -> dict[str, Any]:
        """A page of the ward's incidents, newest first; a reporter's own list leaves out their anonymous tips."""
        args: list[Any] = [ward_id, group_id, state, reporter_ref]
        where = ["ward_id = $1", "$2::text IS NULL OR group_id = $2", "$3::text IS NULL OR state = $3",
                 "$4::text IS NULL OR (reporter_ref = $4 AND NOT anonymous)"]
        rows = await self.conn.fetch(INCIDENTS_NEWEST_FIRST.query("SELECT * FROM incidents", where, args, page), *args)
        return INCIDENTS_NEWEST_FIRST.page(rows, page)

    async def add_transition(self, incident_id: str, action: str, from_state: str | None, to_state: str, actor: str,
                             reason: str | None) -> None:
        await self.conn.execute(
            "INSERT INTO incident_transitions (incident_id, action, from_state, to_state, actor, reason) "
            "VALUES ($1, $2, $3, $4, $5, $6)",
            incident_id, action, from_state, to_state, actor, reason,
        )

    async def transitions(self, incident_id: str, page: PageRequest) -> dict[str, Any]:
        args: list[Any] = [incident_id]
        rows = await self.conn.fetch(TRANSITIONS_IN_ORDER.query(
            "SELECT seq, action, from_state, to_state, actor, reason, at FROM incident_transitions",
            ["incident_id = $1"], args, page), *args)
        return TRANSITIONS_IN_ORDER.page(rows, page, lambda r: {k: v for k, v in dict(r).items() if k != "seq"})

    async def add_footage(self, incident_id: str, camera_id: str, start: datetime | None,
                          end: datetime | None) -> None:
        await self.conn.execute(
            "INSERT INTO incident_footage (incident_id, camera_id, footage_from, footage_to) VALUES ($1, $2, $3, $4) "
            "ON CONFLICT (incident_id, camera_id) DO UPDATE SET footage_from = EXCLUDED.footage_from, "
            "footage_to = EXCLUDED.footage_to",
            incident_id, camera_id, start, end,
        )

    async def footage(self, incident_id: str) -> list[dict[str, Any]]:
        return _all(await self.conn.fetch(
            "SELECT camera_id, footage_from, footage_to FROM incident_footage WHERE incident_id = $1 "
            "ORDER BY camera_id", incident_id))

    async def open_tips_past_deadline(self, today: date) -> list[dict[str, Any]]:
        return _all(await self.conn.fetch(
            "SELECT * FROM incidents WHERE is_crime_tip AND state NOT IN ('resolved', 'closed') "
            "AND deadline_on < $1 AND overdue_flagged_on IS DISTINCT FROM deadline_on "
            "ORDER BY deadline_on, incident_id FOR UPDATE SKIP LOCKED", today))


# -- warnings ----------------------------------------------------------------------------------------------------
class WarningRepository:
    """Warnings police record (gọi hỏi, răn đe); the warned person encrypted."""

    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    async def add(self, row: dict[str, Any]) -> None:
        await self.conn.execute(
            "INSERT INTO warnings (warning_id, ward_id, group_id, kind, person, reason, issued_on, incident_id, "
            "recorded_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            row["warning_id"], row["ward_id"], row["group_id"], row["kind"], row["person"], row["reason"],
            row["issued_on"], row["incident_id"], row["recorded_by"],
        )

    async def list(self, ward_id: str, group_id: str | None, start: date, end: date,
                   page: PageRequest) -> dict[str, Any]:
        args: list[Any] = [ward_id, group_id, start, end]
        where = ["ward_id = $1", "$2::text IS NULL OR group_id = $2", "issued_on >= $3", "issued_on < $4"]
        rows = await self.conn.fetch(WARNINGS_BY_DATE.query("SELECT * FROM warnings", where, args, page), *args)
        return WARNINGS_BY_DATE.page(rows, page)


# -- projections -------------------------------------------------------------------------------------------------
class ProjectionRepository:
    """What incidents keeps of other services' events: the registry's groups, teams, cameras, temporary
    residences and stay notices; mediation's cases; the awards granted to reporters. Every upsert is scoped to
    the event's ward: a row never moves to another ward."""

    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    async def group(self, group_id: str) -> dict[str, Any] | None:
        return _one(await self.conn.fetchrow("SELECT * FROM known_groups WHERE group_id = $1", group_id))

    async def groups(self, page: PageRequest, *, ward_id: str | None = None) -> dict[str, Any]:
        """A page of the residential groups incidents knows (id, ward, name), by ward and name."""
        args: list[Any] = [ward_id]
        where = ["$1::text IS NULL OR ward_id = $1"]
        query = GROUPS_BY_WARD_AND_NAME.query("SELECT group_id, ward_id, name FROM known_groups", where, args, page)
        return GROUPS_BY_WARD_AND_NAME.page(await self.conn.fetch(query, *args), page)

    async def upsert_group(self, group_id: str, ward_id: str, name: str) -> None:
        await self.conn.execute(
            "INSERT INTO known_groups (group_id, ward_id, name) VALUES ($1, $2, $3) ON CONFLICT (group_id) "
            "DO UPDATE SET name = EXCLUDED.name WHERE known_groups.ward_id = EXCLUDED.ward_id",
            group_id, ward_id, name,
        )

    async def team(self, team_id: str) -> dict[str, Any] | None:
        return _one(await self.conn.fetchrow("SELECT * FROM known_teams WHERE team_id = $1", team_id))

    async def upsert_team(self, team_id: str, ward_id: str, group_id: str, kind: str, name: str | None) -> None:
        await self.conn.execute(
            "INSERT INTO known_teams (team_id, ward_id, group_id, kind, name) VALUES ($1, $2, $3, $4, $5) "
            "ON CONFLICT (team_id) DO UPDATE SET group_id = EXCLUDED.group_id, kind = EXCLUDED.kind, "
            "name = COALESCE(EXCLUDED.name, known_teams.name) WHERE known_teams.ward_id = EXCLUDED.ward_id",
            team_id, ward_id, group_id, kind, name,
        )

    async def camera(self, facility_id: str) -> dict[str, Any] | None:
        return _one(await self.conn.fetchrow("SELECT * FROM cameras WHERE facility_id = $1", facility_id))

    async def cameras(self, ward_id: str, page: PageRequest, *, group_id: str | None = None,
                      in_service: bool | None = None) -> dict[str, Any]:
        """A page of the ward's cameras, by id; ``in_service``: only those not (True) or only those (False)
        decommissioned."""
        args: list[Any] = [ward_id, group_id, in_service]
        where = ["ward_id = $1", "$2::text IS NULL OR group_id = $2",
                 "$3::boolean IS NULL OR (decommissioned_on IS NULL) = $3"]
        rows = await self.conn.fetch(CAMERAS_BY_ID.query("SELECT * FROM cameras", where, args, page), *args)
        return CAMERAS_BY_ID.page(rows, page)

    async def upsert_camera(self, facility_id: str, ward_id: str, group_id: str, name: str, location: str) -> None:
        await self.conn.execute(
            "INSERT INTO cameras (facility_id, ward_id, group_id, name, location) VALUES ($1, $2, $3, $4, $5) "
            "ON CONFLICT (facility_id) DO UPDATE SET group_id = EXCLUDED.group_id, name = EXCLUDED.name, "
            "location = EXCLUDED.location WHERE cameras.ward_id = EXCLUDED.ward_id",
            facility_id, ward_id, group_id, name, location,
        )

    async def decommission_camera(self, facility_id: str, ward_id: str, on: date) -> None:
        await self.conn.execute("UPDATE cameras SET decommissioned_on = $3 WHERE facility_id = $1 AND ward_id = $2",
                                facility_id, ward_id, on)

    async def upsert_residence(self, declaration_id: str, ward_id: str, group_id: str, resident_id: str,
                               valid_until: date | None, status: str, changed_on: date | None) -> None:
        await self.conn.execute(
            "INSERT INTO temporary_residences (declaration_id, ward_id, group_id, resident_id, valid_until, status, "
            "changed_on) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (declaration_id) DO UPDATE SET "
            "valid_until = COALESCE(EXCLUDED.valid_until, temporary_residences.valid_until), "
            "status = EXCLUDED.status, changed_on = EXCLUDED.changed_on "
            "WHERE temporary_residences.ward_id = EXCLUDED.ward_id",
            declaration_id, ward_id, group_id, resident_id, valid_until, status, changed_on,
        )

    async def add_stay_notice(self, row: dict[str, Any]) -> None:
        await self.conn.execute(
            "INSERT INTO stay_notices (notice_id, ward_id, group_id, boarding_house_id, arrived_at, notified_at, "
            "late) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (notice_id) DO NOTHING",
            row["notice_id"], row["ward_id"], row["group_id"], row["boarding_house_id"], row["arrived_at"],
            row["notified_at"], row["late"],
        )

    async def upsert_mediation_case(self, row: dict[str, Any]) -> None:
        """Keyed by case id; an older event (by occurrence) never overwrites a newer status."""
        await self.conn.execute(
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

    async def add_reporter_award(self, row: dict[str, Any]) -> None:
        await self.conn.execute(
            "INSERT INTO reporter_awards (award_id, ward_id, reporter_ref, title, issuer, decision_number, "
            "decision_date, verification_code, year) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
            "ON CONFLICT (award_id) DO NOTHING",
            row["award_id"], row["ward_id"], row["reporter_ref"], row["title"], row["issuer"],
            row["decision_number"], row["decision_date"], row["verification_code"], row["year"],
        )

    async def revoke_reporter_award(self, award_id: str, ward_id: str) -> None:
        await self.conn.execute("UPDATE reporter_awards SET revoked = true WHERE award_id = $1 AND ward_id = $2",
                                award_id, ward_id)

    async def awards_for(self, ward_id: str, reporter_ref: str) -> list[dict[str, Any]]:
        return _all(await self.conn.fetch(
            "SELECT * FROM reporter_awards WHERE ward_id = $1 AND reporter_ref = $2 AND NOT revoked "
            "ORDER BY decision_date, award_id", ward_id, reporter_ref))


# -- places (issue 18) -------------------------------------------------------------------------------------------
#: The points on the ward map (newest first): enough for a ward, bounded for the response's size.
MAP_LIMIT = 1000
#: Candidates a nearby-duplicates query considers (open, same category, one week, 50 m: a handful in practice).
NEARBY_LIMIT = 200

_HAS_POINT = "latitude IS NOT NULL AND longitude IS NOT NULL"
# The indexed expressions of migrations/0003_places.sql; the operators are the extensions' (in public).
_IN_BBOX = ("public.cube(ARRAY[${0}::float8, ${1}::float8], ARRAY[${2}::float8, ${3}::float8]) OPERATOR(public.@>) "
            "public.cube(ARRAY[longitude, latitude])")
_NEAR_BOX = ("public.earth_box(public.ll_to_earth(${0}::float8, ${1}::float8), ${2}::float8) OPERATOR(public.@>) "
             "public.ll_to_earth(latitude, longitude)")
_NEAR_DISTANCE = ("public.earth_distance(public.ll_to_earth(${0}::float8, ${1}::float8), "
                  "public.ll_to_earth(latitude, longitude)) <= ${2}::float8")


def _place_filters(where: list[str], args: list[Any], bbox: Any, near: Any) -> None:
    """Append the WHERE terms (and their arguments) of a bounding box and a radius (geo.BBox, geo.Near)."""
    if bbox is not None or near is not None:
        where.append(_HAS_POINT)
    if bbox is not None:
        n = len(args)
        args.extend([bbox.min_lon, bbox.min_lat, bbox.max_lon, bbox.max_lat])
        where.append(_IN_BBOX.format(n + 1, n + 2, n + 3, n + 4))
    if near is not None:
        n = len(args)
        args.extend([near.latitude, near.longitude, near.radius_m])
        where.append(_NEAR_BOX.format(n + 1, n + 2, n + 3))
        where.append(_NEAR_DISTANCE.format(n + 1, n + 2, n + 3))


class PlaceRepository:
    """Incidents by place (bounding box, radius: the GiST indexes of 0003), and their supporters."""

    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    async def list(self, ward_id: str, page: PageRequest, *, group_id: str | None = None, state: str | None = None,
                   reporter_ref: str | None = None, bbox: Any = None, near: Any = None) -> dict[str, Any]:
        """IncidentRepository.list, within a bounding box and/or a radius (on earthdistance's sphere)."""
        args: list[Any] = [ward_id, group_id, state, reporter_ref]
        where = ["ward_id = $1", "$2::text IS NULL OR group_id = $2", "$3::text IS NULL OR state = $3",
                 "$4::text IS NULL OR (reporter_ref = $4 AND NOT anonymous)"]
        _place_filters(where, args, bbox, near)
        rows = await self.conn.fetch(INCIDENTS_NEWEST_FIRST.query("SELECT * FROM incidents", where, args, page), *args)
        return INCIDENTS_NEWEST_FIRST.page(rows, page)

    async def on_map(self, ward_id: str, bbox: Any, *, crime_tips: bool) -> list[dict[str, Any]]:
        """The ward's incidents with a point in ``bbox``, newest first, at most MAP_LIMIT; merged ones left out."""
        args: list[Any] = [ward_id, crime_tips]
        where = ["ward_id = $1", "$2 OR NOT is_crime_tip", "merged_into IS NULL"]
        _place_filters(where, args, bbox, None)
        sql = ("SELECT * FROM incidents WHERE " + " AND ".join(f"({w})" for w in where)  # noqa: S608 - terms are code
               + f" ORDER BY received_at DESC, incident_id DESC LIMIT {MAP_LIMIT}")
        return _all(await self.conn.fetch(sql, *args))

    async def nearby_candidates(self, ward_id: str | None, category: str, latitude: float, longitude: float,
                                radius_m: float, since: datetime, *, crime_tips: bool) -> list[dict[str, Any]]:
        """Open incidents of ``category`` received since ``since`` whose point is within ``radius_m`` on the index's
        sphere (the caller decides on the ellipsoid, with a margin in ``radius_m``); of one ward, or of any."""
        args: list[Any] = [ward_id, category, since, crime_tips]
        where = ["$1::text IS NULL OR ward_id = $1", "category = $2", "received_at >= $3", "$4 OR NOT is_crime_tip",
                 "state NOT IN ('resolved', 'closed')"]
        from services.incidents.geo import Near  # the places part of this file is appended: imported here

        _place_filters(where, args, None, Near(latitude, longitude, radius_m))
        sql = ("SELECT * FROM incidents WHERE " + " AND ".join(f"({w})" for w in where)  # noqa: S608 - terms are code
               + f" ORDER BY incident_id LIMIT {NEARBY_LIMIT}")
        return _all(await self.conn.fetch(sql, *args))

    async def add_supporter(self, incident_id: str, supporter_key: str, *, anonymous: bool,
                            follow_up_code: str | None = None, secret_hash: str | None = None) -> bool:
        """Count a supporter once: False when this key already supports the incident."""
        added = await self.conn.fetchval(
            "INSERT INTO incident_supporters (incident_id, supporter_key, anonymous, follow_up_code, secret_hash) "
            "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (incident_id, supporter_key) DO NOTHING RETURNING true",
            incident_id, supporter_key, anonymous, follow_up_code, secret_hash)
        return bool(added)

    async def carry_supporters(self, from_id: str, into_id: str, skip_key: str) -> None:
        """Copy ``from_id``'s supporters onto ``into_id`` (each person once; never ``skip_key``, the survivor's own
        reporter). The follow-up codes stay with the rows of ``from_id``."""
        await self.conn.execute(
            "INSERT INTO incident_supporters (incident_id, supporter_key, anonymous, supported_at) "
            "SELECT $2, supporter_key, anonymous, supported_at FROM incident_supporters "
            "WHERE incident_id = $1 AND supporter_key <> $3 ON CONFLICT (incident_id, supporter_key) DO NOTHING",
            from_id, into_id, skip_key)

    async def recount(self, incident_id: str) -> int:
        """Set the incident's ``supporters`` from its rows; answer it."""
        return await self.conn.fetchval(
            "UPDATE incidents SET supporters = (SELECT count(*) FROM incident_supporters WHERE incident_id = $1) "
            "WHERE incident_id = $1 RETURNING supporters", incident_id)

    async def mark_merged(self, incident_id: str, into_id: str) -> None:
        await self.conn.execute("UPDATE incidents SET merged_into = $2 WHERE incident_id = $1", incident_id, into_id)

    async def supporter_by_code(self, code: str) -> dict[str, Any] | None:
        return _one(await self.conn.fetchrow(
            "SELECT incident_id, secret_hash FROM incident_supporters WHERE follow_up_code = $1", code))


# -- evidence files (issue 18) -------------------------------------------------------------------------------------
EVIDENCE_COLUMNS = (
    "evidence_id", "incident_id", "ward_id", "media_type", "kind", "size", "sha256", "storage_key",
    "metadata_removed", "uploaded_by", "uploaded_at", "camera_id", "campaign_id", "footage_from", "footage_to",
)
EVIDENCE_IN_ORDER = Keyset.of("uploaded_at:timestamptz", "evidence_id:text")
CUSTODY_IN_ORDER = Keyset.of("seq:bigint")


class EvidenceRepository:
    """Evidence files (their facts; the bytes are in object storage) and their chain of custody. Both tables are
    insert-only for the service's role."""

    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    async def add(self, row: dict[str, Any]) -> None:
        cols = ", ".join(EVIDENCE_COLUMNS)
        params = ", ".join(f"${i}" for i in range(1, len(EVIDENCE_COLUMNS) + 1))
        sql = f"INSERT INTO evidence_files ({cols}) VALUES ({params})"  # noqa: S608 - names from the constant
        await self.conn.execute(sql, *(row[c] for c in EVIDENCE_COLUMNS))

    async def get(self, incident_id: str, evidence_id: str) -> dict[str, Any] | None:
        return _one(await self.conn.fetchrow(
            "SELECT * FROM evidence_files WHERE incident_id = $1 AND evidence_id = $2", incident_id, evidence_id))

    async def list(self, incident_id: str, page: PageRequest) -> dict[str, Any]:
        args: list[Any] = [incident_id]
        rows = await self.conn.fetch(EVIDENCE_IN_ORDER.query("SELECT * FROM evidence_files", ["incident_id = $1"],
                                                             args, page), *args)
        return EVIDENCE_IN_ORDER.page(rows, page)

    async def record_custody(self, rows: list[dict[str, Any]], action: str, actor: str, roles: list[str]) -> None:
        await self.conn.executemany(
            "INSERT INTO evidence_custody (evidence_id, incident_id, action, actor, actor_roles, sha256) "
            "VALUES ($1, $2, $3, $4, $5, $6)",
            [(r["evidence_id"], r["incident_id"], action, actor, sorted(roles), r["sha256"]) for r in rows])

    async def custody(self, evidence_id: str, page: PageRequest) -> dict[str, Any]:
        args: list[Any] = [evidence_id]
        rows = await self.conn.fetch(CUSTODY_IN_ORDER.query(
            "SELECT seq, action, actor, actor_roles, sha256, at FROM evidence_custody", ["evidence_id = $1"], args,
            page), *args)
        return CUSTODY_IN_ORDER.page(rows, page, lambda r: {k: v for k, v in dict(r).items() if k != "seq"})

    async def set_camera_campaign(self, facility_id: str, ward_id: str, campaign_id: str | None) -> None:
        await self.conn.execute(
            "UPDATE cameras SET funded_by_campaign_id = $3 WHERE facility_id = $1 AND ward_id = $2",
            facility_id, ward_id, campaign_id)


# -- assisted intake and Open311 (issue 17) ------------------------------------------------------------------------
class AssistedRepository:
    """The residents' groups (registry's resident events, ids only) and the assisted marks of a report."""

    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    async def resident(self, resident_id: str) -> dict[str, Any] | None:
        return _one(await self.conn.fetchrow("SELECT * FROM known_residents WHERE resident_id = $1", resident_id))

    async def upsert_resident(self, resident_id: str, ward_id: str, group_id: str, at: datetime) -> None:
        """Keyed by resident id, scoped to the event's ward; an older event never overwrites a newer group."""
        await self.conn.execute(
            "INSERT INTO known_residents (resident_id, ward_id, group_id, last_event_at) VALUES ($1, $2, $3, $4) "
            "ON CONFLICT (resident_id) DO UPDATE SET group_id = EXCLUDED.group_id, "
            "last_event_at = EXCLUDED.last_event_at WHERE known_residents.ward_id = EXCLUDED.ward_id "
            "AND known_residents.last_event_at <= EXCLUDED.last_event_at",
            resident_id, ward_id, group_id, at)

    async def mark_assisted(self, incident_id: str, entered_by: str) -> None:
        await self.conn.execute("UPDATE incidents SET assisted = true, entered_by = $2 WHERE incident_id = $1",
                                incident_id, entered_by)


#: At most this many requests answer one Open311 GET (GeoReport v2 lets a server bound its lists; 1000 is the
#: spec's example ceiling). Every filter narrows further.
OPEN311_LIMIT = 1000
#: At most this many groups are offered in a service definition's group list.
OPEN311_GROUPS_LIMIT = 1000

_OPEN311_SELECT = (
    "SELECT i.incident_id, i.ward_id, i.group_id, i.category, i.state, i.outcome, i.received_at, i.merged_into, "
    "g.name AS group_name, (SELECT max(t.at) FROM incident_transitions t WHERE t.incident_id = i.incident_id) "
    "AS updated_at FROM incidents i LEFT JOIN known_groups g ON g.group_id = i.group_id")


class Open311Repository:
    """What Open311 reads (services/incidents/api_open311.py): reports that are not crime tips, of the categories
    Open311 offers, with only the columns the public may see (never the description, the point, the address as
    typed, the reporter, the evidence or who works on it)."""

    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    async def requests(self, categories: list[str], *, ids: list[str] | None = None, ward_id: str | None = None,
                       category: str | None = None, start: datetime | None = None, end: datetime | None = None,
                       open_states: list[str] | None = None, closed: bool | None = None,
                       limit: int = OPEN311_LIMIT) -> list[dict[str, Any]]:
        """Newest first, at most ``limit``. ``closed``: None for both, True/False for one status."""
        where = ["NOT i.is_crime_tip", "i.category = ANY($1::text[])", "$2::text[] IS NULL OR i.incident_id = ANY($2)",
                 "$3::text IS NULL OR i.ward_id = $3", "$4::text IS NULL OR i.category = $4",
                 "$5::timestamptz IS NULL OR i.received_at >= $5", "$6::timestamptz IS NULL OR i.received_at <= $6",
                 "$7::boolean IS NULL OR (i.state <> ALL($8::text[])) = $7"]
        sql = (_OPEN311_SELECT + " WHERE " + " AND ".join(f"({w})" for w in where)
               + " ORDER BY i.received_at DESC, i.incident_id DESC LIMIT $9")
        return _all(await self.conn.fetch(sql, categories, ids, ward_id, category, start, end, closed,
                                          open_states or [], min(int(limit), OPEN311_LIMIT)))

    async def groups(self, ward_id: str | None) -> list[dict[str, Any]]:
        return _all(await self.conn.fetch(
            "SELECT group_id, ward_id, name FROM known_groups WHERE $1::text IS NULL OR ward_id = $1 "
            "ORDER BY ward_id, name, group_id LIMIT $2", ward_id, OPEN311_GROUPS_LIMIT))

    async def ward_known(self, ward_id: str) -> bool:
        return bool(await self.conn.fetchval("SELECT EXISTS (SELECT 1 FROM known_groups WHERE ward_id = $1)",
                                             ward_id))


# -- reports in by SMS and Zalo, two-way anonymous messages (issue 17) ------------------------------------------------
def tip_message_context(message_id: str) -> str:
    return f"incidents:{message_id}:tip-message"


#: The texts of the messages between the police and anonymous tipsters, encrypted like identities (``wardctl keys``).
ENCRYPTED_COLUMNS = (*ENCRYPTED_COLUMNS, EncryptedColumn(
    "tip_messages", "message_id", "text_sealed", lambda row: tip_message_context(row["message_id"])))

TIP_MESSAGES_IN_ORDER = Keyset.of("created_at:timestamptz", "message_id:text")


class IntakeRepository:
    """The channel a report came in by (never who sent it)."""

    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    async def add_channel(self, incident_id: str, channel: str) -> None:
        await self.conn.execute("INSERT INTO incident_channels (incident_id, channel) VALUES ($1, $2)",
                                incident_id, channel)

    async def set_identity(self, incident_id: str, sealed: bytes) -> None:
        """An identified report's identity with how the police reach its reporter by the channel (a Zalo id)."""
        await self.conn.execute("UPDATE incidents SET reporter_identity = $2 WHERE incident_id = $1 AND NOT anonymous",
                                incident_id, sealed)

    async def channel(self, incident_id: str) -> str | None:
        return await self.conn.fetchval("SELECT channel FROM incident_channels WHERE incident_id = $1", incident_id)


class TipMessageRepository:
    """Questions of the police to an anonymous tipster and the tipster's answers, the texts encrypted."""

    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    async def add(self, row: dict[str, Any]) -> None:
        await self.conn.execute(
            "INSERT INTO tip_messages (message_id, incident_id, ward_id, author, officer_ref, reply_to, text_sealed, "
            "created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            row["message_id"], row["incident_id"], row["ward_id"], row["author"], row["officer_ref"],
            row["reply_to"], row["text_sealed"], row["created_at"])

    async def get(self, message_id: str) -> dict[str, Any] | None:
        return _one(await self.conn.fetchrow("SELECT * FROM tip_messages WHERE message_id = $1", message_id))

    async def mark_answered(self, message_id: str, at: datetime) -> None:
        await self.conn.execute(
            "UPDATE tip_messages SET answered_at = COALESCE(answered_at, $2) WHERE message_id = $1", message_id, at)

    async def all_of(self, incident_id: str) -> list[dict[str, Any]]:
        """Every message of an incident, oldest first (a tip's conversation is short: bounded by the rate limits)."""
        return _all(await self.conn.fetch(
            "SELECT * FROM tip_messages WHERE incident_id = $1 ORDER BY created_at, message_id", incident_id))

    async def list(self, incident_id: str, page: PageRequest) -> dict[str, Any]:
        args: list[Any] = [incident_id]
        rows = await self.conn.fetch(TIP_MESSAGES_IN_ORDER.query("SELECT * FROM tip_messages", ["incident_id = $1"],
                                                                 args, page), *args)
        return TIP_MESSAGES_IN_ORDER.page(rows, page)
