"""Reports in by SMS and Zalo, and two-way anonymous messages (issue 17), against PostgreSQL and local HTTP servers
playing the SMS gateway and Zalo (tests/support/providers.py): an inbound SMS becomes an anonymous tip whose reply
reaches the sender with the code and the secret; a redelivered webhook files nothing twice and re-sends the same
reply; a bad signature is 401; the police's question reaches the tipster's follow-up (by HTTP and by SMS) and the
answer reaches the police (TipAnswered in the outbox); the sender's number is nowhere in the schema, the events or
the logs."""

from __future__ import annotations

import json
import logging
import re
import time
from contextlib import asynccontextmanager

import httpx
import pytest

from services.incidents.bootstrap import build
from services.incidents.intake import ascii_text
from shared.channels import sms_signature
from tests.conftest import auth, settings_for
from tests.harness import outbox_events
from tests.incidents.conftest import GROUP, WARD, registry_facts, seed
from tests.incidents.test_public import everything_stored
from tests.otlp_receiver import OtlpReceiver
from tests.support.providers import sms_provider, zalo_provider

pytestmark = pytest.mark.integration

NUMBER = "+84912345678"
ZALO_USER = "8817264450123456789"
TIP = "Có người lạ cạy khoá xe máy ở hẻm 12 Trần Phú"
POLICE = auth("police", WARD, sub="officer-7")
RECEIPT = re.compile(r"Ma: (TB-[A-Z0-9-]+) Mat ma: (\S+) ")


@asynccontextmanager
async def platform(db, started, **settings):
    """The incidents app with its SMS and Zalo lines pointed at the local providers."""
    await seed(db, registry_facts())
    async with sms_provider() as sms, zalo_provider() as zalo:
        app = build(settings_for(
            "incidents", db, None, sms_gateway_url=sms.url, sms_gateway_key_id=sms.key_id,
            sms_gateway_secret=sms.secret, zalo_oa_api_url=zalo.url, zalo_oa_access_token=zalo.access_token,
            zalo_app_id=zalo.app_id, zalo_app_secret=zalo.oa_secret_key, incidents_intake_group_id=GROUP,
            **settings))
        await started(app.state.runtime, wait_assigned=False)
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://incidents") as client:
            yield client, sms, zalo


def sms_in(sms, text: str, message_id: str, sender: str = NUMBER, **signing) -> dict:
    body, headers = sms.signed({"message_id": message_id, "from": sender, "to": "8088", "text": text}, **signing)
    return {"content": body, "headers": headers}


def zalo_in(zalo, text: str, msg_id: str, sender: str = ZALO_USER, **signing) -> dict:
    body, headers = zalo.signed({"event_name": "user_send_text", "sender": {"id": sender},
                                 "recipient": {"id": "oa-1"}, "message": {"msg_id": msg_id, "text": text}}, **signing)
    return {"content": body, "headers": headers}


def traced(receiver: OtlpReceiver) -> str:
    return json.dumps([(s.name, s.attributes, s.status_message, s.events) for s in receiver.snapshot()], default=str)


def logged(caplog) -> str:
    return "\n".join(r.getMessage() + json.dumps(r.__dict__, default=str) for r in caplog.records)


