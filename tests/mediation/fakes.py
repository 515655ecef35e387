"""In-memory stand-ins of services/mediation/repository.py: the same methods, the same answers (rows as dicts in
the same order, cases as ``CaseFile``). tests/mediation/test_handlers.py runs over these and the real ones, so
they cannot drift."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime
from typing import Any

from services.mediation import domain
from services.mediation.domain import CaseFile, CaseFilters, CaseScope, Member, Party
from services.mediation.repository import CASES_BY_RECEIPT, TEAMS_BY_GROUP, UPDATABLE
from shared.application import FakeRepository, FakeUnitOfWork
from shared.paging import PageRequest, page_of

_TEAM_COLUMNS = ("team_id", "ward_id", "group_id", "name", "registry_compliant")


class FakeTeamRepository(FakeRepository):
    def __init__(self) -> None:
        self.teams: dict[str, dict[str, Any]] = {}
        self.members_of: dict[str, dict[str, tuple[Member, bool]]] = {}

    async def upsert(self, *, team_id: str, ward_id: str, group_id: str, name: str | None, compliant: bool,
                     issues: list[str]) -> None:
        existing = self.teams.get(team_id)
        if existing is None:
            self.teams[team_id] = {"team_id": team_id, "ward_id": ward_id, "group_id": group_id, "name": name,
                                   "registry_compliant": compliant, "registry_issues": list(issues)}
        else:
            existing.update(group_id=group_id, name=name if name is not None else existing["name"],
                            registry_compliant=compliant, registry_issues=list(issues))

    async def upsert_member(self, team_id: str, m: Member, *, active: bool) -> None:
        assert team_id in self.teams  # the foreign key
        self.members_of.setdefault(team_id, {})[m.resident_id] = (m, active)

    async def get(self, team_id: str) -> dict[str, Any] | None:
        team = self.teams.get(team_id)
        return None if team is None else {k: team[k] for k in _TEAM_COLUMNS}

    async def ids_of_group(self, ward_id: str, group_id: str) -> list[str]:
        return sorted(t["team_id"] for t in self.teams.values()
                      if t["ward_id"] == ward_id and t["group_id"] == group_id)

    async def members(self, team_id: str) -> list[Member]:
        active = [m for m, on in self.members_of.get(team_id, {}).values() if on]
        return sorted(active, key=lambda m: (m.role, m.full_name))

    async def page(self, ward_id: str, page: PageRequest) -> dict[str, Any]:
        teams = [{k: t[k] for k in _TEAM_COLUMNS} for t in self.teams.values() if t["ward_id"] == ward_id]
        listed = page_of(teams, TEAMS_BY_GROUP, page, key=lambda t: (t["group_id"], t["team_id"]))
        listed["items"] = [{**t, "members": await self.members(t["team_id"])} for t in listed["items"]]
        return listed


class FakeResidentRepository(FakeRepository):
    def __init__(self) -> None:
        self.residents: dict[str, dict[str, str]] = {}

    async def upsert(self, *, resident_id: str, ward_id: str, household_id: str, group_id: str,
                     full_name: str) -> None:
        existing = self.residents.get(resident_id)
        if existing is None:
            self.residents[resident_id] = {"ward_id": ward_id, "household_id": household_id, "group_id": group_id,
                                           "full_name": full_name}
        else:
            existing.update(household_id=household_id, group_id=group_id, full_name=full_name)

    async def move(self, resident_id: str, household_id: str, group_id: str) -> None:
        if resident_id in self.residents:
            self.residents[resident_id].update(household_id=household_id, group_id=group_id)

    async def rename(self, resident_id: str, full_name: str) -> None:
        if resident_id in self.residents:
            self.residents[resident_id]["full_name"] = full_name

    async def household_of(self, resident_id: str, ward_id: str) -> str | None:
        r = self.residents.get(resident_id)
        return r["household_id"] if r is not None and r["ward_id"] == ward_id else None


_CASE_DEFAULTS = {column: None for column in UPDATABLE}


class FakeCaseRepository(FakeRepository):
    def __init__(self) -> None:
        self.cases: dict[str, dict[str, Any]] = {}
        self.parties_of: dict[str, list[Party]] = {}
        self.mediators_of: dict[str, list[dict[str, Any]]] = {}
        self.sessions_of: dict[str, list[dict[str, Any]]] = {}
        self.follow_ups_of: dict[str, list[dict[str, Any]]] = {}

    async def add(self, *, case_id: str, ward_id: str, group_id: str, team_id: str | None,
                  referral_incident_id: str | None, origin: str, kind: str, summary: str, status: str,
                  received_at: datetime, received_on: date, assignment_due: date, opened_by: str,
                  parties: list[Party]) -> bool:
        if case_id in self.cases or (referral_incident_id is not None and any(
                c["referral_incident_id"] == referral_incident_id for c in self.cases.values())):
            return False
        self.cases[case_id] = {
            **_CASE_DEFAULTS, "case_id": case_id, "ward_id": ward_id, "group_id": group_id, "team_id": team_id,
            "referral_incident_id": referral_incident_id, "origin": origin, "kind": str(kind), "summary": summary,
            "status": str(status), "received_at": received_at.astimezone(UTC), "received_on": received_on,
            "assignment_due": assignment_due, "opened_by": opened_by, "created_at": datetime.now(UTC)}
        self.parties_of[case_id] = list(parties)
        return True

    async def get(self, case_id: str, *, for_update: bool = False) -> dict[str, Any] | None:
        case = self.cases.get(case_id)
        return None if case is None else dict(case)

    async def of_referral(self, incident_id: str) -> dict[str, Any] | None:
        return next((dict(c) for c in self.cases.values() if c["referral_incident_id"] == incident_id), None)

    async def update(self, case_id: str, **fields: Any) -> None:
        unknown = set(fields) - UPDATABLE
        if unknown:
            raise ValueError(f"not updatable: {unknown}")
        if case_id in self.cases:
            self.cases[case_id].update({k: str(v) if k in ("status", "kind") else v for k, v in fields.items()})

    async def parties(self, case_id: str) -> list[Party]:
        return list(self.parties_of.get(case_id, []))

    async def mediators(self, case_id: str) -> list[dict[str, Any]]:
        return sorted((dict(m) for m in self.mediators_of.get(case_id, [])),
                      key=lambda m: (m["assigned_on"], m["full_name"]))

    async def add_mediator(self, case_id: str, m: Member, *, chosen_by_parties: bool, assigned_on: date,
                           late: bool) -> bool:
        rows = self.mediators_of.setdefault(case_id, [])
        if any(r["mediator_id"] == m.resident_id for r in rows):
            return False
        rows.append({"mediator_id": m.resident_id, "full_name": m.full_name, "chosen_by_parties": chosen_by_parties,
                     "assigned_on": assigned_on, "late": late})
        return True

    async def add_session(self, *, session_id: str, case_id: str, held_at: datetime, place: str | None,
                          mediator_ids: list[str], parties_present: list[int], invitees: list[dict[str, str]],
                          notes: str | None) -> None:
        self.sessions_of.setdefault(case_id, []).append({
            "session_id": session_id, "held_at": held_at.astimezone(UTC), "place": place,
            "mediator_ids": list(mediator_ids), "parties_present": list(parties_present),
            "invitees": copy.deepcopy(invitees), "notes": notes})

    async def sessions(self, case_id: str) -> list[dict[str, Any]]:
        return sorted((copy.deepcopy(s) for s in self.sessions_of.get(case_id, [])),
                      key=lambda s: (s["held_at"], s["session_id"]))

    async def add_follow_up(self, *, follow_up_id: str, case_id: str, checked_on: date, progress: str,
                            notes: str | None) -> None:
        self.follow_ups_of.setdefault(case_id, []).append(
            {"follow_up_id": follow_up_id, "checked_on": checked_on, "progress": progress, "notes": notes})

    async def follow_ups(self, case_id: str) -> list[dict[str, Any]]:
        return sorted((dict(f) for f in self.follow_ups_of.get(case_id, [])),
                      key=lambda f: (f["checked_on"], f["follow_up_id"]))

    async def file(self, case_id: str) -> CaseFile | None:
        case = await self.get(case_id)
        return None if case is None else await self._file(case)

    async def _file(self, case: dict[str, Any]) -> CaseFile:
        case_id = case["case_id"]
        return CaseFile(case, await self.parties(case_id), await self.mediators(case_id),
                        await self.sessions(case_id), await self.follow_ups(case_id))

    def _reaches(self, scope: CaseScope, case: dict[str, Any]) -> bool:
        return case["ward_id"] == scope.ward_id and (
            scope.everything or case["team_id"] in scope.team_ids
            or any(p.resident_id is not None and p.resident_id == scope.party_resident_id
                   for p in self.parties_of[case["case_id"]]))

    def _late(self, case: dict[str, Any], today: date) -> bool:
        first = min((m["assigned_on"] for m in self.mediators_of.get(case["case_id"], [])), default=None)
        return domain.case_assignment_late(case, first, today)

    async def page(self, scope: CaseScope, filters: CaseFilters, page: PageRequest, today: date) -> dict[str, Any]:
        def kept(c: dict[str, Any]) -> bool:
            return (self._reaches(scope, c)
                    and (filters.status is None or c["status"] == filters.status)
                    and (filters.kind is None or c["kind"] == filters.kind)
                    and (filters.group_id is None or c["group_id"] == filters.group_id)
                    and (filters.team_id is None or c["team_id"] == filters.team_id)
                    and (filters.referral_incident_id is None
                         or c["referral_incident_id"] == filters.referral_incident_id)
                    and (filters.assignment_late is None or self._late(c, today) is filters.assignment_late))

        cases = [dict(c) for c in self.cases.values() if kept(c)]
        listed = page_of(cases, CASES_BY_RECEIPT, page, key=lambda c: (c["received_at"], c["case_id"]))
        listed["items"] = [await self._file(c) for c in listed["items"]]
        return listed

    async def of_team_year(self, team_id: str, year: int) -> list[CaseFile]:
        cases = sorted((dict(c) for c in self.cases.values()
                        if c["team_id"] == team_id and c["received_on"].year == year),
                       key=lambda c: (c["received_on"], c["received_at"], c["case_id"]))
        return [await self._file(c) for c in cases]


class FakeMediationUnitOfWork(FakeUnitOfWork):
    def __init__(self) -> None:
        super().__init__()
        self.cases = FakeCaseRepository()
        self.teams = FakeTeamRepository()
        self.residents = FakeResidentRepository()
