"""Issue 17's delivery tests: the notify service on the real PostgreSQL, its delivery worker, and real servers on
local ports playing the providers (an aiosmtpd SMTP server, the SMS gateway; tests/support/providers.py). Contact
points are verified the way a person does it: the code arrives through the provider and is typed back.

* an overdue tip gives its officer one email and one SMS, however often its event is redelivered;
* quiet hours hold a non-urgent message until 06:00 local;
* a gateway that fails for a while delivers later, exactly once;
* nothing in any message, delivery, event or log names the reporter."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from services.notify.bootstrap import build
from shared.contracts.identity import AccountChanged
from shared.contracts.incidents import IncidentAssigned, IncidentOverdue, IncidentReported
from tests.conftest import auth
from tests.harness import ServiceUnderTest, serve
from tests.integration.conftest import eventually
from tests.notify.conftest import WARD, Clock
from tests.support.providers import SmsProvider, SmtpSink, sms_provider, smtp_server

pytestmark = pytest.mark.integration

OFFICER = "acc-flow-officer"
REPORTER = "acc-flow-reporter"  # a resident who reported the tip (identified, not anonymous)
REPORTER_RESIDENT = "res-flow-reporter"
ME = auth("police", WARD, sub=OFFICER)
EMAIL, PHONE = "officer.le@police.example", "+84912345678"
CONSOLE = "https://console.phuson.example"


def at_local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=UTC) - timedelta(hours=7)  # Asia/Ho_Chi_Minh is UTC+7


@pytest.fixture
async def providers() -> AsyncIterator[tuple[SmtpSink, SmsProvider]]:
    with smtp_server() as smtp:
        async with sms_provider() as sms:
            yield smtp, sms


def provider_settings(smtp: SmtpSink, sms: SmsProvider) -> dict[str, Any]:
    return {"notify_smtp_host": smtp.host, "notify_smtp_port": smtp.port, "notify_smtp_tls": "none",
            "notify_smtp_from": "Phường Phú Sơn <no-reply@phuson.example>", "sms_gateway_url": sms.url,
            "sms_gateway_key_id": sms.key_id, "sms_gateway_secret": sms.secret, "notify_console_url": CONSOLE}


@pytest.fixture
async def svc(db, started, providers, clock: Clock) -> AsyncIterator[ServiceUnderTest]:
    async with serve(lambda settings: build(settings, clock=clock), "notify", db, started,
                     **provider_settings(*providers),
                     notify_delivery_poll_s=3600) as service:  # the tests drive the worker themselves
        yield service


def code_in(text: str) -> str:
    return re.search(r"\b(\d{6})\b", text).group(1)


async def verified_officer(svc: ServiceUnderTest, smtp: SmtpSink, sms: SmsProvider) -> None:
    """The officer's account, and their email and phone verified with the codes that reached them."""
    await svc.feed(AccountChanged(ward_id=WARD, subject=OFFICER, account_id=OFFICER, roles=["police"]),
                   AccountChanged(ward_id=WARD, subject=REPORTER, account_id=REPORTER, roles=["resident"],
                                  resident_id=REPORTER_RESIDENT))
    for channel, address in (("email", EMAIL), ("sms", PHONE)):
        r = await svc.client.put(f"/v1/contacts/{channel}", json={"address": address}, headers=ME)
        assert r.status_code == 202, r.text
    code_mail = smtp.messages[-1]
    assert code_mail["To"] == EMAIL
    assert sms.sent[-1]["to"] == PHONE
    for channel, code in (("email", code_in(code_mail.get_content())), ("sms", code_in(sms.sent[-1]["text"]))):
        r = await svc.client.post(f"/v1/contacts/{channel}/verify", json={"code": code}, headers=ME)
        assert r.status_code == 200 and r.json()["verified"], r.text