async def test_an_sms_becomes_an_anonymous_tip_whose_reply_reaches_the_sender_once(db, started, caplog, otlp):
    caplog.set_level(logging.DEBUG)
    async with platform(db, started) as (client, sms, _zalo):
        first = await client.post("/v1/intake/sms", **sms_in(sms, TIP, "gw-1001"))
        assert first.status_code == 200, first.text
        assert first.json() == {"status": "accepted"}
        assert len(sms.sent) == 1 and sms.sent[0]["to"] == NUMBER
        reply = sms.sent[0]["text"]
        assert reply == ascii_text(reply)  # GSM 7-bit: no diacritics
        code, secret = RECEIPT.search(reply).groups()

        # The provider delivers the webhook again: nothing is filed twice, the same reply is sent again (with the
        # same Idempotency-Key, which the gateway answers without sending a second SMS).
        again = await client.post("/v1/intake/sms", **sms_in(sms, TIP, "gw-1001"))
        assert again.status_code == 200 and again.json() == {"status": "replayed"}
        sends = [r for r in sms.requests if r.path == "/messages"]
        assert len(sends) == 2 and sends[0].json() == sends[1].json()
        assert sends[0].headers["idempotency-key"] == sends[1].headers["idempotency-key"]
        assert len(sms.sent) == 1
        assert await db.fetchval("incidents", "SELECT count(*) FROM incidents") == 1

        # A forged webhook (another secret) and one whose signature is stale: 401, nothing filed, nothing sent.
        forged = await client.post("/v1/intake/sms", **sms_in(sms, TIP, "gw-1002", secret="not-the-secret"))
        stale = await client.post("/v1/intake/sms", **sms_in(sms, TIP, "gw-1003", timestamp=1_000_000_000))
        unsigned = await client.post("/v1/intake/sms", content=b'{"message_id": "x"}',
                                     headers={"Content-Type": "application/json"})
        for refused in (forged, stale, unsigned):
            assert refused.status_code == 401, refused.text
            assert refused.headers["content-type"] == "application/problem+json"
        assert await db.fetchval("incidents", "SELECT count(*) FROM incidents") == 1 and len(sms.requests) == 2

        # The tip is the police's like any anonymous tip; the tipster follows it with the code and the secret.
        incident_id = await db.fetchval("incidents", "SELECT incident_id FROM incidents")
        seen = (await client.get(f"/v1/incidents/{incident_id}", headers=POLICE)).json()
        assert seen["anonymous"] is True and seen["group_id"] == GROUP and seen["description"] == TIP
        disclosed = await client.post(f"/v1/incidents/{incident_id}/reporter-disclosure", headers=POLICE)
        assert disclosed.json()["reporter"] is None
        followed = await client.post("/v1/follow-up", json={"follow_up_code": code, "secret": secret})
        assert followed.status_code == 200 and followed.json()["state"] == "received"
        assert await db.fetchval("incidents", "SELECT channel FROM incident_channels") == "sms"

    # The number is nowhere: no table (the idempotency record is sealed), no event, no log line, no span. The secret
    # neither.
    stored, traces = await everything_stored(db), traced(otlp)
    assert "/v1/intake/sms" in traces  # the webhook's spans were received
    tables = [r["table_name"] for r in await db.fetch(
        "incidents", "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()")]
    assert code in stored and {"idempotency_keys", "audit_log", "rate_limits", "incident_channels"} <= set(tables)
    for needle in (NUMBER, NUMBER[1:], NUMBER[3:], secret, "gw-1001"):
        assert needle not in stored, needle
        assert needle not in logged(caplog), needle
        assert needle not in traces, needle
    events = json.dumps(await outbox_events(db, "incidents"))
    assert NUMBER[3:] not in events and secret not in events
    reported = await outbox_events(db, "incidents", "incidents.incident.reported.v1")
    assert len(reported) == 1 and reported[0]["anonymous"] is True


