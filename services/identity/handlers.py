"""The use cases of the identity service: one handler per command (services/identity/commands.py).

Officials' commands raise ``shared.errors`` as everywhere. Sign-in, refresh and sign-out do not raise on a wrong
secret: they *return* the failure, so that what must outlive it commits (the failed-attempt counter, the lockout,
the revocation of a reused refresh token's family, the audit row), and the route answers 401. Every outcome of a
sign-in is audited against the account (or ``-`` for a name that does not exist: the name tried is not kept, it is
often a password typed in the wrong field); no secret is ever in an audit row.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from services.identity import credentials, domain
from services.identity.commands import (
    AnnounceAccounts,
    ChangeRoles,
    CreateAccount,
    DisableAccount,
    IssueResetCode,
    Refresh,
    SetPassword,
    SignIn,
    SignOut,
)
from shared.actor import ALL_WARDS, Principal, Role
from shared.application import Created
from shared.contracts.identity import AccountChanged
from shared.errors import Forbidden, InvalidInput

Uow = Any
FAILED = {"outcome": "failed"}
#: A refresh token's idle life, and a sign-in's whole life (refreshes included).
REFRESH_IDLE = timedelta(hours=8)
SESSION_MAX = timedelta(hours=24)
RESET_CODE_LIFE = timedelta(hours=72)
BAD_RESET = "the sign-in name or the reset code is not right, or the code has expired"


def _now() -> datetime:
    return datetime.now(UTC)


async def _manageable(uow: Uow, actor: Principal, account_id: str) -> dict[str, Any]:
    account = await uow.accounts.get(account_id, for_update=True)
    actor.require(*domain.MANAGERS)
    actor.ensure_reaches(None if account is None else account["ward_id"], domain.NO_ACCOUNT)
    assert account is not None
    domain.ensure_may_manage(actor, account)
    return account


async def _new_reset_code(uow: Uow, account_id: str, actor: Principal, now: datetime) -> dict[str, Any]:
    code = credentials.new_code()
    expires = now + RESET_CODE_LIFE
    await uow.reset_codes.void_all(account_id, now)
    await uow.reset_codes.add(credentials.digest(code), account_id, expires, actor.subject)
    return {"reset_code": code, "reset_code_expires_at": expires}


async def handle_create_account(cmd: CreateAccount, uow: Uow, actor: Principal) -> Created:
    roles = frozenset(cmd.roles)
    domain.check_binding(roles, cmd.ward_id, cmd.resident_id, cmd.household_id, cmd.team_ids)
    domain.ensure_may_grant(actor, roles, cmd.ward_id)
    account_id = f"acc-{uuid.uuid4().hex[:20]}"
    await uow.accounts.add({"account_id": account_id, "ward_id": cmd.ward_id, "username": cmd.username,
                            "display_name": cmd.display_name, "roles": sorted(roles), "resident_id": cmd.resident_id,
                            "household_id": cmd.household_id, "team_ids": sorted(set(cmd.team_ids)),
                            "created_by": actor.subject})
    reset = await _new_reset_code(uow, account_id, actor, _now())
    uow.audit("account", account_id, ward_id=cmd.ward_id, details={"roles": sorted(roles)})
    uow.emit(account_changed(await uow.accounts.get(account_id)))
    return Created({"account": domain.account_view(await uow.accounts.get(account_id)), **reset})


async def handle_change_roles(cmd: ChangeRoles, uow: Uow, actor: Principal) -> dict[str, Any]:
    account = await _manageable(uow, actor, cmd.account_id)
    roles = frozenset(cmd.roles)
    domain.check_binding(roles, account["ward_id"], account["resident_id"], account["household_id"], cmd.team_ids)
    domain.ensure_may_grant(actor, roles, account["ward_id"])
    await uow.accounts.update(cmd.account_id, roles=sorted(roles), team_ids=sorted(set(cmd.team_ids)))
    uow.audit("account", cmd.account_id, ward_id=account["ward_id"],
              details={"from": sorted(account["roles"]), "to": sorted(roles)})
    uow.emit(account_changed(await uow.accounts.get(cmd.account_id)))
    return domain.account_view(await uow.accounts.get(cmd.account_id))


async def handle_disable_account(cmd: DisableAccount, uow: Uow, actor: Principal) -> dict[str, Any]:
    account = await _manageable(uow, actor, cmd.account_id)
    now = _now()
    await uow.accounts.update(cmd.account_id, status="disabled")
    await uow.refresh_tokens.revoke_account(cmd.account_id, now)
    await uow.reset_codes.void_all(cmd.account_id, now)
    uow.audit("account", cmd.account_id, ward_id=account["ward_id"])
    uow.emit(account_changed(await uow.accounts.get(cmd.account_id)))
    return domain.account_view(await uow.accounts.get(cmd.account_id))


async def handle_issue_reset_code(cmd: IssueResetCode, uow: Uow, actor: Principal) -> Created:
    account = await _manageable(uow, actor, cmd.account_id)
    if account["status"] != "active":
        raise InvalidInput("a disabled account gets no reset code")
    reset = await _new_reset_code(uow, cmd.account_id, actor, _now())
    uow.audit("account", cmd.account_id, ward_id=account["ward_id"])
    return Created({"account_id": cmd.account_id, **reset})


async def handle_set_password(cmd: SetPassword, uow: Uow, actor: Principal) -> dict[str, Any]:  # noqa: ARG001 - anonymous
    now = _now()
    account = await uow.accounts.by_username(cmd.username)
    code = await uow.reset_codes.get(credentials.digest(cmd.reset_code))
    if (account is None or code is None or code["account_id"] != account["account_id"] or code["used_at"] is not None
            or code["expires_at"] <= now or account["status"] != "active"):
        raise InvalidInput(BAD_RESET)
    domain.check_password(cmd.new_password, account["username"])
    account_id = account["account_id"]
    fields: dict[str, Any] = {"password_hash": credentials.hash_password(cmd.new_password), "failed_attempts": 0,
                              "lockouts": 0, "locked_until": None}
    enrolment = None
    if domain.needs_second_factor(account["roles"]):  # a reset enrols the second factor again (a lost phone)
        secret = credentials.new_totp_secret()
        fields |= {"totp_secret": credentials.seal_totp(uow.totp_sealer, account_id, secret),
                   "totp_confirmed": False, "totp_last_step": None}
        enrolment = {"secret": secret, "provisioning_uri": credentials.provisioning_uri(secret, account["username"])}
    await uow.accounts.update(account_id, **fields)
    await uow.reset_codes.void_all(account_id, now)
    await uow.refresh_tokens.revoke_account(account_id, now)
    uow.audit("account", account_id, ward_id=account["ward_id"], details={"second_factor_enrolment": bool(enrolment)})
    return {"password_set": True, "second_factor": enrolment}


async def _failed(uow: Uow, account: dict[str, Any], now: datetime, outcome: str) -> dict[str, Any]:
    await uow.accounts.update(account["account_id"], **domain.after_failure(account, now))
    uow.audit("account", account["account_id"], ward_id=account["ward_id"], details={"outcome": outcome})
    return FAILED


async def _session(uow: Uow, account: dict[str, Any], now: datetime, family_id: str, family_expires: datetime
                   ) -> dict[str, Any]:
    token = credentials.new_refresh_token()
    expires = min(now + REFRESH_IDLE, family_expires)
    await uow.refresh_tokens.add({"token_hash": credentials.digest(token), "family_id": family_id,
                                  "account_id": account["account_id"], "expires_at": expires,
                                  "family_expires_at": family_expires})
    return {"claims": domain.access_claims(account),
            "amr": ["pwd", "otp"] if account["totp_confirmed"] else ["pwd"],
            "refresh_token": token, "refresh_token_expires_at": expires}


async def handle_sign_in(cmd: SignIn, uow: Uow, actor: Principal) -> dict[str, Any]:  # noqa: ARG001 - anonymous
    now = _now()
    account = await uow.accounts.by_username(cmd.username)
    # Verified whatever happens next, so that every answer costs one argon2 verification.
    matches, rehash = credentials.verify_password(None if account is None else account["password_hash"], cmd.password)
    if account is None:
        uow.audit("account", "-", details={"outcome": "unknown_name"})
        return FAILED
    if account["status"] != "active" or domain.is_locked(account, now):
        outcome = "locked" if account["status"] == "active" else "disabled"
        uow.audit("account", account["account_id"], ward_id=account["ward_id"], details={"outcome": outcome})
        return FAILED
    if not matches:
        return await _failed(uow, account, now, "wrong_password")
    fields: dict[str, Any] = {"failed_attempts": 0, "lockouts": 0, "locked_until": None}
    if domain.needs_second_factor(account["roles"]) or account["totp_confirmed"]:
        if account["totp_secret"] is None:  # no enrolment yet: only a reset code enrols
            uow.audit("account", account["account_id"], ward_id=account["ward_id"],
                      details={"outcome": "second_factor_not_enrolled"})
            return FAILED
        if cmd.code is None:  # the password was right: ask for the code (not a failure)
            uow.audit("account", account["account_id"], ward_id=account["ward_id"],
                      details={"outcome": "second_factor_required"})
            return {"outcome": "second_factor_required"}
        secret = credentials.unseal_totp(uow.totp_sealer, account["account_id"], account["totp_secret"])
        step = credentials.totp_step(secret, cmd.code.replace(" ", ""), now, account["totp_last_step"])
        if step is None:
            return await _failed(uow, account, now, "wrong_code")
        fields |= {"totp_last_step": step, "totp_confirmed": True}  # the first code accepted confirms enrolment
        account = {**account, "totp_confirmed": True}
    if rehash:
        fields["password_hash"] = credentials.hash_password(cmd.password)
    await uow.accounts.update(account["account_id"], **fields)
    session = await _session(uow, account, now, f"fam-{uuid.uuid4().hex}", now + SESSION_MAX)
    uow.audit("account", account["account_id"], ward_id=account["ward_id"],
              details={"outcome": "signed_in", "amr": session["amr"]})
    return {"outcome": "signed_in", **session}


async def handle_refresh(cmd: Refresh, uow: Uow, actor: Principal) -> dict[str, Any]:  # noqa: ARG001 - anonymous
    now = _now()
    token = await uow.refresh_tokens.get(credentials.digest(cmd.refresh_token))
    if token is None:
        uow.audit("session", "-", details={"outcome": "unknown_token"})
        return FAILED
    account = await uow.accounts.get(token["account_id"], for_update=True)
    assert account is not None
    audit = {"ward_id": account["ward_id"]}
    if token["used_at"] is not None and token["revoked_at"] is None:
        # Used before: a copy is in someone else's hands. End the whole sign-in, theirs and the holder's.
        await uow.refresh_tokens.revoke_family(token["family_id"], now)
        uow.audit("session", token["family_id"], **audit, details={"outcome": "reused_revoked"})
        return FAILED
    if token["revoked_at"] is not None or token["expires_at"] <= now or account["status"] != "active":
        uow.audit("session", token["family_id"], **audit, details={"outcome": "refused"})
        return FAILED
    await uow.refresh_tokens.use(token["token_hash"], now)
    session = await _session(uow, account, now, token["family_id"], token["family_expires_at"])
    uow.audit("session", token["family_id"], **audit, details={"outcome": "refreshed"})
    return {"outcome": "refreshed", **session}


async def handle_sign_out(cmd: SignOut, uow: Uow, actor: Principal) -> dict[str, Any]:  # noqa: ARG001 - anonymous
    token = await uow.refresh_tokens.get(credentials.digest(cmd.refresh_token))
    if token is None:
        uow.audit("session", "-", details={"outcome": "unknown_token"})
    else:
        await uow.refresh_tokens.revoke_family(token["family_id"], _now())
        uow.audit("session", token["family_id"], details={"outcome": "signed_out"})
    return {"signed_out": True}


async def handle_announce_accounts(cmd: AnnounceAccounts, uow: Uow, actor: Principal) -> dict[str, Any]:
    if Role.ADMIN not in actor.roles:
        raise Forbidden("only an administrator announces the accounts again")
    accounts = await uow.accounts.every(cmd.ward_id)
    for account in accounts:
        uow.emit(account_changed(account))
    uow.audit("accounts", cmd.ward_id or ALL_WARDS, ward_id=cmd.ward_id or ALL_WARDS)
    return {"announced": len(accounts), "ward_id": cmd.ward_id}


HANDLERS = {
    AnnounceAccounts: handle_announce_accounts,
    CreateAccount: handle_create_account,
    ChangeRoles: handle_change_roles,
    DisableAccount: handle_disable_account,
    IssueResetCode: handle_issue_reset_code,
    SetPassword: handle_set_password,
    SignIn: handle_sign_in,
    Refresh: handle_refresh,
    SignOut: handle_sign_out,
}


def account_changed(account: dict[str, Any]) -> AccountChanged:
    """The account's state for other services (the notify service's people): ids and roles, never a name."""
    return AccountChanged(ward_id=account["ward_id"], subject=account["account_id"],
                          account_id=account["account_id"], roles=sorted(account["roles"]),
                          resident_id=account["resident_id"], team_ids=sorted(account["team_ids"] or []),
                          disabled=account["status"] == "disabled")
