"""The commands of the identity service: what officials ask of accounts, and what a person does to sign in.

Each is a frozen message (``shared.application.Command``) whose fields are the whole request, path parameters
included; ``name`` is what the audit trail records. Secrets in a command (a password, a code, a refresh token) are
never recorded: the audit row holds the command's name, its target and the details the handler chooses.
"""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field

from shared.actor import Role
from shared.application import Command

IdField = Annotated[str, Field(min_length=1, max_length=100)]
Username = Annotated[str, Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._@-]*$",
                                description="A sign-in name (letters, digits, . _ @ -), unique, compared without case")]
Secret = Annotated[str, Field(min_length=1, max_length=256)]
Code = Annotated[str, Field(min_length=6, max_length=10, pattern=r"^[0-9 ]+$", description="A 6-digit TOTP code")]


class CreateAccount(Command):
    """An account in a ward, without a password: the reply shows a one-time reset code with which its holder sets
    one (and, for the roles that need it, enrols the second factor)."""

    name: ClassVar[str] = "account.create"
    ward_id: str = Field(min_length=1, max_length=100, pattern=r"^(\*|[a-z0-9][a-z0-9-]{0,62})$")
    username: Username
    display_name: str = Field(min_length=1, max_length=200)
    roles: list[Role] = Field(min_length=1, max_length=len(Role))
    resident_id: IdField | None = None
    household_id: IdField | None = None
    team_ids: list[IdField] = Field(default_factory=list, max_length=100)


class ChangeRoles(Command):
    name: ClassVar[str] = "account.roles.change"
    account_id: str
    roles: list[Role] = Field(min_length=1, max_length=len(Role))
    team_ids: list[IdField] = Field(default_factory=list, max_length=100)


class DisableAccount(Command):
    """No more sign-ins or refreshes; access tokens already issued end within their 10 minutes."""

    name: ClassVar[str] = "account.disable"
    account_id: str


class IssueResetCode(Command):
    """A new one-time reset code (the old ones are void); the password and the second factor are set again with it,
    and the account's sessions end."""

    name: ClassVar[str] = "account.reset-code.issue"
    account_id: str


class SetPassword(Command):
    """The holder of a reset code sets a new password (no token: they cannot sign in yet)."""

    name: ClassVar[str] = "account.password.set"
    username: Username
    reset_code: Secret
    new_password: str = Field(min_length=1, max_length=256)


class SignIn(Command):
    name: ClassVar[str] = "session.sign-in"
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)
    code: Code | None = None


class Refresh(Command):
    name: ClassVar[str] = "session.refresh"
    refresh_token: Secret


class SignOut(Command):
    name: ClassVar[str] = "session.sign-out"
    refresh_token: Secret


class AnnounceAccounts(Command):
    """Publish every account's state again (``AccountChanged``), for a service that learns people from those events
    after the accounts were made: the notify service on a platform that had accounts before it. Administrators only
    (``wardctl accounts announce``); a ward's accounts, or all."""

    name: ClassVar[str] = "accounts.announce"
    ward_id: str | None = Field(default=None, max_length=100)
