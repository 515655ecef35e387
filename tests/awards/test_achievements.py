"""Achievements are recorded from the other services' events, each fact once, with the events that prove it."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from services.awards import domain
from tests.awards.conftest import WARD_OFFICIAL
from tests.awards.seed import (
    MEDIATION_TEAM,
    WARD,
    mediation_events,
    registry_events,
)
from tests.conftest import auth

pytestmark = pytest.mark.integration


async def _achievements(svc) -> dict[tuple[str, str, str], dict]:
    r = await svc.client.get(f"/v1/wards/{WARD}/achievements", params={"year": 2024, "limit": 200},
                             headers=WARD_OFFICIAL)
    assert r.status_code == 200, r.text
    assert r.json()["next_cursor"] is None
    return {(a["kind"], a["holder_kind"], a["holder_ref"]): a for a in r.json()["items"]}


async def test_achievements_are_listed_in_pages_with_their_evidence(svc):
    """Counting facts is in test_handlers.py; here, the consumer's wiring and the list over HTTP."""
    med = mediation_events()
    await svc.feed(*registry_events(), *med)
    r = await svc.client.get(f"/v1/wards/{WARD}/achievements", params={"year": 2024, "limit": 2}, headers=WARD_OFFICIAL)
    assert r.status_code == 200 and set(r.json()) == {"items", "next_cursor"} and len(r.json()["items"]) == 2
    got = await _achievements(svc)
    team = got[("mediations_succeeded", "collective", MEDIATION_TEAM)]
    assert team["count"] == 10 and sorted(team["evidence_event_ids"]) == sorted(str(e.id) for e in med)
    assert team["award_id"] is None and uuid.UUID(team["achievement_id"])
    assert (await svc.client.get(f"/v1/wards/{WARD}/achievements", params={"year": 2024},
                                 headers=auth("resident", WARD))).status_code == 403
    published = await svc.outbox("awards.achievement.recorded.v1")
    assert all("Lê Văn" not in str(p) for p in published)  # achievements carry ids, not names


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
