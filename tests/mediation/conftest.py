"""Fixtures of the mediation tests: the service on a real database, and registry facts fed to its handlers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import pytest

from services.mediation.bootstrap import build
from shared.contracts.registry import ResidentRegistered, TeamFormed, TeamMemberJoined
from shared.events import Event
from tests.conftest import auth
from tests.harness import ServiceUnderTest, serve
from tests.integration.conftest import eventually, started  # noqa: F401 - fixtures re-exported

pytestmark = pytest.mark.integration

WARD = "phu-son"
GROUP = "tdp-tran-phu"
TEAM = "team-hg-tran-phu"

#: The Trần Phú mediation team: a leader and three mediators, one a woman (compliant, Art. 12).
MEDIATORS = [
    ("r-leader", "hh-10", "Lê Văn Hùng", "male", "leader"),
    ("r-lan", "hh-11", "Phạm Thị Lan", "female", "member"),
    ("r-minh", "hh-12", "Đỗ Văn Minh", "male", "member"),
    ("r-tuan", "hh-20", "Vũ Anh Tuấn", "male", "member"),  # shares a household with the party r-binh
]
PARTIES = [("r-binh", "hh-20", "Vũ Văn Bình"), ("r-cuong", "hh-21", "Ngô Văn Cường")]


def team_events(team_id: str = TEAM, group_id: str = GROUP, members=MEDIATORS, kind: str = "mediation") -> list[Event]:
    events: list[Event] = [TeamFormed(ward_id=WARD, subject=team_id, team_id=team_id, group_id=group_id, kind=kind,
                                      compliant=True, name="Tổ hòa giải Trần Phú", formed_on=date(2024, 1, 5),
                                      formation_act="QĐ 12/QĐ-UBND")]
    for rid, hh, name, sex, role in members:
        events.append(TeamMemberJoined(ward_id=WARD, subject=team_id, team_id=team_id, group_id=group_id, kind=kind,
                                       compliant=True, resident_id=rid, household_id=hh, full_name=name, sex=sex,
                                       role=role, appointed_on=date(2024, 1, 5)))
    return events


def resident_events() -> list[Event]:
    return [ResidentRegistered(ward_id=WARD, subject=rid, resident_id=rid, household_id=hh, group_id=GROUP,
                               full_name=name, sex="male") for rid, hh, name in PARTIES]


LEADER = {"roles": ["team_leader"], "team_ids": [TEAM], "resident_id": "r-leader"}
MEDIATOR = {"roles": ["team_member"], "team_ids": [TEAM], "resident_id": "r-lan"}


def as_(who: dict[str, Any]) -> dict[str, str]:
    who = dict(who)
    return auth(who.pop("roles"), WARD, **who)


OFFICIAL = {"roles": ["ward_official"]}
PARTY = {"roles": ["resident"], "resident_id": "r-binh"}


Service = ServiceUnderTest


@pytest.fixture
async def svc(db, started) -> AsyncIterator[Service]:  # noqa: F811
    """The service without a broker (its events wait in the outbox; the Kafka path is tested in test_flow)."""
    async with serve(build, "mediation", db, started) as service:
        await service.feed(*team_events(), *resident_events())
        yield service
