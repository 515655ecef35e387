"""The HTTP shapes of webhooks: request bodies derived from commands_webhooks.py, and the response models."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from services.feed import commands_webhooks as cmds
from services.feed.schemas import body_of

CreateWebhookBody = body_of(cmds.CreateWebhook, "subscriber_id")


class WebhookOut(BaseModel):
    webhook_id: str
    url: str
    status: str = Field(description="active | paused")
    paused_reason: str | None = Field(description="why it is paused (failing: paused by the worker)")
    wards: list[str] | None
    event_types: list[str] | None = Field(description="null: every type the subscriber may read")
    failures: int = Field(description="consecutive failed attempts of the held event")
    next_attempt_at: datetime | None = Field(description="when the held event is retried (while failing)")
    created_at: datetime


class WebhookCreatedOut(WebhookOut):
    secret: str = Field(description="whsec_<base64>: the signing secret, shown this once")


class WebhookPage(BaseModel):
    items: list[WebhookOut]
    next_cursor: str | None


class SecretOut(BaseModel):
    webhook_id: str
    secret: str = Field(description="whsec_<base64>: the new signing secret, shown this once")
    previous_secret_valid_until: datetime | None = Field(
        default=None, description="until then deliveries are signed with the previous secret too (two signatures)")


class DeliveryOut(BaseModel):
    delivery_id: str
    event_id: str
    event_type: str
    attempt: int = Field(description="1 for the first attempt of an event; a manual redelivery counts 1")
    manual: bool = Field(description="a redelivery the subscriber asked for")
    attempted_at: datetime
    http_status: int | None
    duration_ms: int
    error: str | None
    outcome: str = Field(description="delivered | failed")


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    next_cursor: str | None


class RedeliveryOut(BaseModel):
    webhook_id: str
    delivery_id: str
    event_id: str
    status: str = Field(description="queued: the worker sends it next")