def tip_events(incident: str) -> tuple[IncidentReported, IncidentAssigned]:
    base = {"ward_id": WARD, "subject": incident, "incident_id": incident, "group_id": "g-flow"}
    return (IncidentReported(**base, category="theft", is_crime_tip=True, anonymous=False,
                             reported_at=datetime(2026, 11, 1, tzinfo=UTC)),
            IncidentAssigned(**base, assignee_kind="police", officer_ref=OFFICER))


def overdue(incident: str) -> IncidentOverdue:
    return IncidentOverdue(ward_id=WARD, subject=incident, incident_id=incident, group_id="g-flow", category="theft",
                           deadline_on=date(2026, 11, 30), received_at=datetime(2026, 11, 1, tzinfo=UTC))


async def deliveries(svc: ServiceUnderTest) -> list[dict[str, Any]]:
    rows = await svc.db.fetch("notify", "SELECT d.*, n.kind, n.person_id FROM deliveries d "
                                        "JOIN notifications n USING (notification_id) ORDER BY d.delivery_id")
    return [dict(r) for r in rows]


async def test_an_overdue_tip_gives_its_officer_one_email_and_one_sms_however_often_it_is_redelivered(
        svc: ServiceUnderTest, providers, clock: Clock, caplog) -> None:
    smtp, sms = providers
    caplog.set_level(logging.DEBUG)
    await verified_officer(svc, smtp, sms)
    codes_mailed, codes_texted = len(smtp.messages), len(sms.sent)
    reported, assigned = tip_events("tip-flow-1")
    event = overdue("tip-flow-1")
    await svc.feed(reported, assigned, event)
    await svc.feed(event)  # the same event redelivered (a rebalance)
    await svc.feed(overdue("tip-flow-1"), overdue("tip-flow-1"))  # the check re-emitting the same fact
    worker = svc.app.state.delivery_worker
    await worker.drain()
    await svc.feed(event)  # and once more after it went out
    clock.at += timedelta(hours=2)
    await worker.drain()

    mails, texts = smtp.messages[codes_mailed:], sms.sent[codes_texted:]
    assert [(m["To"], m["Subject"]) for m in mails] == [(EMAIL, "Tin tố giác tip-flow-1 đã quá hạn")]
    assert f"{CONSOLE}/police/incidents/tip-flow-1" in mails[0].get_content()
    assert [(t["to"], t["text"]) for t in texts] == [
        (PHONE, f"Tin tố giác tip-flow-1 đã quá hạn. {CONSOLE}/police/incidents/tip-flow-1")]
    overdue_rows = [d for d in await deliveries(svc) if d["kind"] == "tip.overdue"]
    assert sorted((d["channel"], d["status"], d["attempts"], d["person_id"]) for d in overdue_rows) == [
        ("email", "sent", 1, OFFICER), ("sms", "sent", 1, OFFICER)]
    mine = (await svc.client.get("/v1/deliveries", headers=ME)).json()["items"]
    assert {(d["channel"], d["status"]) for d in mine if d["status"] == "sent"} == {("email", "sent"), ("sms", "sent")}
    await no_reporter_anywhere(svc, smtp, sms, caplog)


async def test_quiet_hours_hold_a_non_urgent_message_until_six_in_the_morning(
        svc: ServiceUnderTest, providers, clock: Clock) -> None:
    smtp, sms = providers
    await verified_officer(svc, smtp, sms)
    r = await svc.client.put("/v1/preferences/tip.assigned", json={"channels": ["email"], "digest": False}, headers=ME)
    assert r.status_code == 200, r.text
    before = len(smtp.messages)
    clock.at = at_local(2, 23, 10)
    reported, assigned = tip_events("tip-flow-2")
    await svc.feed(reported, assigned)
    worker = svc.app.state.delivery_worker
    await worker.drain()
    [row] = [d for d in await deliveries(svc) if d["kind"] == "tip.assigned"]
    assert row["status"] == "pending" and row["not_before"] == at_local(3, 6, 0)
    clock.at = at_local(3, 5, 59)
    await worker.drain()
    assert len(smtp.messages) == before  # nothing in the night
    clock.at = at_local(3, 6, 0)
    await worker.drain()
    assert [m["Subject"] for m in smtp.messages[before:]] == ["Tin báo tip-flow-2 được giao cho bạn"]
    [row] = [d for d in await deliveries(svc) if d["kind"] == "tip.assigned"]
    assert row["status"] == "sent" and row["sent_at"] == at_local(3, 6, 0)


