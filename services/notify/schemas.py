"""The notify service's HTTP shapes: request bodies and the response models every operation documents."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

_BODY = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ContactIn(BaseModel):
    model_config = _BODY
    address: str = Field(min_length=3, max_length=320, description="An email address, a phone number (SMS), or a Zalo user id under the ward's Official Account")


class CodeIn(BaseModel):
    model_config = _BODY
    code: str = Field(pattern=r"^[0-9]{6}$", description="The 6-digit code sent to the address")


class PreferenceIn(BaseModel):
    model_config = _BODY
    channels: list[str] = Field(max_length=3, description="email, sms, zalo (the in-app inbox always)")
    digest: bool = Field(default=False, description="hold non-urgent ones for the daily digest")


class NotificationOut(BaseModel):
    notification_id: str
    kind: str
    urgent: bool
    title: str
    body: str
    link: str
    created_at: datetime
    read_at: datetime | None = None


class NotificationPage(BaseModel):
    items: list[NotificationOut]
    next_cursor: str | None = None


class CountOut(BaseModel):
    count: int


class MarkedOut(BaseModel):
    marked: int


class ContactOut(BaseModel):
    channel: str
    address_hint: str = Field(description='"••••1234" or "n•••@example.org": never the whole address')
    verified: bool


class ContactList(BaseModel):
    items: list[ContactOut]
    next_cursor: str | None = Field(default=None, description="always null: one contact per channel at most")


class ContactDeletedOut(BaseModel):
    channel: str
    deleted: bool


class PreferenceOut(BaseModel):
    kind: str
    channels: list[str]
    digest: bool


class QuietHoursOut(BaseModel):
    start: str = Field(description="local time, HH:MM")
    end: str
    timezone: str


class PreferencesOut(BaseModel):
    kinds: list[PreferenceOut]
    quiet_hours: QuietHoursOut


class DeliveryOut(BaseModel):
    delivery_id: str
    notification_id: str
    channel: str
    status: str = Field(description="pending | sending | sent | failed | skipped")
    not_before: datetime
    digest: bool
    attempts: int
    sent_at: datetime | None = None
    updated_at: datetime


class DeliveryList(BaseModel):
    items: list[DeliveryOut]
    next_cursor: str | None = None
