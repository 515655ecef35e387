"""The webhook delivery worker: runs in every replica of the feed (a runtime loop), sends each webhook its events.

* **Wake-ups.** The feed's LISTEN connection (``notify.FeedNotifier``) wakes the workers on ``NOTIFY
  feed_events``: sent by every append, and by a resume or a redelivery asked for; a failed attempt wakes them
  again when its retry is due; and an idle worker looks anyway every ``FEED_WEBHOOK_POLL_S`` (a lost
  notification, another replica's retry).
* **One at a time per webhook, in order.** A worker leases one webhook with ``FOR UPDATE SKIP LOCKED`` and holds
  the lock for the whole delivery (``repository_webhooks``); it sends the webhook's held event (the first one past
  its position that its filters match), then records the attempt and moves the position in the same transaction.
  ``FEED_WEBHOOK_WORKERS`` webhooks are served at once per replica.
* **Failures.** Anything but a 2xx (a timeout of ``FEED_WEBHOOK_TIMEOUT_S``, a refused connection, a refused
  address) is logged and retried with backoff (``webhooks.after_failure``); ``FEED_WEBHOOK_GIVE_UP_S`` after the
  held event first failed the webhook is paused. Redirects are not followed (a 3xx is a failure).
* **Each attempt** re-checks the callback URL (``callbacks.check``) and connects to the address it checked.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
from prometheus_client import Counter, Histogram

from services.feed import callbacks, domain, signing, webhooks
from services.feed.notify import FeedNotifier
from services.feed.repository_webhooks import WebhookRepository
from shared.errors import InvalidInput
from shared.idempotency import Sealer
from shared.jsonutil import dumps
from shared.settings import ServiceSettings

log = logging.getLogger(__name__)
MEDIA_TYPE = "application/cloudevents+json"
DELIVERIES = Counter("ward_feed_webhook_deliveries_total", "Webhook delivery attempts", ["outcome"])
DELIVERY_SECONDS = Histogram("ward_feed_webhook_delivery_seconds", "One webhook delivery attempt, until its answer")
PAUSED = Counter("ward_feed_webhooks_paused_total", "Webhooks paused by the worker after persistent failure")
Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


class DeliveryWorker:
    def __init__(self, settings: ServiceSettings, pool: Callable[[], asyncpg.Pool | None], notifier: FeedNotifier, *,
                 secrets: Sealer, clock: Clock = utcnow, resolver: callbacks.Resolver = callbacks.resolve) -> None:
        self.settings = settings
        self._pool = pool
        self.notifier = notifier
        self.clock = clock
        self.resolver = resolver
        self.policy = webhooks.RetryPolicy(settings.feed_webhook_retry_base_s, settings.feed_webhook_retry_cap_s,
                                           settings.feed_webhook_give_up_s)
        self.sealer = secrets
        self._wakes: list[asyncio.Event] = []

    def wake(self) -> None:
        for event in self._wakes:
            event.set()

    async def run(self) -> None:
        """``FEED_WEBHOOK_WORKERS`` loops, until cancelled (the runtime's stop)."""
        self._wakes = [asyncio.Event() for _ in range(self.settings.feed_webhook_workers)]
        async with httpx.AsyncClient(
            follow_redirects=False, trust_env=False, timeout=self.settings.feed_webhook_timeout_s,
            # No connection reuse: connections are opened to a checked address with a per-request TLS name.
            limits=httpx.Limits(max_keepalive_connections=0),
        ) as client:
            tasks = [asyncio.create_task(self._loop(client, wake), name=f"feed-webhooks-{i}")
                     for i, wake in enumerate(self._wakes)]
            try:
                await asyncio.gather(*tasks)
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)

    async def _loop(self, client: httpx.AsyncClient, wake: asyncio.Event) -> None:
        while True:
            wake.clear()
            generation = self.notifier.generation
            try:
                while await self.deliver_once(client):
                    pass
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database is down: wait and look again
                log.warning("webhook delivery round failed", extra={"error": type(exc).__name__})
            waits = [asyncio.ensure_future(self.notifier.wait(generation, self.settings.feed_webhook_poll_s)),
                     asyncio.ensure_future(wake.wait())]
            try:
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiting in waits:
                    waiting.cancel()

    async def deliver_once(self, client: httpx.AsyncClient) -> bool:
        """Lease one webhook with work and do it: its redeliveries, then its held event. False when none."""
        pool = self._pool()
        assert pool is not None
        async with pool.acquire() as conn, conn.transaction():
            repo = WebhookRepository(conn)
            hook = await repo.lease(self.clock())
            if hook is None:
                return False
            try:
                secret = signing.unseal(self.sealer, hook["webhook_id"], hook["secret_sealed"])
            except Exception as exc:  # sealed under a key no longer configured: never block the other webhooks
                log.error("webhook secret cannot be opened; webhook paused",
                          extra={"webhook_id": hook["webhook_id"], "error": type(exc).__name__})
                await repo.gave_up(hook["webhook_id"], hook["failures"], hook["first_failed_at"] or self.clock(),
                                   webhooks.UNREADABLE_SECRET)
                await repo.take_redeliveries(hook["webhook_id"])  # unsendable: dropped, or it is leased again
                return True
            secrets = [secret, *self._previous_secret(hook)]
            for event in await repo.take_redeliveries(hook["webhook_id"]):
                await repo.log_attempt(await self._attempt(client, hook, secrets, event, 1, manual=True))
            if hook["status"] != webhooks.ACTIVE or hook["next_attempt_at"] > self.clock():
                return True
            event = await repo.held_event(hook)
            if event is None:
                return True
            attempt = await self._attempt(client, hook, secrets, event, hook["failures"] + 1, manual=False)
            await repo.log_attempt(attempt)
            now = attempt["attempted_at"]
            if attempt["outcome"] == webhooks.DELIVERED:
                await repo.delivered(hook["webhook_id"], event["seq"], now)
                return True
            failures, first = hook["failures"] + 1, hook["first_failed_at"] or now
            decision = webhooks.after_failure(first, now, failures, self.policy)
            if isinstance(decision, webhooks.GiveUp):
                await repo.gave_up(hook["webhook_id"], failures, first, decision.reason)
                PAUSED.inc()
                log.warning("webhook paused after persistent failure",
                            extra={"webhook_id": hook["webhook_id"], "attempts": failures})
            else:
                await repo.failed(hook["webhook_id"], failures, first, decision.at)
                asyncio.get_running_loop().call_later((decision.at - now).total_seconds(), self.wake)
            return True

    def _previous_secret(self, hook: dict[str, Any]) -> list[str]:
        """The rotated secret while its grace period lasts; none once it is over or if it cannot be opened (the
        current secret signs anyway)."""
        until = hook.get("previous_secret_until")
        if hook.get("previous_secret_sealed") is None or until is None or until <= self.clock():
            return []
        try:
            return [signing.unseal(self.sealer, hook["webhook_id"], hook["previous_secret_sealed"])]
        except Exception:  # sealed under a retired key, or unreadable: only the current secret signs
            return []

    async def _attempt(self, client: httpx.AsyncClient, hook: dict[str, Any], secrets: list[str],
                       event: dict[str, Any], attempt: int, *, manual: bool) -> dict[str, Any]:
        """One POST of one event; never raises for what the receiver or the network does."""
        at = self.clock()
        started = time.perf_counter()
        status: int | None = None
        error: str | None = None
        body = dumps(domain.cloud_event(event))
        try:
            target = await callbacks.check(hook["url"], allow_private=self.settings.feed_allow_private_callbacks,
                                           resolver=self.resolver)
            url, host, extensions = target.pinned()
            headers = {**host, "Content-Type": MEDIA_TYPE, "User-Agent": "ward-platform-feed/1",
                       **signing.headers(secrets, str(event["event_id"]), body, at)}
            async with asyncio.timeout(self.settings.feed_webhook_timeout_s):
                request = client.build_request("POST", url, content=body.encode(), headers=headers,
                                               extensions=extensions)
                response = await client.send(request, stream=True)  # the receiver's body is never read
                await response.aclose()
            status = response.status_code
            if not 200 <= status < 300:
                error = f"HTTP {status}"
        except InvalidInput as exc:
            error = f"refused: {exc.detail}"
        except TimeoutError:
            error = "timeout"
        except Exception as exc:  # httpx's errors, and anything else the exchange raises: a failed attempt like
            error = type(exc).__name__  # any other (logged by its type), never a stall of the webhook's queue
        outcome = webhooks.DELIVERED if error is None else webhooks.FAILED
        elapsed = time.perf_counter() - started
        DELIVERIES.labels(outcome).inc()
        DELIVERY_SECONDS.observe(elapsed)
        return {"delivery_id": str(uuid.uuid4()), "webhook_id": hook["webhook_id"], "seq": event["seq"],
                "event_id": event["event_id"], "event_type": event["event_type"], "attempt": attempt,
                "manual": manual, "attempted_at": at, "http_status": status,
                "duration_ms": round(elapsed * 1000), "error": error, "outcome": outcome}
