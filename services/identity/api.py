"""HTTP routes of the identity service.

Officials manage accounts with a token (``/v1/accounts``). Setting a password with a reset code, signing in,
refreshing and signing out take no token (``/v1/password``, ``/v1/sessions``): the first two are rate limited per
client address (``SIGN_IN_RATE_LIMIT`` per ``SIGN_IN_RATE_WINDOW_S``, shared/ratelimit.py, counted before anything
else so a refused attempt counts too); all take no ``Idempotency-Key`` (every anonymous caller is one principal: a stored reply, with
its tokens, would be shared between strangers), and answer every failure with the same 401 whatever failed.
The discovery documents (``/.well-known/...``) tell the services and the console where the keys and routes are.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.identity import commands, domain, schemas
from services.identity.repository import ACCOUNTS_BY_CREATION
from shared import ratelimit
from shared.actor import ALL_WARDS, Principal
from shared.application import Command
from shared.auth import REALM, CurrentPrincipal
from shared.commands import dispatch, json_response, reading
from shared.errors import InvalidInput, NotFound, Unauthorized
from shared.paging import Page

router = APIRouter(prefix="/v1", tags=["accounts"])
sessions = APIRouter(prefix="/v1", tags=["sessions"])
discovery = APIRouter(tags=["discovery"])

#: Who acts on the routes without a token, for the audit trail (the account is the audit row's target).
ANONYMOUS = Principal(subject="public", roles=frozenset(), ward_id="-")
_FAILED = {401: {"description": "Sign-in failed (the same answer whatever failed: name, password, code, lockout)"}}


# -- officials: accounts ---------------------------------------------------------------------------------------
@router.post("/accounts", status_code=201, response_model=schemas.AccountCreatedOut,
             summary="Create an account in a ward (its one-time reset code is shown once)")
async def create_account(body: schemas.CreateAccountBody, request: Request, principal: CurrentPrincipal) -> Response:
    return await dispatch(request, commands.CreateAccount(**body.model_dump()), principal)


@router.get("/accounts", response_model=schemas.AccountPage, summary="The accounts of the caller's ward")
async def list_accounts(request: Request, principal: CurrentPrincipal, page: Page) -> Response:
    principal.require(*domain.MANAGERS)
    everyone = principal.can_access_ward(ALL_WARDS)
    async with reading(request) as uow:
        rows = await uow.accounts.page(None if everyone else principal.ward_id, page)
    return json_response(ACCOUNTS_BY_CREATION.page(rows, page, domain.account_view))


@router.get("/accounts/{account_id}", response_model=schemas.AccountOut, summary="An account")
async def get_account(account_id: str, request: Request, principal: CurrentPrincipal) -> Response:
    async with reading(request) as uow:
        row = await uow.accounts.get(account_id)
    principal.ensure_reaches(None if row is None else row["ward_id"], domain.NO_ACCOUNT)
    if row is None or (row["account_id"] != principal.subject and not principal.has(*domain.MANAGERS)):
        raise NotFound(domain.NO_ACCOUNT)
    return json_response(domain.account_view(row))


@router.get("/me", response_model=schemas.AccountOut, summary="The caller's own account")
async def me(request: Request, principal: CurrentPrincipal) -> Response:
    async with reading(request) as uow:
        row = await uow.accounts.get(principal.subject)
    if row is None:
        raise NotFound("this token's subject has no account here")
    return json_response(domain.account_view(row))


@router.post("/accounts/{account_id}/roles", response_model=schemas.AccountOut,
             summary="Change an account's roles (and teams); effective at its next refresh")
async def change_roles(account_id: str, body: schemas.ChangeRolesBody, request: Request,
                       principal: CurrentPrincipal) -> Response:
    return await dispatch(request, commands.ChangeRoles(account_id=account_id, **body.model_dump()), principal)


@router.post("/accounts/{account_id}/disable", response_model=schemas.AccountOut,
             summary="Disable an account: no more sign-ins, its sessions end")
async def disable_account(account_id: str, request: Request, principal: CurrentPrincipal) -> Response:
    return await dispatch(request, commands.DisableAccount(account_id=account_id), principal)


@router.post("/accounts/{account_id}/reset-code", status_code=201, response_model=schemas.ResetCodeOut,
             summary="A one-time reset code (shown once): its holder sets a new password and second factor")
async def issue_reset_code(account_id: str, request: Request, principal: CurrentPrincipal) -> Response:
    return await dispatch(request, commands.IssueResetCode(account_id=account_id), principal)


# -- people: password and sessions (no token) ------------------------------------------------------------------
async def _anonymous(request: Request, command: Command, *, limited: bool = True) -> dict[str, Any]:
    """``limited``: a route that takes a guessable secret (a password) counts against the per-address limit; a
    refresh token (192 bits) cannot be guessed, and a console refreshing for many people from one address must not
    be throttled for it."""
    if request.headers.get("Idempotency-Key"):
        raise InvalidInput("this route takes no Idempotency-Key: repeat the request instead")
    if limited:
        s = request.app.state.runtime.settings
        await ratelimit.limit(request, "sign-in", limit=s.sign_in_rate_limit, window_s=s.sign_in_rate_window_s)
    return await request.app.state.runtime.application.run(command, ANONYMOUS)


def _tokens(request: Request, result: dict[str, Any]) -> Response:
    if result["outcome"] == "second_factor_required":
        return json_response({"second_factor_required": True})
    if result["outcome"] == "failed":
        raise Unauthorized(domain.SIGN_IN_FAILED, headers={"WWW-Authenticate": f'Bearer realm="{REALM}"'})
    issuer = request.app.state.issuer
    return json_response({
        "access_token": issuer.access_token(result["claims"], amr=result["amr"]),
        "token_type": "Bearer",
        "expires_in": int(issuer.ttl.total_seconds()),
        "refresh_token": result["refresh_token"],
        "refresh_token_expires_at": result["refresh_token_expires_at"],
    })


@sessions.post("/password", response_model=schemas.PasswordSetOut,
               summary="Set a new password with a one-time reset code (and enrol the second factor where required)")
async def set_password(body: schemas.SetPasswordBody, request: Request) -> Response:
    return json_response(await _anonymous(request, commands.SetPassword(**body.model_dump())))


@sessions.post("/sessions", response_model=schemas.TokensOut | schemas.SecondFactorRequiredOut, responses=_FAILED,
               summary="Sign in: access and refresh tokens (or: a second-factor code is needed)")
async def sign_in(body: schemas.SignInBody, request: Request) -> Response:
    return _tokens(request, await _anonymous(request, commands.SignIn(**body.model_dump())))


@sessions.post("/sessions/refresh", response_model=schemas.TokensOut, responses=_FAILED,
               summary="A new access token for a refresh token (used once; a reused one ends the whole sign-in)")
async def refresh(body: schemas.RefreshBody, request: Request) -> Response:
    return _tokens(request, await _anonymous(request, commands.Refresh(**body.model_dump()), limited=False))


@sessions.post("/sessions/sign-out", response_model=schemas.SignedOutOut,
               summary="Sign out: the refresh token and every one of its sign-in are revoked")
async def sign_out(body: schemas.SignOutBody, request: Request) -> Response:
    return json_response(await _anonymous(request, commands.SignOut(**body.model_dump()), limited=False))


# -- discovery ---------------------------------------------------------------------------------------------------
@discovery.get("/.well-known/jwks.json", response_model=schemas.JwksOut, summary="The public keys of the tokens")
async def jwks(request: Request) -> Response:
    return json_response(request.app.state.issuer.jwks())


@discovery.get("/.well-known/openid-configuration", response_model=schemas.DiscoveryOut,
               summary="Where the issuer's keys and token routes are (OpenID Connect discovery)")
async def openid_configuration(request: Request) -> Response:
    return json_response(request.app.state.issuer.discovery())
