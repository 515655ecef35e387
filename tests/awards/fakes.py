"""The awards service's repositories in memory: the same methods and results as services/awards/repository.py
(tests/awards/test_handlers.py runs one suite over both, so these cannot drift from the SQL)."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from typing import Any

from services.awards.repository import ACHIEVEMENTS, CRITERIA, ISSUERS, NOMINATIONS
from shared.application import FakeRepository, FakeUnitOfWork
from shared.errors import Conflict
from shared.paging import PageRequest, page_of

Row = dict[str, Any]
_ORDER = itertools.count()  # the order facts were recorded in (PostgreSQL: recorded_at, then event_id)


def _now() -> datetime:
    return datetime.now(UTC)


class FakeDirectoryRepository(FakeRepository):
    def __init__(self) -> None:
        self.names: dict[tuple[str, str, str], Row] = {}
        self.facilities: dict[tuple[str, str], Row] = {}
        self.verifiers: dict[tuple[str, str], str] = {}

    async def put_name(self, ward_id: str, ref_kind: str, ref: str, name: str, team_kind: str | None = None,
                       group_id: str | None = None) -> None:
        old = self.names.get((ward_id, ref_kind, ref), {})
        self.names[(ward_id, ref_kind, ref)] = {"name": name, "team_kind": team_kind or old.get("team_kind"),
                                                "group_id": group_id or old.get("group_id")}

    async def name_of(self, ward_id: str, ref_kind: str, ref: str) -> str | None:
        row = self.names.get((ward_id, ref_kind, ref))
        return row["name"] if row else None

    async def put_facility(self, ward_id: str, facility_id: str, group_id: str, kind: str,
                           campaign_id: str | None) -> None:
        self.facilities[(ward_id, facility_id)] = {"group_id": group_id, "kind": kind,
                                                   "funded_by_campaign_id": campaign_id}

    async def facility_group(self, ward_id: str, facility_id: str) -> str | None:
        row = self.facilities.get((ward_id, facility_id))
        return row["group_id"] if row else None

    async def keep_claim_verifier(self, ward_id: str, reporter_ref: str, verifier: str) -> None:
        self.verifiers[(ward_id, reporter_ref)] = verifier

    async def claim_verifier(self, ward_id: str, reporter_ref: str) -> str | None:
        return self.verifiers.get((ward_id, reporter_ref))


class FakeAchievementRepository(FakeRepository):
    def __init__(self) -> None:
        self.rows: dict[str, Row] = {}
        self.facts: dict[str, dict[str, Row]] = {}
        self.holds: list[Row] = []  # nomination_achievements
        self.awarded: dict[str, str] = {}  # award_achievements: achievement_id -> award_id

    def _full(self, aid: str) -> Row:
        return {**self.rows[aid], "evidence_event_ids": self._evidence([aid]), "award_id": self.awarded.get(aid)}

    def _evidence(self, ids: list[str]) -> list[str]:
        facts = sorted((f["order"], f["event_id"]) for aid in ids for f in self.facts.get(aid, {}).values())
        return list(dict.fromkeys(event_id for _, event_id in facts))

    async def ensure(self, achievement_id: str, ward_id: str, kind: str, holder_kind: str, holder_ref: str,
                     group_id: str | None, year: int, scope: str) -> None:
        row = self.rows.get(achievement_id)
        if row is None:
            self.rows[achievement_id] = {
                "achievement_id": achievement_id, "ward_id": ward_id, "kind": kind, "holder_kind": holder_kind,
                "holder_ref": holder_ref, "group_id": group_id, "year": year, "scope": scope, "count": 0,
                "amount_vnd": 0, "updated_at": _now()}
            self.facts[achievement_id] = {}
        elif row["group_id"] is None:
            row["group_id"] = group_id

    async def add_fact(self, achievement_id: str, fact_key: str, event_id: str, weight: int = 1,
                       amount_vnd: int = 0) -> Row | None:
        facts = self.facts[achievement_id]
        if fact_key in facts:
            return None
        facts[fact_key] = {"event_id": event_id, "weight": weight, "amount_vnd": amount_vnd, "order": next(_ORDER)}
        row = self.rows[achievement_id]
        row["count"] = max(sum(f["weight"] for f in facts.values()), 0)
        row["amount_vnd"] = max(sum(f["amount_vnd"] for f in facts.values()), 0)
        row["updated_at"] = _now()
        return self._full(achievement_id)

    async def holding_fact(self, ward_id: str, kind: str, fact_key: str) -> str | None:
        for aid, facts in self.facts.items():
            row = self.rows[aid]
            if row["ward_id"] == ward_id and row["kind"] == kind and fact_key in facts:
                return aid
        return None

    async def evidence_of(self, achievement_ids: list[str]) -> list[str]:
        return self._evidence(achievement_ids)

    async def of_ward(self, ward_id: str, *, year: int | None = None, ids: list[str] | None = None) -> list[Row]:
        rows = [self._full(aid) for aid, r in self.rows.items() if r["ward_id"] == ward_id
                and (year is None or r["year"] == year) and (ids is None or aid in ids)]
        return sorted(rows, key=lambda r: (r["kind"], r["holder_ref"], r["scope"]))

    async def unclaimed_meeting(self, ward_id: str, year: int, kind: str, holder_kind: str, min_count: int,
                                min_amount_vnd: int) -> list[Row]:
        held = {h["achievement_id"] for h in self.holds if h["active"]} | set(self.awarded)
        rows = [dict(r) for aid, r in self.rows.items() if r["ward_id"] == ward_id and r["year"] == year
                and r["kind"] == kind and r["holder_kind"] == holder_kind and r["count"] >= min_count
                and r["amount_vnd"] >= min_amount_vnd and aid not in held]
        return sorted(rows, key=lambda r: (r["holder_ref"], r["scope"]))

    async def hold(self, nomination_id: str, achievement_ids: list[str]) -> None:
        active = {h["achievement_id"] for h in self.holds if h["active"]}
        if set(achievement_ids) & active:
            raise Conflict("an achievement of this nomination already backs another nomination or award")
        self.holds += [{"nomination_id": nomination_id, "achievement_id": aid, "active": True}
                       for aid in achievement_ids]

    async def release(self, nomination_id: str) -> None:
        for h in self.holds:
            if h["nomination_id"] == nomination_id:
                h["active"] = False

    async def bind_to_award(self, award_id: str, achievement_ids: list[str]) -> None:
        if set(achievement_ids) & set(self.awarded):
            raise Conflict("an achievement of this nomination already backs an award")
        self.awarded.update(dict.fromkeys(achievement_ids, award_id))

    async def page(self, ward_id: str, year: int, page: PageRequest) -> dict[str, Any]:
        return page_of(await self.of_ward(ward_id, year=year), ACHIEVEMENTS, page,
                       lambda r: (r["kind"], r["holder_ref"], r["scope"], r["achievement_id"]))


class FakeIssuerRepository(FakeRepository):
    def __init__(self) -> None:
        self.rows: dict[tuple[str, str, date], Row] = {}

    async def put(self, ward_id: str, issuer: str, title: str, authority: str, signer_name: str | None,
                  valid_from: date, valid_until: date | None) -> None:
        self.rows[(ward_id, issuer, valid_from)] = {
            "ward_id": ward_id, "issuer": issuer, "title": title, "authority": authority, "signer_name": signer_name,
            "valid_from": valid_from, "valid_until": valid_until}

    async def on(self, ward_id: str, issuer: str, day: date) -> Row | None:
        rows = [r for r in self.rows.values() if r["ward_id"] == ward_id and r["issuer"] == issuer
                and r["valid_from"] <= day and (r["valid_until"] is None or day <= r["valid_until"])]
        return dict(max(rows, key=lambda r: r["valid_from"])) if rows else None

    async def page(self, ward_id: str, page: PageRequest) -> dict[str, Any]:
        rows = [dict(r) for r in self.rows.values() if r["ward_id"] == ward_id]
        return page_of(rows, ISSUERS, page, lambda r: (r["issuer"], r["valid_from"]))


class FakeCriterionRepository(FakeRepository):
    def __init__(self) -> None:
        self.rows: list[Row] = []

    async def add(self, criterion: Row) -> None:
        self.rows.append({**criterion, "created_at": _now()})

    async def of_year(self, ward_id: str, year: int) -> list[Row]:
        rows = [dict(r) for r in self.rows if r["ward_id"] == ward_id and r["year"] == year]
        return sorted(rows, key=lambda r: (r["created_at"], r["criterion_id"]))

    async def wards_of_year(self, year: int) -> list[str]:
        return sorted({r["ward_id"] for r in self.rows if r["year"] == year})

    async def page(self, ward_id: str, year: int, page: PageRequest) -> dict[str, Any]:
        return page_of(await self.of_year(ward_id, year), CRITERIA, page,
                       lambda r: (r["created_at"], r["criterion_id"]))


class FakeNominationRepository(FakeRepository):
    """Keeps each nomination's achievement ids with it (PostgreSQL: the achievements' ``hold`` rows)."""

    def __init__(self) -> None:
        self.rows: dict[str, Row] = {}

    async def add(self, n: Row) -> None:
        now = _now()
        self.rows[n["nomination_id"]] = {
            **n, "achievement_ids": sorted(n["achievement_ids"]), "status": "proposed", "council_minutes_ref": None,
            "decision_number": None, "decision_date": None, "rejection_reason": None, "created_at": now,
            "updated_at": now}

    async def get_for_update(self, nomination_id: str) -> Row | None:
        row = self.rows.get(nomination_id)
        return dict(row) if row else None

    async def update(self, nomination_id: str, **fields: Any) -> None:
        self.rows[nomination_id].update(fields, updated_at=_now())

    async def page(self, ward_id: str, year: int, status: str | None, page: PageRequest) -> dict[str, Any]:
        rows = [dict(r) for r in self.rows.values() if r["ward_id"] == ward_id and r["year"] == year
                and (status is None or r["status"] == status)]
        return page_of(rows, NOMINATIONS, page, lambda r: (r["created_at"], r["nomination_id"]))


class FakeAwardRepository(FakeRepository):
    """Keeps each award's achievement ids with it (PostgreSQL: the achievements' ``bind_to_award`` rows)."""

    def __init__(self) -> None:
        self.rows: dict[str, Row] = {}

    async def add(self, a: Row) -> None:
        self.rows[a["award_id"]] = {
            **a, "achievement_ids": sorted(a["achievement_ids"]), "claimed_name": None, "status": "granted",
            "revoked_reason": None, "revoked_on": None, "certificate_pdf": None, "certificate_sha256": None,
            "granted_at": _now()}

    async def get(self, award_id: str, *, for_update: bool = False) -> Row | None:
        row = self.rows.get(award_id)
        return dict(row) if row else None

    async def by_code(self, code: str, *, for_update: bool = False) -> Row | None:
        return next((dict(r) for r in self.rows.values() if r["verification_code"] == code), None)

    async def update(self, award_id: str, **fields: Any) -> None:
        self.rows[award_id].update(fields)

    async def granted_of_year(self, ward_id: str, year: int) -> list[Row]:
        rows = [dict(r) for r in self.rows.values() if r["ward_id"] == ward_id and r["year"] == year
                and r["status"] == "granted"]
        kinds = {"collective": 0, "individual": 1}
        return sorted(rows, key=lambda r: (r["issuer"] != "city_chairman", kinds.get(r["recipient_kind"], 2),
                                           r["recipient_name"] is None, r["recipient_name"] or "", r["award_id"]))


class FakeAwardsUnitOfWork(FakeUnitOfWork):
    def __init__(self) -> None:
        super().__init__()
        self.directory = FakeDirectoryRepository()
        self.achievements = FakeAchievementRepository()
        self.issuers = FakeIssuerRepository()
        self.criteria = FakeCriterionRepository()
        self.nominations = FakeNominationRepository()
        self.awards = FakeAwardRepository()
