"""Bearer-token authentication and role checks.

Tokens are JWTs (HS256 with the platform secret; an identity provider can take this over by issuing the same
claims): ``sub`` (who), ``roles``, ``ward`` (the ward the caller belongs to; ``*`` only for city officials and
admins), and optionally ``resident_id`` / ``household_id`` / ``team_ids`` for residents and team members.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from shared.errors import Forbidden, NotFound, Unauthorized


class Role(StrEnum):
    RESIDENT = "resident"
    TEAM_MEMBER = "team_member"
    TEAM_LEADER = "team_leader"
    POLICE = "police"
    WARD_OFFICIAL = "ward_official"
    CITY_OFFICIAL = "city_official"
    ADMIN = "admin"


ALL_WARDS = "*"


@dataclass(frozen=True)
class Principal:
    subject: str
    roles: frozenset[Role]
    ward_id: str
    resident_id: str | None = None
    household_id: str | None = None
    team_ids: frozenset[str] = field(default_factory=frozenset)

    def has(self, *roles: Role | str) -> bool:
        return any(Role(r) in self.roles for r in roles)

    def can_access_ward(self, ward_id: str) -> bool:
        return self.ward_id == ward_id or (self.ward_id == ALL_WARDS and self.has(Role.CITY_OFFICIAL, Role.ADMIN))

    def ensure_ward(self, ward_id: str) -> None:
        """The caller acts for a ward they name (a body's or a path's ``ward_id``): 403 for another ward. A record
        looked up by its id is checked with ``ensure_reaches`` instead."""
        if not self.can_access_ward(ward_id):
            raise Forbidden("this record belongs to another ward")

    def ensure_reaches(self, ward_id: str | None, not_found: str) -> None:
        """A record looked up by its id (``ward_id`` None when there is none): one of a ward the caller may not
        reach answers exactly as one that does not exist (404, the same ``not_found`` detail), so that ids cannot
        be probed across wards. Role checks come after this, and keep their 403 within the caller's own ward."""
        if ward_id is None or not self.can_access_ward(ward_id):
            raise NotFound(not_found)

    def require(self, *roles: Role | str) -> None:
        if not self.has(*roles):
            raise Forbidden(f"requires one of the roles: {', '.join(str(Role(r)) for r in roles)}")


def mint_token(
    secret: str,
    *,
    subject: str,
    roles: list[str],
    ward: str,
    issuer: str = "ward-platform",
    ttl: timedelta = timedelta(hours=12),
    **claims: object,
) -> str:
    """A signed token (development command ``wardctl token``, and tests)."""
    for r in roles:
        Role(r)  # refuse unknown roles
    now = datetime.now(UTC)
    payload = {"sub": subject, "roles": roles, "ward": ward, "iss": issuer, "iat": now, "exp": now + ttl}
    payload.update({k: v for k, v in claims.items() if v is not None})
    return jwt.encode(payload, secret, algorithm="HS256")


def decode_token(token: str, secret: str, issuer: str = "ward-platform") -> Principal:
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"], issuer=issuer, options={"require": ["exp", "sub"]})
        roles = frozenset(Role(r) for r in claims.get("roles", []))
    except (jwt.PyJWTError, ValueError) as exc:
        raise Unauthorized(f"invalid token: {exc}") from exc
    ward = claims.get("ward")
    if not ward or not isinstance(ward, str):
        raise Unauthorized("token has no ward")
    if ward == ALL_WARDS and not (roles & {Role.CITY_OFFICIAL, Role.ADMIN}):
        raise Unauthorized("only city officials and admins may act for every ward")
    return Principal(
        subject=str(claims["sub"]),
        roles=roles,
        ward_id=ward,
        resident_id=claims.get("resident_id"),
        household_id=claims.get("household_id"),
        team_ids=frozenset(claims.get("team_ids") or ()),
    )


_bearer = HTTPBearer(auto_error=False, description="JWT with roles and ward (see `wardctl token`)")


async def authenticated(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("a bearer token is required")
    settings = request.app.state.runtime.settings
    return decode_token(credentials.credentials, settings.jwt_secret.get_secret_value(), settings.jwt_issuer)


CurrentPrincipal = Annotated[Principal, Depends(authenticated)]


def requires(*roles: Role):
    """Dependency: the caller must hold one of ``roles``."""

    async def check(principal: CurrentPrincipal) -> Principal:
        principal.require(*roles)
        return principal

    return Depends(check)
