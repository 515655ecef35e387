"""Who is acting: the caller as plain data, for the domain and the application layer.

A ``Principal`` is what a verified token says (``shared.auth`` builds it from the JWT; tests and jobs build it
directly). Domain rules that depend on who acts (who may approve an expense, who may see a reporter) take it
as an argument; nothing here knows HTTP, tokens or SQL. ``SYSTEM`` is the actor of scheduled jobs and of
commands that arrive as events.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from shared.errors import Forbidden, NotFound


class Role(StrEnum):
    RESIDENT = "resident"
    TEAM_MEMBER = "team_member"
    TEAM_LEADER = "team_leader"
    POLICE = "police"
    WARD_OFFICIAL = "ward_official"
    CITY_OFFICIAL = "city_official"
    ADMIN = "admin"
    #: Another ward's system reading the public feed (OAuth client credentials; services/feed).
    FEED_SUBSCRIBER = "feed_subscriber"


ALL_WARDS = "*"


@dataclass(frozen=True)
class Principal:
    subject: str
    roles: frozenset[Role]
    ward_id: str
    resident_id: str | None = None
    household_id: str | None = None
    team_ids: frozenset[str] = field(default_factory=frozenset)
    client_id: str | None = None  # the token's `azp`: the OAuth client it was issued to

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


    @property
    def is_system(self) -> bool:
        return self.subject == SYSTEM_SUBJECT


SYSTEM_SUBJECT = "system"
#: The actor of scheduled jobs and of commands that arrive as events: reaches every ward, audited as "system".
SYSTEM = Principal(subject=SYSTEM_SUBJECT, roles=frozenset({Role.ADMIN}), ward_id=ALL_WARDS)
