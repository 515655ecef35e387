"""In-memory repositories and unit of work of incidents, for the handler suite (tests/incidents/test_handlers.py
runs every test on these and on the PostgreSQL ones: the fakes answer what the SQL answers)."""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from services.incidents.domain import OPEN_STATES
from services.incidents.repository import (
    CAMERAS_BY_ID,
    INCIDENT_COLUMNS,
    INCIDENTS_NEWEST_FIRST,
    TRANSITIONS_IN_ORDER,
    UPDATABLE,
    WARNINGS_BY_DATE,
)
from services.incidents.repository_briefing import MonthRows, ward_midnight
from shared import clock
from shared.application import FakeRepository, FakeUnitOfWork
from shared.crypto import PersonalDataProtector
from shared.paging import PageRequest, page_of
from shared.settings import ServiceSettings

#: What an incident row holds besides the inserted columns (the table's defaults).
_DEFAULTS = {"outcome": None, "deadline_extended": False, "overdue_flagged_on": None, "assignee_kind": None,
             "assignee_team_id": None, "assignee_officer": None, "mediation_case_id": None, "mediation_note": None,
             "resolution_note": None, "resolved_at": None, "closed_at": None}


def _json_like(value: Any) -> Any:
    """What a jsonb column gives back: a copy."""
    return copy.deepcopy(value)


class FakeIncidentRepository(FakeRepository):
    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}
        self.transitions_: list[dict[str, Any]] = []
        self.footage_: dict[tuple[str, str], dict[str, Any]] = {}

    async def add(self, row: dict[str, Any]) -> None:
        if row["incident_id"] in self.rows:
            raise ValueError("duplicate incident_id")
        self.rows[row["incident_id"]] = {**_DEFAULTS, **{c: _json_like(row[c]) for c in INCIDENT_COLUMNS}}

    async def get(self, incident_id: str, *, for_update: bool = False) -> dict[str, Any] | None:
        row = self.rows.get(incident_id)
        return None if row is None else copy.deepcopy(row)

    async def by_follow_up_code(self, code: str) -> dict[str, Any] | None:
        return next((copy.deepcopy(r) for r in self.rows.values() if r["follow_up_code"] == code), None)

    async def update(self, incident_id: str, **fields: Any) -> None:
        unknown = set(fields) - UPDATABLE
        if unknown:
            raise ValueError(f"not updatable: {sorted(unknown)}")
        if incident_id in self.rows:
            self.rows[incident_id].update(fields)

    async def list(self, ward_id: str, page: PageRequest, *, group_id: str | None = None, state: str | None = None,
                   reporter_ref: str | None = None) -> dict[str, Any]:
        rows = [copy.deepcopy(r) for r in self.rows.values() if r["ward_id"] == ward_id
                and (group_id is None or r["group_id"] == group_id) and (state is None or r["state"] == state)
                and (reporter_ref is None or (r["reporter_ref"] == reporter_ref and not r["anonymous"]))]
        return page_of(rows, INCIDENTS_NEWEST_FIRST, page, lambda r: (r["received_at"], r["incident_id"]))

    async def add_transition(self, incident_id: str, action: str, from_state: str | None, to_state: str, actor: str,
                             reason: str | None) -> None:
        self.transitions_.append({"seq": len(self.transitions_) + 1, "incident_id": incident_id, "action": action,
                                  "from_state": from_state, "to_state": to_state, "actor": actor, "reason": reason,
                                  "at": clock.now()})

    async def transitions(self, incident_id: str, page: PageRequest) -> dict[str, Any]:
        rows = [t for t in self.transitions_ if t["incident_id"] == incident_id]
        found = page_of(rows, TRANSITIONS_IN_ORDER, page, lambda t: (t["seq"],))
        keep = ("action", "from_state", "to_state", "actor", "reason", "at")
        return {**found, "items": [{k: t[k] for k in keep} for t in found["items"]]}

    async def add_footage(self, incident_id: str, camera_id: str, start: datetime | None,
                          end: datetime | None) -> None:
        self.footage_[(incident_id, camera_id)] = {"camera_id": camera_id, "footage_from": start, "footage_to": end}

    async def footage(self, incident_id: str) -> list[dict[str, Any]]:
        return [dict(f) for (i, c), f in sorted(self.footage_.items()) if i == incident_id]

    async def open_tips_past_deadline(self, today: date) -> list[dict[str, Any]]:
        rows = [copy.deepcopy(r) for r in self.rows.values() if r["is_crime_tip"] and r["state"] in OPEN_STATES
                and r["deadline_on"] is not None and r["deadline_on"] < today
                and r["overdue_flagged_on"] != r["deadline_on"]]
        return sorted(rows, key=lambda r: (r["deadline_on"], r["incident_id"]))


