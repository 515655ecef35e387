"""The delivery channels (shared/channels.py) against real servers on local ports (tests/support/providers.py): an
aiosmtpd SMTP server, and HTTP servers playing the SMS gateway and the Zalo OA API. Signatures checked both ways;
what may be retried and what may not."""

from __future__ import annotations

import json
import time

import pytest

from shared.channels import (
    ChannelError,
    InvalidSignature,
    Mailer,
    Outgoing,
    SmsGateway,
    ZaloGateway,
    channels_from,
    sms_signature,
    zalo_signature,
)
from shared.settings import ServiceSettings
from tests.support.providers import free_port, sms_provider, smtp_server, zalo_provider

MSG = Outgoing(to="+84901234567", subject="Việc cần làm", text="Tin báo quá hạn: mở bảng điều khiển",
               idempotency_key="dlv-0001")


def _mailer(port: int, **kw: object) -> Mailer:
    return Mailer(host="127.0.0.1", port=port, sender="Phường Phú Sơn <no-reply@phuson.example>", tls="none",
                  timeout_s=5, **kw)


async def test_email_reaches_the_smtp_server_with_subject_text_and_a_message_id_from_the_delivery() -> None:
    with smtp_server() as smtp:
        sent = await _mailer(smtp.port).send(MSG.model_copy(update={"to": "officer@phuson.example"}))
    assert sent.provider_message_id == "Q000001"
    [mail] = smtp.messages
    assert mail["To"] == "officer@phuson.example"
    assert mail["Subject"] == "Việc cần làm"
    assert mail["Message-ID"] == "<dlv-0001@phuson.example>"
    assert mail["Auto-Submitted"] == "auto-generated"
    assert "Tin báo quá hạn" in mail.get_content()
    assert smtp.envelopes == [("no-reply@phuson.example", ["officer@phuson.example"])]


async def test_smtp_4xx_and_connection_failures_are_retryable_5xx_is_not() -> None:
    msg = MSG.model_copy(update={"to": "officer@phuson.example"})
    with smtp_server() as smtp:
        smtp.fail_next(1, 451)
        with pytest.raises(ChannelError) as temporary:
            await _mailer(smtp.port).send(msg)
        smtp.fail_next(1, 550)
        with pytest.raises(ChannelError) as permanent:
            await _mailer(smtp.port).send(msg)
        assert smtp.messages == [] and smtp.attempts == 2
    assert temporary.value.retryable and str(temporary.value) == "SMTP 451"
    assert not permanent.value.retryable and str(permanent.value) == "SMTP 550"
    with pytest.raises(ChannelError) as refused:
        await _mailer(free_port()).send(msg)  # nobody listens
    assert refused.value.retryable
    assert "officer" not in str(refused.value)


async def test_sms_is_signed_the_gateway_checks_it_and_a_repeated_delivery_id_sends_nothing_twice() -> None:
    async with sms_provider() as sms:
        gateway = SmsGateway(url=sms.url, key_id=sms.key_id, secret=sms.secret, timeout_s=5)
        first = await gateway.send(MSG)
        again = await gateway.send(MSG)  # the worker retrying after it crashed: same idempotency key
        await gateway.aclose()
    assert first.provider_message_id and first == again
    assert [(m["to"], m["text"], m["reference"]) for m in sms.sent] == [(MSG.to, MSG.text, "dlv-0001")]
    request = sms.requests[0]
    assert request.answered == 200 and request.headers["idempotency-key"] == "dlv-0001"
    ts = request.headers["x-timestamp"]
    assert request.headers["x-signature"] == sms_signature(sms.secret, ts, request.body)
    assert abs(int(ts) - time.time()) < 60


async def test_sms_with_the_wrong_secret_is_refused_by_the_gateway_and_not_retried() -> None:
    async with sms_provider() as sms:
        gateway = SmsGateway(url=sms.url, key_id=sms.key_id, secret="not-the-secret", timeout_s=5)
        with pytest.raises(ChannelError) as refused:
            await gateway.send(MSG)
        await gateway.aclose()
    assert str(refused.value) == "HTTP 401" and not refused.value.retryable
    assert sms.sent == []


