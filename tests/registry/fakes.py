"""In-memory stand-ins for the registry's repositories (services/registry/repository.py): the same methods, the
same rows (ids named ``<thing>_id``), the same pages. tests/registry/test_handlers.py runs over both, so a fake
that answers differently from the SQL fails the suite.

The tables live in one ``FakeTables`` (the unit of work snapshots and restores it as a whole); each fake
repository is a view on it, as each real repository is a view on the schema.
"""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime, timedelta
from typing import Any

from services.registry.domain import snap
from services.registry.repository import (
    BY_CREATION,
    BY_NAME,
    MAX_AREAS,
    MEMBERS_BY_APPOINTMENT,
    RESIDENTS_BY_NAME,
    STAY_NOTICES_BY_ARRIVAL,
    TEAMS_BY_KIND,
)
from shared.application import FakeRepository, FakeUnitOfWork
from shared.crypto import KeyRing, PersonalDataProtector
from shared.paging import Keyset, PageRequest, page_of

TEST_PII = PersonalDataProtector(KeyRing("PII_KEYS", {"k1": b"\x01" * 32}, "k1"),
                                 KeyRing("INDEX_KEYS", {"i1": b"\x02" * 32}, "i1"), service="registry")
_EPOCH = datetime(2024, 1, 1, tzinfo=UTC)


class FakeTables(FakeRepository):
    """The registry's schema in memory: rows by id (already named as the repositories show them)."""

    def __init__(self) -> None:
        self.wards: dict[str, dict] = {}
        self.groups: dict[str, dict] = {}
        self.households: dict[str, dict] = {}
        self.residents: dict[str, dict] = {}
        self.teams: dict[str, dict] = {}
        self.team_members: list[dict] = []
        self.facilities: dict[str, dict] = {}
        self.boarding_houses: dict[str, dict] = {}
        self.boarding_house_checks: list[dict] = []
        self.declarations: dict[str, dict] = {}
        self.stay_notices: dict[str, dict] = {}
        self.group_areas: dict[str, dict] = {}
        self.seq = 0

    def tick(self) -> int:
        self.seq += 1
        return self.seq


class _FakeTable(FakeRepository):
    table = ""
    id_name = ""
    defaults: dict[str, Any] = {}
    keyset: Keyset = BY_CREATION

    def __init__(self, db: FakeTables) -> None:
        self.db = db

    # the state is the tables': nothing of a view's own to save or restore
    def snapshot(self) -> dict[str, Any]:
        return {}

    def restore(self, state: dict[str, Any]) -> None:
        pass

    @property
    def rows(self) -> dict[str, dict]:
        return getattr(self.db, self.table)

    def _show(self, row: dict) -> dict[str, Any]:
        return copy.deepcopy(row)

    async def get(self, id_: str, *, lock: bool = False) -> dict[str, Any] | None:
        row = self.rows.get(id_)
        return None if row is None else self._show(row)

    def _taken(self, row: dict[str, Any]) -> bool:
        return row[self.id_name] in self.rows

    async def add(self, row: dict[str, Any], *, if_absent: bool = False) -> bool:
        if self._taken(row):
            if if_absent:
                return False
            raise AssertionError(f"{self.table}: duplicate key (PostgreSQL would raise)")
        stored = {**copy.deepcopy(self.defaults), **copy.deepcopy(row)}
        stored["created_at"] = _EPOCH + timedelta(microseconds=self.db.tick())
        self.rows[row[self.id_name]] = stored
        return True

    async def update(self, id_: str, values: dict[str, Any]) -> None:
        self.rows[id_].update(copy.deepcopy(values))

    def _field(self, column: str) -> str:
        column = column.rsplit(".", 1)[-1]
        return self.id_name if column == "id" else column

    def _key(self, keyset: Keyset):
        fields = [self._field(f) for _, _, f in keyset.columns]
        return lambda r: tuple(r[f] for f in fields)

    async def page(self, filters: dict[str, Any], page: PageRequest) -> dict[str, Any]:
        shown = [self._show(r) for r in self.rows.values()
                 if all(v is None or r[self._field(c)] == v for c, v in filters.items())]
        return page_of(shown, self.keyset, page, self._key(self.keyset))


