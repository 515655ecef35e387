"""Development tokens: the key that signs them and ``mint_token`` (``wardctl token``, the demo, the tests).

Light on purpose (jwt and cryptography only, no pydantic or FastAPI): ``wardctl token`` imports this alone, so a
script that needs twenty tokens does not wait for the web stack twenty times. ``shared.auth`` re-exports it.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared.topology import DEV_JWT_ISSUER, DEV_JWT_KID, SERVICES

#: Where the development signing key lives (left out of the container image).
DEV_SIGNING_KEY_PATH = Path(__file__).resolve().parent / "devkeys" / "DEV-ONLY-token-signing-key.pem"


@functools.cache
def dev_signing_key() -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(DEV_SIGNING_KEY_PATH.read_bytes(), password=None)
    except FileNotFoundError:
        raise RuntimeError(f"the development signing key is not in this installation ({DEV_SIGNING_KEY_PATH}); "
                           "production tokens come from the OIDC provider") from None
    assert isinstance(key, Ed25519PrivateKey)
    return key


def mint_token(
    *,
    subject: str,
    roles: list[str],
    ward: str,
    audience: str | Sequence[str] = SERVICES,
    issuer: str = DEV_JWT_ISSUER,
    ttl: timedelta = timedelta(hours=1),
    key: Any = None,
    kid: str | None = DEV_JWT_KID,
    algorithm: str = "EdDSA",
    without: Sequence[str] = (),
    **claims: object,
) -> str:
    """A signed token, by default with the development key for every service (``wardctl token``, the demo, tests).

    ``key``/``kid``/``algorithm``/``without`` exist so that the tests can forge the tokens an attacker would
    (roles are not checked here for the same reason: ``wardctl token`` checks them).
    """
    now = datetime.now(UTC)
    payload: dict[str, Any] = {"sub": subject, "roles": roles, "ward": ward, "iss": issuer,
                               "aud": audience if isinstance(audience, str) else list(audience),
                               "iat": now, "exp": now + ttl}
    payload.update({k: v for k, v in claims.items() if v is not None})
    for name in without:
        payload.pop(name, None)
    return jwt.encode(payload, dev_signing_key() if key is None else key, algorithm=algorithm,
                      headers={"kid": kid} if kid is not None else None)
