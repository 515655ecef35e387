"""The notify service's repositories in memory: the same methods and results as services/notify/repository.py
(tests/notify/test_handlers.py runs one suite over both, so these cannot drift from the SQL)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from services.notify.handlers import NotifyConfig
from services.notify.repository import DELIVERY_ORDER, INBOX_ORDER
from shared.application import FakeRepository, FakeUnitOfWork
from shared.paging import PageRequest, page_of

Row = dict[str, Any]


def _person(row: Row) -> Row:
    return {**row, "roles": list(row["roles"]), "team_ids": list(row["team_ids"])}


class FakePeople(FakeRepository):
    def __init__(self, projections: FakeProjections) -> None:
        self.rows: dict[str, Row] = {}
        self._members = lambda: projections.members  # a closure: not part of the snapshot
        self._teams = lambda: projections.teams

    async def put(self, row: Row) -> None:
        old = self.rows.get(row["person_id"])
        if old is None or old["updated_at"] <= row["updated_at"]:
            self.rows[row["person_id"]] = dict(row)

    async def get(self, person_id: str) -> Row | None:
        row = self.rows.get(person_id)
        return None if row is None else _person(row)

    def _live(self) -> list[Row]:
        return [_person(r) for _, r in sorted(self.rows.items()) if not r["disabled"]]

    async def with_role(self, ward_id: str, role: str) -> list[Row]:
        return [r for r in self._live() if r["ward_id"] == ward_id and role in r["roles"]]

    async def residents(self, resident_ids: list[str]) -> list[Row]:
        return [r for r in self._live() if r["resident_id"] is not None and r["resident_id"] in resident_ids]

    async def leaders_of(self, team_id: str) -> list[Row]:
        leaders = {m["resident_id"] for m in self._members().values()
                   if m["team_id"] == team_id and m["role"] == "leader"}
        return [r for r in self._live() if r["resident_id"] in leaders
                or ("team_leader" in r["roles"] and team_id in r["team_ids"])]


    async def group_leaders(self, group_id: str) -> list[Row]:
        teams = {t for t, r in self._teams().items() if r["group_id"] == group_id}
        return [r for r in self._live() if "team_leader" in r["roles"] and teams & set(r["team_ids"])]


class FakeProjections(FakeRepository):
    def __init__(self) -> None:
        self.tips: dict[str, Row] = {}
        self.group_rows: dict[str, Row] = {}
        self.teams: dict[str, Row] = {}
        self.members: dict[tuple[str, str], Row] = {}
        self.residences: dict[str, Row] = {}
        self.houses: dict[str, Row] = {}

    async def put_tip(self, incident_id: str, ward_id: str, group_id: str, **fields: Any) -> None:
        row = self.tips.setdefault(incident_id, {
            "incident_id": incident_id, "ward_id": ward_id, "group_id": group_id, "category": None,
            "is_crime_tip": False, "deadline_on": None, "officer_ref": None, "team_id": None, "closed": False})
        row.update(fields)

    async def tip(self, incident_id: str) -> Row | None:
        row = self.tips.get(incident_id)
        return None if row is None else dict(row)

    async def tips_due_by(self, last_day: date) -> list[Row]:
        rows = [dict(r) for r in self.tips.values() if r["is_crime_tip"] and not r["closed"]
                and r["deadline_on"] is not None and r["deadline_on"] <= last_day]
        return sorted(rows, key=lambda r: (r["deadline_on"], r["incident_id"]))

    async def put_group(self, group_id: str, ward_id: str, name: str) -> None:
        self.group_rows[group_id] = {"group_id": group_id, "ward_id": ward_id, "name": name}

    async def groups(self, ward_id: str) -> dict[str, Row]:
        return {k: dict(v) for k, v in self.group_rows.items() if v["ward_id"] == ward_id}

    async def put_team(self, team_id: str, ward_id: str, group_id: str, kind: str) -> None:
        self.teams.setdefault(team_id, {"team_id": team_id, "ward_id": ward_id, "group_id": group_id, "kind": kind})

    async def teams_of(self, group_id: str, kind: str) -> list[str]:
        return sorted(t for t, r in self.teams.items() if r["group_id"] == group_id and r["kind"] == kind)

    async def put_member(self, team_id: str, resident_id: str, role: str | None) -> None:
        if role is None:
            self.members.pop((team_id, resident_id), None)
        else:
            self.members[(team_id, resident_id)] = {"team_id": team_id, "resident_id": resident_id, "role": role}

    async def put_residence(self, declaration_id: str, ward_id: str, resident_id: str, group_id: str,
                            valid_until: date | None, ended: bool = False) -> None:
        if valid_until is None:
            if declaration_id in self.residences:
                self.residences[declaration_id]["ended"] = ended
            return
        self.residences[declaration_id] = {"declaration_id": declaration_id, "ward_id": ward_id,
                                           "resident_id": resident_id, "group_id": group_id,
                                           "valid_until": valid_until, "ended": ended}

    async def residences_until(self, last_day: date) -> list[Row]:
        rows = [dict(r) for r in self.residences.values() if not r["ended"] and r["valid_until"] <= last_day]
        return sorted(rows, key=lambda r: (r["valid_until"], r["declaration_id"]))

    async def put_boarding_house(self, boarding_house_id: str, ward_id: str, group_id: str, landlord: str) -> None:
        self.houses[boarding_house_id] = {"boarding_house_id": boarding_house_id, "ward_id": ward_id,
                                          "group_id": group_id, "landlord_resident_id": landlord}



class FakeNotifications(FakeRepository):
    def __init__(self) -> None:
        self.rows: dict[str, Row] = {}

    async def add(self, row: Row) -> bool:
        if any(r["person_id"] == row["person_id"] and r["fact_key"] == row["fact_key"] for r in self.rows.values()):
            return False
        self.rows[row["notification_id"]] = {**row, "read_at": None}
        return True

    async def get(self, person_id: str, notification_id: str) -> Row | None:
        row = self.rows.get(notification_id)
        return dict(row) if row is not None and row["person_id"] == person_id else None

    async def page(self, person_id: str, unread: bool, page: PageRequest) -> list[Row]:
        rows = [dict(r) for r in self.rows.values() if r["person_id"] == person_id
                and (not unread or r["read_at"] is None)]
        return page_of(rows, INBOX_ORDER, PageRequest(page.limit + 1, page.cursor),
                       key=lambda r: (r["created_at"], r["notification_id"]))["items"]

    async def of(self, person_id: str) -> list[Row]:
        rows = [dict(r) for r in self.rows.values() if r["person_id"] == person_id]
        return sorted(rows, key=lambda r: (r["created_at"], r["notification_id"]), reverse=True)

    async def mark_read(self, person_id: str, notification_id: str, at: datetime) -> None:
        row = self.rows.get(notification_id)
        if row is not None and row["person_id"] == person_id and row["read_at"] is None:
            row["read_at"] = at

    async def read_all(self, person_id: str, at: datetime) -> int:
        n = 0
        for row in self.rows.values():
            if row["person_id"] == person_id and row["read_at"] is None:
                row["read_at"], n = at, n + 1
        return n

    async def unread_count(self, person_id: str) -> int:
        return sum(1 for r in self.rows.values() if r["person_id"] == person_id and r["read_at"] is None)


class FakeDeliveries(FakeRepository):
    def __init__(self, notifications: FakeNotifications) -> None:
        self.rows: dict[str, Row] = {}
        self._notifications = lambda: notifications.rows  # a closure: not part of the snapshot

    async def add(self, row: Row) -> None:
        if any(r["notification_id"] == row["notification_id"] and r["channel"] == row["channel"]
               for r in self.rows.values()):
            return
        self.rows[row["delivery_id"]] = {**row, "status": "pending", "attempts": 0, "last_error": None,
                                         "sent_at": None}

    async def of(self, person_id: str, notification_id: str | None) -> list[Row]:
        mine = {k for k, n in self._notifications().items() if n["person_id"] == person_id}
        rows = [dict(r) for r in self.rows.values() if r["notification_id"] in mine
                and (notification_id is None or r["notification_id"] == notification_id)]
        return sorted(rows, key=lambda r: (r["not_before"], r["delivery_id"]))

    async def page(self, person_id: str, notification_id: str | None, page: PageRequest) -> list[Row]:
        rows = await self.of(person_id, notification_id)
        return page_of(rows, DELIVERY_ORDER, PageRequest(page.limit + 1, page.cursor),
                       key=lambda r: (r["not_before"], r["delivery_id"]))["items"]


class FakeContacts(FakeRepository):
    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], Row] = {}
        self.codes: dict[tuple[str, str], Row] = {}

    async def of(self, person_id: str) -> list[Row]:
        return [dict(r) for k, r in sorted(self.rows.items()) if k[0] == person_id]

    async def get(self, person_id: str, channel: str) -> Row | None:
        row = self.rows.get((person_id, channel))
        return None if row is None else dict(row)

    async def put(self, person_id: str, channel: str, address_sealed: bytes) -> None:
        self.rows[(person_id, channel)] = {"person_id": person_id, "channel": channel,
                                           "address_sealed": address_sealed, "verified_at": None}

    async def verify(self, person_id: str, channel: str, at: datetime) -> None:
        if (person_id, channel) in self.rows:
            self.rows[(person_id, channel)]["verified_at"] = at

    async def delete(self, person_id: str, channel: str) -> bool:
        self.codes.pop((person_id, channel), None)
        return self.rows.pop((person_id, channel), None) is not None

    async def verified(self, person_id: str) -> set[str]:
        return {c for (p, c), r in self.rows.items() if p == person_id and r["verified_at"] is not None}

    async def put_code(self, person_id: str, channel: str, code_hash: bytes, expires_at: datetime) -> None:
        self.codes[(person_id, channel)] = {"person_id": person_id, "channel": channel, "code_hash": code_hash,
                                            "expires_at": expires_at, "attempts": 0}

    async def code(self, person_id: str, channel: str) -> Row | None:
        row = self.codes.get((person_id, channel))
        return None if row is None else dict(row)

    async def count_attempt(self, person_id: str, channel: str) -> None:
        if (person_id, channel) in self.codes:
            self.codes[(person_id, channel)]["attempts"] += 1

    async def drop_code(self, person_id: str, channel: str) -> None:
        self.codes.pop((person_id, channel), None)


class FakePreferences(FakeRepository):
    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], Row] = {}

    async def of(self, person_id: str) -> dict[str, Row]:
        return {k: {"kind": k, "channels": list(r["channels"]), "digest": r["digest"]}
                for (p, k), r in self.rows.items() if p == person_id}

    async def put(self, person_id: str, kind: str, channels: list[str], digest: bool) -> None:
        self.rows[(person_id, kind)] = {"channels": list(channels), "digest": digest}


class FakeNotifyUnitOfWork(FakeUnitOfWork):
    def __init__(self, config: NotifyConfig) -> None:
        super().__init__()
        self.config = config
        self.projections = FakeProjections()
        self.people = FakePeople(self.projections)
        self.notifications = FakeNotifications()
        self.deliveries = FakeDeliveries(self.notifications)
        self.contacts = FakeContacts()
        self.preferences = FakePreferences()
