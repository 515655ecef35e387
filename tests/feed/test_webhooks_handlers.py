"""The webhooks' rules through their handlers, over the in-memory and the PostgreSQL unit of work alike: a webhook
sees only what its subscriber may (filters narrow, never widen), starts now, from the beginning or from a cursor,
has a secret shown once and kept sealed, is paused and resumed (a fresh retry window), has its secret rotated and a
logged delivery sent again; another subscriber's webhook does not exist; every command is audited."""

from __future__ import annotations

import functools
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.feed import consumers, domain, handlers, handlers_webhooks, signing, webhooks
from services.feed.commands import CreateSubscriber, DisableSubscriber
from services.feed.commands_webhooks import (
    CreateWebhook,
    PauseWebhook,
    RedeliverWebhookDelivery,
    ResumeWebhook,
    RotateWebhookSecret,
)
from services.feed.uow import FeedUnitOfWork
from shared.actor import Principal, Role
from shared.application import Application, FakeUnitOfWork
from shared.contracts.registry import PublicTeamFormed
from shared.errors import InvalidInput, NotFound, RuleViolation
from shared.idempotency import Sealer
from tests.application import applications, audited
from tests.feed.conftest import OTHER_WARD, WARD
from tests.feed.fakes_webhooks import FakeFeedWebhooksUnitOfWork

SEALER = Sealer("feed", "handler-suite-feed-key-0123456789abcdef", purpose=signing.PURPOSE)
CITY = Principal("city-1", frozenset({Role.CITY_OFFICIAL}), "*")
TEAM_TYPE = "public.registry.team.formed.v1"
URL = "https://hooks.example.org/feed"


@pytest.fixture(params=["fake", "postgres"])
async def app(request: pytest.FixtureRequest) -> AsyncIterator[Application]:
    async with applications(request, "feed", lambda: FakeFeedWebhooksUnitOfWork(SEALER),
                            functools.partial(FeedUnitOfWork, webhook_secrets=SEALER),  # type: ignore[arg-type]
                            {**handlers.HANDLERS, **handlers_webhooks.HANDLERS}) as application:
        yield application


def as_subscriber(subscriber_id: str) -> Principal:
    return Principal(f"feed-subscriber:{subscriber_id}", frozenset({Role.FEED_SUBSCRIBER}), WARD)


async def subscriber(app: Application, wards: list[str] | None = None, event_types: list[str] | None = None) -> str:
    body: dict[str, Any] = {"name": "Phường Đông Vệ", "wards": wards or [WARD], "event_types": event_types}
    return (await app.run(CreateSubscriber(**body), CITY))["subscriber_id"]


async def append(app: Application, *events: Any) -> None:
    adapters = app.on_events(consumers.HANDLERS)
    for event in events:
        await adapters[type(event)](None, event)  # type: ignore[arg-type]


def team(n: int, ward: str = WARD) -> PublicTeamFormed:
    return PublicTeamFormed(ward_id=ward, subject=f"team-{n}", team_id=f"team-{n}", group_id="tran-phu",
                            kind="security_order", name=f"Tổ {n}")


async def create(app: Application, subscriber_id: str, **body: Any) -> dict[str, Any]:
    return await app.run(CreateWebhook(subscriber_id=subscriber_id, url=URL, **body), as_subscriber(subscriber_id))


async def stored(app: Application, webhook_id: str) -> dict[str, Any]:
    """The webhook's row with its sealed secret (which no read model returns)."""
    probe = app.uow()
    if isinstance(probe, FakeUnitOfWork):
        return dict(probe.webhooks.rows[webhook_id])  # type: ignore[attr-defined]
    async with app.read() as uow:
        return dict(await uow.conn.fetchrow("SELECT * FROM webhooks WHERE webhook_id = $1", webhook_id))


async def test_a_webhook_starts_now_from_the_beginning_or_a_cursor_with_a_secret_shown_once(app: Application):
    await append(app, team(1), team(2))
    sid = await subscriber(app)
    hook = await create(app, sid)
    assert hook["status"] == "active" and hook["secret"].startswith("whsec_")
    async with app.read() as uow:
        head = await uow.feed.last_seq()
    row = await stored(app, hook["webhook_id"])
    assert row["position"] == head and row["wards"] == [WARD] and row["event_types"] is None
    assert hook["secret"].encode() not in bytes(row["secret_sealed"])
    assert signing.unseal(SEALER, hook["webhook_id"], row["secret_sealed"]) == hook["secret"]
    async with app.read() as uow:
        shown = await uow.webhooks.get(hook["webhook_id"])
    assert "secret" not in shown and "secret_sealed" not in shown

    assert (await stored(app, (await create(app, sid, start="beginning"))["webhook_id"]))["position"] == 0
    cursor = domain.encode_cursor(head - 1)
    assert (await stored(app, (await create(app, sid, start=cursor))["webhook_id"]))["position"] == head - 1
    with pytest.raises(InvalidInput):
        await create(app, sid, start="bm90LWEtY3Vyc29y")
    assert [a[:2] for a in await audited(app)][-3:] == [("webhook.create", "webhook")] * 3


