"""The feed over HTTP on the real PostgreSQL: subscribers registered by officials, public events pulled as valid
CloudEvents batches from a cursor (each once, in order), long-polls woken by the append's NOTIFY, filters and
another ward's events invisible, keys refused at once when revoked, OAuth client-credentials subscribers, the
problems of bad cursors and limits, and the public contract (AsyncAPI, JSON Schemas) served without a token."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from cloudevents.core.formats.json import JSONFormat

from services.feed.bootstrap import build
from shared.contracts.registry import PublicGroupCreated, PublicTeamFormed
from tests.conftest import auth, token
from tests.feed.conftest import OTHER_WARD, WARD
from tests.harness import ServiceUnderTest, serve

pytestmark = pytest.mark.integration

OFFICIAL = auth("ward_official", WARD)
CITY = auth("city_official", "*")
TEAM_TYPE = "public.registry.team.formed.v1"
GROUP_TYPE = "public.registry.group.created.v1"


def team_formed(ward: str = WARD, n: int = 1) -> PublicTeamFormed:
    return PublicTeamFormed(ward_id=ward, subject=f"team-{n}", team_id=f"team-{n}", group_id="tran-phu",
                            kind="security_order", name=f"Tổ {n}")


def group_created(ward: str = WARD, n: int = 1) -> PublicGroupCreated:
    return PublicGroupCreated(ward_id=ward, subject=f"group-{n}", group_id=f"group-{n}", name=f"Tổ dân phố {n}")


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def batch(response: httpx.Response) -> list[dict[str, Any]]:
    """The body of a pull, every item checked by the CloudEvents SDK as a structured-mode event."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/cloudevents-batch+json"
    items = response.json()
    assert isinstance(items, list)
    for item in items:
        event = JSONFormat().read(None, json.dumps(item))
        assert event.get_specversion() == "1.0" and event.get_id() == item["id"]
        assert event.get_extension("wardid") == item["wardid"]
        assert item["datacontenttype"] == "application/json" and isinstance(item["data"], dict)
    return items