class FakeWarningRepository(FakeRepository):
    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}

    async def add(self, row: dict[str, Any]) -> None:
        self.rows[row["warning_id"]] = dict(row)

    async def list(self, ward_id: str, group_id: str | None, start: date, end: date,
                   page: PageRequest) -> dict[str, Any]:
        rows = [dict(w) for w in self.rows.values() if w["ward_id"] == ward_id
                and (group_id is None or w["group_id"] == group_id) and start <= w["issued_on"] < end]
        return page_of(rows, WARNINGS_BY_DATE, page, lambda w: (w["issued_on"], w["warning_id"]))


class FakeProjectionRepository(FakeRepository):
    def __init__(self) -> None:
        self.groups: dict[str, dict[str, Any]] = {}
        self.teams: dict[str, dict[str, Any]] = {}
        self.cameras_: dict[str, dict[str, Any]] = {}
        self.residences: dict[str, dict[str, Any]] = {}
        self.stay_notices: dict[str, dict[str, Any]] = {}
        self.mediation_cases: dict[str, dict[str, Any]] = {}
        self.awards: dict[str, dict[str, Any]] = {}

    @staticmethod
    def _upsert(table: dict[str, dict[str, Any]], key: str, ward_id: str, row: dict[str, Any],
                update: dict[str, Any]) -> None:
        """INSERT ... ON CONFLICT DO UPDATE ... WHERE the stored row's ward is the event's."""
        if key not in table:
            table[key] = row
        elif table[key]["ward_id"] == ward_id:
            table[key].update(update)

    async def group(self, group_id: str) -> dict[str, Any] | None:
        g = self.groups.get(group_id)
        return None if g is None else dict(g)

    async def upsert_group(self, group_id: str, ward_id: str, name: str) -> None:
        self._upsert(self.groups, group_id, ward_id, {"group_id": group_id, "ward_id": ward_id, "name": name},
                     {"name": name})

    async def team(self, team_id: str) -> dict[str, Any] | None:
        t = self.teams.get(team_id)
        return None if t is None else dict(t)

    async def upsert_team(self, team_id: str, ward_id: str, group_id: str, kind: str, name: str | None) -> None:
        old = self.teams.get(team_id, {})
        self._upsert(self.teams, team_id, ward_id,
                     {"team_id": team_id, "ward_id": ward_id, "group_id": group_id, "kind": kind, "name": name},
                     {"group_id": group_id, "kind": kind, "name": name if name is not None else old.get("name")})

    async def camera(self, facility_id: str) -> dict[str, Any] | None:
        c = self.cameras_.get(facility_id)
        return None if c is None else dict(c)

    async def cameras(self, ward_id: str, page: PageRequest, *, group_id: str | None = None,
                      in_service: bool | None = None) -> dict[str, Any]:
        rows = [dict(c) for c in self.cameras_.values() if c["ward_id"] == ward_id
                and (group_id is None or c["group_id"] == group_id)
                and (in_service is None or (c["decommissioned_on"] is None) == in_service)]
        return page_of(rows, CAMERAS_BY_ID, page, lambda c: (c["facility_id"],))

    async def upsert_camera(self, facility_id: str, ward_id: str, group_id: str, name: str, location: str) -> None:
        self._upsert(self.cameras_, facility_id, ward_id,
                     {"facility_id": facility_id, "ward_id": ward_id, "group_id": group_id, "name": name,
                      "location": location, "decommissioned_on": None},
                     {"group_id": group_id, "name": name, "location": location})

    async def decommission_camera(self, facility_id: str, ward_id: str, on: date) -> None:
        c = self.cameras_.get(facility_id)
        if c is not None and c["ward_id"] == ward_id:
            c["decommissioned_on"] = on

    async def upsert_residence(self, declaration_id: str, ward_id: str, group_id: str, resident_id: str,
                               valid_until: date | None, status: str, changed_on: date | None) -> None:
        old = self.residences.get(declaration_id, {})
        self._upsert(self.residences, declaration_id, ward_id,
                     {"declaration_id": declaration_id, "ward_id": ward_id, "group_id": group_id,
                      "resident_id": resident_id, "valid_until": valid_until, "status": status,
                      "changed_on": changed_on},
                     {"valid_until": valid_until if valid_until is not None else old.get("valid_until"),
                      "status": status, "changed_on": changed_on})

    async def add_stay_notice(self, row: dict[str, Any]) -> None:
        self.stay_notices.setdefault(row["notice_id"], dict(row))

    async def upsert_mediation_case(self, row: dict[str, Any]) -> None:
        old = self.mediation_cases.get(row["case_id"])
        new = {"origin": None, "referral_incident_id": None, "opened_at": None, "concluded_on": None, **row}
        if old is None:
            self.mediation_cases[row["case_id"]] = new
            return
        if old["ward_id"] != row["ward_id"]:
            return
        newer = row["last_event_at"] >= old["last_event_at"]
        old.update({"origin": row.get("origin") or old["origin"], "opened_at": row.get("opened_at") or old["opened_at"],
                    "status": row["status"] if newer else old["status"],
                    "concluded_on": row.get("concluded_on") or old["concluded_on"],
                    "last_event_at": max(row["last_event_at"], old["last_event_at"])})

    async def add_reporter_award(self, row: dict[str, Any]) -> None:
        self.awards.setdefault(row["award_id"], {**row, "revoked": False})

    async def revoke_reporter_award(self, award_id: str, ward_id: str) -> None:
        a = self.awards.get(award_id)
        if a is not None and a["ward_id"] == ward_id:
            a["revoked"] = True

    async def awards_for(self, ward_id: str, reporter_ref: str) -> list[dict[str, Any]]:
        found = [dict(a) for a in self.awards.values()
                 if a["ward_id"] == ward_id and a["reporter_ref"] == reporter_ref and not a["revoked"]]
        return sorted(found, key=lambda a: (a["decision_date"], a["award_id"]))


