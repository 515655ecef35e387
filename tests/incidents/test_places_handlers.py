"""The places' handlers and repository as a specification (issue 18), on the in-memory unit of work and on
PostgreSQL alike (the ``app`` fixture of test_handlers.py): "me too" once per person, merging (rules, counts carried,
events, audit) and the nearby candidates the database finds around a point."""

from __future__ import annotations

import pytest
from geographiclib.geodesic import Geodesic

from services.incidents import geo, handlers, handlers_places
from services.incidents.commands import (
    MergeIncidents,
    ReopenIncident,
    ResolveIncident,
    SupportIncident,
    SupportIncidentAnonymously,
    TriageIncident,
)
from services.incidents.handlers import ANONYMOUS
from services.incidents.uow import IncidentsUnitOfWork
from shared import clock
from shared.actor import Principal, Role
from shared.contracts.incidents import IncidentsMerged, IncidentSupported
from shared.contracts.registry import GroupCreated
from shared.errors import Forbidden, InvalidInput, NotFound, RuleViolation
from tests.application import applications, audited
from tests.incidents.conftest import GROUP, WARD, registry_facts
from tests.incidents.fakes import FakeIncidentsUnitOfWork
from tests.incidents.test_handlers import (
    OFFICIAL,
    PII,
    POLICE,
    POLICE_ELSEWHERE,
    RESIDENT,
    feed,
    of_type,
    report,
    tip,
    to_in_progress,
)


@pytest.fixture(params=["fake", "postgres"])
async def app(request: pytest.FixtureRequest):
    """test_handlers.py's application, with the places' handlers too."""
    def real(ctx, conn, *, read_only=False):
        return IncidentsUnitOfWork(ctx, conn, read_only=read_only, pii=PII)

    every = {**handlers.HANDLERS, **handlers_places.HANDLERS}
    async with applications(request, "incidents", FakeIncidentsUnitOfWork, real, every) as application:
        await feed(application, *registry_facts())
        yield application


LAT, LON = 10.7769, 106.7009  # Sài Gòn
NEIGHBOUR = Principal("user-binh", frozenset({Role.RESIDENT}), WARD, resident_id="r-binh")
THIRD = Principal("user-cuc", frozenset({Role.RESIDENT}), WARD, resident_id="r-cuc")
ANYONE = Principal(ANONYMOUS, frozenset({Role.RESIDENT}), WARD)


def at(metres: float, azimuth: float = 120.0) -> tuple[float, float]:
    g = Geodesic.WGS84.Direct(LAT, LON, azimuth, metres)
    return g["lat2"], g["lon2"]


def placed(lat: float = LAT, lon: float = LON, **over) -> object:
    body = {"category": "fire", "is_crime_tip": False,
            "place": {"group_id": GROUP, "latitude": lat, "longitude": lon}, **over}
    return tip(**body)


def identified(**over) -> object:
    return placed(anonymous=False, reporter={"full_name": "Nguyễn Văn An"}, **over)


async def support(app, incident_id: str, who: Principal) -> dict:
    return await app.run(SupportIncident(incident_id=incident_id), handlers.reporter_actor(who, PII, anonymous=False))


async def offered(app, lat: float, lon: float, category: str = "fire", *, crime_tips: bool = False,
                  ward: str | None = WARD) -> list[dict]:
    now = clock.now()
    async with app.read() as uow:
        candidates = await uow.places.nearby_candidates(ward, category, lat, lon,
                                                        geo.DUPLICATE_RADIUS_M * geo.INDEX_MARGIN,
                                                        now - geo.DUPLICATE_WINDOW, crime_tips=crime_tips)
    return geo.duplicates(candidates, lat, lon, now)


async def test_nearby_candidates_at_49_m_and_51_m(app):
    incident_id = (await report(app, placed()))["incident_id"]
    tip_id = (await report(app, placed(*at(5), category="theft", is_crime_tip=True)))["incident_id"]
    for azimuth in (0, 120, 270):
        assert [i["incident_id"] for i in await offered(app, *at(49, azimuth))] == [incident_id]
        assert await offered(app, *at(51, azimuth)) == []
    assert await offered(app, *at(20), "theft") == []  # a tip is not offered ...
    assert [i["incident_id"] for i in await offered(app, *at(20), "theft", crime_tips=True)] == [tip_id]  # ... but
    assert await offered(app, *at(20), ward="hoa-binh") == []  # and not from another ward
    assert [i["incident_id"] for i in await offered(app, *at(20), ward=None)] == [incident_id]  # the public's: any


async def test_a_person_supports_a_report_once_and_a_reporter_their_own_not_at_all(app):
    incident_id = (await report(app, identified()))["incident_id"]
    assert await support(app, incident_id, NEIGHBOUR) == {"incident_id": incident_id, "supporters": 1,
                                                          "counted": True}
    assert (await support(app, incident_id, NEIGHBOUR))["counted"] is False
    assert await support(app, incident_id, RESIDENT) == {"incident_id": incident_id, "supporters": 1,
                                                         "counted": False}
    anonymous = await app.run(SupportIncidentAnonymously(incident_id=incident_id), ANYONE)
    assert anonymous["supporters"] == 2 and anonymous["follow_up_code"].startswith("TB-")
    async with app.read() as uow:
        assert (await uow.incidents.get(incident_id))["supporters"] == 2
        found = await uow.places.supporter_by_code(anonymous["follow_up_code"])
    assert found["incident_id"] == incident_id and anonymous["secret"] not in str(found)
    assert [e.supporters for e in await of_type(app, IncidentSupported)] == [1, 2]
    assert [a for a in await audited(app) if a[0].startswith("incident.support")] == [
        ("incident.support", "incident", incident_id)] * 3 + [("incident.support_anonymously", "incident", incident_id)]


