"""Events of the identity service: what other services need of an account to reach the person behind it (the
notify service's projection of people), ids and roles only.

No username, no display name, no contact address: a consumer learns which ward an account belongs to, its roles,
the registry resident it is bound to and the teams it serves in, and whether it is disabled. The subject is the
account id, which is also the ``sub`` of the person's tokens.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from shared.events import Event

TOPIC = "identity.accounts"


class AccountChanged(Event):
    """An account was created, its roles or teams changed, or it was disabled: its whole current state."""

    event_type: ClassVar[str] = "identity.account.changed.v1"
    topic: ClassVar[str] = TOPIC
    account_id: str = Field(min_length=1, max_length=64, description="The account; the `sub` of its tokens")
    roles: list[str] = Field(max_length=20, description="resident, team_member, team_leader, police, ...")
    resident_id: str | None = Field(default=None, max_length=64, description="The registry resident, if bound")
    team_ids: list[str] = Field(default_factory=list, max_length=100, description="Registry teams it serves in")
    disabled: bool = False
