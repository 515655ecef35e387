"""Assisted intake's handler (issue 17) on the in-memory unit of work and on PostgreSQL (the fakes answer what the SQL
answers): the resident is the reporter, the leader entered it; refusals. The HTTP route is in test_assisted.py."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from services.incidents import handlers, handlers_assisted
from services.incidents.commands import ReportForResident
from services.incidents.repository import identity_context
from services.incidents.uow import IncidentsUnitOfWork
from shared.actor import Principal, Role
from shared.contracts.incidents import IncidentReported
from shared.contracts.registry import ResidentMoved, ResidentRegistered
from shared.errors import Forbidden, RuleViolation
from tests.application import applications, audited, emitted
from tests.incidents.conftest import ANXH_TEAM, GROUP, MEDIATION_TEAM, OTHER_GROUP, WARD, registry_facts
from tests.incidents.fakes import FakeIncidentsUnitOfWork, dev_protector
from tests.incidents.test_handlers import feed

PII = dev_protector()
LEADER = Principal("leader-1", frozenset({Role.TEAM_LEADER}), WARD, team_ids=frozenset({ANXH_TEAM}))
NOW = datetime.now(UTC)


def resident(rid: str, group: str, at: datetime = NOW) -> ResidentRegistered:
    return ResidentRegistered(ward_id=WARD, subject=rid, resident_id=rid, household_id=f"hh-{rid}", group_id=group,
                              full_name="Tên trong sổ", sex="female", occurred_at=at)


def command(**over) -> ReportForResident:
    body = {"resident_id": "r-tu", "reporter": {"full_name": "Bà Tư", "phone": "0912 345 678"},
            "category": "dispute", "place": {"group_id": GROUP}, "description": "Hàng xóm lấn lối đi chung"}
    return ReportForResident.model_validate({**body, **over})


@pytest.fixture(params=["fake", "postgres"])
async def app(request: pytest.FixtureRequest):
    def real(ctx, conn, *, read_only=False):
        return IncidentsUnitOfWork(ctx, conn, read_only=read_only, pii=PII)

    async with applications(request, "incidents", FakeIncidentsUnitOfWork, real,
                            {**handlers.HANDLERS, **handlers_assisted.HANDLERS}) as application:
        await feed(application, *registry_facts(), resident("r-tu", GROUP), resident("r-nam", OTHER_GROUP))
        yield application


async def test_the_resident_is_the_reporter_and_the_leader_entered_it(app):
    made = await app.run(command(), LEADER)
    async with app.read() as uow:
        row = await uow.incidents.get(made["incident_id"])
    assert row["assisted"] is True and row["entered_by"] == "leader-1" and row["anonymous"] is False
    assert row["reporter_ref"] == PII.pseudonym("r-tu", handlers.REPORTER_PURPOSE)
    assert json.loads(PII.decrypt(row["reporter_identity"], identity_context(row["incident_id"]))) == {
        "resident_id": "r-tu", "full_name": "Bà Tư", "phone": "0912 345 678"}
    [event] = [e for e in await emitted(app) if isinstance(e, IncidentReported)]
    assert event.assisted is True and event.anonymous is False and not event.is_crime_tip
    assert await audited(app) == [("incident.report_for_resident", "incident", made["incident_id"])]


async def test_refusals(app):
    with pytest.raises(Forbidden):  # not a leader
        await app.run(command(), Principal("m", frozenset({Role.TEAM_MEMBER}), WARD, team_ids=frozenset({ANXH_TEAM})))
    for rid in ("r-nam", "r-unknown"):  # outside the leader's groups, or unknown: the same refusal
        with pytest.raises(Forbidden):
            await app.run(command(resident_id=rid), LEADER)
    with pytest.raises(RuleViolation):
        await app.run(command(is_crime_tip=True), LEADER)
    # Another leader whose teams include one of the group (the mediation team) and one incidents does not know.
    both = Principal("leader-2", frozenset({Role.TEAM_LEADER}), WARD, team_ids=frozenset({MEDIATION_TEAM, "t-x"}))
    assert (await app.run(command(), both))["assisted"] is True
    # Moved away (a newer event), then an older registration replayed: the leader no longer files for them.
    await feed(app, ResidentMoved(ward_id=WARD, subject="r-tu", resident_id="r-tu", from_household_id="hh-r-tu",
                                  to_household_id="hh-9", group_id=OTHER_GROUP, occurred_at=NOW + timedelta(1)),
               resident("r-tu", GROUP, NOW - timedelta(days=1)))
    with pytest.raises(Forbidden):
        await app.run(command(), LEADER)
