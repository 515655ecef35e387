"""Push by webhook, end to end against a real HTTP receiver on a local port (uvicorn), which verifies every request
with the ``standardwebhooks`` library: deliveries in order with valid signatures; an outage (503, then nothing
listening) retried until every event has arrived, in order, none lost; persistent failure pauses the webhook and
resuming continues from the held event; manual redelivery; secret rotation; the callback URL guard over HTTP.

The retry schedule and the give-up window are settings, set small here: nothing sleeps for real hours."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
import standardwebhooks.webhooks
import uvicorn
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from services.feed.bootstrap import build
from shared.contracts.registry import PublicTeamFormed
from shared.devstack.stack import free_port
from tests.conftest import auth
from tests.feed.conftest import OTHER_WARD, WARD
from tests.harness import ServiceUnderTest, serve
from tests.integration.conftest import eventually

pytestmark = pytest.mark.integration

FAST = {"feed_allow_private_callbacks": True, "feed_webhook_retry_base_s": 0.2, "feed_webhook_retry_cap_s": 0.8,
        "feed_webhook_poll_s": 0.5, "feed_webhook_timeout_s": 2.0}


@dataclass
class Received:
    webhook_id: str
    headers: dict[str, str]
    body: bytes
    status: int
    verified: bool


class Receiver:
    """A subscriber's endpoint: answers 204 (or ``status``), records each request and whether its signature
    verifies with the current secret; ``stop()`` leaves nothing listening on its port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/hooks/feed?ward={OTHER_WARD}"
        self.secret = ""
        self.status = 204
        self.received: list[Received] = []
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[Any] | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        try:
            Webhook(self.secret).verify(body, headers)
            verified = True
        except WebhookVerificationError:
            verified = False
        self.received.append(Received(headers.get("webhook-id", ""), headers, body, self.status, verified))
        await send({"type": "http.response.start", "status": self.status, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def start(self) -> None:
        config = uvicorn.Config(self, host="127.0.0.1", port=self.port, lifespan="off", log_level="warning",
                                access_log=False)
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        await eventually(lambda: _true(self._server is not None and self._server.started), timeout=10)

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task
            self._server = self._task = None

    def delivered(self) -> list[str]:
        """The webhook-ids answered 2xx, in the order they arrived."""
        return [r.webhook_id for r in self.received if 200 <= r.status < 300]


async def _true(value: bool) -> bool:
    return value


def team(n: int, ward: str = WARD) -> PublicTeamFormed:
    return PublicTeamFormed(ward_id=ward, subject=f"team-{n}", team_id=f"team-{n}", group_id="tran-phu",
                            kind="security_order", name=f"Tổ {n}")


async def subscribe(svc: ServiceUnderTest, wards: list[str] | None = None) -> dict[str, str]:
    r = await svc.client.post("/v1/subscribers", json={"name": "Phường Đông Vệ", "wards": wards or [WARD]},
                              headers=auth("ward_official", WARD))
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['api_key']}"}


async def create_webhook(svc: ServiceUnderTest, key: dict[str, str], receiver: Receiver, **body: Any) -> dict:
    r = await svc.client.post("/v1/webhooks", json={"url": receiver.url, **body}, headers=key)
    assert r.status_code == 201, r.text
    receiver.secret = r.json()["secret"]
    return r.json()


async def deliveries(svc: ServiceUnderTest, key: dict[str, str], webhook_id: str) -> list[dict]:
    items, cursor = [], None
    while True:
        r = await svc.client.get(f"/v1/webhooks/{webhook_id}/deliveries",
                                 params={"limit": 5, **({"cursor": cursor} if cursor else {})}, headers=key)
        assert r.status_code == 200, r.text
        items += r.json()["items"]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            return items


async def test_deliveries_arrive_in_order_signed_and_survive_an_outage_none_lost(db, started, monkeypatch):
    receiver = Receiver()
    await receiver.start()
    try:
        async with serve(build, "feed", db, started, feed_webhook_give_up_s=120, **FAST) as svc:
            key = await subscribe(svc)
            first = [team(1), team(2, OTHER_WARD), team(3), team(4)]  # the other ward's is not the subscriber's
            await svc.feed(*first)
            hook = await create_webhook(svc, key, receiver, start="beginning")
            assert hook["status"] == "active" and hook["secret"].startswith("whsec_")
            sealed = await db.fetchval("feed", "SELECT secret_sealed FROM webhooks WHERE webhook_id = $1",
                                       hook["webhook_id"])
            assert hook["secret"][6:].encode() not in bytes(sealed)  # kept sealed, never in clear
            expected = [str(e.id) for e in first if e.ward_id == WARD]
            await eventually(lambda: _true(receiver.delivered() == expected), timeout=15)

            # Each request: one structured CloudEvent, signed the Standard Webhooks way, webhook-id = event id.
            sample = receiver.received[0]
            assert all(r.verified for r in receiver.received)
            assert sample.headers["content-type"] == "application/cloudevents+json"
            event = json.loads(sample.body)
            assert event["id"] == sample.webhook_id == expected[0]
            assert event["type"] == "public.registry.team.formed.v1" and event["wardid"] == WARD
            assert event["specversion"] == "1.0" and event["data"]["team_id"] == "team-1"
            # What a receiver must refuse: a tampered body, a replay of an old delivery.
            with pytest.raises(WebhookVerificationError):
                Webhook(receiver.secret).verify(sample.body.replace(b"team-1", b"team-9"), sample.headers)
            later = datetime.now().astimezone() + timedelta(minutes=10)
            with monkeypatch.context() as m:
                m.setattr(standardwebhooks.webhooks, "datetime", frozen_at(later))
                with pytest.raises(WebhookVerificationError, match="too old"):
                    Webhook(receiver.secret).verify(sample.body, sample.headers)

            # The receiver fails (503), then is gone: the held event is retried, nothing after it overtakes it.
            receiver.status = 503
            outage = [team(5), team(6)]
            await svc.feed(*outage)
            await eventually(lambda: _true(sum(r.status == 503 for r in receiver.received) >= 2), timeout=15)
            await receiver.stop()
            seventh = team(7)
            await svc.feed(seventh)
            await asyncio.sleep(1.0)  # a few attempts find nothing listening
            receiver.status = 204
            await receiver.start()
            expected += [str(e.id) for e in outage] + [str(seventh.id)]
            await eventually(lambda: _true(list(dict.fromkeys(receiver.delivered())) == expected), timeout=20)
            assert receiver.delivered() == expected  # no duplicate was acknowledged twice here
            retried = [r.webhook_id for r in receiver.received if r.status == 503]
            assert set(retried) == {expected[3]}  # only the held event was tried during the 503s
            assert all(r.verified for r in receiver.received)

            log = await deliveries(svc, key, hook["webhook_id"])
            outcomes = [(d["event_id"], d["outcome"], d["http_status"]) for d in log]
            assert (expected[3], "failed", 503) in outcomes
            assert any(d["outcome"] == "failed" and d["http_status"] is None and d["error"] for d in log)
            assert {d["event_id"] for d in log if d["outcome"] == "delivered"} == set(expected)
            held = [d for d in log if d["event_id"] == expected[3]]
            assert max(d["attempt"] for d in held) == len(held) >= 3

            # Manual redelivery: sent once more, with the same webhook-id, and logged.
            target = next(d for d in log if d["event_id"] == expected[0] and d["outcome"] == "delivered")
            r = await svc.client.post(
                f"/v1/webhooks/{hook['webhook_id']}/deliveries/{target['delivery_id']}/redeliver", headers=key)
            assert r.status_code == 202, r.text
            await eventually(lambda: _true(receiver.delivered().count(expected[0]) == 2), timeout=10)
            await eventually(lambda: _has_manual(svc, key, hook["webhook_id"]), timeout=10)

            # Rotation: during the grace period a delivery is signed with both secrets, so the receiver still on
            # the old one verifies it, and one that switched verifies it too; after it, the new secret only.
            old = receiver.secret
            r = await svc.client.post(f"/v1/webhooks/{hook['webhook_id']}/rotate-secret", headers=key)
            assert r.status_code == 200 and r.json()["secret"] != old
            new = r.json()["secret"]
            await svc.feed(team(8))
            await eventually(lambda: _true(len(receiver.delivered()) == len(expected) + 2), timeout=10)
            last = receiver.received[-1]
            assert last.verified  # with the old secret, which the receiver still holds
            assert Webhook(new).verify(last.body, last.headers)
            receiver.secret = new
            await db.fetchval("feed", "UPDATE webhooks SET previous_secret_until = now() RETURNING 1")  # grace over
            await svc.feed(team(9))
            await eventually(lambda: _true(len(receiver.delivered()) == len(expected) + 3), timeout=10)
            assert receiver.received[-1].verified
            with pytest.raises(WebhookVerificationError):
                Webhook(old).verify(receiver.received[-1].body, receiver.received[-1].headers)

            r = await svc.client.get("/v1/webhooks", headers=key)
            assert [w["webhook_id"] for w in r.json()["items"]] == [hook["webhook_id"]]
            assert "secret" not in r.json()["items"][0]
            other = await subscribe(svc)
            r = await svc.client.get(f"/v1/webhooks/{hook['webhook_id']}", headers=other)
            assert r.status_code == 404  # another subscriber's webhook does not exist for it
    finally:
        await receiver.stop()


async def test_persistent_failure_pauses_resume_continues_and_private_urls_are_refused(db, started):
    receiver = Receiver()
    receiver.status = 503
    await receiver.start()
    try:
        async with serve(build, "feed", db, started, feed_webhook_give_up_s=1.0, **FAST) as svc:
            key = await subscribe(svc)
            await svc.feed(team(1))  # before the webhook: "now" starts after it
            hook = await create_webhook(svc, key, receiver, start="now")
            held = [team(2), team(3)]
            await svc.feed(*held)
            url = f"/v1/webhooks/{hook['webhook_id']}"
            await eventually(lambda: _status(svc, key, url, "paused"), timeout=15)
            r = await svc.client.get(url, headers=key)
            assert r.json()["paused_reason"].startswith("failing")
            tried = len(receiver.received)
            assert tried >= 2 and {r.webhook_id for r in receiver.received} == {str(held[0].id)}
            await asyncio.sleep(1.0)
            assert len(receiver.received) == tried  # paused: nothing is sent

            receiver.status = 204
            r = await svc.client.post(f"{url}/resume", headers=key)
            assert r.status_code == 200 and r.json()["status"] == "active"
            await eventually(lambda: _true(receiver.delivered() == [str(e.id) for e in held]), timeout=10)

            r = await svc.client.post(f"{url}/pause", headers=key)
            assert r.status_code == 200 and r.json()["status"] == "paused"
            await svc.feed(team(4))
            await asyncio.sleep(1.0)
            assert len(receiver.delivered()) == 2
            await svc.client.post(f"{url}/resume", headers=key)
            await eventually(lambda: _true(len(receiver.delivered()) == 3), timeout=10)

            # A secret no configured key opens pauses that webhook (it never blocks the others); rotating it and
            # resuming delivers.
            await db.fetchval("feed", "UPDATE webhooks SET secret_sealed = '\\x01ff'::bytea RETURNING 1")
            await svc.feed(team(5))
            await eventually(lambda: _status(svc, key, url, "paused"), timeout=10)
            assert (await svc.client.get(url, headers=key)).json()["paused_reason"].startswith("secret unreadable")
            receiver.secret = (await svc.client.post(f"{url}/rotate-secret", headers=key)).json()["secret"]
            await svc.client.post(f"{url}/resume", headers=key)
            await eventually(lambda: _true(len(receiver.delivered()) == 4), timeout=10)
            assert receiver.received[-1].verified

            # A disabled subscriber's webhooks stop at once, as its keys do.
            subscriber_id = await db.fetchval("feed", "SELECT subscriber_id FROM webhooks")
            r = await svc.client.post(f"/v1/subscribers/{subscriber_id}/disable", headers=auth("ward_official", WARD))
            assert r.status_code == 200, r.text
            await svc.feed(team(6))
            await asyncio.sleep(1.0)
            assert len(receiver.received) == tried + 4

        async with serve(build, "feed", db, started, feed_allow_private_callbacks=False) as svc:
            key = await subscribe(svc)
            for private in (receiver.url, "http://localhost:8080/hook", "http://10.0.0.8/hook",
                            "http://169.254.169.254/latest/meta-data", "http://[::1]/hook"):
                r = await svc.client.post("/v1/webhooks", json={"url": private}, headers=key)
                assert r.status_code == 422, (private, r.text)
                assert r.headers["content-type"] == "application/problem+json"
                assert "loopback, private" in r.json()["detail"]
            r = await svc.client.post("/v1/webhooks", json={"url": "ftp://example.org/x"}, headers=key)
            assert r.status_code == 422
            r = await svc.client.post("/v1/webhooks", json={"url": receiver.url}, headers={})
            assert r.status_code == 401
    finally:
        await receiver.stop()


def frozen_at(at: datetime) -> type[datetime]:
    class Frozen(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> datetime:  # always aware
            return at

    return Frozen


async def _status(svc: ServiceUnderTest, key: dict[str, str], url: str, status: str) -> bool:
    r = await svc.client.get(url, headers=key)
    return r.json()["status"] == status


async def _has_manual(svc: ServiceUnderTest, key: dict[str, str], webhook_id: str) -> bool:
    return any(d["manual"] and d["outcome"] == "delivered" for d in await deliveries(svc, key, webhook_id))


class SlowReceiver(Receiver):
    """Answers after a short delay and notes, per callback path, how many requests were in flight at once."""

    def __init__(self) -> None:
        super().__init__()
        self.in_flight: dict[str, int] = {}
        self.most: dict[str, int] = {}
        self.by_path: dict[str, list[str]] = {}

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        path = scope["path"]
        self.in_flight[path] = self.in_flight.get(path, 0) + 1
        self.most[path] = max(self.most.get(path, 0), self.in_flight[path])
        try:
            while (await receive()).get("more_body"):
                pass
            await asyncio.sleep(0.05)
            headers = dict(scope["headers"])
            self.by_path.setdefault(path, []).append(headers[b"webhook-id"].decode())
            await send({"type": "http.response.start", "status": 204, "headers": []})
            await send({"type": "http.response.body", "body": b""})
        finally:
            self.in_flight[path] -= 1


async def test_two_replicas_share_the_work_one_delivery_in_flight_per_webhook_in_order(db, started):
    receiver = SlowReceiver()
    await receiver.start()
    base = f"http://127.0.0.1:{receiver.port}"
    try:
        async with serve(build, "feed", db, started, **FAST) as one, serve(build, "feed", db, started, **FAST) as two:
            key = await subscribe(one)
            paths = ["/a", "/b", "/c"]
            for path in paths:
                r = await (one if path != "/b" else two).client.post(
                    "/v1/webhooks", json={"url": base + path, "start": "beginning"}, headers=key)
                assert r.status_code == 201, r.text
            events = [team(n) for n in range(12)]
            for i in range(0, len(events), 3):  # appended by both replicas' consumers, in turns
                await (one if i % 2 else two).feed(*events[i:i + 3])
            expected = [str(e.id) for e in events]
            await eventually(lambda: _true(all(receiver.by_path.get(p) == expected for p in paths)), timeout=30)
            assert receiver.most == {p: 1 for p in paths}  # never two deliveries of one webhook at once
    finally:
        await receiver.stop()