class FakeWardRepository(_FakeTable):
    table, id_name = "wards", "ward_id"


class FakeGroupRepository(_FakeTable):
    table, id_name = "groups", "group_id"
    keyset = BY_NAME

    def _taken(self, row: dict[str, Any]) -> bool:
        return super()._taken(row) or any(g["ward_id"] == row["ward_id"] and g["name"] == row["name"]
                                          for g in self.rows.values())

    def _show(self, row: dict) -> dict[str, Any]:
        count = sum(1 for h in self.db.households.values() if h["group_id"] == row["group_id"])
        return {**copy.deepcopy(row), "household_count": count}

    async def page_of_ward(self, ward_id: str, page: PageRequest) -> dict[str, Any]:
        return await self.page({"ward_id": ward_id}, page)


class FakeHouseholdRepository(_FakeTable):
    table, id_name = "households", "household_id"
    defaults = {"head_resident_id": None}

    async def headed_by(self, resident_id: str) -> bool:
        return any(h["head_resident_id"] == resident_id for h in self.rows.values())


class FakeResidentRepository(_FakeTable):
    table, id_name = "residents", "resident_id"
    defaults = {"birth_date": None, "phone": None, "national_id_cipher": None, "national_id_index": None}

    async def lock(self, resident_id: str) -> None:
        pass

    async def of_household(self, household_id: str) -> list[dict[str, Any]]:
        rows = sorted((r for r in self.rows.values() if r["household_id"] == household_id),
                      key=lambda r: (r["created_at"], r["resident_id"]))
        return [self._show(r) for r in rows[:200]]

    async def page_of_ward(self, ward_id: str, *, group_id: str | None, household_ids: list[str],
                           page: PageRequest) -> dict[str, Any]:
        shown = []
        for r in self.rows.values():
            group = self.db.households[r["household_id"]]["group_id"]
            if r["ward_id"] == ward_id and group_id in (None, group) and all(h == r["household_id"]
                                                                             for h in household_ids):
                shown.append({**self._show(r), "group_id": group})
        return page_of(shown, RESIDENTS_BY_NAME, page, self._key(RESIDENTS_BY_NAME))

    async def national_id_taken(self, ward_id: str, indexes: list[str], except_id: str | None = None) -> bool:
        return any(r["ward_id"] == ward_id and r["national_id_index"] in indexes and r["resident_id"] != except_id
                   for r in self.rows.values())


class FakeTeamRepository(_FakeTable):
    table, id_name = "teams", "team_id"

    async def page_of_ward(self, ward_id: str, group_id: str | None, kind: str | None,
                           page: PageRequest | None) -> dict[str, Any]:
        shown = [self._show(t) for t in self.rows.values()
                 if t["ward_id"] == ward_id and group_id in (None, t["group_id"]) and kind in (None, t["kind"])]
        if page is None:
            return {"items": sorted(shown, key=self._key(TEAMS_BY_KIND)), "next_cursor": None}
        return page_of(shown, TEAMS_BY_KIND, page, self._key(TEAMS_BY_KIND))

    def _member(self, m: dict) -> dict[str, Any]:
        r = self.db.residents[m["resident_id"]]
        return {"resident_id": m["resident_id"], "role": m["role"], "appointed_on": m["appointed_on"],
                "appointment_act": m["appointment_act"], "left_on": m["left_on"], "full_name": r["full_name"],
                "sex": r["sex"], "household_id": r["household_id"]}

    async def active_members(self, team_id: str) -> list[dict[str, Any]]:
        return [self._member(m) for m in self.db.team_members if m["team_id"] == team_id and m["left_on"] is None]

    async def active_membership(self, team_id: str, resident_id: str) -> dict[str, Any] | None:
        return next((copy.deepcopy(m) for m in self.db.team_members if m["team_id"] == team_id
                     and m["resident_id"] == resident_id and m["left_on"] is None), None)

    async def add_member(self, row: dict[str, Any]) -> None:
        self.db.team_members.append({"id": self.db.tick(), "left_on": None, **copy.deepcopy(row)})

    def _membership(self, membership_id: int) -> dict:
        return next(m for m in self.db.team_members if m["id"] == membership_id)

    async def change_role(self, membership_id: int, role: str, appointment_act: str | None) -> None:
        m = self._membership(membership_id)
        m["role"] = role
        if appointment_act is not None:
            m["appointment_act"] = appointment_act

    async def end_membership(self, membership_id: int, left_on: date) -> None:
        self._membership(membership_id)["left_on"] = left_on

    async def members_page(self, team_id: str, active: bool | None, page: PageRequest) -> dict[str, Any]:
        shown = [{"id": m["id"], **self._member(m)} for m in self.db.team_members
                 if m["team_id"] == team_id and active in (None, m["left_on"] is None)]
        listed = page_of(shown, MEMBERS_BY_APPOINTMENT, page, lambda m: (m["id"],))
        return {**listed, "items": [{k: v for k, v in m.items() if k != "id"} for m in listed["items"]]}


