"""Achievements are recorded from the other services' events, each fact once, with the events that prove it."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from services.awards import domain
from shared.contracts.incidents import IncidentResolved
from tests.awards.conftest import WARD_OFFICIAL
from tests.awards.seed import (
    CAMPAIGN,
    FIRE_TEAMS,
    GROUP,
    MEDIATION_TEAM,
    MOBILISATION_TEAMS,
    REPORTER,
    SECURITY_TEAM,
    WARD,
    donation_events,
    incident_events,
    mediation_events,
    registry_events,
)

pytestmark = pytest.mark.integration


async def _achievements(svc) -> dict[tuple[str, str, str], dict]:  # noqa: ANN001
    r = await svc.client.get(f"/v1/wards/{WARD}/achievements", params={"year": 2024, "limit": 200},
                             headers=WARD_OFFICIAL)
    assert r.status_code == 200, r.text
    assert r.json()["next_cursor"] is None
    return {(a["kind"], a["holder_kind"], a["holder_ref"]): a for a in r.json()["items"]}


async def test_each_achievement_counts_its_facts_once_and_keeps_the_events_that_prove_them(svc):
    med, inc, don = mediation_events(), incident_events(), donation_events()
    await svc.feed(*registry_events(), *med, *inc, *don)
    # The same facts again, as another delivery with new event ids (a republish by the sender): nothing changes.
    await svc.feed(*[e.model_copy(update={"id": uuid.uuid4()}) for e in med + inc + don])
    got = await _achievements(svc)
    cases = {e.case_id: str(e.id) for e in med}

    team = got[("mediations_succeeded", "collective", MEDIATION_TEAM)]
    assert team["count"] == 10 and sorted(team["evidence_event_ids"]) == sorted(cases.values())
    assert got[("mediations_succeeded", "individual", "r-hung")]["count"] == 10
    minh = got[("mediations_succeeded", "individual", "r-minh")]
    assert minh["count"] == 4 and set(minh["evidence_event_ids"]) == {cases[f"case-{n}"] for n in range(1, 5)}

    # Tips: only solved crime tips count, credited to the pseudonym, never to a person.
    tips = got[("tips_solved", "reporter", REPORTER)]
    incidents = {e.incident_id: str(e.id) for e in inc}
    assert tips["count"] == 2 and set(tips["evidence_event_ids"]) == {incidents["inc-1"], incidents["inc-2"]}
    assert ("tips_solved", "reporter", "rep-other") not in got  # unfounded
    cameras = got[("cameras_helped", "collective", GROUP)]
    assert cameras["count"] == 3  # three solved cases, whichever cameras each cited

    # Collections per team, net of the reversal; the campaign's target reached credits every team that collected.
    first = got[("collections", "collective", MOBILISATION_TEAMS[0])]
    assert (first["count"], first["amount_vnd"]) == (1, 5_500_000)  # 2 contributions less 1 reversal
    assert got[("collections", "collective", MOBILISATION_TEAMS[1])]["amount_vnd"] == 5_950_000
    reached = [a for k, a in got.items() if k[0] == "campaign_target_reached"]
    assert len(reached) == 10 and all(a["scope"] == CAMPAIGN for a in reached)
    assert sum(a["amount_vnd"] for a in reached) == 59_050_000  # "nearly 60 million đồng"

    # Team activity from registry events: strength of the fire-prevention and security teams.
    assert [got[("fire_prevention_activity", "collective", t)]["count"] for t in FIRE_TEAMS] == [3, 3]
    assert got[("security_team_activity", "collective", SECURITY_TEAM)]["count"] == 1
    assert ("mediation_activity", "collective", MEDIATION_TEAM) not in got

    # Every change was published with its evidence; the last one of an achievement carries all of it.
    published = await svc.outbox("awards.achievement.recorded.v1")
    last = [p for p in published if p["achievement_id"] == team["achievement_id"]][-1]
    assert last["count"] == 10 and sorted(last["evidence_event_ids"]) == sorted(cases.values())
    assert all("Lê Văn" not in str(p) for p in published)  # achievements carry ids, not names


async def test_a_tip_not_solved_or_without_reporter_credits_no_reporter(svc):
    base = incident_events()[0]
    await svc.feed(
        base.model_copy(update={"id": uuid.uuid4(), "incident_id": "inc-x", "outcome": "transferred"}),
        base.model_copy(update={"id": uuid.uuid4(), "incident_id": "inc-y", "is_crime_tip": False,
                                "camera_footage_used": False}),
    )
    got = await _achievements(svc)
    assert not [k for k in got if k[0] == "tips_solved"]
    assert isinstance(base, IncidentResolved)


async def test_the_database_lets_one_achievement_back_one_award_only(svc, db):
    await svc.feed(*mediation_events())
    aid = domain.achievement_id(WARD, "mediations_succeeded", "collective", MEDIATION_TEAM, 2024)
    conn = await db.connect("awards")
    try:
        for n in (1, 2):
            await conn.execute(
                "INSERT INTO nominations (nomination_id, ward_id, year, recipient_kind, recipient_ref, title, issuer, "
                "origin, status) VALUES ($1, $2, 2024, 'collective', $3, 'Khen', 'ward_chairman', 'manual', 'approved')",
                f"n{n}", WARD, MEDIATION_TEAM)
            await conn.execute(
                "INSERT INTO awards (award_id, ward_id, nomination_id, year, recipient_kind, recipient_ref, title, issuer, "
                "issuer_title, issuer_authority, decision_number, decision_date, verification_code, status) VALUES "
                "($1, $2, $3, 2024, 'collective', $4, 'Khen', 'ward_chairman', 'Chủ tịch', 'UBND', '1', '2024-08-10', $5, "
                "'granted')", f"a{n}", WARD, f"n{n}", MEDIATION_TEAM, f"CODE-{n}")
        await conn.execute("INSERT INTO award_achievements VALUES ('a1', $1)", aid)
        with pytest.raises(asyncpg.UniqueViolationError):
            await conn.execute("INSERT INTO award_achievements VALUES ('a2', $1)", aid)
    finally:
        await conn.close()
