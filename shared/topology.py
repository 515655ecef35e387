"""The platform's processes, their default ports and the development token issuer: plain constants, importable
without pydantic or FastAPI (``wardctl token`` starts in a fraction of a second). ``shared.settings`` re-exports
them; that is where modules import them from."""

from __future__ import annotations

from typing import Any

DEV_JWT_ISSUER = "ward-platform-dev"
DEV_JWT_KID = "ward-dev-ed25519-1"
DEV_JWT_PUBLIC_X = "3eFap_jQiTG7GMs8kVIwT9VV0flItImHuQYzXd-ZyB0"
DEV_JWKS: dict[str, Any] = {
    "keys": [{"kty": "OKP", "crv": "Ed25519", "x": DEV_JWT_PUBLIC_X, "kid": DEV_JWT_KID, "use": "sig", "alg": "EdDSA"}]
}

SERVICE_PORTS: dict[str, int] = {
    "registry": 8001,
    "incidents": 8002,
    "mediation": 8003,
    "donations": 8004,
    "awards": 8005,
    "feed": 8006,
    "identity": 8007,
    "console": 8008,
    "notify": 8009,
}
#: Web applications for people (services/console): they call the services' HTTP APIs with the signed-in person's
#: token, keep only their own sessions in their own schema, and take no part in Kafka (no topics, no ACLs, no
#: events, no audit chain of their own: every change they ask for is audited by the service that makes it).
WEB_SERVICES: tuple[str, ...] = ("console",)
#: The API services: each its own schema and role, over Kafka.
SERVICES: tuple[str, ...] = tuple(s for s in SERVICE_PORTS if s not in WEB_SERVICES)
#: Every process that has a schema and a login role of its own (provisioning, migrations).
DATABASE_SERVICES: tuple[str, ...] = tuple(SERVICE_PORTS)
