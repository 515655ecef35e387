"""Without a token (issue 16): an anonymous tip, its follow-up by code and secret, and the groups a tip can name.
Nothing of the caller (no address, no agent) is kept anywhere in the service's schema or written to its logs; a
flood answers 429; a wrong secret answers exactly as an unknown code."""

from __future__ import annotations

import json
import logging

import httpx
import pytest

from services.incidents.bootstrap import build
from tests.conftest import auth, settings_for
from tests.incidents.conftest import GROUP, OTHER_GROUP, WARD, registry_facts, seed

pytestmark = pytest.mark.integration

LIMIT = 4
ADDRESS = "203.0.113.77"
TIP = {"category": "theft", "is_crime_tip": True, "description": "Có người lạ cạy khoá xe máy ở hẻm 12",
       "place": {"group_id": GROUP, "address": "Hẻm 12 Trần Phú"}, "happened_at": "2026-11-20T21:00:00+07:00"}


async def public_app(db, started, **settings):
    await seed(db, registry_facts())
    app = build(settings_for("incidents", db, None, **settings))
    await started(app.state.runtime, wait_assigned=False)
    return app


def client(app, address: str = ADDRESS) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://incidents",
                             headers={"User-Agent": "Zalo/1.0 (Nokia 3310)"})


async def everything_stored(db) -> str:
    tables = [r["table_name"] for r in await db.fetch(
        "incidents", "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()")]
    rows = []
    for table in tables:
        rows += [dict(r) for r in await db.fetch("incidents", f'SELECT * FROM "{table}"')]
    return json.dumps(rows, default=str)


async def test_a_tip_and_its_follow_up_need_no_token_and_keep_nothing_of_the_caller(db, started, caplog):
    app = await public_app(db, started)
    caplog.set_level(logging.DEBUG)
    async with client(app) as anyone:
        groups = (await anyone.get("/v1/public/groups", params={"ward_id": WARD})).json()
        assert [g["group_id"] for g in groups["items"]] == [OTHER_GROUP, GROUP]  # by name: Lê Lợi, Trần Phú
        assert groups["items"][1] == {"group_id": GROUP, "ward_id": WARD, "name": "Tổ dân phố Trần Phú"}

        made = await anyone.post("/v1/public/tips", json=TIP)
        assert made.status_code == 201, made.text
        receipt = made.json()
        code, secret, incident_id = receipt["follow_up_code"], receipt["secret"], receipt["incident_id"]
        assert receipt["state"] == "received" and code.startswith("TB-") and secret

        # The police see it in the group's ward, anonymous, and work on it.
        police = auth("police", WARD)
        seen = (await anyone.get(f"/v1/incidents/{incident_id}", headers=police)).json()
        assert seen["anonymous"] is True and "reporter" not in seen and seen["group_id"] == GROUP
        disclosed = await anyone.post(f"/v1/incidents/{incident_id}/reporter-disclosure", headers=police)
        assert disclosed.status_code == 200 and disclosed.json()["reporter"] is None  # nobody knows who sent it
        assert (await anyone.post(f"/v1/incidents/{incident_id}/triage", headers=police,
                                  json={"category": "theft", "is_crime_tip": True})).status_code == 200

        followed = await anyone.post("/v1/follow-up", json={"follow_up_code": code.lower(), "secret": secret})
        assert followed.status_code == 200, followed.text
        assert followed.json()["state"] == "triaged" and followed.json()["incident_id"] == incident_id

        # A wrong secret and an unknown code: the same answer, nothing about the tip.
        wrong = await anyone.post("/v1/follow-up", json={"follow_up_code": code, "secret": "guess"})
        unknown = await anyone.post("/v1/follow-up", json={"follow_up_code": "TB-AAAAA-AAAAA", "secret": "guess"})
        assert wrong.status_code == unknown.status_code == 404
        assert wrong.json() == {**unknown.json(), "instance": wrong.json()["instance"]}
        assert incident_id not in wrong.text and code not in wrong.text

        # Without a group the service knows, no tip; with an Idempotency-Key, no tip (its secret cannot be replayed).
        bad = await anyone.post("/v1/public/tips", json={**TIP, "place": {"group_id": "g-nowhere"}})
        assert bad.status_code == 422
        keyed = await anyone.post("/v1/public/tips", json=TIP, headers={"Idempotency-Key": "k-1"})
        assert keyed.status_code == 422

    stored = await everything_stored(db)
    assert ADDRESS not in stored and "Zalo" not in stored and secret not in stored
    logged = "\n".join(r.getMessage() + json.dumps(r.__dict__, default=str) for r in caplog.records)
    assert ADDRESS not in logged and secret not in logged


async def test_a_flood_of_tips_or_follow_ups_answers_429(db, started):
    app = await public_app(db, started, public_rate_limit=LIMIT, public_rate_window_s=3600)
    async with client(app, "198.51.100.20") as flood, client(app, "198.51.100.21") as other:
        answers = [(await flood.post("/v1/public/tips", json=TIP)).status_code for _ in range(LIMIT + 1)]
        assert answers == [201] * LIMIT + [429]
        refused = await flood.post("/v1/public/tips", json=TIP)
        assert refused.status_code == 429 and refused.headers["content-type"] == "application/problem+json"
        assert 1 <= int(refused.headers["Retry-After"]) <= 3600
        assert (await other.post("/v1/public/tips", json=TIP)).status_code == 201  # another address

        guesses = [(await other.post("/v1/follow-up", json={"follow_up_code": f"TB-X{i}", "secret": "x"})).status_code
                   for i in range(LIMIT + 1)]
        assert guesses == [404] * LIMIT + [429]  # its own window: tips and follow-ups are counted apart
        groups = [(await other.get("/v1/public/groups")).status_code for _ in range(LIMIT + 1)]
        assert groups == [200] * LIMIT + [429]