@pytest.mark.parametrize(("how", "retryable"), [(503, True), (500, True), (429, True), (408, True),
                                                (400, False), (422, False), (404, False)])
async def test_sms_gateway_failures_retryable_or_not(how: int, retryable: bool) -> None:
    async with sms_provider() as sms:
        gateway = SmsGateway(url=sms.url, key_id=sms.key_id, secret=sms.secret, timeout_s=5)
        sms.fail_next(1, how)
        with pytest.raises(ChannelError) as failed:
            await gateway.send(MSG)
        assert failed.value.retryable is retryable
        assert (await gateway.send(MSG)).provider_message_id  # the next one goes through
        await gateway.aclose()
    assert len(sms.sent) == 1


async def test_sms_timeout_is_retryable_and_the_retry_does_not_send_twice() -> None:
    async with sms_provider() as sms:
        gateway = SmsGateway(url=sms.url, key_id=sms.key_id, secret=sms.secret, timeout_s=0.3)
        sms.slow_s = 1.0
        sms.fail_next(1, "slow")  # sent, but answered too late
        with pytest.raises(ChannelError) as late:
            await gateway.send(MSG)
        assert late.value.retryable and str(late.value) == "timeout"
        retried = await gateway.send(MSG)
        await gateway.aclose()
    assert len(sms.sent) == 1 and retried.provider_message_id == sms.sent[0]["message_id"]


async def test_sms_unreachable_gateway_is_retryable() -> None:
    gateway = SmsGateway(url=f"http://127.0.0.1:{free_port()}", key_id="k", secret="s", timeout_s=2)
    with pytest.raises(ChannelError) as failed:
        await gateway.send(MSG)
    await gateway.aclose()
    assert failed.value.retryable and str(failed.value) == "ConnectError"


async def test_sms_inbound_webhook_verification_with_the_same_scheme_and_a_replay_window() -> None:
    async with sms_provider() as sms:
        gateway = SmsGateway(url=sms.url, key_id=sms.key_id, secret=sms.secret)
        body, headers = sms.signed({"from": "+84901234567", "text": "TIN có trộm", "message_id": "in-1"})
        gateway.verify_inbound(body, headers)  # accepted
        gateway.verify_inbound(body, {k.lower(): v for k, v in headers.items()})  # header names in any case
        with pytest.raises(InvalidSignature):
            gateway.verify_inbound(body + b" ", headers)  # body changed
        with pytest.raises(InvalidSignature):
            gateway.verify_inbound(body, {**headers, "X-Signature": "0" * 64})
        with pytest.raises(InvalidSignature):
            gateway.verify_inbound(body, {k: v for k, v in headers.items() if k != "X-Signature"})
        with pytest.raises(InvalidSignature):
            gateway.verify_inbound(*sms.signed({"text": "x"}, secret="someone-else"))
        with pytest.raises(InvalidSignature):
            gateway.verify_inbound(body, {**headers, "X-Key-Id": "other-key"})
        old_body, old_headers = sms.signed({"text": "x"}, timestamp=int(time.time()) - 301)
        with pytest.raises(InvalidSignature):
            gateway.verify_inbound(old_body, old_headers)
        future_body, future_headers = sms.signed({"text": "x"}, timestamp=int(time.time()) + 301)
        with pytest.raises(InvalidSignature):
            gateway.verify_inbound(future_body, future_headers)
        recent_body, recent_headers = sms.signed({"text": "x"}, timestamp=int(time.time()) - 250)
        gateway.verify_inbound(recent_body, recent_headers)
        await gateway.aclose()


