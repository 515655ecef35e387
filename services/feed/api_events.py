"""HTTP routes of the feed for subscribers: the public events as CloudEvents batches (pull, with long-polling) and
as a Server-Sent Events stream. Both read in ``seq`` order from a cursor, through the subscriber's grant narrowed
by the query; the NOTIFY of each append wakes waiting requests (services/feed/notify.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import Response
from sse_starlette import EventSourceResponse, ServerSentEvent

from services.feed import domain, schemas
from services.feed.access import CurrentSubscriber
from shared.commands import reading
from shared.jsonutil import dumps

router = APIRouter(prefix="/v1", tags=["events"])

BATCH_MEDIA_TYPE = "application/cloudevents-batch+json"
#: A waiting request reads again at least this often, even if no NOTIFY came (a lost LISTEN connection).
RECHECK_S = 5.0
STREAM_BATCH = 100
PING_S = 15

Cursor = Annotated[str | None, Query(max_length=64, pattern=r"^[A-Za-z0-9_-]*$",
                                     description="Feed-Next-Cursor of the previous answer; none: from the first event")]
Types = Annotated[list[str] | None, Query(alias="type", max_length=100, description="Only these event types")]
Wards = Annotated[list[str] | None, Query(alias="ward", max_length=100, description="Only these wards")]

_BATCH_RESPONSE = {200: {
    "description": "A JSON array of structured-mode CloudEvents (empty when nothing new came within `wait`)",
    "headers": {
        "Feed-Next-Cursor": {"description": "Where to resume: `after` of the next request", "schema": {"type": "string"}},
        "Link": {"description": '`<...after=<cursor>...>; rel="next"`', "schema": {"type": "string"}},
    },
    "content": {BATCH_MEDIA_TYPE: {"schema": {"type": "array", "items": schemas.CLOUD_EVENT_SCHEMA}}},
}}
_STREAM_RESPONSE = {200: {
    "description": "Server-Sent Events: `id` the cursor after the event, `event` its type, `data` the structured "
                   "CloudEvent; a comment ping every 15 s",
    "content": {"text/event-stream": {"schema": {"type": "string"}}},
}}


def _next_link(cursor: str, limit: int, wait: float, types: list[str] | None, wards: list[str] | None) -> str:
    query: list[tuple[str, Any]] = [("after", cursor), ("limit", limit)]
    if wait:
        query.append(("wait", f"{wait:g}"))  # as a client writes it: `wait=25`, not `wait=25.0`
    query += [("type", t) for t in types or ()] + [("ward", w) for w in wards or ()]
    return f'</v1/events?{urlencode(query)}>; rel="next"'


@router.get("/events", summary="Public events after a cursor, as a CloudEvents batch (long-poll with `wait`)",
            response_class=Response, responses=_BATCH_RESPONSE)
async def events(
    request: Request, subscriber: CurrentSubscriber, after: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=domain.MAX_LIMIT)] = domain.DEFAULT_LIMIT,
    wait: Annotated[float, Query(ge=0, le=domain.MAX_WAIT_S, description="Seconds to wait for an event")] = 0,
    types: Types = None, wards: Wards = None,
) -> Response:
    seq = domain.decode_cursor(after)
    where = domain.narrow(subscriber, wards, types)
    notifier = request.app.state.feed_notifier
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    while True:
        generation = notifier.generation
        async with reading(request) as uow:  # one snapshot: `after` and the head agree
            rows = await uow.feed.after(seq, limit, where)
            # Fewer than asked: every event up to the head is either here or not this subscriber's, so the
            # cursor moves past the head (appends commit in seq order) and the next read does not scan them again.
            head = await uow.feed.last_seq() if len(rows) < limit else 0
        remaining = deadline - loop.time()
        if rows or remaining <= 0 or await request.is_disconnected():
            break
        await notifier.wait(generation, min(remaining, RECHECK_S))
    cursor = domain.encode_cursor(max(rows[-1]["seq"] if rows else seq, head))
    body = dumps([domain.cloud_event(r) for r in rows]).encode()
    return Response(body, media_type=BATCH_MEDIA_TYPE, headers={
        "Feed-Next-Cursor": cursor, "Link": _next_link(cursor, limit, wait, types, wards)})


@router.get("/events/stream", summary="Public events as Server-Sent Events, resuming from Last-Event-ID",
            response_class=Response, responses=_STREAM_RESPONSE)
async def stream(
    request: Request, subscriber: CurrentSubscriber, after: Cursor = None,
    last_event_id: Annotated[str | None, Header(max_length=64, pattern=r"^[A-Za-z0-9_-]*$",
                                                description="The id of the last message received")] = None,
    types: Types = None, wards: Wards = None,
) -> EventSourceResponse:
    seq = domain.decode_cursor(last_event_id or after)
    where = domain.narrow(subscriber, wards, types)
    application = request.app.state.runtime.application
    notifier = request.app.state.feed_notifier

    async def messages() -> AsyncIterator[ServerSentEvent]:
        nonlocal seq
        while True:
            generation = notifier.generation
            async with application.read() as uow:
                rows = await uow.feed.after(seq, STREAM_BATCH, where)
                if not await _still_allowed(uow, subscriber):
                    return  # revoked or disabled meanwhile: the stream ends
            for row in rows:
                seq = row["seq"]
                yield ServerSentEvent(dumps(domain.cloud_event(row)), event=row["event_type"],
                                      id=domain.encode_cursor(seq))
            if len(rows) < STREAM_BATCH:
                await notifier.wait(generation, RECHECK_S)

    return EventSourceResponse(messages(), ping=PING_S)


async def _still_allowed(uow: Any, subscriber: domain.Subscriber) -> bool:
    row = await uow.subscribers.get(subscriber.subscriber_id)
    if row is None or row["status"] != "active":
        return False
    if subscriber.key_id is None:
        return True
    key = await uow.keys.get(subscriber.key_id)
    return key is not None and key["revoked_at"] is None