async def test_filters_narrow_the_subscribers_grant_and_never_widen_it(app: Application):
    sid = await subscriber(app, wards=[WARD, OTHER_WARD], event_types=[TEAM_TYPE])
    hook = await create(app, sid, wards=[OTHER_WARD])
    assert hook["wards"] == [OTHER_WARD] and hook["event_types"] == [TEAM_TYPE]
    with pytest.raises(InvalidInput, match="not granted"):
        await create(app, sid, wards=["tan-mai"])
    with pytest.raises(InvalidInput, match="not granted"):
        await create(app, sid, event_types=["public.registry.group.created.v1"])
    with pytest.raises(InvalidInput, match="not public event types"):
        await create(app, sid, event_types=["public.nothing.here.v1"])
    with pytest.raises(InvalidInput, match="http or https"):
        await app.run(CreateWebhook(subscriber_id=sid, url="ftp://example.org/x"), as_subscriber(sid))
    await app.run(DisableSubscriber(subscriber_id=sid), CITY)
    with pytest.raises(RuleViolation):
        await create(app, sid)


async def test_pause_resume_rotate_and_redeliver_act_on_the_subscribers_own_webhooks_only(app: Application):
    await append(app, team(1))
    sid, other = await subscriber(app), await subscriber(app)
    hook = await create(app, sid, start="beginning")
    wid, me = hook["webhook_id"], as_subscriber(sid)
    for command in (PauseWebhook, ResumeWebhook, RotateWebhookSecret):
        with pytest.raises(NotFound):
            await app.run(command(subscriber_id=other, webhook_id=wid), as_subscriber(other))
        with pytest.raises(NotFound):
            await app.run(command(subscriber_id=sid, webhook_id=str(uuid.uuid4())), me)

    paused = await app.run(PauseWebhook(subscriber_id=sid, webhook_id=wid), me)
    assert paused["status"] == "paused" and paused["paused_reason"]
    assert (await app.run(PauseWebhook(subscriber_id=sid, webhook_id=wid), me))["status"] == "paused"
    async with app.uow() as uow:  # the worker's failures, as it records them
        now = datetime.now(UTC)
        await uow.webhooks.failed(wid, 7, now - timedelta(hours=1), now + timedelta(minutes=5))
        await uow.commit("test", CITY)
    resumed = await app.run(ResumeWebhook(subscriber_id=sid, webhook_id=wid), me)
    assert resumed["status"] == "active" and resumed["paused_reason"] is None and resumed["failures"] == 0
    row = await stored(app, wid)
    assert row["first_failed_at"] is None and row["next_attempt_at"] <= datetime.now(UTC)

    rotated = await app.run(RotateWebhookSecret(subscriber_id=sid, webhook_id=wid), me)
    assert rotated["secret"] != hook["secret"]
    row = await stored(app, wid)
    assert signing.unseal(SEALER, wid, row["secret_sealed"]) == rotated["secret"]
    # The secret it replaced still signs for a grace period (kept sealed too).
    assert signing.unseal(SEALER, wid, row["previous_secret_sealed"]) == hook["secret"]
    until = datetime.fromisoformat(rotated["previous_secret_valid_until"])
    assert row["previous_secret_until"] == until
    assert timedelta(hours=23) < until - datetime.now(UTC) <= webhooks.SECRET_GRACE

    with pytest.raises(NotFound, match="no such delivery"):
        await app.run(RedeliverWebhookDelivery(subscriber_id=sid, webhook_id=wid, delivery_id="d-0"), me)
    event = await stored_event(app)
    async with app.uow() as uow:
        await uow.webhooks.log_attempt({
            "delivery_id": "d-1", "webhook_id": wid, "seq": event["seq"], "event_id": event["event_id"], "event_type": TEAM_TYPE,
            "attempt": 1, "manual": False, "attempted_at": datetime.now(UTC), "http_status": 204,
            "duration_ms": 3, "error": None, "outcome": "delivered"})
        await uow.commit("test", CITY)
    queued = await app.run(RedeliverWebhookDelivery(subscriber_id=sid, webhook_id=wid, delivery_id="d-1"), me)
    assert queued["status"] == "queued" and str(queued["event_id"]) == str(event["event_id"])
    with pytest.raises(NotFound):
        await app.run(RedeliverWebhookDelivery(subscriber_id=other, webhook_id=wid, delivery_id="d-1"),
                      as_subscriber(other))
    assert await pending_redeliveries(app, wid) == [event["seq"]]
    commands = [a[0] for a in await audited(app)]
    assert commands[-5:] == ["webhook.pause", "webhook.pause", "webhook.resume", "webhook.secret.rotate",
                             "webhook.redeliver"]


async def stored_event(app: Application) -> dict[str, Any]:
    async with app.read() as uow:
        return (await uow.feed.after(0, 100, domain.Filter((WARD,), None)))[-1]


async def pending_redeliveries(app: Application, webhook_id: str) -> list[int]:
    probe = app.uow()
    if isinstance(probe, FakeUnitOfWork):
        return [seq for w, seq in probe.webhooks.redeliveries if w == webhook_id]  # type: ignore[attr-defined]
    async with app.read() as uow:
        rows = await uow.conn.fetch("SELECT seq FROM webhook_redeliveries WHERE webhook_id = $1", webhook_id)
    return [r["seq"] for r in rows]
