"""Bearer-token authentication and role checks.

Tokens are asymmetric JWTs (EdDSA or RS256) from an OpenID Connect provider, verified against the provider's JWKS
(``JWT_JWKS_URL``; fetched with pyjwt's ``PyJWKClient``, cached, refetched once when a token names an unknown
``kid`` so that keys can rotate). Each service accepts only tokens whose ``aud`` names it, from the configured
issuer, with ``iat`` and ``exp`` no further apart than ``JWT_MAX_LIFETIME_S``. Claims: ``sub`` (who), ``roles``,
``ward`` (the ward the caller belongs to; ``*`` only for city officials and admins), and optionally
``resident_id`` / ``household_id`` / ``team_ids`` (a list) for residents and team members.

In development and tests the services trust the development key (``shared.settings.DEV_JWKS``), which
``wardctl token`` signs with; production refuses it (shared/settings.py).

A token that verified is remembered (``VerifiedTokens``: keyed by a SHA-256 of the raw token, never the token
itself; at most ``VERIFIED_MAX`` of them, least recently used first out) so that its next requests skip the signature
check and the claims' validation, but never past the token's ``exp``, never longer than ``VERIFIED_TTL_S``, and never
across a change of the key set it was checked against: a refetch of the JWKS (a rotation, an unknown ``kid``) or the
end of the fetched set's lifespan (``JWT_JWKS_CACHE_S``) sends every remembered token back through the full check, so
a key removed from the provider's set refuses its tokens as soon as it did without the cache. A refused token is
never remembered. (The services have no revocation list of access tokens: a token is good until its ``exp``.)
"""
from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import time
from collections import OrderedDict
from typing import Annotated, Any, NamedTuple

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from jwt import PyJWK, PyJWKClient, PyJWKSet
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.actor import ALL_WARDS, SYSTEM, Principal, Role  # noqa: F401  (re-exported: routes and tests import them here)
from shared.devtokens import DEV_SIGNING_KEY_PATH, dev_signing_key, mint_token  # noqa: F401  (re-exported)
from shared.errors import ServiceUnavailable, Unauthorized
from shared.settings import DEV_JWT_PUBLIC_X, ServiceSettings

log = logging.getLogger(__name__)


#: What a 401 answers in WWW-Authenticate (RFC 6750 section 3).
REALM = "ward-platform"


class Claims(BaseModel):
    """The claims the services read, typed: a claim of the wrong shape refuses the token."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    sub: str = Field(min_length=1, max_length=255)
    roles: list[Role] = Field(default_factory=list, max_length=len(Role))
    ward: str = Field(min_length=1, max_length=100)
    resident_id: str | None = Field(default=None, min_length=1, max_length=100)
    household_id: str | None = Field(default=None, min_length=1, max_length=100)
    team_ids: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(default_factory=list, max_length=100)
    azp: str | None = Field(default=None, min_length=1, max_length=255)  # the OAuth client (client credentials)


def _challenge(error: str | None = None, description: str | None = None) -> dict[str, str]:
    """The RFC 6750 ``WWW-Authenticate`` header of a 401."""
    value = f'Bearer realm="{REALM}"'
    if error:
        value += f', error="{error}"'
    if description:  # RFC 6750: error_description is %x20-21 / %x23-5B / %x5D-7E
        safe = "".join(c for c in description if 0x20 <= ord(c) <= 0x7E and c not in '"\\')
        value += f', error_description="{safe[:200]}"'
    return {"WWW-Authenticate": value}


def invalid_token(detail: str) -> Unauthorized:
    return Unauthorized(f"invalid token: {detail}", headers=_challenge("invalid_token", detail))


#: How long a verified token is remembered at most (seconds), and how many are remembered at most.
VERIFIED_TTL_S = 60.0
VERIFIED_MAX = 4096


class _Verified(NamedTuple):
    principal: Principal
    exp: float  # the token's exp (epoch seconds)
    until: float  # time.monotonic() deadline: now + VERIFIED_TTL_S, and no later than the key set's lifespan
    keys: int  # the key set's generation it was checked against


class VerifiedTokens:
    """A bounded LRU of verified tokens: SHA-256 of the raw token -> the principal its claims made."""

    def __init__(self, max_entries: int = VERIFIED_MAX, ttl_s: float = VERIFIED_TTL_S) -> None:
        self.max_entries, self.ttl_s = max_entries, ttl_s
        self._entries: OrderedDict[bytes, _Verified] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    @staticmethod
    def key(token: str) -> bytes:
        return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()

    def get(self, key: bytes, keys: int) -> Principal | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.keys != keys or time.monotonic() >= entry.until or time.time() >= entry.exp:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return entry.principal

    def put(self, key: bytes, principal: Principal, exp: float, keys: int, keys_until: float | None) -> None:
        if self.max_entries <= 0 or self.ttl_s <= 0:
            return
        until = time.monotonic() + self.ttl_s
        if keys_until is not None:
            until = min(until, keys_until)
        self._entries[key] = _Verified(principal, float(exp), until, keys)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()


class _JwksClient(PyJWKClient):
    """pyjwt's client, counting its fetches: a token verified against one fetched set is remembered only while that
    set is the one in use (``generation``), and not past the set's own lifespan."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.generation = 0
        self.fetched_at: float | None = None  # time.monotonic() of the last fetch

    def fetch_data(self) -> Any:
        data = super().fetch_data()
        self.fetched_at = time.monotonic()
        self.generation += 1
        return data


