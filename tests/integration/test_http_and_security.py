"""HTTP behaviour every service shares, and the isolation between services and wards."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import asyncpg
import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared import audit
from shared.settings import DEV_JWT_KID
from tests.conftest import auth, settings_for, token
from tests.integration.conftest import eventually
from tests.integration.probe import publisher_app

pytestmark = pytest.mark.integration


def _client(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url="http://t")


async def test_idempotency_key_replays_the_first_response_and_changes_nothing(probe_db, started):
    app, runtime = publisher_app(settings_for("registry", probe_db, None))
    await started(runtime)
    headers = {**auth("ward_official", sub="official-1"), "Idempotency-Key": "abc-1"}
    async with _client(app) as client:
        first = await client.post("/probe", json={"id": "x1", "value": 5}, headers=headers)
        again = await asyncio.gather(*(client.post("/probe", json={"id": "x1", "value": 5}, headers=headers) for _ in range(5)))
        other_body = await client.post("/probe", json={"id": "x2", "value": 6}, headers=headers)
        no_key = await client.post("/probe", json={"id": "x1", "value": 5}, headers=auth("ward_official"))
    assert first.status_code == 201
    assert all(r.status_code == 201 and r.json() == first.json() for r in again)
    assert all(r.headers.get("idempotent-replayed") == "true" for r in again)
    assert other_body.status_code == 422 and other_body.headers["content-type"] == "application/problem+json"
    assert await probe_db.fetchval("registry", "SELECT count(*) FROM probe_state") == 1
    assert await probe_db.fetchval("registry", "SELECT count(*) FROM outbox WHERE event_type = 'registry.probe.recorded.v1'") == 1
    assert await probe_db.fetchval("registry", "SELECT count(*) FROM audit_log") == 1
    # the same id again without a key is a real second command, refused by the database as a duplicate (500
    # here because the probe does not translate it; real services map it to 409), and leaves nothing behind
    assert no_key.status_code == 500 and "nothing was changed" in no_key.json()["detail"]
    assert await probe_db.fetchval("registry", "SELECT count(*) FROM audit_log") == 1


async def test_problem_details_auth_and_ward_checks(probe_db, started):
    app, runtime = publisher_app(settings_for("registry", probe_db, None))
    await started(runtime)
    async with _client(app) as client:
        invalid = await client.post("/probe", json={"id": "v", "value": "many"}, headers=auth("ward_official"))
        missing = await client.post("/probe", json={"id": "v", "value": 1})
        wrong_sig = await client.post("/probe", json={"id": "v", "value": 1}, headers={
            "Authorization": "Bearer " + token("admin", key=Ed25519PrivateKey.generate(), kid=DEV_JWT_KID)})
        expired = await client.post("/probe", json={"id": "v", "value": 1}, headers={
            "Authorization": "Bearer " + token("ward_official", ttl=timedelta(seconds=-60))})
        other_service = await client.post("/probe", json={"id": "v", "value": 1},
                                          headers=auth("ward_official", aud="awards"))
        other_ward = await client.post("/probe", json={"id": "v", "value": 1}, headers=auth("ward_official", ward="dong-son"))
        star_resident = await client.post("/probe", json={"id": "v", "value": 1}, headers=auth("resident", ward="*"))
    assert invalid.status_code == 422
    body = invalid.json()
    assert invalid.headers["content-type"] == "application/problem+json"
    assert body["status"] == 422 and body["type"] == "/problems#invalid-input" and body["errors"][0]["loc"][-1] == "value"
    assert missing.status_code == 401 and missing.json()["title"] == "Unauthorized"
    assert missing.headers["www-authenticate"] == 'Bearer realm="ward-platform"'
    for r in (wrong_sig, expired, other_service, star_resident):
        assert r.status_code == 401 and 'error="invalid_token"' in r.headers["www-authenticate"], r.text
    assert other_ward.status_code == 403
    assert await probe_db.fetchval("registry", "SELECT count(*) FROM probe_state") == 0


async def test_each_service_role_is_confined_to_its_own_schema(db):
    conn = await asyncpg.connect(db.app_url("registry"))
    try:
        for other in ("incidents", "mediation", "donations", "awards", "feed", "notify"):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.fetch(f'SELECT * FROM "{other}".outbox LIMIT 1')
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(f'INSERT INTO "{other}".audit_log (actor, actor_roles, command, target_type, target_id, prev_hash, hash) VALUES (1,2,3,4,5,6,7)')
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("CREATE TABLE public.sneaky (id int)")
        # its own schema works
        assert await conn.fetchval("SELECT count(*) FROM registry.outbox") == 0
    finally:
        await conn.close()
    owner = await asyncpg.connect(db.owner_url("incidents"))
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await owner.fetch("SELECT * FROM registry.inbox LIMIT 1")
    finally:
        await owner.close()


async def test_audit_trail_is_insert_only_and_hash_chained(probe_db, started):
    app, runtime = publisher_app(settings_for("registry", probe_db, None))
    await started(runtime)
    async with _client(app) as client:
        for i in range(3):
            assert (await client.post("/probe", json={"id": f"a{i}", "value": i}, headers=auth("ward_official"))).status_code == 201
    conn = await probe_db.connect("registry")
    try:
        rows = await conn.fetch("SELECT * FROM audit_log ORDER BY seq")
        assert [r["command"] for r in rows] == ["probe.record"] * 3
        assert rows[1]["prev_hash"] == rows[0]["hash"]
        assert await audit.verify_chain(conn, runtime.audit_keys) is None
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("UPDATE audit_log SET actor = 'someone else'")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("DELETE FROM audit_log")
    finally:
        await conn.close()
    # a superuser can still tamper, and the chain shows where
    admin = await asyncpg.connect(probe_db.admin_url)
    try:
        await admin.execute("UPDATE registry.audit_log SET target_id = 'forged' WHERE seq = (SELECT min(seq) + 1 FROM registry.audit_log)")
    finally:
        await admin.close()
    conn = await probe_db.connect("registry")
    try:
        assert await audit.verify_chain(conn, runtime.audit_keys) == rows[1]["seq"]
    finally:
        await conn.close()


async def test_health_metrics_and_asyncapi(probe_db, broker, started):
    app, runtime = publisher_app(settings_for("registry", probe_db, broker))
    await started(runtime)
    down_app, down_runtime = publisher_app(settings_for("registry", probe_db, None))  # broker address with nobody
    await started(down_runtime)
    async with _client(app) as client:
        assert (await client.get("/health/live")).json() == {"status": "ok"}

        async def ready() -> bool:
            return (await client.get("/health/ready")).status_code == 200

        await eventually(ready)
        await client.post("/probe", json={"id": "m1", "value": 1}, headers=auth("ward_official"))
        metrics = (await client.get("/metrics")).text
        spec = (await client.get("/asyncapi.json")).json()
        openapi = (await client.get("/openapi.json")).json()
    async with _client(down_app) as client:
        not_ready = await client.get("/health/ready")
    for name in ("ward_outbox_backlog", "ward_outbox_oldest_unpublished_age_seconds", "ward_outbox_published_total",
                 "ward_event_handler_seconds", "ward_event_handler_errors_total", "ward_dead_letters_total",
                 "ward_consumer_lag", "ward_http_requests_total"):
        assert f"# TYPE {name}" in metrics, name
    assert 'ward_outbox_backlog{service="registry"}' in metrics
    assert 'ward_http_requests_total{method="POST",route="/probe",service="registry",status="201"}' in metrics
    assert spec["asyncapi"].startswith("3.")
    assert any("registry.wards" in name for name in spec["channels"])
    assert "/probe" in openapi["paths"]
    assert not_ready.status_code == 503 and not_ready.json()["checks"]["database"] == "ok"
    assert not_ready.json()["checks"]["broker"] != "ok"
