"""The rules of accounts and sign-in, with the caller as plain data.

* Who may create an account, or give it roles: a ward official the people of their ward (residents, team members
  and leaders); a city official also police and ward officials; an administrator every role. Police are not granted
  by a ward official because police read reporters' identities, which a ward official may not: granting the role
  would be a way round that. Nobody changes their own roles.
* Where an account belongs: a ward; ``*`` (every ward) only for city officials and administrators, as the tokens'
  ``ward`` claim allows. A resident is bound to their resident and household, a team member to their teams.
* A second factor (TOTP) is required of the roles that reach personal data or act for the ward.
* Lockout: ``LOCK_AFTER`` failed sign-ins in a row lock the account, for longer each time, until a success.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from shared.actor import ALL_WARDS, Principal, Role
from shared.errors import Forbidden, InvalidInput

#: The roles an account may hold (feed subscribers are OAuth clients of other wards, never accounts).
ACCOUNT_ROLES = frozenset(Role) - {Role.FEED_SUBSCRIBER}
#: Roles that must sign in with a second factor.
SECOND_FACTOR_ROLES = frozenset({Role.POLICE, Role.WARD_OFFICIAL, Role.CITY_OFFICIAL, Role.ADMIN})
#: Roles that may act for every ward (ward ``*``).
ALL_WARD_ROLES = frozenset({Role.CITY_OFFICIAL, Role.ADMIN})
_PEOPLE = frozenset({Role.RESIDENT, Role.TEAM_MEMBER, Role.TEAM_LEADER})
#: What each role may grant (create an account with, or change an account's roles to).
GRANTS: dict[Role, frozenset[Role]] = {
    Role.WARD_OFFICIAL: _PEOPLE,
    Role.CITY_OFFICIAL: _PEOPLE | {Role.POLICE, Role.WARD_OFFICIAL},
    Role.ADMIN: frozenset(ACCOUNT_ROLES),
}
MANAGERS = tuple(GRANTS)

LOCK_AFTER = 5
FIRST_LOCK = timedelta(minutes=1)
LONGEST_LOCK = timedelta(hours=24)
MIN_PASSWORD = 12
MAX_PASSWORD = 256

#: What every failed sign-in answers, whatever failed: no one learns whether a name exists, is locked or disabled.
SIGN_IN_FAILED = "the sign-in name, password or code is not right, or the account cannot sign in now"
NO_ACCOUNT = "no such account"


def grantable(actor: Principal) -> frozenset[Role]:
    return frozenset().union(*(GRANTS[r] for r in actor.roles if r in GRANTS))


def ensure_may_grant(actor: Principal, roles: frozenset[Role], ward_id: str) -> None:
    """The actor may give these roles in this ward: no escalation, no other ward."""
    actor.require(*MANAGERS)
    actor.ensure_ward(ward_id)
    beyond = roles - grantable(actor)
    if beyond:
        raise Forbidden(f"you may not grant the roles: {', '.join(sorted(beyond))}")


def ensure_may_manage(actor: Principal, account: dict[str, Any]) -> None:
    """Managing an existing account (its roles, a reset, disabling it) needs the right to grant every role it holds:
    a ward official cannot reset a police officer's password and sign in as them."""
    ensure_may_grant(actor, frozenset(Role(r) for r in account["roles"]), account["ward_id"])
    if account["account_id"] == actor.subject:
        raise Forbidden("an account is managed by someone else than its holder")


def check_binding(roles: frozenset[Role], ward_id: str, resident_id: str | None, household_id: str | None,
                  team_ids: list[str]) -> None:
    if not roles:
        raise InvalidInput("an account needs at least one role")
    if not roles <= ACCOUNT_ROLES:
        raise InvalidInput("feed subscribers are OAuth clients of other wards, not accounts")
    if ward_id == ALL_WARDS and not roles <= ALL_WARD_ROLES:
        raise InvalidInput("only city officials and administrators act for every ward (*)")
    if Role.RESIDENT in roles and not (resident_id and household_id):
        raise InvalidInput("a resident's account names their resident_id and household_id")
    if roles & {Role.TEAM_MEMBER, Role.TEAM_LEADER} and not team_ids:
        raise InvalidInput("a team member's or leader's account names their team_ids")


def needs_second_factor(roles: list[str] | frozenset[str]) -> bool:
    return any(Role(r) in SECOND_FACTOR_ROLES for r in roles)


def check_password(password: str, username: str) -> None:
    """Length is what counts (NIST SP 800-63B): at least 12 characters, any characters, not the sign-in name."""
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise InvalidInput(f"a password has {MIN_PASSWORD} to {MAX_PASSWORD} characters")
    if password.strip().lower() == username.lower():
        raise InvalidInput("a password may not be the sign-in name")


def is_locked(account: dict[str, Any], now: datetime) -> bool:
    return account["locked_until"] is not None and account["locked_until"] > now


def after_failure(account: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The counters after a failed attempt: the LOCK_AFTER-th failure in a row locks the account, 1 minute the first
    time, doubling with every lockout up to a day (a guesser gets a few dozen tries a day; the holder waits minutes)."""
    failed = account["failed_attempts"] + 1
    if failed < LOCK_AFTER:
        return {"failed_attempts": failed, "lockouts": account["lockouts"], "locked_until": account["locked_until"]}
    lockouts = account["lockouts"] + 1
    return {"failed_attempts": 0, "lockouts": lockouts, "locked_until": now + lock_period(lockouts)}


def lock_period(lockouts: int) -> timedelta:
    return min(FIRST_LOCK * 2 ** min(lockouts - 1, 20), LONGEST_LOCK)


def access_claims(account: dict[str, Any]) -> dict[str, Any]:
    """What an access token says of its holder: the claims shared/auth.py reads into a Principal."""
    claims: dict[str, Any] = {"sub": account["account_id"], "roles": sorted(account["roles"]),
                              "ward": account["ward_id"], "name": account["display_name"]}
    if account["resident_id"]:
        claims["resident_id"] = account["resident_id"]
    if account["household_id"]:
        claims["household_id"] = account["household_id"]
    if account["team_ids"]:
        claims["team_ids"] = sorted(account["team_ids"])
    return claims


def account_view(account: dict[str, Any]) -> dict[str, Any]:
    """An account as officials see it: never a hash, a secret or a counter."""
    return {k: account[k] for k in ("account_id", "ward_id", "username", "display_name", "resident_id",
                                    "household_id", "status", "created_at")} | {
        "roles": sorted(account["roles"]), "team_ids": sorted(account["team_ids"]),
        "second_factor": "active" if account["totp_confirmed"] else (
            "pending" if account["totp_secret"] is not None else "none"),
        "password_set": account["password_hash"] is not None}
