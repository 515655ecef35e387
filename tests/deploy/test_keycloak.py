"""The Keycloak realm of docker-compose.yml issues the tokens the services accept: every role, an audience per
service, the claims the services read (typed as they read them), and the services pointed at its issuer and JWKS."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import typing
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from shared.auth import Claims, Role, TokenVerifier
from shared.devstack.stack import PG_SUPERUSER_PASSWORD, EmbeddedPostgres
from shared.settings import SERVICES, ServiceSettings
from tests.deploy.files import DEPLOY, KEYCLOAK_REALM, compose, env_map, interpolate
from tests.deploy.test_compose import app_services, secrets_env

REALM = json.loads(KEYCLOAK_REALM.read_text())
PORTAL = next(c for c in REALM["clients"] if c["clientId"] == "ward-portal")
#: The claims the services read from a token (shared.auth.Claims), and which of them are lists. ``azp`` (the
#: OAuth client, which the feed reads for client-credentials subscribers) Keycloak writes itself, with no mapper.
READ_CLAIMS = set(Claims.model_fields) - {"sub", "azp"}
LIST_CLAIMS = {n for n, f in Claims.model_fields.items() if typing.get_origin(f.annotation) is list}


def mapper(name: str) -> dict:
    (found,) = [m for m in PORTAL["protocolMappers"] if m["config"].get("claim.name") == name]
    return found


def test_the_realm_declares_every_role_of_the_platform_and_only_those_reach_tokens():
    realm_roles = {r["name"] for r in REALM["roles"]["realm"]}
    assert realm_roles == {str(r) for r in Role}
    # fullScopeAllowed off + scope mappings: Keycloak's own realm roles (default-roles-ward, offline_access) stay
    # out of the token, where the services would refuse them as unknown roles.
    assert PORTAL["fullScopeAllowed"] is False
    (scope,) = [m for m in REALM["scopeMappings"] if m["client"] == "ward-portal"]
    assert set(scope["roles"]) == {str(r) for r in Role}


def test_mappers_emit_every_claim_the_services_read_in_the_shape_they_read_it():
    assert READ_CLAIMS == {"roles", "ward", "team_ids", "resident_id", "household_id"}
    assert LIST_CLAIMS == {"roles", "team_ids"}
    roles = mapper("roles")
    assert roles["protocolMapper"] == "oidc-usermodel-realm-role-mapper"
    for claim in READ_CLAIMS:
        m = mapper(claim)
        assert m["config"]["access.token.claim"] == "true", claim  # the services read the access token
        assert m["config"]["multivalued"] == ("true" if claim in LIST_CLAIMS else "false"), claim
        assert m["config"]["jsonType.label"] == "String", claim
        if claim != "roles":
            assert m["protocolMapper"] == "oidc-usermodel-attribute-mapper", claim
            assert m["config"]["user.attribute"] == claim, claim
    subs = [m for m in PORTAL["protocolMappers"] if m["protocolMapper"] == "oidc-sub-mapper"]
    assert subs and subs[0]["config"]["access.token.claim"] == "true"


def test_every_service_is_an_audience_of_the_portals_tokens_and_a_client_that_cannot_sign_in():
    audiences = {m["config"]["included.client.audience"] for m in PORTAL["protocolMappers"]
                 if m["protocolMapper"] == "oidc-audience-mapper" and m["config"]["access.token.claim"] == "true"}
    assert audiences == set(SERVICES)
    clients = {c["clientId"]: c for c in REALM["clients"]}
    for service in SERVICES:
        c = clients[service]
        assert c["bearerOnly"] is True, service
        assert not any(c[f] for f in ("standardFlowEnabled", "implicitFlowEnabled", "directAccessGrantsEnabled",
                                       "serviceAccountsEnabled")), service


def test_people_sign_in_with_authorization_code_and_pkce_only():
    assert PORTAL["publicClient"] is True and PORTAL["standardFlowEnabled"] is True
    assert PORTAL["attributes"]["pkce.code.challenge.method"] == "S256"
    assert PORTAL["implicitFlowEnabled"] is False and PORTAL["directAccessGrantsEnabled"] is False
    assert REALM["registrationAllowed"] is False  # accounts are made by the ward, not by whoever comes


def test_only_administrators_set_the_attributes_that_become_claims():
    (provider,) = REALM["components"]["org.keycloak.userprofile.UserProfileProvider"]
    profile = json.loads(provider["config"]["kc.user.profile.config"][0])
    attributes = {a["name"]: a for a in profile["attributes"]}
    for claim in READ_CLAIMS - {"roles"}:
        a = attributes[claim]  # declared: Keycloak 24+ drops unmanaged attributes
        assert a["permissions"]["edit"] == ["admin"], claim  # a person cannot move to another ward or team
        assert a["multivalued"] is (claim in LIST_CLAIMS), claim
    assert "unmanagedAttributePolicy" not in profile  # nothing else a user could set reaches a token


def test_token_lifetime_and_algorithm_fit_what_the_services_accept():
    defaults = ServiceSettings(service_name="registry", database_url="postgresql://x@y/z", _env_file=None)
    assert REALM["accessTokenLifespan"] <= defaults.jwt_max_lifetime_s
    assert int(PORTAL["attributes"]["access.token.lifespan"]) <= defaults.jwt_max_lifetime_s
    assert REALM["defaultSignatureAlgorithm"] in defaults.jwt_algorithms


def test_the_realm_file_holds_no_user_or_secret():
    assert "users" not in REALM
    text = KEYCLOAK_REALM.read_text().lower()
    assert '"secret"' not in text and '"credentials"' not in text and "password\":" not in text


def test_compose_points_every_service_at_keycloak():
    config = interpolate(compose(), secrets_env())
    kc = config["services"]["keycloak"]
    kc_env = env_map(kc["environment"])
    assert kc["command"] == ["start", "--import-realm"]
    assert "./deploy/keycloak/ward-realm.json:/opt/keycloak/data/import/ward-realm.json:ro" in kc["volumes"]
    assert kc["ports"] == ["127.0.0.1:8180:8080"]  # the console on this machine only
    assert kc["image"].startswith("quay.io/keycloak/keycloak:") and not kc["image"].endswith(":latest")
    assert kc["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    issuer = f"{kc_env['KC_HOSTNAME']}/realms/{REALM['realm']}"
    for name, svc in app_services(config).items():
        env = env_map(svc["environment"])
        assert env["JWT_ISSUER"] == issuer, name  # what Keycloak writes into `iss`
        jwks = urlsplit(env["JWT_JWKS_URL"])
        assert (jwks.hostname, jwks.port) == ("keycloak", 8080), name
        assert jwks.path == f"/realms/{REALM['realm']}/protocol/openid-connect/certs", name
        assert "JWT_SECRET" not in env and "JWT_JWKS" not in env, name
    # Keycloak's database login is the one the postgres init script creates
    pg = config["services"]["postgres"]
    assert env_map(pg["environment"])["KEYCLOAK_DB_PASSWORD"] == kc_env["KC_DB_PASSWORD"]
    assert "./deploy/keycloak/init-db.sh:/docker-entrypoint-initdb.d/20-keycloak-db.sh:ro" in pg["volumes"]
    assert kc_env["KC_DB_URL"] == "jdbc:postgresql://postgres:5432/keycloak" and kc_env["KC_DB_USERNAME"] == "keycloak"


async def test_a_token_shaped_as_the_realm_issues_it_is_accepted_by_every_service():
    """The access token Keycloak mints with this realm's mappers (RS256, aud = the five services, extra claims such
    as azp, typ, realm_access), verified by services configured as compose configures them."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = {**RSAAlgorithm.to_jwk(key.public_key(), as_dict=True), "kid": "kc-rs256", "use": "sig", "alg": "RS256"}
    issuer = "http://127.0.0.1:8180/realms/ward"
    now = datetime.now(UTC)
    claims = {
        "exp": now + timedelta(seconds=REALM["accessTokenLifespan"]), "iat": now, "jti": "onrtac:1", "iss": issuer,
        "aud": list(SERVICES), "sub": "5b0c6b8e-3c55-4a8e-9a51-0f1f1e1f6a01", "typ": "Bearer", "azp": "ward-portal",
        "sid": "s-1", "acr": "1", "scope": "openid profile email", "realm_access": {"roles": ["team_leader"]},
        "roles": ["team_leader", "resident"], "ward": "phu-son", "team_ids": ["team-01"],
        "resident_id": "r-7", "household_id": "h-3", "preferred_username": "leader1",
    }
    token = jwt.encode(claims, key, algorithm="RS256", headers={"kid": "kc-rs256"})
    for service in SERVICES:
        settings = ServiceSettings(service_name=service, database_url="postgresql://x@y/z", environment="test",
                                   jwt_issuer=issuer, jwt_jwks=json.dumps({"keys": [jwk]}), _env_file=None)
        principal = await TokenVerifier(settings).verify(token)
        assert principal.roles == {Role.TEAM_LEADER, Role.RESIDENT} and principal.team_ids == {"team-01"}
        assert (principal.ward_id, principal.resident_id, principal.household_id) == ("phu-son", "r-7", "h-3")