async def test_the_police_ask_the_tipster_who_reads_and_answers_by_sms_and_by_http(db, started, caplog):
    caplog.set_level(logging.DEBUG)
    async with platform(db, started) as (client, sms, _zalo):
        await client.post("/v1/intake/sms", **sms_in(sms, TIP, "gw-1"))
        code, secret = RECEIPT.search(sms.sent[-1]["text"]).groups()
        incident_id = await db.fetchval("incidents", "SELECT incident_id FROM incidents")
        url = f"/v1/incidents/{incident_id}/tip-messages"

        # Only the police of the ward ask; another ward's incident answers as one that does not exist.
        question = "Bạn thấy mấy người, đi xe gì?"
        assert (await client.post(url, json={"text": question}, headers=auth("ward_official", WARD))).status_code == 403
        assert (await client.post(url, json={"text": question}, headers=auth("police", "other-ward"))).status_code == 404
        asked = await client.post(url, json={"text": question}, headers={**POLICE, "Idempotency-Key": "q-1"})
        assert asked.status_code == 201, asked.text
        question_id = asked.json()["message_id"]
        assert asked.json()["author"] == "police" and asked.json()["officer_ref"] == "officer-7"

        # The tipster reads it through the follow-up (no officer named) ...
        followed = (await client.post("/v1/follow-up", json={"follow_up_code": code, "secret": secret})).json()
        assert [(m["author"], m["text"], m["answered"]) for m in followed["messages"]] == [("police", question, False)]
        assert "officer-7" not in json.dumps(followed)
        # ... and by SMS (TD <code> <secret>, in any case, with or without diacritics in the keyword).
        await client.post("/v1/intake/sms", **sms_in(sms, f"theo dõi {code.lower()} {secret}", "gw-2"))
        assert ascii_text(question) in sms.sent[-1]["text"] and sms.sent[-1]["to"] == NUMBER

        # The answer by SMS (TL: to the oldest question still open) reaches the police, and TipAnswered the outbox.
        answer = "Hai người, một xe Wave màu đỏ"
        await client.post("/v1/intake/sms", **sms_in(sms, f"Trả lời {code} {secret} {answer}", "gw-3"))
        assert "Cam on" in sms.sent[-1]["text"]
        listed = (await client.get(url, headers=POLICE)).json()["items"]
        assert [(m["author"], m["text"], m["reply_to"]) for m in listed] == [
            ("police", question, None), ("tipster", answer, question_id)]
        assert listed[0]["answered_at"] is not None and listed[1]["officer_ref"] == "officer-7"
        answered = await outbox_events(db, "incidents", "incidents.tip.answered.v1")
        assert len(answered) == 1 and answered[0]["officer_ref"] == "officer-7"
        assert answered[0]["message_id"] == listed[1]["message_id"] and answered[0]["incident_id"] == incident_id
        asked_events = await outbox_events(db, "incidents", "incidents.tip.question_asked.v1")
        assert [e["message_id"] for e in asked_events] == [question_id]

        # By HTTP, with an Idempotency-Key: one message however often it is sent; a wrong secret learns nothing.
        body = {"code": code, "secret": secret, "text": "Họ đi về phía chợ", "reply_to": None}
        one = await client.post("/v1/follow-up/messages", json=body, headers={"Idempotency-Key": "a-1"})
        two = await client.post("/v1/follow-up/messages", json=body, headers={"Idempotency-Key": "a-1"})
        assert one.status_code == two.status_code == 201 and one.json() == two.json(), one.text
        assert two.headers["idempotent-replayed"] == "true"
        wrong = await client.post("/v1/follow-up/messages", json={**body, "secret": "guess"})
        assert wrong.status_code == 404 and incident_id not in wrong.text
        bad_reply = await client.post("/v1/follow-up/messages", json={**body, "reply_to": "not-a-question"})
        assert bad_reply.status_code == 422
        # What PostgreSQL cannot store, and what is too long, are refused as problems before anything is kept.
        nul = await client.post("/v1/follow-up/messages", json={**body, "text": "Hai\u0000người"})
        long = await client.post(url, json={"text": "x" * 2001}, headers=POLICE)
        assert nul.status_code == long.status_code == 422 and nul.headers["content-type"] == "application/problem+json"
        assert len((await client.get(url, headers=POLICE)).json()["items"]) == 3
        assert len(await outbox_events(db, "incidents", "incidents.tip.answered.v1")) == 2

        # The audit trail names the officer for the question and nobody for the answers.
        actors = [r["actor"] for r in await db.fetch(
            "incidents", "SELECT actor FROM audit_log WHERE command IN ('incident.ask_tipster', "
                         "'incident.tipster_answer') ORDER BY seq")]
        assert actors == ["officer-7", "anonymous", "anonymous"]

    # Texts sealed, events carry ids only, nothing of the sender anywhere.
    stored = await everything_stored(db)
    events = json.dumps(await outbox_events(db, "incidents"))
    for text in (question, answer, "Họ đi về phía chợ"):
        assert text not in stored and json.dumps(text)[1:-1] not in stored and text not in events
    for needle in (NUMBER, NUMBER[3:]):
        assert needle not in stored and needle not in events and needle not in logged(caplog)


async def test_an_identified_report_by_zalo_keeps_the_sender_encrypted(db, started, caplog):
    caplog.set_level(logging.DEBUG)
    async with platform(db, started) as (client, _sms, zalo):
        made = await client.post("/v1/intake/zalo", **zalo_in(zalo, "BT Đinh Thị Báo: mất xe đạp trước chợ", "z-1"))
        assert made.status_code == 200, made.text
        assert zalo.sent[-1]["user_id"] == ZALO_USER and "Đã nhận tin báo" in zalo.sent[-1]["text"]
        incident_id = await db.fetchval("incidents", "SELECT incident_id FROM incidents")
        seen = (await client.get(f"/v1/incidents/{incident_id}", headers=POLICE)).json()
        assert seen["anonymous"] is False and seen["description"] == "mất xe đạp trước chợ"
        who = (await client.post(f"/v1/incidents/{incident_id}/reporter-disclosure", headers=POLICE)).json()
        assert who["reporter"]["full_name"] == "Đinh Thị Báo" and who["reporter"]["zalo_user_id"] == ZALO_USER

        # Another event (a follow) is acknowledged and files nothing; a forged one is 401.
        body, headers = zalo.signed({"event_name": "follow", "follower": {"id": ZALO_USER}})
        assert (await client.post("/v1/intake/zalo", content=body, headers=headers)).json() == {"status": "ignored"}
        forged = await client.post("/v1/intake/zalo", **zalo_in(zalo, TIP, "z-2", secret="wrong"))
        assert forged.status_code == 401
        # A genuine event older than the deduplication remembers (a captured webhook replayed a day later): 401.
        body, headers = zalo.signed({"timestamp": str(int((time.time() - 25 * 3600) * 1000)),
                                     "event_name": "user_send_text", "sender": {"id": ZALO_USER},
                                     "message": {"msg_id": "z-old", "text": TIP}})
        assert (await client.post("/v1/intake/zalo", content=body, headers=headers)).status_code == 401
        assert await db.fetchval("incidents", "SELECT count(*) FROM incidents") == 1

    stored = await everything_stored(db)
    for needle in (ZALO_USER, "Đinh Thị Báo"):
        assert needle not in stored and needle not in logged(caplog), needle