async def subscribe(svc: ServiceUnderTest, headers: Any = OFFICIAL, **body: Any) -> dict[str, Any]:
    r = await svc.client.post("/v1/subscribers", json={"name": "Phường Đông Vệ", "wards": [WARD], **body},
                              headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


@pytest.fixture
async def svc(db, started) -> AsyncIterator[ServiceUnderTest]:
    """The feed without a broker: public events are handed to its consumer's handlers (the Kafka path is in
    test_feed_kafka)."""
    async with serve(build, "feed", db, started) as service:
        yield service


async def test_a_subscriber_pulls_its_wards_events_as_cloudevents_each_once_in_order(svc: ServiceUnderTest):
    events = [team_formed(WARD, 1), group_created(WARD, 2), team_formed(OTHER_WARD, 3), team_formed(WARD, 4)]
    await svc.feed(*events)
    await svc.feed(events[0])  # a redelivery: still once
    sub = await subscribe(svc)
    key = bearer(sub["api_key"])

    whole = batch(await svc.client.get("/v1/events", headers=key))
    assert [e["id"] for e in whole] == [str(events[i].id) for i in (0, 1, 3)]  # another ward's is invisible
    first = whole[0]
    assert first["type"] == TEAM_TYPE and first["source"] == "urn:ward-platform:registry"
    assert first["subject"] == "team-1" and first["wardid"] == WARD and first["data"]["team_id"] == "team-1"

    seen, cursor, pages = [], None, 0
    while True:  # pages of one, resumed from each answer's cursor
        r = await svc.client.get("/v1/events", params={"limit": 1, **({"after": cursor} if cursor else {})},
                                 headers=key)
        got = batch(r)
        assert r.headers["Link"] == f'</v1/events?after={r.headers["Feed-Next-Cursor"]}&limit=1>; rel="next"'
        if not got:
            assert r.headers["Feed-Next-Cursor"] == cursor  # nothing new: the same cursor
            break
        seen += got
        cursor, pages = r.headers["Feed-Next-Cursor"], pages + 1
    assert [e["id"] for e in seen] == [e["id"] for e in whole] and pages == 3

    await svc.feed(group_created(WARD, 5))
    later = batch(await svc.client.get("/v1/events", params={"after": cursor}, headers=key))
    assert [e["subject"] for e in later] == ["group-5"]

    only_groups = batch(await svc.client.get("/v1/events", params={"type": GROUP_TYPE}, headers=key))
    assert [e["subject"] for e in only_groups] == ["group-2", "group-5"]
    widened = batch(await svc.client.get("/v1/events", params={"ward": OTHER_WARD}, headers=key))
    assert widened == []  # a query narrows the grant, never widens it
    detail = (await svc.client.get(f"/v1/subscribers/{sub['subscriber_id']}", headers=OFFICIAL)).json()
    assert detail["keys"][0]["use_count"] >= 8 and "api_key" not in detail["keys"][0]


async def test_a_subscriber_of_some_types_sees_only_them(svc: ServiceUnderTest):
    await svc.feed(team_formed(WARD, 1), group_created(WARD, 2), team_formed(OTHER_WARD, 3))
    sub = await subscribe(svc, CITY, wards=[WARD, OTHER_WARD], event_types=[TEAM_TYPE])
    got = batch(await svc.client.get("/v1/events", headers=bearer(sub["api_key"])))
    assert [(e["subject"], e["wardid"]) for e in got] == [("team-1", WARD), ("team-3", OTHER_WARD)]
    got = batch(await svc.client.get("/v1/events", params={"type": GROUP_TYPE}, headers=bearer(sub["api_key"])))
    assert got == []


async def test_a_long_poll_answers_with_the_event_that_arrives_while_it_waits(svc: ServiceUnderTest):
    sub = await subscribe(svc)
    key = bearer(sub["api_key"])
    empty = await svc.client.get("/v1/events", headers=key)
    assert batch(empty) == []
    cursor = empty.headers["Feed-Next-Cursor"]
    waiting = asyncio.create_task(svc.client.get("/v1/events", params={"after": cursor, "wait": 25}, headers=key))
    await asyncio.sleep(0.5)
    assert not waiting.done()  # nothing yet: it waits
    event = team_formed(WARD, 7)
    await svc.feed(event)
    answered = await asyncio.wait_for(waiting, 20)
    assert [e["id"] for e in batch(answered)] == [str(event.id)]
    assert answered.headers["Feed-Next-Cursor"] != cursor


async def test_a_long_poll_with_nothing_new_answers_an_empty_batch_past_what_it_may_not_see(svc: ServiceUnderTest):
    sub = await subscribe(svc)
    key = bearer(sub["api_key"])
    await svc.feed(team_formed(OTHER_WARD, 1))  # not this subscriber's: it does not end the wait
    r = await svc.client.get("/v1/events", params={"wait": 1}, headers=key)
    assert batch(r) == [] and r.headers["Link"].endswith('&wait=1>; rel="next"')
    # The cursor moved past the other ward's event, so the next read starts after it; nothing is skipped.
    past = r.headers["Feed-Next-Cursor"]
    assert past == (await svc.client.get("/v1/events", params={"after": past}, headers=key)).headers["Feed-Next-Cursor"]
    mine = team_formed(WARD, 2)
    await svc.feed(mine)
    assert [e["id"] for e in batch(await svc.client.get("/v1/events", params={"after": past}, headers=key))] == [
        str(mine.id)]


async def test_revoked_keys_and_disabled_subscribers_are_refused_at_once(svc: ServiceUnderTest):
    sub = await subscribe(svc)
    sid, old = sub["subscriber_id"], bearer(sub["api_key"])
    r = await svc.client.post(f"/v1/subscribers/{sid}/keys", headers=OFFICIAL)
    assert r.status_code == 201, r.text
    new = bearer(r.json()["api_key"])
    assert (await svc.client.get("/v1/events", headers=old)).status_code == 200  # rotation: both valid
    r = await svc.client.post(f"/v1/subscribers/{sid}/keys/{sub['key_id']}/revoke", headers=OFFICIAL)
    assert r.status_code == 200 and r.json()["revoked_at"]
    refused = await svc.client.get("/v1/events", headers=old)
    assert refused.status_code == 401 and refused.headers["content-type"] == "application/problem+json"
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    assert (await svc.client.get("/v1/events", headers=new)).status_code == 200
    r = await svc.client.post(f"/v1/subscribers/{sid}/disable", headers=OFFICIAL)
    assert r.status_code == 200 and r.json()["status"] == "disabled"
    assert (await svc.client.get("/v1/events", headers=new)).status_code == 401
    for anonymous in ({}, bearer("wfk_nonsense"), bearer("wfk_AAAAAAAAAAAA_" + "A" * 43)):
        assert (await svc.client.get("/v1/events", headers=anonymous)).status_code == 401


async def test_an_oauth_client_credentials_subscriber_pulls_with_its_token(svc: ServiceUnderTest):
    await svc.feed(team_formed(WARD, 1), team_formed(OTHER_WARD, 2))
    await subscribe(svc, oauth_client_id="dong-ve-feed")
    client_token = {"Authorization": f"Bearer {token('feed_subscriber', OTHER_WARD, 'service-account-dv', azp='dong-ve-feed')}"}
    got = batch(await svc.client.get("/v1/events", headers=client_token))
    assert [e["subject"] for e in got] == ["team-1"]
    stranger = {"Authorization": f"Bearer {token('feed_subscriber', OTHER_WARD, 'sa', azp='someone-else')}"}
    assert (await svc.client.get("/v1/events", headers=stranger)).status_code == 401
    person = {"Authorization": f"Bearer {token('ward_official', WARD, azp='dong-ve-feed')}"}
    assert (await svc.client.get("/v1/events", headers=person)).status_code == 403  # not a subscriber's role


async def test_bad_cursors_limits_and_waits_are_problems(svc: ServiceUnderTest):
    key = bearer((await subscribe(svc))["api_key"])
    for params in ({"after": "bm90LWEtY3Vyc29y"}, {"after": "x"}, {"after": "djI6MQ"}, {"limit": 0},
                   {"limit": 501}, {"wait": 31}, {"wait": -1}, {"after": "a/b"}):
        r = await svc.client.get("/v1/events", params=params, headers=key)
        assert r.status_code == 422, (params, r.text)
        assert r.headers["content-type"] == "application/problem+json"
    assert (await svc.client.get("/v1/events", params={"limit": 500}, headers=key)).status_code == 200


async def test_subscribers_are_managed_by_officials_of_their_wards(svc: ServiceUnderTest):
    mine = await subscribe(svc)
    both = await subscribe(svc, CITY, wards=[WARD, OTHER_WARD])
    r = await svc.client.post("/v1/subscribers", json={"name": "x", "wards": [OTHER_WARD]}, headers=OFFICIAL)
    assert r.status_code == 403
    r = await svc.client.post("/v1/subscribers", json={"name": "x", "wards": [WARD], "extra": 1}, headers=OFFICIAL)
    assert r.status_code == 422
    listed = (await svc.client.get("/v1/subscribers", headers=OFFICIAL)).json()
    assert [s["subscriber_id"] for s in listed["items"]] == [mine["subscriber_id"]] and listed["next_cursor"] is None
    every = (await svc.client.get("/v1/subscribers", params={"limit": 1}, headers=CITY)).json()
    assert len(every["items"]) == 1 and every["next_cursor"]
    assert (await svc.client.get(f"/v1/subscribers/{both['subscriber_id']}", headers=OFFICIAL)).status_code == 404
    assert (await svc.client.get("/v1/subscribers", headers=auth("resident", WARD))).status_code == 403
    assert (await svc.client.get("/v1/subscribers", headers=bearer(mine["api_key"]))).status_code == 401


async def test_the_public_contract_is_served_without_a_token(svc: ServiceUnderTest):
    doc = await svc.client.get("/asyncapi/public.json")
    assert doc.status_code == 200 and doc.json()["asyncapi"].startswith("3.")
    assert set(doc.json()["components"]["messages"]) >= {TEAM_TYPE, GROUP_TYPE}
    assert doc.json()["servers"]["feed"]["host"] == "127.0.0.1:8006"  # FEED_PUBLIC_URL
    yaml = await svc.client.get("/asyncapi/public.yaml")
    assert yaml.status_code == 200 and yaml.headers["content-type"].startswith("application/yaml")
    schema = await svc.client.get(f"/schemas/{TEAM_TYPE}.json")
    assert schema.status_code == 200, schema.text
    body = schema.json()
    assert body["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert body["$id"] == f"http://127.0.0.1:8006/schemas/{TEAM_TYPE}.json"
    for unknown in ("public.registry.team.dissolved.v9", "registry.team.formed.v1"):
        r = await svc.client.get(f"/schemas/{unknown}.json")
        assert r.status_code in (404, 422) and r.headers["content-type"] == "application/problem+json"