class FakeBriefingRepository(FakeRepository):
    """The briefing's report queries over the other fake repositories (``source``: the unit of work)."""

    def __init__(self, source: Callable[[], Any]) -> None:
        self.source = source  # a function: copied by reference when the unit of work snapshots its repositories

    async def month(self, ward_id: str, group_id: str, start: date, end: date) -> MonthRows:
        uow = self.source()
        t0, t1 = ward_midnight(start), ward_midnight(end)
        ours = [r for r in uow.incidents.rows.values() if r["ward_id"] == ward_id and r["group_id"] == group_id]
        counts = Counter((r["category"], r["state"]) for r in ours if t0 <= r["received_at"] < t1)
        overdue = [r for r in ours if r["is_crime_tip"] and r["overdue_flagged_on"] is not None
                   and r["state"] in OPEN_STATES and r["received_at"] < t1]
        warnings = [w for w in uow.warnings.rows.values()
                    if w["ward_id"] == ward_id and w["group_id"] == group_id and start <= w["issued_on"] < end]
        p = uow.projections
        residences = [r for r in p.residences.values() if r["ward_id"] == ward_id and r["group_id"] == group_id and (
            (r["status"] == "active" and r["valid_until"] is not None and r["valid_until"] < end)
            or (r["status"] == "expired" and r["changed_on"] is not None and start <= r["changed_on"] < end))]
        stays = [n for n in p.stay_notices.values() if n["ward_id"] == ward_id and n["group_id"] == group_id
                 and n["late"] and t0 <= n["arrived_at"] < t1]
        cases = [c for c in p.mediation_cases.values() if c["ward_id"] == ward_id and c["group_id"] == group_id and (
            c["status"] == "open" or (c["concluded_on"] is not None and start <= c["concluded_on"] < end)
            or (c["opened_at"] is not None and t0 <= c["opened_at"] < t1))]

        def pick(rows: list[dict[str, Any]], keys: str, order: Callable[[dict[str, Any]], Any]) -> list[dict]:
            return [{k: r[k] for k in keys.split()} for r in sorted(rows, key=order)]

        return MonthRows(
            [{"category": c, "state": s, "n": n} for (c, s), n in sorted(counts.items())],
            pick(overdue, "incident_id category deadline_on state", lambda r: (r["deadline_on"], r["incident_id"])),
            pick(warnings, "warning_id kind issued_on incident_id", lambda w: (w["issued_on"], w["warning_id"])),
            pick(residences, "declaration_id resident_id valid_until status",
                 lambda r: (r["valid_until"] is None, r["valid_until"] or date.min, r["declaration_id"])),
            pick(stays, "notice_id boarding_house_id arrived_at notified_at", lambda n: (n["arrived_at"], n["notice_id"])),
            pick(cases, "case_id kind origin status referral_incident_id concluded_on", lambda c: c["case_id"]),
        )


