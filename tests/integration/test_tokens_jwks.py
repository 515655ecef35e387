"""Bearer tokens as an OpenID Connect provider issues them: asymmetric, verified against a JWKS fetched over HTTP.

A small HTTP server on a free localhost port plays the provider's JWKS endpoint; the real registry service is
pointed at it (JWT_JWKS_URL, JWT_ISSUER) exactly as docker-compose.yml points the services at Keycloak.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from jwt.algorithms import OKPAlgorithm, RSAAlgorithm

from services.registry.bootstrap import build
from shared.auth import TokenVerifier
from shared.errors import Unauthorized
from shared.settings import DEV_JWKS, DEV_JWT_KID, DEV_JWT_PUBLIC_X, ServiceSettings
from tests.conftest import settings_for, token
from tests.harness import client_for

pytestmark = pytest.mark.integration

ISSUER = "https://id.phu-son.example/realms/ward"
#: The secret every service held before tokens became asymmetric (it is public: it was in shared/settings.py).
OLD_HS256_SECRET = "dev-only-jwt-secret-change-me-0123456789abcdef"
GROUPS = "/v1/groups?ward_id=phu-son"


def public_jwk(key: Any, kid: str) -> dict[str, Any]:
    if isinstance(key, ed25519.Ed25519PrivateKey):
        jwk = OKPAlgorithm.to_jwk(key.public_key(), as_dict=True)
        return {**jwk, "kid": kid, "use": "sig", "alg": "EdDSA"}
    jwk = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    return {**jwk, "kid": kid, "use": "sig", "alg": "RS256"}


class JwksServer:
    """Serves ``keys`` as a JWKS at /certs and counts the fetches."""

    def __init__(self) -> None:
        self.keys: list[dict[str, Any]] = []
        self.fetches = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path != "/certs":
                    self.send_error(404)
                    return
                server.fetches += 1
                body = json.dumps({"keys": server.keys}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/certs"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> JwksServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def jwks() -> Iterator[JwksServer]:
    with JwksServer() as server:
        yield server


@pytest.fixture
async def registry(db, jwks, started):
    settings = settings_for("registry", db, None, jwt_jwks_url=jwks.url, jwt_issuer=ISSUER,
                            jwt_jwks_refresh_cooldown_s=0, jwt_max_lifetime_s=900)
    app = build(settings)
    app.state.runtime.handlers.clear()
    await started(app.state.runtime, wait_assigned=False)
    async with client_for(app, "http://registry") as client:
        yield client


def bearer(**kw: Any) -> dict[str, str]:
    kw.setdefault("iss", ISSUER)
    kw.setdefault("ttl", timedelta(minutes=5))
    return {"Authorization": f"Bearer {token('ward_official', 'phu-son', **kw)}"}


def refused(r: Any, reason: str) -> None:
    assert r.status_code == 401, (r.status_code, r.text)
    assert r.headers["content-type"] == "application/problem+json"
    challenge = r.headers["www-authenticate"]
    assert challenge.startswith("Bearer ") and 'error="invalid_token"' in challenge, challenge
    assert reason in r.json()["detail"], r.json()["detail"]


async def test_a_token_from_the_providers_key_is_accepted_and_the_jwks_is_cached(registry, jwks):
    key = ed25519.Ed25519PrivateKey.generate()
    jwks.keys = [public_jwk(key, "k1")]
    for _ in range(3):
        r = await registry.get(GROUPS, headers=bearer(key=key, kid="k1"))
        assert r.status_code == 200, r.text
    assert jwks.fetches == 1  # fetched once, then served from the cache
    # The development key is not trusted once a provider is configured, even with its own kid.
    refused(await registry.get(GROUPS, headers=bearer(kid=DEV_JWT_KID)), "unknown signing key")


async def test_another_key_under_the_same_kid_is_refused(registry, jwks):
    key, impostor = ed25519.Ed25519PrivateKey.generate(), ed25519.Ed25519PrivateKey.generate()
    jwks.keys = [public_jwk(key, "k1")]
    refused(await registry.get(GROUPS, headers=bearer(key=impostor, kid="k1")), "signature does not verify")
    assert (await registry.get(GROUPS, headers=bearer(key=key, kid="k1"))).status_code == 200


async def test_a_rotated_key_is_picked_up_without_restart_and_an_unknown_kid_refreshes_once(registry, jwks):
    old = ed25519.Ed25519PrivateKey.generate()
    jwks.keys = [public_jwk(old, "2026-01")]
    assert (await registry.get(GROUPS, headers=bearer(key=old, kid="2026-01"))).status_code == 200
    assert jwks.fetches == 1
    # The provider rotates: a new RSA key (Keycloak's default, RS256) joins the set, the old one stays a while.
    new = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwks.keys = [public_jwk(old, "2026-01"), public_jwk(new, "2026-02")]
    r = await registry.get(GROUPS, headers=bearer(key=new, kid="2026-02", alg="RS256"))
    assert r.status_code == 200, r.text
    assert jwks.fetches == 2  # the unknown kid refreshed the set once
    assert (await registry.get(GROUPS, headers=bearer(key=old, kid="2026-01"))).status_code == 200
    assert jwks.fetches == 2
    # A kid the provider never published: one refresh, then refused.
    stranger = ed25519.Ed25519PrivateKey.generate()
    refused(await registry.get(GROUPS, headers=bearer(key=stranger, kid="2099-01")), "unknown signing key")
    assert jwks.fetches == 3


@pytest.mark.parametrize(
    ("forge", "reason"),
    [
        ({"aud": "awards"}, "aud"),  # a token for awards is refused by registry
        ({"aud": ["awards", "donations"]}, "aud"),
        ({"ttl": timedelta(minutes=20)}, "lifetime exceeds 900 s"),  # longer than JWT_MAX_LIFETIME_S
        ({"without": ("iat",)}, "missing claim iat"),
        ({"without": ("exp",)}, "missing claim exp"),
        ({"ttl": timedelta(minutes=-5)}, "expired"),
        ({"iss": "https://evil.example/realms/ward"}, "issuer"),
        ({"kid": None}, "no key id"),
        ({"team_ids": "abc"}, "team_ids"),  # once read as three teams: a, b and c
        ({"team_ids": [1, 2]}, "team_ids"),
        ({"roles": ["mayor"]}, "roles"),
        ({"ward": ["phu-son"]}, "ward"),
        ({"resident_id": 42}, "resident_id"),
    ],
)
async def test_tokens_that_do_not_meet_the_policy_are_refused(registry, jwks, forge, reason):
    key = ed25519.Ed25519PrivateKey.generate()
    jwks.keys = [public_jwk(key, "k1")]
    forge = dict(forge)
    roles = forge.pop("roles", ["ward_official"])
    r = await registry.get(GROUPS, headers={"Authorization": "Bearer " + token(
        roles, forge.pop("ward", "phu-son"), key=key, kid=forge.pop("kid", "k1"), iss=forge.pop("iss", ISSUER),
        ttl=forge.pop("ttl", timedelta(minutes=5)), **forge)})
    refused(r, reason)


async def test_a_token_for_several_audiences_including_this_service_is_accepted(registry, jwks):
    key = ed25519.Ed25519PrivateKey.generate()
    jwks.keys = [public_jwk(key, "k1")]
    r = await registry.get(GROUPS, headers=bearer(key=key, kid="k1", aud=["awards", "registry"]))
    assert r.status_code == 200, r.text


async def test_hs256_tokens_are_refused_whatever_the_secret(registry, jwks):
    """Algorithm confusion: HS256 with the old shared secret, or with the public key as the HMAC secret."""
    key = ed25519.Ed25519PrivateKey.generate()
    jwks.keys = [public_jwk(key, "k1")]
    for secret in (OLD_HS256_SECRET, jwks.keys[0]["x"], DEV_JWT_PUBLIC_X):
        refused(await registry.get(GROUPS, headers=bearer(key=secret, kid="k1", alg="HS256")), "algorithm")
    # and a JWKS that slips in a symmetric key does not make HS256 acceptable
    jwks.keys.append({"kty": "oct", "k": "c2VjcmV0", "kid": "sym", "alg": "HS256"})
    refused(await registry.get(GROUPS, headers=bearer(key="secret", kid="sym", alg="HS256")), "algorithm")


async def test_401_answers_carry_a_bearer_challenge(registry, jwks):
    missing = await registry.get(GROUPS)
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == 'Bearer realm="ward-platform"'  # RFC 6750 3.1: no error code
    basic = await registry.get(GROUPS, headers={"Authorization": "Basic dXNlcjpwdw=="})
    assert basic.status_code == 401 and basic.headers["www-authenticate"].startswith("Bearer ")
    garbage = await registry.get(GROUPS, headers={"Authorization": "Bearer not-a-jwt"})
    refused(garbage, "malformed")


async def test_an_unreachable_provider_answers_503_not_401_nor_500(db, started):
    settings = settings_for("registry", db, None, jwt_jwks_url="http://127.0.0.1:9/certs", jwt_issuer=ISSUER,
                            jwt_jwks_timeout_s=2)
    app = build(settings)
    app.state.runtime.handlers.clear()
    await started(app.state.runtime, wait_assigned=False)
    key = ed25519.Ed25519PrivateKey.generate()
    async with client_for(app, "http://registry") as client:
        r = await client.get(GROUPS, headers=bearer(key=key, kid="k1"))
    assert r.status_code == 503 and r.headers["content-type"] == "application/problem+json", r.text


async def test_in_production_a_jwks_url_serving_the_development_key_is_refused_too(jwks):
    """The settings refuse the development JWKS at start; a provider URL that serves it is caught per token."""
    jwks.keys = list(DEV_JWKS["keys"])
    settings = ServiceSettings(service_name="awards", environment="production", _env_file=None,
                               database_url="postgresql://awards:s3cret@db/ward",
                               jwt_jwks_url=jwks.url, jwt_issuer=ISSUER, kafka_security_protocol="SASL_SSL",
                               kafka_sasl_username="awards", kafka_sasl_password="pw",
                               audit_key="a" * 40, audit_key_id="k1", idempotency_key="i" * 40)
    with pytest.raises(Unauthorized, match="unknown signing key"):
        await TokenVerifier(settings).verify(token("admin", "*", iss=ISSUER))  # signed with the development key
    development = ServiceSettings(service_name="awards", environment="development", _env_file=None,
                                  database_url="postgresql://x@y/z", jwt_jwks_url=jwks.url, jwt_issuer=ISSUER)
    assert (await TokenVerifier(development).verify(token("admin", "*", iss=ISSUER))).ward_id == "*"


def _provider_verifier(jwks: JwksServer, **kw: Any) -> TokenVerifier:
    return TokenVerifier(ServiceSettings(service_name="registry", environment="development", _env_file=None,
                                         database_url="postgresql://x@y/z", jwt_jwks_url=jwks.url,
                                         jwt_issuer=ISSUER, jwt_jwks_refresh_cooldown_s=0, **kw))


async def test_a_remembered_token_of_a_key_removed_by_a_refetch_is_refused_at_once(jwks):
    """Verified tokens are remembered (shared.auth.VerifiedTokens), but only while the key set they were checked
    against is the one in use: the refetch an unknown kid causes sends them all back through the full check."""
    old, new = ed25519.Ed25519PrivateKey.generate(), ed25519.Ed25519PrivateKey.generate()
    jwks.keys = [public_jwk(old, "2026-01")]
    verifier = _provider_verifier(jwks)
    remembered = token("ward_official", "phu-son", key=old, kid="2026-01", iss=ISSUER, ttl=timedelta(minutes=5))
    for _ in range(3):
        assert (await verifier.verify(remembered)).ward_id == "phu-son"
    assert jwks.fetches == 1 and len(verifier.verified) == 1
    jwks.keys = [public_jwk(new, "2026-02")]  # the provider drops the old key (compromised, say)
    await verifier.verify(token("ward_official", "phu-son", key=new, kid="2026-02", iss=ISSUER))
    assert jwks.fetches == 2
    with pytest.raises(Unauthorized, match="unknown signing key"):
        await verifier.verify(remembered)


async def test_a_remembered_token_of_a_removed_key_is_refused_once_the_fetched_set_is_stale(jwks):
    """No other token comes to cause a refetch: a remembered token is not used past the fetched set's lifespan
    (JWT_JWKS_CACHE_S), after which the set is fetched again and the removed key refuses it, as without the cache."""
    old = ed25519.Ed25519PrivateKey.generate()
    jwks.keys = [public_jwk(old, "2026-01")]
    verifier = _provider_verifier(jwks, jwt_jwks_cache_s=0.5)
    remembered = token("ward_official", "phu-son", key=old, kid="2026-01", iss=ISSUER, ttl=timedelta(minutes=5))
    await verifier.verify(remembered)
    jwks.keys = [public_jwk(ed25519.Ed25519PrivateKey.generate(), "2026-02")]  # the old key dropped
    await verifier.verify(remembered)  # within the fetched set's lifespan: the same answer as without the cache
    assert jwks.fetches == 1
    await asyncio.sleep(0.6)
    with pytest.raises(Unauthorized, match="unknown signing key"):
        await verifier.verify(remembered)
