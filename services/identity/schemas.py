"""The identity service's HTTP shapes: request bodies (derived from services/identity/commands.py, so each
constraint is written once) and the response models every operation documents. Secrets in bodies (passwords,
codes, refresh tokens) are taken as they are: no whitespace is stripped from them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model

from services.identity import commands
from shared.application import Command


def body_of(command: type[Command], *path: str) -> type[BaseModel]:
    """The request body of ``command``: its fields but those of the path, unknown fields refused."""
    fields: dict[str, Any] = {n: (f.annotation, f) for n, f in command.model_fields.items() if n not in path}
    return create_model(f"{command.__name__}Body", __config__=ConfigDict(extra="forbid"), __doc__=command.__doc__,
                        **fields)


CreateAccountBody = body_of(commands.CreateAccount)
ChangeRolesBody = body_of(commands.ChangeRoles, "account_id")
SetPasswordBody = body_of(commands.SetPassword)
SignInBody = body_of(commands.SignIn)
RefreshBody = body_of(commands.Refresh)
SignOutBody = body_of(commands.SignOut)


class AccountOut(BaseModel):
    account_id: str
    ward_id: str
    username: str
    display_name: str
    roles: list[str]
    resident_id: str | None
    household_id: str | None
    team_ids: list[str]
    status: str = Field(description="active | disabled")
    second_factor: str = Field(description="none | pending (enrolled, no code used yet) | active")
    password_set: bool
    created_at: datetime


class AccountPage(BaseModel):
    items: list[AccountOut]
    next_cursor: str | None


class AccountCreatedOut(BaseModel):
    account: AccountOut
    reset_code: str = Field(description="Shown once: its holder sets a password with it (POST /v1/password)")
    reset_code_expires_at: datetime


class ResetCodeOut(BaseModel):
    account_id: str
    reset_code: str = Field(description="Shown once")
    reset_code_expires_at: datetime


class EnrolmentOut(BaseModel):
    secret: str = Field(description="The TOTP secret (base32), shown once, for an app that cannot read the URI")
    provisioning_uri: str = Field(description="otpauth:// URI, shown once (as a QR code): add it to an authenticator")


class PasswordSetOut(BaseModel):
    password_set: bool
    second_factor: EnrolmentOut | None = Field(
        description="For the roles that sign in with a second factor: the new enrolment; the first code accepted at "
                    "sign-in confirms it")


class TokensOut(BaseModel):
    """OAuth 2.0 token response (RFC 6749 section 5.1)."""

    access_token: str
    token_type: str = "Bearer"
    expires_in: int = Field(description="Seconds the access token is valid")
    refresh_token: str = Field(description="Used once: each refresh answers a new one")
    refresh_token_expires_at: datetime


class SecondFactorRequiredOut(BaseModel):
    second_factor_required: bool = Field(description="The password was right: send it again with `code`")


class SignedOutOut(BaseModel):
    signed_out: bool


class JwksOut(BaseModel):
    keys: list[dict[str, Any]]


class DiscoveryOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    issuer: str
    jwks_uri: str
    token_endpoint: str
