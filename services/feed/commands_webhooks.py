"""The commands of webhooks: what a subscriber asks of its own webhooks (authenticated by its API key or OAuth
client; the subscriber's id comes from its credentials, never from the body)."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field

from services.feed.commands import EventTypeField, WardIdField
from shared.application import Command

Start = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_-]+$",
                             description='"now" (only events appended from now on), "beginning" (every event the '
                                         "feed holds) or a cursor of the pull API (the events after it)")]


class CreateWebhook(Command):
    """A callback URL that receives, one by one and in order, the public events the subscriber may read (narrowed
    by ``wards`` and ``event_types``), signed with a new secret shown once."""

    name: ClassVar[str] = "webhook.create"
    subscriber_id: str
    url: str = Field(min_length=8, max_length=2000, description="http(s) URL the events are POSTed to")
    wards: list[WardIdField] | None = Field(default=None, max_length=100,
                                            description="Only these of the subscriber's wards (null: all of them)")
    event_types: list[EventTypeField] | None = Field(
        default=None, max_length=100, description="Only these of the subscriber's event types (null: all of them)")
    start: Start = "now"


class _OwnWebhook(Command):
    subscriber_id: str
    webhook_id: str


class PauseWebhook(_OwnWebhook):
    name: ClassVar[str] = "webhook.pause"


class ResumeWebhook(_OwnWebhook):
    """Deliver again from the held event (the first one not delivered), with a fresh retry window."""

    name: ClassVar[str] = "webhook.resume"


class RotateWebhookSecret(_OwnWebhook):
    """A new signing secret, shown once; deliveries are signed with it from now on."""

    name: ClassVar[str] = "webhook.secret.rotate"


class RedeliverWebhookDelivery(_OwnWebhook):
    """Send the event of a logged delivery once more (out of the ordered stream; logged as a manual attempt)."""

    name: ClassVar[str] = "webhook.redeliver"
    delivery_id: str

