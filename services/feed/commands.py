"""The commands of the feed service: what an official asks of subscribers and their keys, and the system's own
authentication of a subscriber (not audited: it is the system's, and counts uses).

Each is a frozen message (``shared.application.Command``) whose fields are the whole request, path parameters
included; ``name`` is the command the audit trail records. The HTTP bodies derive from these (schemas.py).
"""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field

from shared.application import Command
from shared.edge import WARD_PATTERN

WardIdField = Annotated[str, Field(pattern=WARD_PATTERN, description="A ward id (phu-son)")]
EventTypeField = Annotated[str, Field(min_length=3, max_length=200, pattern=r"^public\.[a-z0-9_.-]+\.v[0-9]+$",
                                      description="A public event type, e.g. public.registry.team.formed.v1")]


class CreateSubscriber(Command):
    """A subscriber (another ward's system): the wards whose public events it reads (those the caller may grant),
    the event types (null: every public type) and, optionally, the OAuth client it may also authenticate as."""

    name: ClassVar[str] = "subscriber.create"
    display_name: str = Field(alias="name", min_length=1, max_length=200, description="Who subscribes")
    wards: list[WardIdField] = Field(min_length=1, max_length=100)
    event_types: list[EventTypeField] | None = Field(default=None, max_length=100)
    oauth_client_id: str | None = Field(default=None, min_length=1, max_length=255,
                                        description="The `azp` of its client-credentials tokens")


class IssueKey(Command):
    """A new API key for a subscriber (rotation: the old ones stay valid until revoked)."""

    name: ClassVar[str] = "subscriber.key.issue"
    subscriber_id: str


class RevokeKey(Command):
    name: ClassVar[str] = "subscriber.key.revoke"
    subscriber_id: str
    key_id: str


class DisableSubscriber(Command):
    name: ClassVar[str] = "subscriber.disable"
    subscriber_id: str


class AuthenticateKey(Command):
    """The system checks an API key (by its id and the SHA-256 of the whole key) and counts its use."""

    name: ClassVar[str] = "subscriber.authenticate"
    key_id: str
    key_hash: str = Field(pattern=r"^[0-9a-f]{64}$")


class AuthenticateClient(Command):
    """The system finds the subscriber of an OAuth client (a verified token's `azp`) and counts its use."""

    name: ClassVar[str] = "subscriber.authenticate"
    oauth_client_id: str
