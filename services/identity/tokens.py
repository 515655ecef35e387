"""The tokens the identity service issues, and the documents that let the services verify them.

Access tokens are EdDSA (Ed25519) JWTs, the form shared/auth.py verifies: ``iss`` (``JWT_ISSUER``), ``aud`` every
service's audience (one sign-in works with all of them; each service still refuses a token not naming it),
``iat``/``exp`` ``IDENTITY_ACCESS_TOKEN_TTL_S`` apart (10 minutes), ``kid``, a ``jti``, and the claims of
``domain.access_claims``. The key is ``IDENTITY_SIGNING_KEY``; in development and tests the development key, so the
embedded stack's services, which trust ``DEV_JWKS``, accept identity's tokens unchanged (production refuses it:
shared/settings.py). The JWKS (``/.well-known/jwks.json``) holds the public half; point the services'
``JWT_JWKS_URL`` at it.
"""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared.auth import dev_signing_key
from shared.settings import SERVICES, ServiceSettings


class Issuer:
    def __init__(self, settings: ServiceSettings) -> None:
        if settings.identity_signing_key is None:
            self.key = dev_signing_key()
        else:
            key = serialization.load_pem_private_key(settings.identity_signing_key.get_secret_value().encode(),
                                                     password=None)
            if not isinstance(key, Ed25519PrivateKey):
                raise ValueError("IDENTITY_SIGNING_KEY must be an Ed25519 private key (PEM)")
            self.key = key
        self.kid = settings.identity_signing_kid
        self.issuer = settings.jwt_issuer
        self.base_url = settings.identity_public_url.rstrip("/")
        self.ttl = timedelta(seconds=settings.identity_access_token_ttl_s)
        #: Every API service's audience (their JWT_AUDIENCE default: the service's name). Not the console's: it
        #: is a client of these tokens, never a service that accepts them.
        self.audience = sorted(SERVICES)

    def access_token(self, claims: dict[str, Any], *, amr: list[str], now: datetime | None = None) -> str:
        now = now or datetime.now(UTC)
        payload = {**claims, "iss": self.issuer, "aud": self.audience, "iat": now, "exp": now + self.ttl,
                   "jti": uuid.uuid4().hex, "amr": amr}
        return jwt.encode(payload, self.key, algorithm="EdDSA", headers={"kid": self.kid, "typ": "at+jwt"})

    def jwks(self) -> dict[str, Any]:
        raw = self.key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        x = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
        return {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": x, "kid": self.kid, "use": "sig", "alg": "EdDSA"}]}

    def discovery(self) -> dict[str, Any]:
        """OpenID Connect discovery (the fields that apply: this service signs people in with its own routes, not
        the authorization-code flow, so it names no authorization endpoint)."""
        return {
            "issuer": self.issuer,
            "jwks_uri": f"{self.base_url}/.well-known/jwks.json",
            "token_endpoint": f"{self.base_url}/v1/sessions/refresh",
            "sign_in_endpoint": f"{self.base_url}/v1/sessions",
            "revocation_endpoint": f"{self.base_url}/v1/sessions/sign-out",
            "id_token_signing_alg_values_supported": ["EdDSA"],
            "token_endpoint_auth_methods_supported": ["none"],
            "grant_types_supported": ["password", "refresh_token"],
            "claims_supported": ["sub", "roles", "ward", "name", "resident_id", "household_id", "team_ids", "amr"],
        }