async def test_a_gateway_that_fails_for_a_while_delivers_later_exactly_once(
        svc: ServiceUnderTest, providers, clock: Clock) -> None:
    smtp, sms = providers
    await verified_officer(svc, smtp, sms)
    texted = len(sms.sent)
    sms.fail_next(4, 503)
    reported, assigned = tip_events("tip-flow-3")
    await svc.feed(reported, assigned, overdue("tip-flow-3"))
    worker = svc.app.state.delivery_worker
    for _ in range(4):
        await worker.drain()
        [row] = [d for d in await deliveries(svc) if d["kind"] == "tip.overdue" and d["channel"] == "sms"]
        assert row["status"] == "pending" and row["last_error"] == "HTTP 503"
        await svc.feed(overdue("tip-flow-3"))  # redeliveries meanwhile change nothing
        clock.at = row["not_before"]
    sms.slow_s = 0.5
    await worker.drain()
    [row] = [d for d in await deliveries(svc) if d["kind"] == "tip.overdue" and d["channel"] == "sms"]
    assert (row["status"], row["attempts"], row["last_error"]) == ("sent", 5, None)
    assert [t["to"] for t in sms.sent[texted:]] == [PHONE]
    assert row["provider_message_id"] == sms.sent[-1]["message_id"]
    assert len([r for r in sms.requests if r.json().get("reference") == row["delivery_id"]]) == 5


async def no_reporter_anywhere(svc: ServiceUnderTest, smtp: SmtpSink, sms: SmsProvider, caplog) -> None:
    """The reporter's account and resident ids appear in no message, notification, delivery, event or log line, and
    the reporter was told nothing of the tip."""
    texts = [m.as_string() for m in smtp.messages] + [str(t) for t in sms.sent] + [r.body.decode() for r in sms.requests]
    stored = [str(dict(r)) for r in await svc.db.fetch("notify", "SELECT * FROM notifications")]
    stored += [str(d) for d in await deliveries(svc)]
    events = [str(e) for e in await svc.outbox()]
    # every log line of this process but those of the aiosmtpd server playing the provider ("mail.log")
    logged = [f"{r.getMessage()} {r.__dict__}" for r in caplog.records if not r.name.startswith("mail.")]
    for where, items in (("messages", texts), ("notifications", stored), ("events", events), ("logs", logged)):
        for item in items:
            assert REPORTER not in item and REPORTER_RESIDENT not in item, where
    for item in logged:  # nor the officer's own addresses
        assert EMAIL not in item and PHONE not in item
    told = await svc.db.fetch("notify", "SELECT kind FROM notifications WHERE person_id = $1", REPORTER)
    assert told == []


async def test_the_service_runs_the_worker_by_itself_once_a_channel_is_configured(db, started, providers) -> None:
    smtp, sms = providers
    async with serve(build, "notify", db, started, **provider_settings(smtp, sms),
                     notify_delivery_poll_s=0.2) as svc:
        await verified_officer(svc, smtp, sms)
        texted = len(sms.sent)
        reported, assigned = tip_events("tip-flow-4")
        await svc.feed(reported, assigned, overdue("tip-flow-4"))

        async def delivered() -> bool:
            return len(sms.sent) > texted and len(smtp.messages) > 1

        await eventually(delivered, timeout=20)
    assert sms.sent[-1]["text"].startswith("Tin tố giác tip-flow-4 đã quá hạn")
    async with serve(build, "notify", db, started) as unconfigured:  # no channel: no worker, deliveries wait
        assert [name for name, _ in unconfigured.app.state.runtime._background] == []
