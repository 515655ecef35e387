"""The feed service's HTTP shapes: request bodies (derived from services/feed/commands.py, so each constraint is
written once) and the response models every operation documents."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model

from services.feed import commands
from shared.application import Command

_BODY = ConfigDict(extra="forbid", str_strip_whitespace=True, populate_by_name=False)


def body_of(command: type[Command], *path: str) -> type[BaseModel]:
    """The request body of ``command``: its fields but those of the path, unknown fields refused."""
    fields: dict[str, Any] = {n: (f.annotation, f) for n, f in command.model_fields.items() if n not in path}
    return create_model(f"{command.__name__}Body", __config__=_BODY, __doc__=command.__doc__, **fields)


CreateSubscriberBody = body_of(commands.CreateSubscriber)


class KeyOut(BaseModel):
    key_id: str
    created_at: datetime
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None
    use_count: int = 0


class SubscriberOut(BaseModel):
    subscriber_id: str
    name: str
    wards: list[str]
    event_types: list[str] | None = Field(description="null: every public event type")
    oauth_client_id: str | None
    status: str = Field(description="active | disabled")
    created_at: datetime
    disabled_at: datetime | None = None
    last_used_at: datetime | None = None
    use_count: int = 0


class SubscriberDetailOut(SubscriberOut):
    keys: list[KeyOut]


class SubscriberCreatedOut(SubscriberOut):
    api_key: str = Field(description="wfk_<key_id>_<secret>: shown this once, stored only as a hash")
    key_id: str


class SubscriberPage(BaseModel):
    items: list[SubscriberOut]
    next_cursor: str | None


class NewKeyOut(BaseModel):
    subscriber_id: str
    key_id: str
    api_key: str = Field(description="wfk_<key_id>_<secret>: shown this once, stored only as a hash")
    created_at: datetime


class RevokedKeyOut(KeyOut):
    subscriber_id: str


#: One structured-mode CloudEvent of the feed (inline in the responses: `id` is CloudEvents' attribute).
CLOUD_EVENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["specversion", "id", "source", "type", "subject", "time", "datacontenttype", "wardid", "data"],
    "properties": {
        "specversion": {"type": "string", "const": "1.0"},
        "id": {"type": "string", "format": "uuid", "description": "The public event's id (the same on every read)"},
        "source": {"type": "string", "examples": ["urn:ward-platform:registry"]},
        "type": {"type": "string", "examples": ["public.registry.team.formed.v1"]},
        "subject": {"type": "string"},
        "time": {"type": "string", "format": "date-time"},
        "datacontenttype": {"type": "string", "const": "application/json"},
        "wardid": {"type": "string", "description": "The ward the event belongs to (CloudEvents extension)"},
        "data": {"type": "object", "description": "The public event (its JSON Schema: /schemas/<type>.json)"},
    },
}
