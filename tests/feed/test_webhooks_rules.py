"""The webhook rules with no I/O: retry schedule, give-up window, secrets, signatures, the callback URL guard."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from services.feed import callbacks, signing, webhooks
from services.feed.webhooks import GiveUp, Retry, RetryPolicy
from shared.errors import InvalidInput
from shared.idempotency import Sealer

T0 = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)


def test_backoff_doubles_from_5s_with_jitter_and_is_capped_at_an_hour() -> None:
    policy = RetryPolicy()
    highs = [webhooks.backoff_s(n, policy, rand=lambda: 1.0) for n in range(1, 14)]
    lows = [webhooks.backoff_s(n, policy, rand=lambda: 0.0) for n in range(1, 14)]
    assert highs[:5] == [5, 10, 20, 40, 80]
    assert max(highs) == 3600 and highs[-1] == 3600
    assert lows[:3] == [2.5, 5, 10]                      # jitter: between half and all of the ceiling
    assert webhooks.backoff_s(10_000, policy, rand=lambda: 1.0) == 3600  # no overflow


def test_a_failure_retries_until_24h_after_the_first_failure_then_gives_up() -> None:
    policy = RetryPolicy()
    first = webhooks.after_failure(T0, T0, 1, policy, rand=lambda: 1.0)
    assert first == Retry(T0 + timedelta(seconds=5))
    late = webhooks.after_failure(T0, T0 + timedelta(hours=23, minutes=50), 40, policy, rand=lambda: 1.0)
    assert late == Retry(T0 + timedelta(hours=24))       # the last attempt is at the window's end, not after
    gave_up = webhooks.after_failure(T0, T0 + timedelta(hours=24), 41, policy)
    assert isinstance(gave_up, GiveUp) and gave_up.reason.startswith(webhooks.GAVE_UP)


def test_filters_narrow_the_subscribers_and_never_widen_them() -> None:
    assert webhooks.narrowed(None, ["phu-son"], "wards") == ["phu-son"]
    assert webhooks.narrowed(None, None, "event_types") is None
    assert webhooks.narrowed(["b", "a", "a"], None, "event_types") == ["a", "b"]
    with pytest.raises(InvalidInput, match="not granted"):
        webhooks.narrowed(["phu-son", "tan-mai"], ["phu-son"], "wards")
    with pytest.raises(InvalidInput):
        webhooks.narrowed([], None, "wards")


def test_a_secret_is_whsec_base64_of_32_random_bytes_sealed_to_its_webhook() -> None:
    secret = webhooks.new_secret()
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 32
    assert secret != webhooks.new_secret()
    sealer = Sealer("feed", "k" * 40, purpose=signing.PURPOSE)
    sealed = signing.seal(sealer, "wh-1", secret)
    assert secret.encode() not in sealed and secret[6:].encode() not in sealed
    assert signing.unseal(sealer, "wh-1", sealed) == secret
    with pytest.raises(Exception):  # noqa: B017 - cryptography's InvalidTag: bound to its webhook
        signing.unseal(sealer, "wh-2", sealed)
    # Another purpose of the same secret derives another key.
    with pytest.raises(Exception):  # noqa: B017
        Sealer("feed", "k" * 40).decrypt(sealed, "webhook-secret/v1/wh-1")


def test_the_signature_verifies_with_the_library_and_fails_when_tampered_or_replayed() -> None:
    secret = webhooks.new_secret()
    body = json.dumps({"specversion": "1.0", "id": "e-1", "data": {"n": 1}})
    now = datetime.now(UTC)
    headers = signing.headers([secret], "e-1", body, now)
    assert headers["webhook-signature"].startswith("v1,") and headers["webhook-id"] == "e-1"
    assert Webhook(secret).verify(body, headers) == json.loads(body)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body.replace('"n": 1', '"n": 2'), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(webhooks.new_secret()).verify(body, headers)
    old = signing.headers([secret], "e-1", body, now - timedelta(minutes=10))
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(secret).verify(body, old)


def test_during_a_rotation_both_secrets_sign_and_either_verifies() -> None:
    old, new = webhooks.new_secret(), webhooks.new_secret()
    body = json.dumps({"specversion": "1.0", "id": "e-2", "data": {}})
    headers = signing.headers([new, old], "e-2", body, datetime.now(UTC))
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert Webhook(new).verify(body, headers) == Webhook(old).verify(body, headers) == json.loads(body)
    with pytest.raises(WebhookVerificationError):
        Webhook(webhooks.new_secret()).verify(body, headers)


def _resolver(table: dict[str, list[str]]) -> callbacks.Resolver:
    async def resolve(host: str, _port: int) -> list[str]:
        return table.get(host, [])
    return resolve


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:9000/hook", "http://[::1]/hook", "http://10.1.2.3/", "https://192.168.0.10/",
    "http://169.254.169.254/latest/meta-data", "http://[fe80::1]/", "http://224.0.0.1/", "http://0.0.0.0/",
    "http://240.0.0.1/", "http://[::ffff:127.0.0.1]/", "http://internal.example/", "http://mixed.example/",
])
async def test_private_callbacks_are_refused_unless_allowed(url: str) -> None:
    resolver = _resolver({"internal.example": ["10.0.0.5"], "mixed.example": ["93.184.216.34", "127.0.0.1"]})
    with pytest.raises(InvalidInput, match="loopback, private"):
        await callbacks.check(url, allow_private=False, resolver=resolver)
    assert (await callbacks.check(url, allow_private=True, resolver=resolver)).url == url


@pytest.mark.parametrize(("url", "why"), [
    ("ftp://example.org/", "http or https"), ("http:///path", "no host"), ("http://u:p@example.org/", "credentials"),
    ("http://nowhere.invalid/", "does not resolve"), ("https://example.org:99999/", "not a valid URL"),
])
async def test_malformed_callbacks_are_refused(url: str, why: str) -> None:
    with pytest.raises(InvalidInput, match=why):
        await callbacks.check(url, allow_private=True, resolver=_resolver({"example.org": ["93.184.216.34"]}))


async def test_a_delivery_connects_to_the_address_that_was_checked() -> None:
    resolver = _resolver({"hooks.example.org": ["93.184.216.34"], "v6.example.org": ["2606:2800:220:1::1"]})
    target = await callbacks.check("https://hooks.example.org:8443/in?x=1", allow_private=False, resolver=resolver)
    assert target.pinned() == ("https://93.184.216.34:8443/in?x=1", {"Host": "hooks.example.org:8443"},
                               {"sni_hostname": "hooks.example.org"})
    target = await callbacks.check("http://v6.example.org", allow_private=False, resolver=resolver)
    assert target.pinned() == ("http://[2606:2800:220:1::1]/", {"Host": "v6.example.org"}, {})


def test_production_refuses_the_development_feed_key() -> None:
    from pydantic import ValidationError

    from shared.settings import ServiceSettings

    with pytest.raises(ValidationError, match="FEED_KEY"):
        ServiceSettings(service_name="feed", environment="production", database_url="postgresql://f:x@db/ward")
    with pytest.raises(ValidationError, match="FEED_KEY"):
        ServiceSettings(service_name="feed", environment="production", database_url="postgresql://f:x@db/ward",
                        feed_key="too-short")
    try:
        ServiceSettings(service_name="feed", environment="production", database_url="postgresql://f:x@db/ward",
                        feed_key="x" * 40)
    except ValidationError as refused:
        assert "FEED_KEY" not in str(refused)  # other development defaults are refused, not this one
