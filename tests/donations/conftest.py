"""Fixtures of the donations tests: the service's app started against a fresh database (no broker unless a
test asks for one), the projections of the registry's teams and households fed through the service's own event
handlers, the handler suite's application over the fake and the real unit of work, and tokens for the roles
involved."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from datetime import date, timedelta

import httpx
import pytest

from services.donations import handlers
from services.donations.bootstrap import build
from services.donations.uow import DonationsUnitOfWork
from shared.clock import ward_today
from shared.contracts.registry import HouseholdRegistered, TeamFormed, TeamMemberJoined
from shared.events import Event
from tests.application import applications
from tests.conftest import auth
from tests.donations.fakes import FakeDonationsUnitOfWork
from tests.harness import ServiceUnderTest, outbox_events, serve
from tests.integration.conftest import started  # noqa: F401 - fixture re-exported for this package

WARD = "phu-son"
GROUP = "tran-phu"
#: The households the registry holds for GROUP (what a campaign's vote is checked against).
HOUSEHOLDS = 120


def headers(roles: str | list[str], sub: str, ward: str = WARD, **claims: object) -> Mapping[str, str]:
    """A bearer token with a fixed subject: Idempotency-Keys are scoped by the caller."""
    return auth(roles, ward, sub=sub, **claims)


OFFICIAL = headers("ward_official", "official-1")
OFFICIAL_2 = headers("ward_official", "official-2")
RESIDENT = headers("resident", "resident-9", resident_id="r-999")


def collector(n: int, team: int | None = None) -> Mapping[str, str]:
    """The member n of team n (team-01 .. team-10 each have one collector, member-01 .. member-10)."""
    t = team if team is not None else n
    return headers("team_member", f"member-{n:02d}", resident_id=f"member-{n:02d}", team_ids=[f"team-{t:02d}"])


def team_formed(team_id: str, kind: str = "mobilisation", ward: str = WARD, group: str = GROUP) -> TeamFormed:
    return TeamFormed(ward_id=ward, subject=team_id, team_id=team_id, group_id=group, kind=kind,  # type: ignore[arg-type]
                      compliant=True, name=f"Tổ vận động {team_id}", formed_on=date(2024, 1, 5),
                      formation_act="QĐ 12/QĐ-UBND")


def member_joined(team_id: str, resident_id: str, kind: str = "mobilisation", ward: str = WARD,
                  group: str = GROUP) -> TeamMemberJoined:
    return TeamMemberJoined(ward_id=ward, subject=team_id, team_id=team_id, group_id=group, kind=kind,  # type: ignore[arg-type]
                            compliant=True, resident_id=resident_id, household_id=f"hh-{resident_id}",
                            full_name=f"Thành viên {resident_id}", sex="female", role="member",
                            appointed_on=date(2024, 1, 6))


def household_registered(household_id: str, group: str = GROUP, ward: str = WARD) -> HouseholdRegistered:
    return HouseholdRegistered(ward_id=ward, subject=household_id, household_id=household_id, group_id=group)


def registry_events(n: int = 10, households: int = HOUSEHOLDS) -> list[Event]:
    """team-01..team-n, each with member-0i, an ANXH team, and the group's households: what the registry's events
    tell donations."""
    events: list[Event] = []
    for i in range(1, n + 1):
        events += [team_formed(f"team-{i:02d}"), member_joined(f"team-{i:02d}", f"member-{i:02d}")]
    events.append(team_formed("anxh-01", kind="anxh"))
    events += [household_registered(f"hh-{GROUP}-{k:03d}") for k in range(households)]
    return events


def campaign_body(**overrides: object) -> dict:
    today = ward_today()
    body = {
        "ward_id": WARD, "group_id": GROUP, "name": "Camera an ninh tổ dân phố Trần Phú",
        "purpose": "Lắp camera an ninh (install security cameras)", "target_vnd": 60_000_000,
        "starts_on": (today - timedelta(days=10)).isoformat(), "ends_on": (today + timedelta(days=30)).isoformat(),
        "organiser": "Ban công tác mặt trận tổ dân phố Trần Phú",
        "team_ids": [f"team-{i:02d}" for i in range(1, 11)],
        "vote": {"record_ref": "BB-01/2024", "held_on": (today - timedelta(days=12)).isoformat(),
                 "in_favour": 97, "against": 8, "abstained": 5},
    }
    body.update(overrides)
    return body


class Service(ServiceUnderTest):
    """The donations service with the commands its tests repeat."""

    async def open_campaign(self, **overrides: object) -> str:
        r = await self.client.post("/v1/campaigns", json=campaign_body(**overrides), headers=OFFICIAL)
        assert r.status_code == 201, r.text
        return r.json()["campaign_id"]

    async def contribute(self, campaign_id: str, n: int = 1, amount: int = 500_000, receipt: str | None = None,
                         key: str | None = None, **fields: object) -> httpx.Response:
        body = {"team_id": f"team-{n:02d}", "channel": "cash", "amount_vnd": amount,
                "receipt_number": receipt or f"R-{n:02d}-{amount}-{fields.get('donor_ref', 'x')}",
                "donor_kind": "household", "donor_ref": f"hh-{n}"}
        body.update(fields)
        h = dict(collector(n))
        if key:
            h["Idempotency-Key"] = key
        return await self.client.post(f"/v1/campaigns/{campaign_id}/contributions", json=body, headers=h)


@pytest.fixture
async def service(db, broker, started) -> AsyncIterator[Service]:  # noqa: F811
    """The donations app on a fresh database and broker, without its consumer: teams are projected by calling the
    handlers, and tests read the events from the outbox. The consumer is exercised in flow 4."""
    async with serve(build, "donations", db, started, broker, kind=Service) as svc:
        await svc.feed(*registry_events())
        yield svc


async def outbox_types(db, event_type: str) -> list[dict]:
    return await outbox_events(db, "donations", event_type)


@pytest.fixture(params=["fake", "postgres"])
async def app(request: pytest.FixtureRequest):
    """The donations application (handlers on a unit of work) over the in-memory fakes and over PostgreSQL."""
    async with applications(request, "donations", FakeDonationsUnitOfWork, DonationsUnitOfWork,
                            handlers.HANDLERS) as application:
        yield application
