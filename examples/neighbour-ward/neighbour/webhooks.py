"""Receive the feed's webhooks: verify the Standard Webhooks signature, refuse tampering and replays.

Each delivery is ``POST`` with one structured CloudEvent as the body and three headers: ``webhook-id`` (the
event id, the same on every retry), ``webhook-timestamp`` (unix seconds) and ``webhook-signature``
(``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">``, keyed with the base64 part of ``whsec_...``).

* a body or header changed on the way: the signature does not match → refused (400), nothing applied;
* a delivery captured and sent again later: its timestamp is outside the tolerance (5 minutes, enforced by
  the ``standardwebhooks`` library) → refused (400); sent again within the tolerance: its ``webhook-id`` was
  seen → acknowledged (200) but not applied again. Acknowledging matters: a genuine retry (our previous 2xx
  was lost) must stop, or the feed would keep retrying and hold every later event behind it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from neighbour.store import Store

APPLIED, DUPLICATE = "applied", "duplicate"


class Rejected(Exception):
    """The delivery is not authentic or not fresh; answer 400 and apply nothing."""


class Receiver:
    def __init__(self, secrets: str | Sequence[str], store: Store) -> None:
        # Several secrets while one is being rotated (the old one stays valid until the sender switches).
        self._hooks = [Webhook(s) for s in ([secrets] if isinstance(secrets, str) else secrets)]
        self.store = store

    def verify(self, body: bytes, headers: Mapping[str, str]) -> dict[str, Any]:
        """The CloudEvent, or ``Rejected``. Checks the signature over the exact bytes received and the timestamp."""
        lowered = {k.lower(): v for k, v in headers.items()}
        last = "no secret configured"
        for hook in self._hooks:
            try:
                event = hook.verify(body, lowered)
            except (WebhookVerificationError, ValueError) as exc:  # ValueError: malformed header, non-UTF-8 body
                last = str(exc) or type(exc).__name__
                continue
            if not isinstance(event, dict) or "id" not in event or "type" not in event:
                raise Rejected("the body is not a CloudEvent")
            return event
        raise Rejected(last)

    def receive(self, body: bytes, headers: Mapping[str, str]) -> str:
        """Verify, then apply once: returns ``APPLIED`` or ``DUPLICATE``; raises ``Rejected``."""
        event = self.verify(body, headers)
        webhook_id = {k.lower(): v for k, v in headers.items()}["webhook-id"]
        if self.store.seen_webhook(webhook_id):
            return DUPLICATE
        new = self.store.apply([event], via="webhook", webhook_id=webhook_id)
        return APPLIED if new else DUPLICATE