async def test_support_refuses_tips_to_residents_closed_reports_and_other_wards(app):
    tip_id = (await report(app, placed(category="theft", is_crime_tip=True)))["incident_id"]
    with pytest.raises(NotFound):
        await support(app, tip_id, NEIGHBOUR)
    with pytest.raises(NotFound):
        await app.run(SupportIncidentAnonymously(incident_id=tip_id), ANYONE)
    outsider = Principal("user-x", frozenset({Role.RESIDENT}), "hoa-binh", resident_id="r-x")
    incident_id = (await report(app, placed()))["incident_id"]
    with pytest.raises(NotFound):
        await support(app, incident_id, outsider)
    await app.run(TriageIncident(incident_id=incident_id), POLICE)
    await app.run(MergeIncidents(incident_id=incident_id, into=tip_id, reason="trùng"), OFFICIAL)
    with pytest.raises(RuleViolation):
        await support(app, incident_id, NEIGHBOUR)
    # Only the merge's count on the survivor: no refused support emitted anything.
    assert [e.incident_id for e in await of_type(app, IncidentSupported)] == [tip_id]


async def test_a_merge_closes_the_duplicate_and_carries_its_people_once(app):
    survivor = (await report(app, identified()))["incident_id"]
    duplicate = (await report(app, identified(), NEIGHBOUR))["incident_id"]
    await support(app, survivor, THIRD)
    await support(app, duplicate, THIRD)  # supports both: counted once on the survivor
    await support(app, duplicate, RESIDENT)  # the survivor's own reporter: not a supporter of it
    await app.run(SupportIncidentAnonymously(incident_id=duplicate), ANYONE)

    with pytest.raises(Forbidden):
        await app.run(MergeIncidents(incident_id=duplicate, into=survivor, reason="trùng"), RESIDENT)
    with pytest.raises(NotFound):
        await app.run(MergeIncidents(incident_id=duplicate, into=survivor, reason="trùng"), POLICE_ELSEWHERE)
    with pytest.raises(InvalidInput):
        await app.run(MergeIncidents(incident_id=duplicate, into=duplicate, reason="trùng"), OFFICIAL)
    with pytest.raises(NotFound):
        await app.run(MergeIncidents(incident_id=duplicate, into="no-such-id", reason="trùng"), OFFICIAL)

    answer = await app.run(MergeIncidents(incident_id=duplicate, into=survivor, reason="trùng"), OFFICIAL)
    assert (answer["state"], answer["outcome"], answer["merged_into"]) == ("closed", "merged", survivor)
    # THIRD, NEIGHBOUR (the duplicate's reporter) and the anonymous supporter.
    assert answer["into_supporters"] == 3
    async with app.read() as uow:
        dup, kept = await uow.incidents.get(duplicate), await uow.incidents.get(survivor)
    assert (dup["state"], dup["outcome"], dup["merged_into"], dup["closed_at"] is not None) == (
        "closed", "merged", survivor, True)
    assert kept["supporters"] == 3 and kept["state"] == "received" and kept["merged_into"] is None
    [merged] = await of_type(app, IncidentsMerged)
    assert (merged.incident_id, merged.into, merged.ward_id, merged.group_id) == (duplicate, survivor, WARD, GROUP)
    assert (await of_type(app, IncidentSupported))[-1].supporters == 3
    assert ("incident.merge", "incident", duplicate) in await audited(app)
    assert all("latitude" not in e.model_dump() for e in await of_type(app, IncidentSupported))

    # The duplicate stays merged: reopening it would count its people twice.
    with pytest.raises(RuleViolation, match="merged"):
        await app.run(ReopenIncident(incident_id=duplicate, reason="nhầm"), POLICE)
    # Both must be open: the closed duplicate can neither be merged again nor be merged into.
    other = (await report(app, identified(), THIRD))["incident_id"]
    with pytest.raises(RuleViolation):
        await app.run(MergeIncidents(incident_id=other, into=duplicate, reason="trùng"), POLICE)
    resolved = await to_in_progress(app)
    await app.run(ResolveIncident(incident_id=resolved, outcome="solved", note="đã xử lý"), POLICE)
    with pytest.raises(RuleViolation):
        await app.run(MergeIncidents(incident_id=other, into=resolved, reason="trùng"), POLICE)


async def test_a_merge_keeps_to_one_ward(app):
    here = (await report(app, placed()))["incident_id"]
    elsewhere = Principal("user-x", frozenset({Role.RESIDENT}), "hoa-binh", resident_id="r-x")
    await feed(app, GroupCreated(ward_id="hoa-binh", subject="g-hb", group_id="g-hb", name="Tổ Hòa Bình"))
    there = (await report(app, tip(place={"group_id": "g-hb"}), elsewhere))["incident_id"]
    # One who reaches every ward (a city official who is also a ward official) still merges within one.
    both = Principal("tp", frozenset({Role.CITY_OFFICIAL, Role.WARD_OFFICIAL}), "*")
    with pytest.raises(RuleViolation):
        await app.run(MergeIncidents(incident_id=here, into=there, reason="trùng"), both)