def dev_protector() -> PersonalDataProtector:
    """The development keys (a test's ciphertexts and pseudonyms, as a service started with no keys makes)."""
    return ServiceSettings(service_name="incidents", environment="test", database_url="postgresql://unused@localhost/unused").protector()


class FakeIncidentsUnitOfWork(FakeUnitOfWork):
    def __init__(self, pii: PersonalDataProtector | None = None) -> None:
        super().__init__()
        self.pii = pii or dev_protector()
        self.incidents = FakeIncidentRepository()
        self.warnings = FakeWarningRepository()
        self.projections = FakeProjectionRepository()
        self.briefings = FakeBriefingRepository(lambda: self)
        self.places = FakePlaceRepository(lambda: self)  # places (issue 18)
        # Evidence files (issue 18): the handler suite covers only the camera's campaign; uploads are tested on
        # PostgreSQL and both object stores (tests/incidents/test_evidence.py).
        self.evidence = FakeEvidenceRepository(self.projections)
        self.assisted = FakeAssistedRepository(lambda: self)  # assisted intake (issue 17)
        # Reports in by SMS and Zalo, two-way anonymous messages (issue 17).
        self.intake = FakeIntakeRepository(lambda: self)
        self.tip_messages = FakeTipMessageRepository()


# -- places (issue 18) ----------------------------------------------------------------------------------------------
# The columns migrations/0003_places.sql adds, with their defaults.
_DEFAULTS.update({"supporters": 0, "merged_into": None})


