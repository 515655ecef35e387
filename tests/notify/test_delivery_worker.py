"""The delivery worker (services/notify/delivery.py) on the real PostgreSQL, against the notify tables exactly as the
issue's contract fixes them, with real servers playing the providers (tests/support/providers.py): claims, retries
with backoff, give-up, digests, quiet hours for retries, a worker that dies after sending, two workers at once."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from services.notify.delivery import DeliveryWorker, Item, RetryPolicy, render
from shared.channels import Mailer, SmsGateway, ZaloGateway
from shared.idempotency import Sealer
from tests.support.providers import sms_provider, smtp_server, zalo_provider

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
CONSOLE = "https://console.phuson.example"
SEALER = Sealer("notify", "test-only-notify-contact-key-0123456789", purpose="contact")
ADDRESSES = {"email": "officer.tran@phuson.example", "sms": "+84901234567", "zalo": "8412345678901234567"}

#: The notify service's own tables, from its migration (the worker is tested on exactly what it runs against).
NOTIFY_DDL = (Path(__file__).resolve().parents[2] / "services/notify/migrations/0001_notify.sql").read_text()


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **kw: float) -> None:
        self.at += timedelta(**kw)


@pytest.fixture
async def pool(pg_server) -> AsyncIterator[asyncpg.Pool]:
    schema = f"notify_worker_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(pg_server.admin_url)
    await admin.execute(f'CREATE SCHEMA "{schema}"')
    await admin.execute(f'SET search_path TO "{schema}"')
    await admin.execute(NOTIFY_DDL)
    await admin.close()

    pool = await asyncpg.create_pool(pg_server.admin_url, min_size=1, max_size=6,
                                     server_settings={"search_path": schema})
    try:
        yield pool
    finally:
        await pool.close()
        admin = await asyncpg.connect(pg_server.admin_url)
        await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await admin.close()


async def person(pool: asyncpg.Pool, person_id: str, *channels: str, verified: bool = True,
                 disabled: bool = False) -> None:
    now = datetime.now(UTC)
    await pool.execute("INSERT INTO people VALUES ($1, 'phu-son', '{police}', NULL, '{}', $2, $3)",
                       person_id, disabled, now)
    for channel in channels:
        await pool.execute("INSERT INTO contacts VALUES ($1, $2, $3, $4)", person_id, channel,
                           SEALER.encrypt(ADDRESSES[channel], f"{person_id}|{channel}"), now if verified else None)


async def notify(pool: asyncpg.Pool, person_id: str, fact: str, channels: list[str], not_before: datetime, *,
                 urgent: bool = False, digest: bool = False, created: datetime | None = None) -> list[str]:
    nid = str(uuid.uuid4())
    incident = fact.split(":")[-1]
    await pool.execute(
        "INSERT INTO notifications VALUES ($1, $2, 'phu-son', 'tip.overdue', $3, $4, $5, $6, $7, $8, NULL)",
        nid, person_id, fact, urgent, f"Crime tip {incident} is overdue",
        "The crime tip in group Tổ 3 was to be decided by 2026-12-01 and is not. Decide it now in the console.",
        f"{CONSOLE}/police/incidents/{incident}", created or not_before)
    ids = []
    for channel in channels:
        did = str(uuid.uuid5(uuid.UUID(nid), channel))
        await pool.execute("INSERT INTO deliveries (delivery_id, notification_id, channel, status, not_before, digest,"
                           " updated_at) VALUES ($1, $2, $3, 'pending', $4, $5, $4)", did, nid, channel, not_before,
                           digest)
        ids.append(did)
    return ids


async def rows(pool: asyncpg.Pool) -> dict[str, asyncpg.Record]:
    return {r["delivery_id"]: r for r in await pool.fetch("SELECT * FROM deliveries")}


def worker(pool: asyncpg.Pool, channels: dict, clock: Clock, **kw) -> DeliveryWorker:
    return DeliveryWorker(lambda: pool, channels, SEALER, console_url=CONSOLE, tz=HCM, clock=clock,
                          draw=lambda: 1.0, **kw)


def sms_channel(sms, timeout_s: float = 5) -> SmsGateway:
    return SmsGateway(url=sms.url, key_id=sms.key_id, secret=sms.secret, timeout_s=timeout_s)


def mailer(smtp) -> Mailer:
    return Mailer(host=smtp.host, port=smtp.port, sender="no-reply@phuson.example", tls="none", timeout_s=5)


NOON = datetime(2026, 12, 3, 12, 0, tzinfo=HCM).astimezone(UTC)


async def test_one_email_one_sms_and_one_zalo_with_what_to_do_and_the_link(pool) -> None:
    await person(pool, "officer-1", "email", "sms", "zalo")
    ids = await notify(pool, "officer-1", "incidents.overdue:inc-7", ["email", "sms", "zalo"], NOON, urgent=True)
    clock = Clock(NOON)
    with smtp_server() as smtp:
        async with sms_provider() as sms, zalo_provider() as zalo:
            w = worker(pool, {"email": mailer(smtp), "sms": sms_channel(sms),
                              "zalo": ZaloGateway(api_url=zalo.url, access_token=zalo.access_token)}, clock)
            assert await w.drain() == 3
            assert await w.drain() == 0
    [mail] = smtp.messages
    assert mail["To"] == ADDRESSES["email"] and mail["Subject"] == "Crime tip inc-7 is overdue"
    assert f"{CONSOLE}/police/incidents/inc-7" in mail.get_content()
    assert mail["Message-ID"] == f"<{ids[0]}@phuson.example>"
    assert [(m["to"], m["reference"]) for m in sms.sent] == [(ADDRESSES["sms"], ids[1])]
    assert sms.sent[0]["text"] == f"Crime tip inc-7 is overdue. {CONSOLE}/police/incidents/inc-7"
    assert zalo.sent[0]["user_id"] == ADDRESSES["zalo"] and "Decide it now" in zalo.sent[0]["text"]
    state = await rows(pool)
    assert {d: (r["status"], r["attempts"], r["last_error"]) for d, r in state.items()} == {
        d: ("sent", 1, None) for d in ids}
    assert state[ids[0]]["provider_message_id"] == "Q000001"
    assert state[ids[1]]["provider_message_id"] == sms.sent[0]["message_id"]
    assert all(r["sent_at"] == NOON for r in state.values())


async def test_not_before_the_release_time(pool) -> None:
    await person(pool, "officer-1", "sms")
    [did] = await notify(pool, "officer-1", "incidents.overdue:inc-8", ["sms"], NOON + timedelta(hours=18))
    clock = Clock(NOON)
    async with sms_provider() as sms:
        w = worker(pool, {"sms": sms_channel(sms)}, clock)
        assert await w.drain() == 0
        clock.advance(hours=18)
        assert await w.drain() == 1
    assert len(sms.sent) == 1 and (await rows(pool))[did]["status"] == "sent"


async def test_a_gateway_failing_for_a_while_delivers_later_exactly_once_with_backoff(pool) -> None:
    await person(pool, "officer-1", "sms")
    [did] = await notify(pool, "officer-1", "incidents.overdue:inc-9", ["sms"], NOON, urgent=True)
    clock = Clock(NOON)
    async with sms_provider() as sms:
        w = worker(pool, {"sms": sms_channel(sms)}, clock, policy=RetryPolicy(max_attempts=8, base_s=30, cap_s=3600))
        sms.fail_next(3, 503)
        waits = []
        for _ in range(3):
            assert await w.drain() == 1
            row = (await rows(pool))[did]
            assert row["status"] == "pending" and row["last_error"] == "HTTP 503"
            waits.append(row["not_before"] - clock.at)
            assert await w.drain() == 0  # not before its time
            clock.at = row["not_before"]
        assert await w.drain() == 1
    assert waits == [timedelta(seconds=30), timedelta(seconds=60), timedelta(seconds=120)]  # draw 1.0: the ceiling
    row = (await rows(pool))[did]
    assert (row["status"], row["attempts"], row["last_error"]) == ("sent", 4, None)
    assert len(sms.sent) == 1 and len(sms.requests) == 4


def test_backoff_is_jittered_between_half_and_the_ceiling_and_capped() -> None:
    policy = RetryPolicy(base_s=30, cap_s=3600)
    assert policy.delay(1, 0.0) == timedelta(seconds=15) and policy.delay(1, 1.0) == timedelta(seconds=30)
    assert policy.delay(3, 0.5) == timedelta(seconds=90)
    assert policy.delay(20, 1.0) == timedelta(seconds=3600)


async def test_a_refused_message_fails_at_once_and_a_failing_gateway_gives_up_after_max_attempts(pool) -> None:
    await person(pool, "officer-1", "sms")
    [refused] = await notify(pool, "officer-1", "incidents.overdue:inc-10", ["sms"], NOON, urgent=True)
    [flaky] = await notify(pool, "officer-1", "incidents.overdue:inc-11", ["sms"], NOON + timedelta(seconds=1),
                           urgent=True)
    clock = Clock(NOON + timedelta(seconds=1))
    async with sms_provider() as sms:
        w = worker(pool, {"sms": sms_channel(sms)}, clock, policy=RetryPolicy(max_attempts=3, base_s=1, cap_s=1))
        sms.fail_next(1, 400)
        assert await w.deliver_once()  # the refused one (due first)
        sms.fail_next(10, 502)
        for _ in range(3):
            await w.drain()
            clock.advance(seconds=5)
    state = await rows(pool)
    assert (state[refused]["status"], state[refused]["attempts"], state[refused]["last_error"]) == (
        "failed", 1, "HTTP 400")
    assert (state[flaky]["status"], state[flaky]["attempts"], state[flaky]["last_error"]) == ("failed", 3, "HTTP 502")
    assert sms.sent == []


async def test_a_worker_that_dies_after_sending_is_taken_over_and_the_message_is_not_sent_twice(pool) -> None:
    await person(pool, "officer-1", "sms")
    [did] = await notify(pool, "officer-1", "incidents.overdue:inc-12", ["sms"], NOON, urgent=True)
    clock = Clock(NOON)
    async with sms_provider() as sms:
        dying = worker(pool, {"sms": sms_channel(sms)}, clock, lease_s=60)

        async def crash(*_args, **_kw):
            raise SystemExit("killed between the provider's answer and the record")

        dying._record = crash  # type: ignore[method-assign]
        with pytest.raises(SystemExit):
            await dying.deliver_once()
        row = (await rows(pool))[did]
        assert (row["status"], row["attempts"]) == ("sending", 1) and len(sms.sent) == 1
        other = worker(pool, {"sms": sms_channel(sms)}, clock, lease_s=60)
        assert await other.drain() == 0  # still leased
        clock.advance(seconds=61)
        assert await other.drain() == 1
    row = (await rows(pool))[did]
    assert (row["status"], row["attempts"]) == ("sent", 2)
    assert len(sms.requests) == 2 and len(sms.sent) == 1  # the resend carried the same key: nothing sent twice
    assert row["provider_message_id"] == sms.sent[0]["message_id"]


async def test_a_worker_whose_lease_was_taken_over_records_nothing_over_the_one_that_took_it(pool, caplog) -> None:
    await person(pool, "officer-1", "sms")
    [did] = await notify(pool, "officer-1", "incidents.overdue:inc-14", ["sms"], NOON, urgent=True)
    clock = Clock(NOON)
    slow, other = (worker(pool, {}, clock, lease_s=60) for _ in range(2))

    async def claim(w: DeliveryWorker) -> Any:
        async with pool.acquire() as conn, conn.transaction():
            return await w._claim(conn, clock())

    first = await claim(slow)
    clock.advance(seconds=61)  # the slow worker's provider has not answered yet: its lease runs out
    second = await claim(other)
    assert first is not None and second is not None
    caplog.set_level(logging.DEBUG)
    async with pool.acquire() as conn:  # the slow one's answer comes while the other is still sending
        await slow._record(conn, *first, "retry", "HTTP 503")
    row = (await rows(pool))[did]
    assert (row["status"], row["attempts"], row["last_error"]) == ("sending", 2, None)
    assert "its lease was taken over" in caplog.text
    async with pool.acquire() as conn:
        await other._record(conn, *second, "sent", "msg-14")
    row = (await rows(pool))[did]
    assert (row["status"], row["attempts"], row["provider_message_id"]) == ("sent", 2, "msg-14")


async def test_a_timeout_after_the_gateway_sent_is_retried_without_a_second_message(pool) -> None:
    await person(pool, "officer-1", "sms")
    [did] = await notify(pool, "officer-1", "incidents.overdue:inc-13", ["sms"], NOON, urgent=True)
    clock = Clock(NOON)
    async with sms_provider() as sms:
        sms.slow_s = 1.0
        sms.fail_next(1, "slow")
        w = worker(pool, {"sms": sms_channel(sms, timeout_s=0.3)}, clock)
        await w.drain()
        assert (await rows(pool))[did]["last_error"] == "timeout"
        clock.advance(hours=1)
        # the retry with a timeout no loaded machine reaches: only the first attempt is meant to time out
        await worker(pool, {"sms": sms_channel(sms, timeout_s=30)}, clock).drain()
    assert (await rows(pool))[did]["status"] == "sent" and len(sms.sent) == 1


async def test_a_failed_non_urgent_retry_waits_out_the_night(pool) -> None:
    await person(pool, "officer-1", "sms")
    late = datetime(2026, 12, 3, 21, 59, 50, tzinfo=HCM).astimezone(UTC)
    [did] = await notify(pool, "officer-1", "incidents.deadline_near:inc-14", ["sms"], late)
    async with sms_provider() as sms:
        sms.fail_next(1, 503)
        await worker(pool, {"sms": sms_channel(sms)}, Clock(late)).drain()
    row = (await rows(pool))[did]
    assert row["status"] == "pending" and row["not_before"] == datetime(2026, 12, 4, 6, 0, tzinfo=HCM)


async def test_digest_deliveries_due_together_go_as_one_message_per_person_and_channel(pool) -> None:
    seven = datetime(2026, 12, 4, 7, 0, tzinfo=HCM).astimezone(UTC)
    await person(pool, "leader-1", "email", "sms")
    await person(pool, "leader-2", "email")
    mine = []
    for i in range(3):
        mine += await notify(pool, "leader-1", f"stay.late:n-{i}", ["email", "sms"], seven, digest=True,
                             created=NOON + timedelta(minutes=i))
    theirs = await notify(pool, "leader-2", "stay.late:n-9", ["email"], seven, digest=True)
    now_one = await notify(pool, "leader-1", "incidents.overdue:inc-15", ["email"], seven, urgent=True)
    clock = Clock(seven)
    with smtp_server() as smtp:
        async with sms_provider() as sms:
            w = worker(pool, {"email": mailer(smtp), "sms": sms_channel(sms)}, clock)
            assert await w.drain() == 4  # leader-1's digest by email, by SMS; leader-2's; the urgent one
    digests = [m for m in smtp.messages if m["Subject"] == "3 việc đang chờ bạn"]
    assert len(digests) == 1 and digests[0]["To"] == ADDRESSES["email"]
    text = digests[0].get_content()
    assert [f"{CONSOLE}/police/incidents/n-{i}" in text for i in range(3)] == [True] * 3
    assert len(smtp.messages) == 3 and len(sms.sent) == 1
    assert sms.sent[0]["text"] == f"3 việc đang chờ bạn trên hệ thống: {CONSOLE}"
    state = await rows(pool)
    assert all(state[d]["status"] == "sent" for d in [*mine, *theirs, *now_one])
    email_ids = {state[d]["provider_message_id"] for d in mine if state[d]["channel"] == "email"}
    assert len(email_ids) == 1  # one message, recorded on each of its deliveries
    assert sms.sent[0]["reference"] == mine[1]  # the key: the first notification's delivery (stable on retries)


async def test_no_verified_contact_or_a_disabled_account_is_skipped_not_sent(pool) -> None:
    await person(pool, "officer-1", "sms", verified=False)
    await person(pool, "officer-2", "sms", disabled=True)
    await person(pool, "officer-3")
    a = await notify(pool, "officer-1", "incidents.overdue:inc-16", ["sms"], NOON, urgent=True)
    b = await notify(pool, "officer-2", "incidents.overdue:inc-16", ["sms"], NOON, urgent=True)
    c = await notify(pool, "officer-3", "incidents.overdue:inc-16", ["sms", "email"], NOON, urgent=True)
    async with sms_provider() as sms:
        assert await worker(pool, {"sms": sms_channel(sms)}, Clock(NOON)).drain() == 4
    state = await rows(pool)
    assert {state[d]["last_error"] for d in a} == {"no verified contact"}
    assert {state[d]["last_error"] for d in b} == {"account disabled"}
    assert sorted(state[d]["last_error"] for d in c) == ["channel not configured", "no verified contact"]
    assert {r["status"] for r in state.values()} == {"skipped"} and sms.requests == []


async def test_two_workers_at_once_send_each_delivery_once(pool) -> None:
    for i in range(4):
        await person(pool, f"officer-{i}", "sms")
    ids = []
    for i in range(24):
        ids += await notify(pool, f"officer-{i % 4}", f"incidents.overdue:inc-{i}", ["sms"], NOON, urgent=True)
    clock = Clock(NOON)
    async with sms_provider() as sms:
        workers = [worker(pool, {"sms": sms_channel(sms)}, clock) for _ in range(3)]
        counts = await asyncio.gather(*(w.drain() for w in workers))
    assert sum(counts) == 24 and len(sms.requests) == 24
    assert sorted(m["reference"] for m in sms.sent) == sorted(ids)


async def test_the_run_loop_is_woken_by_a_retry_and_logs_no_address_or_text(pool, caplog) -> None:
    await person(pool, "officer-1", "sms")
    [did] = await notify(pool, "officer-1", "incidents.overdue:inc-20", ["sms"], NOON, urgent=True)
    clock = Clock(NOON)
    caplog.set_level(logging.DEBUG)
    async with sms_provider() as sms:
        sms.fail_next(1, 503)
        w = worker(pool, {"sms": sms_channel(sms)}, clock, policy=RetryPolicy(base_s=0.2, cap_s=0.2), poll_s=30)
        task = asyncio.create_task(w.run())
        for _ in range(100):
            await asyncio.sleep(0.05)
            if (await rows(pool))[did]["status"] == "pending" and len(sms.requests) == 1:
                clock.advance(seconds=1)  # the retry's time has come; its call_later wakes the loop
                break
        for _ in range(100):
            await asyncio.sleep(0.05)
            if (await rows(pool))[did]["status"] == "sent":
                break
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert (await rows(pool))[did]["status"] == "sent" and len(sms.sent) == 1
    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert "delivery will be retried" in logged and "HTTP 503" in logged  # why, as last_error says it
    for secret in (*ADDRESSES.values(), "Crime tip inc-20", "Decide it now"):
        assert secret not in logged


async def test_an_adapter_that_raises_is_retried_and_logged_by_the_exceptions_type_never_its_text(pool, caplog) -> None:
    await person(pool, "officer-1", "sms")
    [did] = await notify(pool, "officer-1", "incidents.overdue:inc-21", ["sms"], NOON, urgent=True)

    class Broken:
        async def send(self, msg):  # an adapter's bug whose text names the recipient
            raise RuntimeError(f"cannot send to {msg.to}: {msg.text}")

    caplog.set_level(logging.DEBUG)
    w = worker(pool, {"sms": Broken()}, Clock(NOON), policy=RetryPolicy(max_attempts=1))
    assert await w.deliver_once()
    state = (await rows(pool))[did]
    assert (state["status"], state["last_error"]) == ("failed", "RuntimeError")
    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert "delivery failed" in logged and "RuntimeError" in logged
    for secret in (*ADDRESSES.values(), "Crime tip inc-21"):
        assert secret not in logged


def test_render_single_and_digest() -> None:
    one = [Item("Report r-1 assigned to you", "A report in group Tổ 3 has been assigned to you.", f"{CONSOLE}/x")]
    assert render("sms", one, CONSOLE) == ("Report r-1 assigned to you", f"Report r-1 assigned to you. {CONSOLE}/x")
    subject, text = render("email", one, CONSOLE)
    assert subject == one[0].title and text.startswith(one[0].body) and f"Mở: {CONSOLE}/x" in text
    two = [*one, Item("Late stay notice s-1", "b", f"{CONSOLE}/y")]
    subject, text = render("zalo", two, CONSOLE)
    assert subject == "2 việc đang chờ bạn" and f"{CONSOLE}/x" in text and f"{CONSOLE}/y" in text


def test_from_settings_refuses_a_lease_shorter_than_two_sends() -> None:
    from shared.settings import ServiceSettings

    base = {"service_name": "notify", "database_url": "postgresql://x@y/z", "environment": "test"}
    ok = DeliveryWorker.from_settings(ServiceSettings(**base), lambda: None, {}, SEALER)
    assert ok.lease == timedelta(seconds=120) and ok.tz == HCM and ok.policy == RetryPolicy(8, 30.0, 3600.0)
    with pytest.raises(ValueError, match="NOTIFY_DELIVERY_LEASE_S"):
        DeliveryWorker.from_settings(ServiceSettings(**base, notify_delivery_lease_s=15), lambda: None, {}, SEALER)
