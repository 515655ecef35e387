"""Anonymous tips and the follow-up are rate limited per client address (and the follow-up per code), across
replicas, with 429 and Retry-After; the counters keep no address and vanish when their window ends."""

from __future__ import annotations

import httpx
import pytest

from services.incidents.bootstrap import build
from tests.conftest import auth, settings_for
from tests.incidents.conftest import registry_facts, seed
from tests.incidents.test_intake_and_roles import RESIDENT, theft

pytestmark = pytest.mark.integration

LIMIT = 3


def client(app, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://incidents")


async def replicas(db, started, n: int = 2):
    await seed(db, registry_facts())
    apps = [build(settings_for("incidents", db, None, public_rate_limit=LIMIT, public_rate_window_s=3600))
            for _ in range(n)]
    for app in apps:
        await started(app.state.runtime, wait_assigned=False)
    return apps


async def test_anonymous_tips_are_limited_per_address_across_replicas(db, started):
    one, two = await replicas(db, started)
    headers = auth("resident", **RESIDENT)
    tip = theft(anonymous=True, reporter=None)
    async with client(one, "203.0.113.7") as a, client(two, "203.0.113.7") as b, client(two, "198.51.100.9") as c:
        answers = [await (a if i % 2 else b).post("/v1/incidents", json=tip, headers=headers) for i in range(LIMIT)]
        assert [r.status_code for r in answers] == [201] * LIMIT
        refused = await a.post("/v1/incidents", json=tip, headers=headers)  # the other replica counted the rest
        assert refused.status_code == 429 and refused.headers["content-type"] == "application/problem+json"
        assert 1 <= int(refused.headers["Retry-After"]) <= 3600
        assert (await c.post("/v1/incidents", json=tip, headers=headers)).status_code == 201  # another address
        # an identified report is accountable to its reporter: not limited this way
        assert (await a.post("/v1/incidents", json=theft(), headers=headers)).status_code == 201
    assert await db.fetchval("incidents", "SELECT count(*) FROM incidents WHERE anonymous") == LIMIT + 1
    buckets = [r["bucket"] for r in await db.fetch("incidents", "SELECT bucket FROM rate_limits")]
    assert buckets and not [b for b in buckets if "203.0.113.7" in b or "198.51.100.9" in b]


async def test_guessing_a_follow_up_secret_is_bounded_per_code_whatever_the_address(db, started):
    (app,) = await replicas(db, started, 1)
    headers = auth("resident", **RESIDENT)
    async with client(app, "192.0.2.1") as reporter:
        made = (await reporter.post("/v1/incidents", json=theft(anonymous=True, reporter=None), headers=headers)).json()
    code, secret = made["follow_up_code"], made["secret"]
    for i in range(LIMIT):  # one guess from each of several addresses
        async with client(app, f"192.0.2.{10 + i}") as guesser:
            r = await guesser.post("/v1/follow-up", json={"follow_up_code": code, "secret": "wrong"}, headers=headers)
            assert r.status_code == 404
    async with client(app, "192.0.2.99") as late:
        refused = await late.post("/v1/follow-up", json={"follow_up_code": code, "secret": secret}, headers=headers)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1


async def test_a_window_that_is_over_is_deleted(db, started):
    (app,) = await replicas(db, started, 1)
    async with client(app, "192.0.2.50") as c:
        await c.post("/v1/follow-up", json={"follow_up_code": "NOPE", "secret": "x"}, headers=auth("resident"))
    assert await db.fetchval("incidents", "SELECT count(*) FROM rate_limits") == 2  # its address and its code
    conn = await db.connect("incidents")
    try:
        await conn.execute("UPDATE rate_limits SET expires_at = now() - interval '1 second'")
    finally:
        await conn.close()
    assert await app.state.runtime.run_job("rate-limit-purge") == 2
    assert await db.fetchval("incidents", "SELECT count(*) FROM rate_limits") == 0