def _boxes_meet(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


class _FakePlaced(_FakeTable):
    """``page_within`` of repository._Placed: the bbox matched as the viewer sees the points."""

    def _in_box(self, row: dict, bbox: tuple[float, float, float, float], precision: str) -> bool:
        if precision == "group":
            area = self.db.group_areas.get(row["group_id"])
            return area is not None and _boxes_meet(
                (area["min_lon"], area["min_lat"], area["max_lon"], area["max_lat"]), bbox)
        if row["latitude"] is None:
            return False
        lon, lat = row["longitude"], row["latitude"]
        if precision == "approximate":
            lon, lat = snap(lon), snap(lat)
        return bbox[0] <= lon <= bbox[2] and bbox[1] <= lat <= bbox[3]

    async def page_within(self, filters: dict[str, Any], page: PageRequest, *,
                          bbox: tuple[float, float, float, float] | None, precision: str) -> dict[str, Any]:
        shown = [self._show(r) for r in self.rows.values()
                 if all(v is None or r[self._field(c)] == v for c, v in filters.items())
                 and (bbox is None or self._in_box(r, bbox, precision))]
        return page_of(shown, self.keyset, page, self._key(self.keyset))


class FakeGroupAreaRepository(_FakeTable):
    table, id_name = "group_areas", "group_id"

    def _show(self, row: dict) -> dict[str, Any]:
        return {**copy.deepcopy(row), "name": self.db.groups[row["group_id"]]["name"]}

    async def put(self, row: dict[str, Any]) -> None:
        self.db.tick()
        self.rows[row["group_id"]] = {**copy.deepcopy(row), "updated_at": _EPOCH + timedelta(microseconds=self.db.seq)}

    async def of_group(self, group_id: str) -> dict[str, Any] | None:
        return await self.get(group_id)

    async def of_ward(self, ward_id: str, bbox: tuple[float, float, float, float] | None) -> list[dict[str, Any]]:
        rows = [self._show(a) for a in self.rows.values() if a["ward_id"] == ward_id and (
            bbox is None or _boxes_meet((a["min_lon"], a["min_lat"], a["max_lon"], a["max_lat"]), bbox))]
        return sorted(rows, key=lambda a: (a["name"], a["group_id"]))[:MAX_AREAS]


class FakeFacilityRepository(_FakePlaced):
    table, id_name = "facilities", "facility_id"
    defaults = {"installed_on": None, "funded_by_campaign_id": None, "funded_by_expense_id": None,
                "decommissioned_on": None, "decommission_reason": None, "latitude": None, "longitude": None}


class FakeBoardingHouseRepository(_FakePlaced):
    table, id_name = "boarding_houses", "boarding_house_id"
    defaults = {"rooms": [], "latitude": None, "longitude": None}

    async def add_check(self, row: dict[str, Any]) -> None:
        self.db.boarding_house_checks.append({"id": self.db.tick(), **copy.deepcopy(row)})

    async def not_checked_since(self, ward_id: str, since: date) -> list[dict[str, Any]]:
        out = []
        for b in sorted(self.rows.values(), key=lambda b: (b["name"], b["boarding_house_id"])):
            checks = [c["checked_on"] for c in self.db.boarding_house_checks
                      if c["boarding_house_id"] == b["boarding_house_id"]]
            if b["ward_id"] == ward_id and not any(c >= since for c in checks):
                out.append({"boarding_house_id": b["boarding_house_id"], "name": b["name"], "group_id": b["group_id"],
                            "last_checked_on": max(checks, default=None)})
        return out


class FakeDeclarationRepository(_FakeTable):
    table, id_name = "declarations", "declaration_id"
    defaults = {"boarding_house_id": None, "room": None, "absence_case": None, "destination": None, "ended_on": None}

    async def active(self, resident_id: str, kind: str) -> list[dict[str, Any]]:
        return [self._show(d) for d in self.rows.values()
                if d["resident_id"] == resident_id and d["kind"] == kind and d["status"] == "active"]

    async def due_for_expiry(self, today: date) -> list[dict[str, Any]]:
        due = [d for d in self.rows.values()
               if d["kind"] == "temporary_residence" and d["status"] == "active" and d["valid_until"] < today]
        return [self._show(d) for d in sorted(due, key=lambda d: (d["valid_until"], d["declaration_id"]))]

    async def expiring_within(self, ward_id: str, until: date) -> list[dict[str, Any]]:
        due = sorted((d for d in self.rows.values() if d["ward_id"] == ward_id and d["status"] == "active"
                      and d["valid_until"] <= until), key=lambda d: (d["valid_until"], d["declaration_id"]))
        return [{"declaration_id": d["declaration_id"], "resident_id": d["resident_id"], "group_id": d["group_id"],
                 "kind": d["kind"], "valid_until": d["valid_until"],
                 "full_name": self.db.residents[d["resident_id"]]["full_name"]} for d in due]

    async def lodgers_without_notice(self, ward_id: str) -> list[dict[str, Any]]:
        notified = {(n["boarding_house_id"], n["lodger_resident_id"]) for n in self.db.stay_notices.values()}
        lodgers = sorted((d for d in self.rows.values() if d["ward_id"] == ward_id
                          and d["kind"] == "temporary_residence" and d["status"] == "active"
                          and d["boarding_house_id"] is not None
                          and (d["boarding_house_id"], d["resident_id"]) not in notified),
                         key=lambda d: (d["boarding_house_id"], d["resident_id"]))
        return [{"resident_id": d["resident_id"], "boarding_house_id": d["boarding_house_id"], "room": d["room"],
                 "group_id": d["group_id"], "full_name": self.db.residents[d["resident_id"]]["full_name"]}
                for d in lodgers]


class FakeStayNoticeRepository(_FakeTable):
    table, id_name = "stay_notices", "notice_id"
    keyset = STAY_NOTICES_BY_ARRIVAL

    async def add(self, row: dict[str, Any], *, if_absent: bool = False) -> bool:
        added = await super().add(row, if_absent=if_absent)
        self.rows[row["notice_id"]].pop("created_at", None)  # the table has no created_at: arrival orders it
        return added


class FakeRegistryUnitOfWork(FakeUnitOfWork):
    def __init__(self, pii: PersonalDataProtector = TEST_PII) -> None:
        super().__init__()
        self.pii = pii
        self.tables = FakeTables()
        self.wards = FakeWardRepository(self.tables)
        self.groups = FakeGroupRepository(self.tables)
        self.households = FakeHouseholdRepository(self.tables)
        self.residents = FakeResidentRepository(self.tables)
        self.teams = FakeTeamRepository(self.tables)
        self.facilities = FakeFacilityRepository(self.tables)
        self.boarding_houses = FakeBoardingHouseRepository(self.tables)
        self.declarations = FakeDeclarationRepository(self.tables)
        self.stay_notices = FakeStayNoticeRepository(self.tables)
        self.group_areas = FakeGroupAreaRepository(self.tables)