class FakePlaceRepository(FakeRepository):
    """Incidents by place over the fake incidents (``source``: the unit of work), and their supporters. Radii on
    earthdistance's sphere (geo.sphere_distance_m), bounding boxes inclusive, as the SQL answers."""

    def __init__(self, source: Callable[[], Any]) -> None:
        self.source = source
        self.supporters: dict[tuple[str, str], dict[str, Any]] = {}

    def _rows(self) -> list[dict[str, Any]]:
        return list(self.source().incidents.rows.values())

    @staticmethod
    def _placed(r: dict[str, Any], bbox: Any, near: Any) -> bool:
        if bbox is None and near is None:
            return True
        lat, lon = r["latitude"], r["longitude"]
        return ((bbox is None or bbox.contains(lat, lon))
                and (near is None or (lat is not None and geo.sphere_distance_m(near.latitude, near.longitude, lat,
                                                                                 lon) <= near.radius_m)))

    async def list(self, ward_id: str, page: PageRequest, *, group_id: str | None = None, state: str | None = None,
                   reporter_ref: str | None = None, bbox: Any = None, near: Any = None) -> dict[str, Any]:
        rows = [copy.deepcopy(r) for r in self._rows() if r["ward_id"] == ward_id
                and (group_id is None or r["group_id"] == group_id) and (state is None or r["state"] == state)
                and (reporter_ref is None or (r["reporter_ref"] == reporter_ref and not r["anonymous"]))
                and self._placed(r, bbox, near)]
        return page_of(rows, INCIDENTS_NEWEST_FIRST, page, lambda r: (r["received_at"], r["incident_id"]))

    async def on_map(self, ward_id: str, bbox: Any, *, crime_tips: bool) -> list[dict[str, Any]]:
        rows = [copy.deepcopy(r) for r in self._rows() if r["ward_id"] == ward_id
                and (crime_tips or not r["is_crime_tip"]) and r["merged_into"] is None and self._placed(r, bbox, None)]
        return sorted(rows, key=lambda r: (r["received_at"], r["incident_id"]), reverse=True)[:MAP_LIMIT]

    async def nearby_candidates(self, ward_id: str | None, category: str, latitude: float, longitude: float,
                                radius_m: float, since: datetime, *, crime_tips: bool) -> list[dict[str, Any]]:
        near = geo.Near(latitude, longitude, radius_m)
        rows = [copy.deepcopy(r) for r in self._rows() if (ward_id is None or r["ward_id"] == ward_id)
                and r["category"] == category and r["received_at"] >= since
                and (crime_tips or not r["is_crime_tip"]) and r["state"] not in ("resolved", "closed")
                and r["latitude"] is not None and self._placed(r, None, near)]
        return sorted(rows, key=lambda r: r["incident_id"])[:NEARBY_LIMIT]

    async def add_supporter(self, incident_id: str, supporter_key: str, *, anonymous: bool,
                            follow_up_code: str | None = None, secret_hash: str | None = None) -> bool:
        if (incident_id, supporter_key) in self.supporters:
            return False
        if follow_up_code is not None and any(s["follow_up_code"] == follow_up_code for s in self.supporters.values()):
            raise ValueError("duplicate follow_up_code")
        self.supporters[(incident_id, supporter_key)] = {
            "incident_id": incident_id, "supporter_key": supporter_key, "anonymous": anonymous,
            "follow_up_code": follow_up_code, "secret_hash": secret_hash, "supported_at": clock.now()}
        return True

    async def carry_supporters(self, from_id: str, into_id: str, skip_key: str) -> None:
        for (incident_id, key), s in list(self.supporters.items()):
            if incident_id == from_id and key != skip_key and (into_id, key) not in self.supporters:
                self.supporters[(into_id, key)] = {**s, "incident_id": into_id, "follow_up_code": None,
                                                   "secret_hash": None}

    async def recount(self, incident_id: str) -> int:
        n = sum(1 for (i, _) in self.supporters if i == incident_id)
        self.source().incidents.rows[incident_id]["supporters"] = n
        return n

    async def mark_merged(self, incident_id: str, into_id: str) -> None:
        self.source().incidents.rows[incident_id]["merged_into"] = into_id

    async def supporter_by_code(self, code: str) -> dict[str, Any] | None:
        return next(({"incident_id": s["incident_id"], "secret_hash": s["secret_hash"]}
                     for s in self.supporters.values() if s["follow_up_code"] == code), None)


from services.incidents import geo  # noqa: E402 - appended with the places (issue 18)
from services.incidents.repository import MAP_LIMIT, NEARBY_LIMIT  # noqa: E402 - appended with the places