@pytest.fixture(scope="module")
def server() -> Iterator[EmbeddedPostgres]:
    tmp = Path(tempfile.mkdtemp(prefix="ward-keycloak-pg-"))
    os.chmod(tmp, 0o755)
    pg = EmbeddedPostgres(tmp / "data").start()
    try:
        yield pg
    finally:
        pg.stop("immediate")
        shutil.rmtree(tmp, ignore_errors=True)


def _run_init_db(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """deploy/keycloak/init-db.sh as the postgres image runs it on a fresh data directory."""
    return subprocess.run(["bash", str(DEPLOY / "keycloak" / "init-db.sh")], env=env, capture_output=True, text=True,
                          timeout=60)


async def test_postgres_init_gives_keycloak_its_own_database_and_login(server):
    env = {"PATH": f"{server.bin}:{os.environ['PATH']}", "PGHOST": "127.0.0.1", "PGPORT": str(server.port),
           "PGPASSWORD": PG_SUPERUSER_PASSWORD, "POSTGRES_USER": "postgres", "POSTGRES_DB": "postgres"}
    refused = _run_init_db(env)
    assert refused.returncode != 0 and "KEYCLOAK_DB_PASSWORD" in refused.stderr
    password = "kc-Pw'with-a-quote"
    done = _run_init_db({**env, "KEYCLOAK_DB_PASSWORD": password})
    assert done.returncode == 0, done.stderr
    assert password not in done.stdout + done.stderr
    base = f"postgresql://{{}}@127.0.0.1:{server.port}/keycloak"
    conn = await asyncpg.connect(base.format("keycloak"), password=password)
    try:
        await conn.execute("CREATE TABLE realm_probe (id int)")  # Keycloak creates its schema there
    finally:
        await conn.close()
    admin = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{server.port}/postgres",
                                  password=PG_SUPERUSER_PASSWORD)
    try:
        await admin.execute("CREATE ROLE someone_else LOGIN PASSWORD 'pw-of-someone-else'")
    finally:
        await admin.close()
    with pytest.raises(asyncpg.InsufficientPrivilegeError):  # no platform role reaches Keycloak's data
        await asyncpg.connect(base.format("someone_else"), password="pw-of-someone-else")


