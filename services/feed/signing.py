"""Webhook signing secrets: kept sealed at rest, used to sign each delivery the Standard Webhooks way.

A secret is shown once (at creation and at rotation) and stored only AES-GCM-sealed under ``FEED_KEY``
(``shared.idempotency.Sealer`` with its own purpose), bound to its webhook: a sealed secret copied into another
webhook's row does not open. A delivery is signed with the ``standardwebhooks`` library: ``webhook-id`` (the
event's id, the same on every retry, what a receiver dedupes on), ``webhook-timestamp`` (unix seconds of this
attempt) and ``webhook-signature`` (``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook

from shared.idempotency import Sealer
from shared.settings import ServiceSettings

PURPOSE = "webhook-secret"


def sealer(settings: ServiceSettings) -> Sealer:
    return Sealer(settings.service_name, settings.feed_key.get_secret_value(),
                  [k.get_secret_value() for k in settings.feed_retired_keys], purpose=PURPOSE)


def _context(webhook_id: str) -> str:
    return f"{PURPOSE}/v1/{webhook_id}"


def seal(protector: Sealer, webhook_id: str, secret: str) -> bytes:
    return protector.encrypt(secret, _context(webhook_id))


def unseal(protector: Sealer, webhook_id: str, sealed: bytes) -> str:
    return protector.decrypt(bytes(sealed), _context(webhook_id))


def headers(secrets: Sequence[str], message_id: str, body: str, at: datetime) -> dict[str, str]:
    """The three Standard Webhooks headers of one attempt, signed with each secret (the current one, and the one it
    replaced during its grace period): ``webhook-signature`` lists them separated by spaces, and a receiver
    accepts the delivery if one of them verifies with its secret."""
    at = at.astimezone(UTC)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": " ".join(Webhook(secret).sign(message_id, at, body) for secret in secrets),
    }