class FakeEvidenceRepository(FakeRepository):
    def __init__(self, projections: FakeProjectionRepository) -> None:
        self._projections = projections

    def snapshot(self) -> dict[str, Any]:
        return {}

    def restore(self, state: dict[str, Any]) -> None:
        pass

    async def set_camera_campaign(self, facility_id: str, ward_id: str, campaign_id: str | None) -> None:
        c = self._projections.cameras_.get(facility_id)
        if c is not None and c["ward_id"] == ward_id:
            c["funded_by_campaign_id"] = campaign_id


# -- assisted intake (issue 17) ----------------------------------------------------------------------------------------
# The columns migrations/0007_assisted.sql adds, with their defaults.
_DEFAULTS.update({"assisted": False, "entered_by": None})


class FakeAssistedRepository(FakeRepository):
    """The residents' groups, and the assisted marks on the fake incidents (``source``: the unit of work)."""

    def __init__(self, source: Callable[[], Any]) -> None:
        self.residents: dict[str, dict[str, Any]] = {}
        self._source = source

    def snapshot(self) -> dict[str, Any]:
        return {"residents": copy.deepcopy(self.residents), "_source": self._source}

    async def resident(self, resident_id: str) -> dict[str, Any] | None:
        row = self.residents.get(resident_id)
        return None if row is None else dict(row)

    async def upsert_resident(self, resident_id: str, ward_id: str, group_id: str, at: datetime) -> None:
        old = self.residents.get(resident_id)
        if old is None:
            self.residents[resident_id] = {"resident_id": resident_id, "ward_id": ward_id, "group_id": group_id,
                                           "last_event_at": at}
        elif old["ward_id"] == ward_id and old["last_event_at"] <= at:
            old.update(group_id=group_id, last_event_at=at)

    async def mark_assisted(self, incident_id: str, entered_by: str) -> None:
        rows = self._source().incidents.rows
        if incident_id in rows:
            rows[incident_id].update(assisted=True, entered_by=entered_by)


# -- reports in by SMS and Zalo, two-way anonymous messages (issue 17) ------------------------------------------------
class FakeIntakeRepository(FakeRepository):
    def __init__(self, source: Callable[[], Any]) -> None:
        self.source = source
        self.channels: dict[str, str] = {}

    async def add_channel(self, incident_id: str, channel: str) -> None:
        if incident_id in self.channels:
            raise ValueError("duplicate incident_id")
        self.channels[incident_id] = channel

    async def set_identity(self, incident_id: str, sealed: bytes) -> None:
        row = self.source().incidents.rows.get(incident_id)
        if row is not None and not row["anonymous"]:
            row["reporter_identity"] = sealed

    async def channel(self, incident_id: str) -> str | None:
        return self.channels.get(incident_id)


class FakeTipMessageRepository(FakeRepository):
    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}

    async def add(self, row: dict[str, Any]) -> None:
        if row["message_id"] in self.rows:
            raise ValueError("duplicate message_id")
        self.rows[row["message_id"]] = {**copy.deepcopy(row), "answered_at": None}

    async def get(self, message_id: str) -> dict[str, Any] | None:
        return copy.deepcopy(self.rows.get(message_id))

    async def mark_answered(self, message_id: str, at: datetime) -> None:
        if message_id in self.rows and self.rows[message_id]["answered_at"] is None:
            self.rows[message_id]["answered_at"] = at

    async def all_of(self, incident_id: str) -> list[dict[str, Any]]:
        return sorted((copy.deepcopy(r) for r in self.rows.values() if r["incident_id"] == incident_id),
                      key=lambda r: (r["created_at"], r["message_id"]))

    async def list(self, incident_id: str, page: PageRequest) -> dict[str, Any]:
        from services.incidents.repository import TIP_MESSAGES_IN_ORDER

        return page_of(await self.all_of(incident_id), TIP_MESSAGES_IN_ORDER, page,
                       lambda r: (r["created_at"], r["message_id"]))