CONSOLE = next(c for c in REALM["clients"] if c["clientId"] == "ward-console")


def test_the_console_is_a_public_pkce_client_whose_id_token_carries_roles_and_ward():
    """services/console/oidc.py reads the person's roles and ward from the ID token, and calls the services with
    the access token: both carry the claims, the access token every service's audience."""
    assert CONSOLE["publicClient"] is True and CONSOLE["standardFlowEnabled"] is True
    assert CONSOLE["attributes"]["pkce.code.challenge.method"] == "S256"
    assert not any(CONSOLE[f] for f in ("implicitFlowEnabled", "directAccessGrantsEnabled", "serviceAccountsEnabled"))
    assert CONSOLE["redirectUris"] == ["http://127.0.0.1:8008/sign-in/oidc/callback",
                                       "http://localhost:8008/sign-in/oidc/callback"]  # exact: no wildcard
    assert CONSOLE["fullScopeAllowed"] is False
    (scope,) = [m for m in REALM["scopeMappings"] if m["client"] == "ward-console"]
    assert set(scope["roles"]) == {str(r) for r in Role}
    by_claim = {m["config"].get("claim.name"): m for m in CONSOLE["protocolMappers"]}
    for claim in READ_CLAIMS:
        assert by_claim[claim]["config"]["access.token.claim"] == "true", claim
        assert by_claim[claim]["config"]["id.token.claim"] == "true", claim
        assert by_claim[claim]["config"]["multivalued"] == ("true" if claim in LIST_CLAIMS else "false"), claim
    audiences = {m["config"]["included.client.audience"] for m in CONSOLE["protocolMappers"]
                 if m["protocolMapper"] == "oidc-audience-mapper" and m["config"]["access.token.claim"] == "true"}
    assert audiences == set(SERVICES)
    assert int(CONSOLE["attributes"]["access.token.lifespan"]) <= ServiceSettings(
        service_name="registry", database_url="postgresql://x@y/z", _env_file=None).jwt_max_lifetime_s


def test_compose_signs_people_in_to_the_console_through_keycloak():
    config = interpolate(compose(), secrets_env())
    console = config["services"]["console"]
    env = env_map(console["environment"])
    kc_env = env_map(config["services"]["keycloak"]["environment"])
    settings = ServiceSettings(service_name="console", environment="production", _env_file=None,
                               **{k.lower(): v for k, v in env.items()
                                  if k.startswith(("CONSOLE_OIDC_", "CONSOLE_KEY", "DATABASE_URL"))})
    assert settings.console_oidc_issuer == f"{kc_env['KC_HOSTNAME']}/realms/{REALM['realm']}"
    assert settings.console_oidc_client_id == CONSOLE["clientId"] and settings.console_oidc_client_secret is None
    assert settings.console_oidc_redirect_url in CONSOLE["redirectUris"]
    assert urlsplit(settings.console_oidc_discovery_url).hostname == "keycloak"
    assert settings.console_oidc_only is True  # the services here trust Keycloak, not identity's tokens
    assert console["depends_on"]["keycloak"] == {"condition": "service_healthy"}
