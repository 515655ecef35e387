"""The notify service's commands: a person's contact points, preferences and inbox (the person is the actor)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from shared.application import Command


class PutContact(Command):
    name: ClassVar[str] = "contact.put"
    channel: str
    address: str = Field(min_length=3, max_length=320)


class VerifyContact(Command):
    name: ClassVar[str] = "contact.verify"
    channel: str
    code: str = Field(pattern=r"^[0-9]{6}$")


class DeleteContact(Command):
    name: ClassVar[str] = "contact.delete"
    channel: str


class SetPreference(Command):
    name: ClassVar[str] = "preference.set"
    kind: str
    channels: list[str] = Field(max_length=3)
    digest: bool = False


class MarkRead(Command):
    name: ClassVar[str] = "notification.read"
    notification_id: str = Field(min_length=1, max_length=64)


class ReadAll(Command):
    name: ClassVar[str] = "notification.read_all"


class Scan(Command):
    """The scheduled job: deadlines near and residences expiring, each told once."""

    name: ClassVar[str] = "notify.scan"
