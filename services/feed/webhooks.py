"""The rules of webhooks (push by webhook), with no I/O: the retry schedule, what a failure decides, the signing
secret, and what a webhook may ask for.

A webhook holds one position in the feed: the ``seq`` of the last event it delivered (or that its filters
skipped). The next matching event is the *held* event: it is sent until a 2xx answers, and nothing after it is sent
before (one delivery in flight per webhook, strictly in ``seq`` order). A failure schedules the next attempt with
exponential backoff and jitter (``RetryPolicy``); ``FEED_WEBHOOK_GIVE_UP_S`` (24 h) after the held event first
failed, the webhook is paused, and resuming it retries the same event.
"""

from __future__ import annotations

import base64
import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.errors import InvalidInput

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32  # Standard Webhooks: 24 to 64 bytes
ACTIVE, PAUSED = "active", "paused"
DELIVERED, FAILED = "delivered", "failed"
#: The ``paused_reason`` of a webhook paused by the worker (a person's pause gives none or their own).
GAVE_UP = "failing"
#: ... and of one whose signing secret no configured FEED_KEY opens (rotate the secret, then resume).
UNREADABLE_SECRET = "secret unreadable: sealed under a key this deployment no longer holds; rotate it and resume"


#: How long a rotated secret still signs deliveries (beside the new one), as Svix does: the receiver switches to the
#: new secret within it without a failed delivery.
SECRET_GRACE = timedelta(hours=24)


def new_secret() -> str:
    """A signing secret as Standard Webhooks spells it: ``whsec_`` + base64 of random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


@dataclass(frozen=True)
class RetryPolicy:
    base_s: float = 5.0
    cap_s: float = 3600.0
    give_up_after_s: float = 86400.0


def backoff_s(failures: int, policy: RetryPolicy, rand: Callable[[], float] = random.random) -> float:
    """The delay before the next attempt after ``failures`` consecutive failures (1, 2, ...): base, doubling,
    capped; "equal jitter" (half fixed, half random), so that receivers coming back are not hit by every
    webhook at once and a delay never shrinks to nothing."""
    ceiling = min(policy.cap_s, policy.base_s * 2 ** min(max(failures, 1) - 1, 40))
    return ceiling / 2 + rand() * ceiling / 2


@dataclass(frozen=True)
class Retry:
    at: datetime


@dataclass(frozen=True)
class GiveUp:
    reason: str


def after_failure(first_failed_at: datetime, now: datetime, failures: int, policy: RetryPolicy,
                  rand: Callable[[], float] = random.random) -> Retry | GiveUp:
    """What a failed attempt of the held event decides: retry later, or (once the give-up window since its first
    failure has passed) pause. The last retry is made at the window's end, never after it."""
    deadline = first_failed_at + timedelta(seconds=policy.give_up_after_s)
    if now >= deadline:
        return GiveUp(f"{GAVE_UP}: no 2xx for {failures} attempts since {first_failed_at.isoformat()}")
    return Retry(min(now + timedelta(seconds=backoff_s(failures, policy, rand)), deadline))


def narrowed(asked: list[str] | None, allowed: list[str] | None, what: str) -> list[str] | None:
    """A webhook's filter within its subscriber's (None = no restriction): asking for more is refused."""
    if asked is None:
        return None if allowed is None else sorted(allowed)
    if not asked:
        raise InvalidInput(f"{what}: give at least one, or omit it")
    if allowed is not None and (extra := sorted(set(asked) - set(allowed))):
        raise InvalidInput(f"{what} not granted to this subscriber: {', '.join(extra)}")
    return sorted(set(asked))

