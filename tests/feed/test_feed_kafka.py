"""The feed end to end on the real PostgreSQL and a real tansu broker, served by uvicorn: public events produced to
``public.ward-events`` (as the publishing services' relays send them) reach the feed's consumer, are pulled and
streamed as Server-Sent Events, and a stream resumes from ``Last-Event-ID`` with the next event, each once."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from cloudevents.core.formats.json import JSONFormat

from services.feed.bootstrap import build
from services.feed.domain import decode_cursor
from shared.events import PUBLIC_TOPIC, to_kafka
from tests.conftest import auth, settings_for
from tests.feed.test_pull import OTHER_WARD, WARD, group_created, team_formed
from tests.harness import served
from tests.kafka_helpers import produce

pytestmark = pytest.mark.integration


async def publish(bootstrap: str, *events: Any) -> None:
    for event in events:
        key, value, headers = to_kafka(event)
        await produce(bootstrap, PUBLIC_TOPIC, value, key=key.encode(), headers=list(headers.items()))


async def sse_messages(client: httpx.AsyncClient, count: int, headers: dict[str, str],
                       params: dict[str, str] | None = None) -> list[dict[str, str]]:
    """The first ``count`` messages of a stream (comments skipped), then the stream is closed."""
    messages: list[dict[str, str]] = []
    async with client.stream("GET", "/v1/events/stream", headers=headers, params=params) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        current: dict[str, str] = {}
        async for line in r.aiter_lines():
            if line == "":
                if "data" in current:
                    messages.append(current)
                    if len(messages) == count:
                        break
                current = {}
            elif not line.startswith(":"):
                field, _, value = line.partition(":")
                current[field] = value.removeprefix(" ")
    return messages


async def test_public_events_from_kafka_are_pulled_and_streamed_and_a_stream_resumes(db, broker, started):
    app = build(settings_for("feed", db, broker))
    await started(app.state.runtime)  # with its consumer of public.ward-events
    events = [team_formed(WARD, 1), team_formed(OTHER_WARD, 2), group_created(WARD, 3)]
    await publish(broker.bootstrap, *events)
    async with served(app) as base, httpx.AsyncClient(base_url=base, timeout=30) as client:
        r = await client.post("/v1/subscribers", json={"name": "Phường Đông Vệ", "wards": [WARD]},
                              headers=dict(auth("ward_official", WARD)))
        assert r.status_code == 201, r.text
        key = {"Authorization": f"Bearer {r.json()['api_key']}"}

        # long-poll until the consumer has appended both of this ward's events
        got: list[dict[str, Any]] = []
        cursor = None
        for _ in range(40):
            r = await client.get("/v1/events", params={"wait": 5, **({"after": cursor} if cursor else {})},
                                 headers=key)
            assert r.status_code == 200, r.text
            got += r.json()
            cursor = r.headers["Feed-Next-Cursor"]
            if len(got) >= 2:
                break
        # Different subjects travel on different partitions: the feed's order between them is the order the
        # consumer appended them in (the same for every reader), not the order they were produced in.
        assert sorted(e["id"] for e in got) == sorted([str(events[0].id), str(events[2].id)])
        for item in got:
            JSONFormat().read(None, json.dumps(item))

        # the stream from the beginning: both, each with the cursor after it as its id
        first = await sse_messages(client, 2, key)
        assert [m["event"] for m in first] == [e["type"] for e in got]
        assert [json.loads(m["data"])["id"] for m in first] == [e["id"] for e in got]
        # the pull's cursor is at or past the last event shown (past it when another ward's event came later)
        assert decode_cursor(first[-1]["id"]) <= decode_cursor(cursor)

        # resumed from Last-Event-ID: the next event only, which arrives while the stream waits
        later = group_created(WARD, 4)
        resumed = asyncio.create_task(sse_messages(client, 1, {**key, "Last-Event-ID": first[0]["id"]}))
        (again,) = await asyncio.wait_for(resumed, 20)  # the event after the first one the feed holds
        assert json.loads(again["data"])["id"] == got[1]["id"]
        waiting = asyncio.create_task(sse_messages(client, 1, {**key, "Last-Event-ID": cursor}))
        await asyncio.sleep(0.5)
        assert not waiting.done()
        await publish(broker.bootstrap, later, team_formed(OTHER_WARD, 5))
        (new,) = await asyncio.wait_for(waiting, 30)
        cloud_event = json.loads(new["data"])
        assert cloud_event["id"] == str(later.id) and cloud_event["wardid"] == WARD
        JSONFormat().read(None, new["data"])

        # a stream with a type filter
        only_teams = await sse_messages(client, 1, key, {"type": "public.registry.team.formed.v1"})
        assert json.loads(only_teams[0]["data"])["id"] == str(events[0].id)


async def test_a_stream_ends_when_its_key_is_revoked_and_a_bad_last_event_id_is_a_problem(db, started):
    app = build(settings_for("feed", db, None))
    app.state.runtime.handlers.clear()  # no broker here: the events are handed to the consumer's handler
    await started(app.state.runtime, wait_assigned=False)
    async with served(app) as base, httpx.AsyncClient(base_url=base, timeout=30) as client:
        official = dict(auth("ward_official", WARD))
        r = await client.post("/v1/subscribers", json={"name": "Phường Đông Vệ", "wards": [WARD]}, headers=official)
        sub = r.json()
        key = {"Authorization": f"Bearer {sub['api_key']}"}
        bad = await client.get("/v1/events/stream", headers={**key, "Last-Event-ID": "bm9wZQ"})
        assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"

        async def read_until_closed() -> int:
            lines = 0
            async with client.stream("GET", "/v1/events/stream", headers=key) as stream:
                assert stream.status_code == 200
                async for _ in stream.aiter_lines():
                    lines += 1
            return lines

        streaming = asyncio.create_task(read_until_closed())
        await asyncio.sleep(0.5)
        assert not streaming.done()
        r = await client.post(f"/v1/subscribers/{sub['subscriber_id']}/keys/{sub['key_id']}/revoke", headers=official)
        assert r.status_code == 200
        await asyncio.wait_for(streaming, 15)  # the server ended it: the key no longer reads
        assert (await client.get("/v1/events/stream", headers=key)).status_code == 401