class TokenVerifier:
    """Verifies bearer tokens against the trusted JWKS (a URL, or a static set in development and tests)."""

    def __init__(self, settings: ServiceSettings) -> None:
        self.issuer = settings.jwt_issuer
        self.audience = settings.audience
        self.algorithms = frozenset(settings.jwt_algorithms)
        self.max_lifetime_s = settings.jwt_max_lifetime_s
        self.production = settings.environment == "production"
        self.leeway_s = settings.jwt_leeway_s
        static = settings.trusted_jwks()
        self._static: PyJWKSet | None = PyJWKSet.from_dict(static) if static is not None else None
        self.jwks_lifespan_s = settings.jwt_jwks_cache_s
        self.verified = VerifiedTokens()
        self._client: _JwksClient | None = None
        if settings.jwt_jwks_url:
            self._client = _JwksClient(
                settings.jwt_jwks_url,
                cache_jwk_set=True,
                lifespan=settings.jwt_jwks_cache_s,
                timeout=settings.jwt_jwks_timeout_s,
                cooldown_duration=settings.jwt_jwks_refresh_cooldown_s,
            )

    async def signing_key(self, kid: str) -> PyJWK:
        if self._client is None:
            assert self._static is not None
            key = next((k for k in self._static.keys if k.key_id == kid and k.public_key_use in ("sig", None)), None)
            if key is None:
                raise invalid_token("unknown signing key")
            return key
        try:
            # urllib underneath: off the event loop. A cached set answers without a fetch; an unknown kid
            # refetches once (at most once per cooldown), then the token is refused.
            return await asyncio.to_thread(self._client.get_signing_key, kid)
        except jwt.PyJWKClientConnectionError as exc:
            log.warning("JWKS not reachable", extra={"error_type": type(exc).__name__})
            raise ServiceUnavailable("the identity provider's keys cannot be fetched; try again later") from exc
        except jwt.PyJWKClientError as exc:
            raise invalid_token("unknown signing key") from exc
        except jwt.PyJWTError as exc:  # a JWKS without usable keys
            log.warning("JWKS unusable", extra={"error_type": type(exc).__name__})
            raise ServiceUnavailable("the identity provider's keys are unusable; try again later") from exc

    async def verify(self, token: str) -> Principal:
        """The principal of a valid token (remembered for its next requests, see ``VerifiedTokens``); a refused token
        raises ``Unauthorized`` (or ``ServiceUnavailable`` when the keys cannot be fetched) and is not remembered."""
        cache_key = VerifiedTokens.key(token)
        # Read before the check: a fetch during it (this token's unknown kid, another's) leaves the entry stale.
        client = self._client
        generation = client.generation if client is not None else 0
        fetched_at = client.fetched_at if client is not None else None
        principal = self.verified.get(cache_key, generation)
        if principal is not None:
            return principal
        principal, exp = await self._verify(token)
        keys_until = None
        if client is not None:  # a set fetched before this check: it is not used past its lifespan
            keys_until = fetched_at + self.jwks_lifespan_s if fetched_at is not None else time.monotonic()
        self.verified.put(cache_key, principal, exp, generation, keys_until)
        return principal

    async def _verify(self, token: str) -> tuple[Principal, float]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise invalid_token("malformed") from exc
        alg, kid = header.get("alg"), header.get("kid")
        if alg not in self.algorithms:
            raise invalid_token("signing algorithm not accepted")
        if not isinstance(kid, str) or not kid:
            raise invalid_token("no key id (kid)")
        key = await self.signing_key(kid)
        if self.production and _is_development_key(key):
            # The settings refuse the development JWKS at start; a provider that serves it is refused here.
            log.error("the JWKS serves the development key: refusing its tokens")
            raise invalid_token("unknown signing key")
        if key.algorithm_name not in self.algorithms or key.algorithm_name != alg:
            raise invalid_token("signing algorithm does not match the key")
        try:
            payload = jwt.decode(
                token, key.key, algorithms=[key.algorithm_name], audience=self.audience, issuer=self.issuer,
                leeway=self.leeway_s, options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.InvalidAudienceError as exc:
            raise invalid_token("not issued for this service (aud)") from exc
        except jwt.ExpiredSignatureError as exc:
            raise invalid_token("expired") from exc
        except jwt.PyJWTError as exc:
            raise invalid_token(_describe(exc)) from exc
        exp, iat = payload["exp"], payload["iat"]
        if not isinstance(iat, int | float) or not isinstance(exp, int | float):
            raise invalid_token("iat and exp must be numbers")
        if exp - iat > self.max_lifetime_s:
            raise invalid_token(f"lifetime exceeds {self.max_lifetime_s} s")
        try:
            claims = Claims.model_validate(payload)
        except ValidationError as exc:
            fields = sorted({".".join(str(p) for p in e["loc"][:1]) for e in exc.errors()})
            raise invalid_token(f"malformed claims: {', '.join(fields)}") from exc
        roles = frozenset(claims.roles)
        if claims.ward == ALL_WARDS and not (roles & {Role.CITY_OFFICIAL, Role.ADMIN}):
            raise invalid_token("only city officials and admins may act for every ward")
        return Principal(
            subject=claims.sub,
            roles=roles,
            ward_id=claims.ward,
            resident_id=claims.resident_id,
            household_id=claims.household_id,
            team_ids=frozenset(claims.team_ids),
            client_id=claims.azp,
        ), exp


def _is_development_key(key: PyJWK) -> bool:
    if not isinstance(key.key, Ed25519PublicKey):
        return False
    raw = key.key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode() == DEV_JWT_PUBLIC_X


def _describe(exc: jwt.PyJWTError) -> str:
    """A reason without the token's values."""
    if isinstance(exc, jwt.InvalidSignatureError):
        return "signature does not verify"
    if isinstance(exc, jwt.MissingRequiredClaimError):
        return f"missing claim {exc.claim}"
    if isinstance(exc, jwt.InvalidIssuerError):
        return "wrong issuer (iss)"
    if isinstance(exc, jwt.ImmatureSignatureError):
        return "not yet valid"
    if isinstance(exc, jwt.DecodeError):
        return "malformed"
    return type(exc).__name__


_bearer = HTTPBearer(auto_error=False, description="JWT from the OIDC provider (development: `wardctl token`)")


async def authenticated(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("a bearer token is required", headers=_challenge())
    return await request.app.state.runtime.token_verifier.verify(credentials.credentials)


CurrentPrincipal = Annotated[Principal, Depends(authenticated)]