async def test_zalo_cs_message_with_the_access_token_and_zalo_errors() -> None:
    async with zalo_provider() as zalo:
        gateway = ZaloGateway(api_url=zalo.url, access_token=zalo.access_token, timeout_s=5)
        sent = await gateway.send(MSG.model_copy(update={"to": "8412345678901234567"}))
        assert sent.provider_message_id == zalo.sent[0]["message_id"]
        assert zalo.sent[0]["user_id"] == "8412345678901234567" and zalo.sent[0]["text"] == MSG.text
        assert zalo.requests[0].path == "/v3.0/oa/message/cs"
        assert zalo.requests[0].json() == {"recipient": {"user_id": "8412345678901234567"},
                                           "message": {"text": MSG.text}}
        for how, retryable in [(-32, True), (-216, True), (-201, False), (-213, False), (502, True), (400, False)]:
            zalo.fail_next(1, how)
            with pytest.raises(ChannelError) as failed:
                await gateway.send(MSG.model_copy(update={"to": "8412345678901234567"}))
            assert failed.value.retryable is retryable, how
        for phone in ("+84912345678", "0912345678"):  # not a follower's user id: refused here, never sent
            with pytest.raises(ChannelError) as not_an_id:
                await gateway.send(MSG.model_copy(update={"to": phone}))
            assert not not_an_id.value.retryable and "phone" in str(not_an_id.value)
        wrong = ZaloGateway(api_url=zalo.url, access_token="expired", timeout_s=5)
        with pytest.raises(ChannelError) as refused:
            await wrong.send(MSG.model_copy(update={"to": "8412345678901234567"}))
        assert str(refused.value) == "Zalo error -216"
        await gateway.aclose()
        await wrong.aclose()
    assert len(zalo.sent) == 1


async def test_zalo_inbound_x_zevent_signature_as_zalo_documents_it() -> None:
    async with zalo_provider() as zalo:
        gateway = ZaloGateway(api_url=zalo.url, access_token="", app_id=zalo.app_id, app_secret=zalo.oa_secret_key)
        body, headers = zalo.signed({"event_name": "user_send_text", "sender": {"id": "84123"},
                                     "message": {"msg_id": "m1", "text": "TIN có trộm"}})
        gateway.verify_inbound(body, headers)
        event = json.loads(body)
        expected = zalo_signature(zalo.app_id, body, event["timestamp"], zalo.oa_secret_key)
        assert headers["X-ZEvent-Signature"] == expected and expected.startswith("mac=")
        with pytest.raises(InvalidSignature):
            gateway.verify_inbound(body.replace(b"m1", b"m2"), headers)
        with pytest.raises(InvalidSignature):
            gateway.verify_inbound(*zalo.signed({"event_name": "x"}, secret="another-oa"))
        with pytest.raises(InvalidSignature):
            gateway.verify_inbound(body, {})
        with pytest.raises(InvalidSignature):
            gateway.verify_inbound(body, headers, max_age_s=-1)  # older than asked for
        with pytest.raises(InvalidSignature):  # not configured: nothing is accepted
            ZaloGateway(api_url=zalo.url, access_token="").verify_inbound(body, headers)
        with pytest.raises(ChannelError) as no_token:
            await gateway.send(MSG)
        assert not no_token.value.retryable
        assert zalo.requests == []
        await gateway.aclose()


def test_channels_from_settings_only_those_configured() -> None:
    base = {"service_name": "feed", "database_url": "postgresql://x@y/z", "environment": "test"}
    assert channels_from(ServiceSettings(**base)) == {}
    every = channels_from(ServiceSettings(**base, notify_smtp_host="smtp.example", notify_smtp_from="a@b.example",
                                          sms_gateway_url="https://sms.example/", sms_gateway_secret="s",
                                          sms_gateway_key_id="k", zalo_oa_access_token="t"))
    assert sorted(every) == ["email", "sms", "zalo"]
    assert isinstance(every["email"], Mailer) and every["email"].tls == "starttls" and every["email"].port == 587
    assert isinstance(every["sms"], SmsGateway) and every["sms"].url == "https://sms.example"
    assert isinstance(every["zalo"], ZaloGateway) and every["zalo"].api_url == "https://openapi.zalo.me"
    inbound_only = channels_from(ServiceSettings(**base, zalo_app_id="1", zalo_app_secret="s"))
    assert list(inbound_only) == ["zalo"]
