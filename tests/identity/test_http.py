"""The identity service over HTTP on the real PostgreSQL: a person signs in (password, and a second factor for an
official) and the access token works at another service (registry, built with the test settings, unchanged);
refresh rotation and reuse detection; no enumeration; lockout; the rate limit of the sign-in routes; a role change
and every sign-in in the audit trail (never a password); the discovery documents; production refuses the
development signing key."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import jwt
import pyotp
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import ValidationError

from services.identity import domain
from services.identity.bootstrap import build
from services.registry.bootstrap import build as build_registry
from shared import cli
from shared.auth import DEV_SIGNING_KEY_PATH
from shared.settings import DEV_JWKS, DEV_JWT_ISSUER, SERVICES, ServiceSettings
from tests.conftest import auth
from tests.harness import ServiceUnderTest, serve
from tests.identity.conftest import WARD

pytestmark = pytest.mark.integration

CITY = auth("city_official", "*")
OFFICIAL = auth("ward_official", WARD)
PASSWORD = "một mật khẩu đủ dài 2024"
FAILED = {"status": 401, "detail": domain.SIGN_IN_FAILED}


@pytest.fixture
async def identity(db, started):
    async with serve(build, "identity", db, started) as svc:
        yield svc


async def account(svc: ServiceUnderTest, headers: Any = OFFICIAL, **body: Any) -> dict[str, Any]:
    body = {"ward_id": WARD, "username": "lan.nguyen", "display_name": "Nguyễn Thị Lan", "roles": ["resident"],
            "resident_id": "res-1", "household_id": "hh-1", **body}
    r = await svc.client.post("/v1/accounts", json=body, headers=headers)
    assert r.status_code == 201, r.text
    created = r.json()
    r = await svc.client.post("/v1/password", json={"username": body["username"], "reset_code": created["reset_code"],
                                                    "new_password": PASSWORD})
    assert r.status_code == 200, r.text
    return {**created["account"], "enrolment": r.json()["second_factor"]}


async def sign_in(svc: ServiceUnderTest, username: str = "lan.nguyen", password: str = PASSWORD,
                  **more: Any) -> Any:
    return await svc.client.post("/v1/sessions", json={"username": username, "password": password, **more})


def failed(r: Any) -> dict[str, Any]:
    assert r.status_code == 401 and r.headers["content-type"] == "application/problem+json", r.text
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    return {"status": r.json()["status"], "detail": r.json()["detail"]}


async def test_an_official_signs_in_with_a_second_factor_and_registry_accepts_the_token(db, started, identity):
    official = await account(identity, CITY, username="hoa.le", display_name="Lê Hoa", roles=["ward_official"],
                             resident_id=None, household_id=None)
    assert official["enrolment"]["provisioning_uri"].startswith("otpauth://totp/")
    r = await sign_in(identity, "hoa.le")
    assert r.status_code == 200 and r.json() == {"second_factor_required": True}
    code = pyotp.TOTP(official["enrolment"]["secret"]).now()
    r = await sign_in(identity, "hoa.le", code=code)
    assert r.status_code == 200, r.text
    tokens = r.json()
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 600
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert sorted(claims["aud"]) == sorted(SERVICES) and claims["exp"] - claims["iat"] == 600
    assert claims["iss"] == DEV_JWT_ISSUER and claims["roles"] == ["ward_official"] and claims["ward"] == WARD
    assert claims["amr"] == ["pwd", "otp"]
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    me = await identity.client.get("/v1/me", headers=bearer)
    assert me.status_code == 200 and me.json()["second_factor"] == "active"
    failed(await sign_in(identity, "hoa.le", code=code))  # the code is not accepted twice
    async with serve(build_registry, "registry", db, started) as registry:
        r = await registry.client.get("/v1/groups", headers=bearer)
        assert r.status_code == 200, r.text
        r = await registry.client.get("/v1/groups", headers={"Authorization": "Bearer not-a-token"})
        assert r.status_code == 401


async def test_refresh_tokens_rotate_and_a_reused_one_ends_the_sign_in(identity):
    await account(identity)
    first = (await sign_in(identity)).json()
    r = await identity.client.post("/v1/sessions/refresh", json={"refresh_token": first["refresh_token"]})
    assert r.status_code == 200, r.text
    second = r.json()
    assert second["refresh_token"] != first["refresh_token"] and second["access_token"]
    assert failed(await identity.client.post("/v1/sessions/refresh",
                                             json={"refresh_token": first["refresh_token"]})) == FAILED
    assert failed(await identity.client.post("/v1/sessions/refresh",
                                             json={"refresh_token": second["refresh_token"]})) == FAILED
    third = (await sign_in(identity)).json()
    r = await identity.client.post("/v1/sessions/sign-out", json={"refresh_token": third["refresh_token"]})
    assert r.status_code == 200 and r.json() == {"signed_out": True}
    failed(await identity.client.post("/v1/sessions/refresh", json={"refresh_token": third["refresh_token"]}))


async def test_sign_in_reveals_no_account_and_locks_after_failures_in_a_row(identity):
    await account(identity)
    unknown = failed(await sign_in(identity, "no.such.person"))
    wrong = failed(await sign_in(identity, password="not the right password"))
    assert unknown == wrong == FAILED
    for _ in range(domain.LOCK_AFTER - 1):
        failed(await sign_in(identity, password="not the right password"))
    assert failed(await sign_in(identity)) == FAILED  # locked: even the right password
    r = await identity.client.post("/v1/sessions", json={"username": "x", "password": "y"},
                                   headers={"Idempotency-Key": "k1"})
    assert r.status_code == 422  # anonymous routes keep no reply to share


async def test_the_sign_in_routes_are_rate_limited_per_address(db, started):
    async with serve(build, "identity", db, started, sign_in_rate_limit=3) as svc:
        for _ in range(3):
            failed(await sign_in(svc, "nobody"))
        r = await sign_in(svc, "nobody")
        assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
        r = await svc.client.post("/v1/password", json={"username": "nobody", "reset_code": "x" * 20,
                                                        "new_password": "x" * 20})
        assert r.status_code == 429
        r = await svc.client.post("/v1/sessions/refresh", json={"refresh_token": "wrt_unknown"})
        assert r.status_code == 401  # a refresh token cannot be guessed: not limited per address


async def test_role_changes_and_sign_ins_are_audited_without_secrets(identity, db):
    lan = await account(identity)
    await sign_in(identity)
    failed(await sign_in(identity, password="a wrong password typed"))
    r = await identity.client.post(f"/v1/accounts/{lan['account_id']}/roles",
                                   json={"roles": ["resident", "team_leader"], "team_ids": ["team-1"]},
                                   headers=OFFICIAL)
    assert r.status_code == 200 and r.json()["roles"] == ["resident", "team_leader"]
    r = await identity.client.post(f"/v1/accounts/{lan['account_id']}/roles", json={"roles": ["police"]},
                                   headers=OFFICIAL)
    assert r.status_code == 403
    rows = await db.fetch("identity", "SELECT command, target_id, details::text AS details FROM audit_log ORDER BY seq")
    commands = [(r["command"], r["target_id"]) for r in rows]
    assert ("account.roles.change", lan["account_id"]) in commands
    assert [r["details"] for r in rows if r["command"] == "session.sign-in"] == [
        '{"amr": ["pwd"], "outcome": "signed_in"}', '{"outcome": "wrong_password"}']
    everything = " ".join(str(dict(r)) for r in await db.fetch("identity", "SELECT * FROM audit_log"))
    assert PASSWORD not in everything and "a wrong password typed" not in everything
    other = await identity.client.get(f"/v1/accounts/{lan['account_id']}", headers=auth("ward_official", "dong-ve"))
    assert other.status_code == 404


async def test_the_keys_and_routes_are_published_for_the_services(identity):
    r = await identity.client.get("/.well-known/jwks.json")
    assert r.status_code == 200 and r.json() == DEV_JWKS  # development: the key every service already trusts
    r = await identity.client.get("/.well-known/openid-configuration")
    assert r.status_code == 200
    assert r.json()["issuer"] == DEV_JWT_ISSUER and r.json()["jwks_uri"].endswith("/.well-known/jwks.json")


def test_production_refuses_the_development_signing_key():
    base = {"service_name": "identity", "database_url": "postgresql://identity:s3cret@db/ward", "_env_file": None,
            "environment": "production", "kafka_security_protocol": "SASL_SSL", "kafka_sasl_username": "identity",
            "kafka_sasl_password": "pw", "audit_key": "a" * 40, "audit_key_id": "k1", "idempotency_key": "i" * 40,
            "jwt_issuer": "https://id.city.example", "jwt_jwks_url": "https://id.city.example/.well-known/jwks.json"}
    with pytest.raises(ValidationError, match="IDENTITY_SIGNING_KEY") as refused:
        ServiceSettings(**base)
    assert "IDENTITY_KEY" in str(refused.value)
    dev_pem = (serialization.load_pem_private_key(
        DEV_SIGNING_KEY_PATH.read_bytes(), password=None))
    pem = dev_pem.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    with pytest.raises(ValidationError, match="the development key"):
        ServiceSettings(**base, identity_signing_key=pem, identity_signing_kid="k1", identity_key="k" * 40)
    fresh = Ed25519PrivateKey.generate().private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()).decode()
    ServiceSettings(**base, identity_signing_key=fresh, identity_signing_kid="k1", identity_key="k" * 40)


async def test_wardctl_creates_the_first_official_whose_reset_code_signs_them_in(db, started, identity, monkeypatch,
                                                                                  capsys):
    monkeypatch.setenv("DATABASE_URL", db.app_url("identity"))
    monkeypatch.setenv("ENVIRONMENT", "test")
    code = await asyncio.to_thread(cli.main, ["accounts", "create-official", "--ward", WARD, "--username", "chu.tich",
                                              "--name", "Chủ tịch phường", "--operator", "ops-1"])
    assert code == 0
    out = capsys.readouterr().out
    reset_code = re.search(r"one-time reset code .*: (\S+)$", out, re.M).group(1)
    r = await identity.client.post("/v1/password", json={"username": "chu.tich", "reset_code": reset_code,
                                                         "new_password": PASSWORD})
    assert r.status_code == 200 and r.json()["second_factor"]["secret"]
    totp = pyotp.TOTP(r.json()["second_factor"]["secret"]).now()
    r = await sign_in(identity, "chu.tich", code=totp)
    assert r.status_code == 200
    assert jwt.decode(r.json()["access_token"], options={"verify_signature": False})["roles"] == ["ward_official"]
    rows = await db.fetch("identity", "SELECT actor, command FROM audit_log WHERE command = 'account.create'")
    assert [(r["actor"], r["command"]) for r in rows] == [("operator:ops-1", "account.create")]
    again = await asyncio.to_thread(cli.main, ["accounts", "create-official", "--ward", WARD, "--username", "chu.tich"])
    assert again == 2  # the name is taken
    # notify joining a platform that already has accounts: every account's AccountChanged again, in the outbox
    assert await asyncio.to_thread(cli.main, ["accounts", "announce", "--operator", "ops-1"]) == 0
    assert "1 accounts announced again" in capsys.readouterr().out
    outbox = await db.fetch("identity", "SELECT payload FROM outbox WHERE event_type = 'identity.account.changed.v1'")
    assert len(outbox) == 2 and "chu.tich" not in str([r["payload"] for r in outbox])  # the create's, the announce's
