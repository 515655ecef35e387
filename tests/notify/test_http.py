"""The notify API on the real PostgreSQL: a person's inbox (paged, unread count, read marks, nobody else's),
contact points verified by a code sent through the channel's adapter (sealed at rest, shown as a hint), preferences
with the contract's defaults, the person's delivery statuses, and RFC 9457 problems."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any

import pytest

from services.notify.bootstrap import build
from shared.channels import ChannelError
from shared.contracts.identity import AccountChanged
from shared.contracts.incidents import IncidentAssigned, IncidentOverdue
from tests.conftest import auth
from tests.harness import ServiceUnderTest, serve
from tests.notify.conftest import WARD

pytestmark = pytest.mark.integration

OFFICER = "acc-http-officer"
ME = auth("police", WARD, sub=OFFICER)
SOMEONE_ELSE = auth("police", WARD, sub="acc-http-other")


class Recorder:
    """A channel adapter that keeps what it is asked to send."""

    def __init__(self) -> None:
        self.sent: list[Any] = []

    async def send(self, msg: Any) -> Any:
        self.sent.append(msg)
        return {"provider_message_id": None}


@pytest.fixture
async def svc(db, started) -> AsyncIterator[ServiceUnderTest]:
    async with serve(build, "notify", db, started) as service:
        service.app.state.notify_senders = {"email": Recorder(), "sms": Recorder()}
        yield service


def code_of(svc: ServiceUnderTest, channel: str) -> str:
    text = svc.app.state.notify_senders[channel].sent[-1].text
    return next(word for word in text.split() if word.rstrip(".").isdigit() and len(word.rstrip(".")) == 6)[:6]


async def test_the_inbox_pages_counts_and_marks_read_only_my_own(svc: ServiceUnderTest) -> None:
    base = {"ward_id": WARD, "group_id": "g1"}
    await svc.feed(AccountChanged(ward_id=WARD, subject=OFFICER, account_id=OFFICER, roles=["police"]),
                   *[IncidentAssigned(**base, subject=f"i{n}", incident_id=f"i{n}", assignee_kind="police",
                                      officer_ref=OFFICER) for n in range(3)])
    first = await svc.client.get("/v1/notifications", params={"limit": 2}, headers=ME)
    assert first.status_code == 200, first.text
    body = first.json()
    assert len(body["items"]) == 2 and body["next_cursor"]
    rest = (await svc.client.get("/v1/notifications", params={"limit": 2, "cursor": body["next_cursor"]},
                                 headers=ME)).json()
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    item = body["items"][0]
    assert item["link"].startswith("http://127.0.0.1:8008/police/incidents/i") and item["kind"] == "tip.assigned"
    assert (await svc.client.get("/v1/notifications/unread-count", headers=ME)).json() == {"count": 3}
    assert (await svc.client.get("/v1/notifications", headers=SOMEONE_ELSE)).json()["items"] == []
    other = await svc.client.post(f"/v1/notifications/{item['notification_id']}/read", headers=SOMEONE_ELSE)
    assert other.status_code == 404 and other.headers["content-type"] == "application/problem+json"
    r = await svc.client.post(f"/v1/notifications/{item['notification_id']}/read", headers=ME)
    assert r.status_code == 200 and r.json()["read_at"]
    unread = (await svc.client.get("/v1/notifications", params={"unread": "true"}, headers=ME)).json()["items"]
    assert len(unread) == 2
    assert (await svc.client.post("/v1/notifications/read-all", headers=ME)).json() == {"marked": 2}
    assert (await svc.client.get("/v1/notifications/unread-count", headers=ME)).json() == {"count": 0}
    bad = await svc.client.get("/v1/notifications", params={"cursor": "nope"}, headers=ME)
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
    assert (await svc.client.get("/v1/notifications")).status_code == 401


async def test_a_contact_is_verified_by_the_code_sent_through_its_channel_and_then_receives_urgent_ones(
        svc: ServiceUnderTest) -> None:
    r = await svc.client.put("/v1/contacts/email", json={"address": "officer@police.example"}, headers=ME)
    assert r.status_code == 202, r.text
    assert r.json() == {"channel": "email", "address_hint": "o•••@police.example", "verified": False}
    sent = svc.app.state.notify_senders["email"].sent[-1]
    assert sent.to == "officer@police.example"
    stored = await svc.db.fetch("notify", "SELECT address_sealed FROM contacts")
    assert b"police.example" not in bytes(stored[0]["address_sealed"])
    code = code_of(svc, "email")
    sent = svc.app.state.notify_senders["email"].sent[-1]
    assert sent.subject == "Mã xác minh của bạn" and sent.text.startswith(f"Mã xác minh: {code} (hiệu lực 15 phút)")
    wrong = await svc.client.post("/v1/contacts/email/verify", json={"code": "000000" if code != "000000" else "111111"},
                                  headers=ME)
    assert wrong.status_code == 422 and wrong.json()["attempts_left"] == 4
    ok = await svc.client.post("/v1/contacts/email/verify", json={"code": code}, headers=ME)
    assert ok.status_code == 200 and ok.json()["verified"] is True
    assert (await svc.client.get("/v1/contacts", headers=ME)).json() == {"items": [
        {"channel": "email", "address_hint": "o•••@police.example", "verified": True}], "next_cursor": None}
    unconfigured = await svc.client.put("/v1/contacts/zalo", json={"address": "0912345678"}, headers=ME)
    assert unconfigured.status_code == 422 and "does not send by zalo" in unconfigured.json()["detail"]
    assert [c["channel"] for c in (await svc.client.get("/v1/contacts", headers=ME)).json()["items"]] == ["email"]

    await svc.feed(IncidentOverdue(ward_id=WARD, subject="t1", incident_id="t1", group_id="g1", category="theft",
                                   deadline_on=date(2026, 11, 30), received_at=datetime(2026, 11, 1, tzinfo=UTC)),
                   IncidentAssigned(ward_id=WARD, subject="t2", incident_id="t2", group_id="g1",
                                    assignee_kind="police", officer_ref=OFFICER))
    # the overdue tip had no officer yet: every police officer of the ward, i.e. the people projected (none here)
    deliveries = (await svc.client.get("/v1/deliveries", headers=ME)).json()["items"]
    assert deliveries == []  # the assignment is not urgent: in-app only
    r = await svc.client.put("/v1/preferences/tip.assigned", json={"channels": ["email", "sms"], "digest": False},
                             headers=ME)
    assert r.status_code == 200 and r.json() == {"kind": "tip.assigned", "channels": ["email", "sms"], "digest": False}
    await svc.feed(IncidentAssigned(ward_id=WARD, subject="t3", incident_id="t3", group_id="g1",
                                    assignee_kind="police", officer_ref=OFFICER))
    deliveries = (await svc.client.get("/v1/deliveries", headers=ME)).json()["items"]
    assert [(d["channel"], d["status"]) for d in deliveries] == [("email", "pending")]  # sms: not verified
    prefs = (await svc.client.get("/v1/preferences", headers=ME)).json()
    assert prefs["quiet_hours"] == {"start": "22:00", "end": "06:00", "timezone": "Asia/Ho_Chi_Minh"}
    kinds = {k["kind"]: k for k in prefs["kinds"]}
    assert kinds["tip.overdue"]["channels"] == ["email", "sms"] and kinds["stay.late"]["channels"] == []
    bad = await svc.client.put("/v1/preferences/tip.assigned", json={"channels": ["pigeon"]}, headers=ME)
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
    unknown = await svc.client.put("/v1/preferences/tip.unknown", json={"channels": []}, headers=ME)
    assert unknown.status_code == 422
    assert (await svc.client.delete("/v1/contacts/email", headers=ME)).status_code == 200
    assert (await svc.client.delete("/v1/contacts/email", headers=ME)).status_code == 404


async def test_sending_codes_is_rate_limited(svc: ServiceUnderTest) -> None:
    for _ in range(5):
        r = await svc.client.put("/v1/contacts/sms", json={"address": "+84912345678"}, headers=ME)
        assert r.status_code == 202, r.text
    r = await svc.client.put("/v1/contacts/sms", json={"address": "+84912345678"}, headers=ME)
    assert r.status_code == 429 and r.headers["content-type"] == "application/problem+json"


async def test_a_code_the_provider_refuses_is_a_503_and_a_log_line_with_its_reason_not_the_address(
        svc: ServiceUnderTest, caplog: pytest.LogCaptureFixture) -> None:
    class Refusing:
        async def send(self, msg: Any) -> Any:
            raise ChannelError("HTTP 502", retryable=True)

    svc.app.state.notify_senders["sms"] = Refusing()
    caplog.set_level(logging.INFO)
    r = await svc.client.put("/v1/contacts/sms", json={"address": "+84912345678"}, headers=ME)
    assert r.status_code == 503 and r.headers["content-type"] == "application/problem+json"
    [line] = [rec for rec in caplog.records if rec.getMessage() == "verification code not sent"]
    assert (line.channel, line.error) == ("sms", "HTTP 502")  # type: ignore[attr-defined]
    assert "84912345678" not in caplog.text and "912345678" not in str([rec.__dict__ for rec in caplog.records])


async def test_the_scheduled_scan_runs_as_the_runtime_schedules_it(svc: ServiceUnderTest) -> None:
    """The job the runtime runs every NOTIFY_SCAN_INTERVAL_S (in a transaction holding its lock): a residence
    ending within a week is said once to its resident's account."""
    from datetime import timedelta

    from shared.clock import ward_today
    from shared.contracts.registry import TemporaryResidenceRegistered

    until = ward_today() + timedelta(days=3)
    await svc.feed(AccountChanged(ward_id=WARD, subject="acc-lodger", account_id="acc-lodger", roles=["resident"],
                                  resident_id="res-lodger"),
                   TemporaryResidenceRegistered(ward_id=WARD, subject="res-lodger", declaration_id="d-9",
                                                resident_id="res-lodger", group_id="g1",
                                                valid_from=until - timedelta(days=90), valid_until=until))
    (job,) = [j for j in svc.app.state.runtime.jobs if j.name == "scan"]
    for expected in (1, 0):
        async with svc.app.state.runtime.pool.acquire() as conn, conn.transaction():
            assert (await job.run(conn))["residence.expiring"] == expected
    mine = (await svc.client.get("/v1/notifications", headers=auth("resident", WARD, sub="acc-lodger"))).json()
    assert [n["kind"] for n in mine["items"]] == ["residence.expiring"]
    assert mine["items"][0]["link"].endswith("/my-declaration")