async def test_bounds_limits_and_a_failing_gateway(db, started, caplog):
    caplog.set_level(logging.DEBUG)
    async with platform(db, started, intake_rate_limit=4, intake_rate_window_s=3600) as (client, sms, _zalo):
        # What PostgreSQL refuses is dropped (a GSM "@" handed on as NUL), a long text is cut and the reply says so.
        await client.post("/v1/intake/sms", **sms_in(sms, "Trộm ở nhà số 5\u0000 hẻm 3", "b-1"))
        assert await db.fetchval("incidents", "SELECT description FROM incidents") == "Trộm ở nhà số 5 hẻm 3"
        long = await client.post("/v1/intake/sms", **sms_in(sms, "x" * 5000, "b-2"))
        assert long.status_code == 200 and "cat bot" in sms.sent[-1]["text"]
        assert await db.fetchval("incidents", "SELECT max(length(description)) FROM incidents") == 2000

        # A gateway that fails: 503 (the provider delivers the webhook again), then the same reply, one tip.
        sms.fail_next(1, 503)
        failed = await client.post("/v1/intake/sms", **sms_in(sms, TIP, "b-3"))
        assert failed.status_code == 503 and failed.headers["content-type"] == "application/problem+json"
        retried = await client.post("/v1/intake/sms", **sms_in(sms, TIP, "b-3"))
        assert retried.status_code == 200 and retried.json() == {"status": "replayed"}
        assert "intake reply not sent" in logged(caplog) and NUMBER[3:] not in logged(caplog)
        assert await db.fetchval("incidents", "SELECT count(*) FROM incidents") == 3

        # One sender past the limit: 429 with Retry-After; another sender is not held up.
        flood = await client.post("/v1/intake/sms", **sms_in(sms, TIP, "b-5"))
        assert flood.status_code == 429 and int(flood.headers["retry-after"]) > 0
        other = await client.post("/v1/intake/sms", **sms_in(sms, TIP, "b-6", sender="+84900000001"))
        assert other.status_code == 200

        # Help and malformed keywords answer the form, file nothing; not JSON is 422; a body too big 413.
        before = await db.fetchval("incidents", "SELECT count(*) FROM incidents")
        await client.post("/v1/intake/sms", **sms_in(sms, "HD", "b-7", sender="+84900000002"))
        assert "BT <ho ten>" in sms.sent[-1]["text"]
        await client.post("/v1/intake/sms", **sms_in(sms, "TL TB-AAAAA-AAAAA", "b-8", sender="+84900000002"))
        assert sms.sent[-1]["text"].startswith("Tra loi:")
        assert await db.fetchval("incidents", "SELECT count(*) FROM incidents") == before
        body, ts = b"not json", str(int(time.time()))
        headers = {"Content-Type": "application/json", "X-Key-Id": sms.key_id, "X-Timestamp": ts,
                   "X-Signature": sms_signature(sms.secret, ts, body)}
        assert (await client.post("/v1/intake/sms", content=body, headers=headers)).status_code == 422
        big = await client.post("/v1/intake/sms", content=b"{" + b" " * 70_000 + b"}",
                                headers={"Content-Type": "application/json"})
        assert big.status_code == 413


async def test_a_line_that_is_not_configured_answers_404(db, started):
    await seed(db, registry_facts())
    app = build(settings_for("incidents", db, None))
    await started(app.state.runtime, wait_assigned=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://incidents") as client:
        assert (await client.post("/v1/intake/sms", json={"message_id": "m", "from": NUMBER, "text": TIP})
                ).status_code == 404
        assert (await client.post("/v1/intake/zalo", json={})).status_code == 404
