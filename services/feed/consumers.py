"""Event handlers of the feed service: every public event (every ``PublicEvent`` type, all on
``public.ward-events``) is appended to the feed once. Nothing else is read: the feed never sees personal data.

The event ids are the inbox's and the feed's key, so a redelivery or a ``wardctl republish`` changes nothing.
"""

from __future__ import annotations

from typing import Any

from shared.asyncapi_public import public_event_types
from shared.events import PublicEvent


async def on_public_event(event: PublicEvent, uow: Any) -> None:
    await uow.feed.append(event)


HANDLERS = {cls: on_public_event for cls in public_event_types().values()}
