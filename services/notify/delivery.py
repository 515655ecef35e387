"""The delivery worker: runs in every replica of notify (``runtime.background("deliveries", worker.run)``) and sends
the planned ``deliveries`` through the channels (shared/channels.py).

* **Claim.** A worker takes one due delivery (``pending`` and ``not_before`` passed, or ``sending`` whose lease ran
  out: the worker that took it died) with ``FOR UPDATE SKIP LOCKED``, so replicas never take the same row, and marks
  it ``sending`` with ``attempts + 1`` in that short transaction: the lease is the row's ``updated_at`` plus
  ``NOTIFY_DELIVERY_LEASE_S``. No database lock is held while the provider is called.
* **Digest.** A digest delivery goes out with every other pending digest delivery of the same person and channel due
  at the same instant (timing.release_at gives them all the next 07:00 local) as one message; the group is claimed
  together under a transaction-scoped advisory lock, so two workers never split it.
* **Send.** The message is rendered from the notification (title, body, the console link; nothing else: the
  notifications carry no third party's personal data), the address unsealed (Sealer purpose ``contact``, context
  ``person_id|channel``), and sent with the delivery id as the idempotency key (for a digest, its first delivery's).
* **Record.** In a second transaction, fenced by ``attempts`` (a worker whose lease was taken over records nothing):
  ``sent`` with the provider's message id; a retryable failure goes back to ``pending`` with ``not_before`` moved by
  exponential backoff with jitter (and out of quiet hours unless urgent); a permanent failure, or the
  ``NOTIFY_DELIVERY_MAX_ATTEMPTS``-th, is ``failed``; no verified contact (removed since), or a disabled person,
  ``skipped``. ``last_error`` holds what the channel said (a status, a code), never an address or a text.
* **Exactly once.** A delivery is sent again only when its outcome is unknown (a timeout, or this worker died after
  sending and before recording): the resend carries the same idempotency key. The SMS gateway answers a repeated key
  with the first result and sends nothing; email carries a Message-ID made from it; the Zalo OA API has no such key,
  so that window (seconds) can repeat a Zalo message.
* **Telemetry.** Spans and logs carry the channel and the delivery id only; metrics the channel and outcome.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
from prometheus_client import Counter, Histogram

from services.notify import timing
from shared import clock as shared_clock
from shared.channels import ChannelError, Outgoing
from shared.idempotency import Sealer
from shared.telemetry import tracer

log = logging.getLogger(__name__)
DELIVERIES = Counter("ward_notify_deliveries_total", "Delivery attempts by channel and outcome", ["channel", "outcome"])
SEND_SECONDS = Histogram("ward_notify_send_seconds", "One send to a provider, until its answer", ["channel"])

SENT, RETRY, FAILED, SKIPPED = "sent", "retry", "failed", "skipped"

_DUE = """
SELECT d.delivery_id, d.channel, d.digest, d.not_before, n.person_id
  FROM deliveries d JOIN notifications n USING (notification_id)
 WHERE (d.status = 'pending' AND d.not_before <= $1) OR (d.status = 'sending' AND d.updated_at <= $2)
 ORDER BY d.not_before, d.delivery_id
 LIMIT 1
   FOR UPDATE OF d SKIP LOCKED
"""
_DIGEST_GROUP = """
SELECT d.delivery_id
  FROM deliveries d JOIN notifications n USING (notification_id)
 WHERE n.person_id = $1 AND d.channel = $2 AND d.digest AND d.not_before = $3
   AND (d.status = 'pending' OR (d.status = 'sending' AND d.updated_at <= $4))
   FOR UPDATE OF d
"""
_TAKE = """
UPDATE deliveries SET status = 'sending', attempts = attempts + 1, updated_at = $2
 WHERE delivery_id = ANY($1::text[])
RETURNING delivery_id, attempts
"""
_CONTENT = """
SELECT d.delivery_id, d.channel, d.digest, n.notification_id, n.person_id, n.kind, n.urgent, n.title, n.body,
       n.link, n.created_at, c.address_sealed, c.verified_at, coalesce(p.disabled, false) AS disabled
  FROM deliveries d JOIN notifications n USING (notification_id)
  LEFT JOIN contacts c ON c.person_id = n.person_id AND c.channel = d.channel
  LEFT JOIN people p ON p.person_id = n.person_id
 WHERE d.delivery_id = ANY($1::text[])
 ORDER BY n.created_at, d.delivery_id
"""
_RECORD = """
UPDATE deliveries d
   SET status = $3, not_before = coalesce($4, d.not_before), last_error = $5, provider_message_id = $6,
       sent_at = $7, updated_at = $8
  FROM unnest($1::text[], $2::int[]) AS c(delivery_id, attempts)
 WHERE d.delivery_id = c.delivery_id AND d.attempts = c.attempts AND d.status = 'sending'
"""


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter: attempt n waits a uniform draw in [½, 1] of min(cap, base·2^(n-1))."""

    max_attempts: int = 8
    base_s: float = 30.0
    cap_s: float = 3600.0

    def delay(self, attempts: int, draw: float) -> timedelta:
        ceiling = min(self.cap_s, self.base_s * 2 ** max(0, attempts - 1))
        return timedelta(seconds=ceiling * (0.5 + draw / 2))


@dataclass(frozen=True)
class Item:
    """One notification in a message (a digest has several)."""

    title: str
    body: str
    link: str


def render(channel: str, items: list[Item], console_url: str) -> tuple[str, str]:
    """Subject and text of one message. Email: the whole notification and where to act; SMS: the title and the link
    (a text with Vietnamese diacritics has 70 characters a segment); Zalo: title, body, link. A digest lists the
    titles and links. In Vietnamese, the ward's language, like the notifications themselves (services/notify/domain.py)."""
    console = console_url.rstrip("/")
    footer = f"\n\n--\nChọn những gì gửi đến bạn, và gửi qua kênh nào, trên hệ thống: {console}\n"
    if len(items) == 1:
        item = items[0]
        if channel == "email":
            return item.title, f"{item.body}\n\nMở: {item.link}{footer}"
        if channel == "sms":
            return item.title, f"{item.title}. {item.link}"
        return item.title, f"{item.title}\n{item.body}\n{item.link}"
    subject = f"{len(items)} việc đang chờ bạn"
    if channel == "sms":
        return subject, f"{subject} trên hệ thống: {console}"
    lines = "\n".join(f"- {i.title}\n  {i.link}" for i in items)
    if channel == "email":
        return subject, f"Tin tổng hợp trong ngày: {len(items)} việc đang chờ bạn.\n\n{lines}{footer}"
    return subject, f"{subject}:\n{lines}"


class DeliveryWorker:
    def __init__(self, pool: Callable[[], asyncpg.Pool | None], channels: dict[str, Any], sealer: Sealer, *,
                 console_url: str, tz: ZoneInfo, policy: RetryPolicy = RetryPolicy(), lease_s: float = 120.0,
                 poll_s: float = 5.0, workers: int = 2, clock: Callable[[], datetime] = shared_clock.now,
                 draw: Callable[[], float] = random.random) -> None:
        self._pool = pool
        self.channels = channels
        self.sealer = sealer
        self.console_url, self.tz, self.policy = console_url, tz, policy
        self.lease = timedelta(seconds=lease_s)
        self.poll_s, self.workers = poll_s, workers
        self.clock, self.draw = clock, draw
        self._wakes: list[asyncio.Event] = []

    @classmethod
    def from_settings(cls, settings: Any, pool: Callable[[], asyncpg.Pool | None], channels: dict[str, Any],
                      sealer: Sealer, **kw: Any) -> DeliveryWorker:
        if settings.notify_delivery_lease_s < 2 * settings.notify_channel_timeout_s:
            # a lease shorter than a send would let another worker take a delivery still being sent
            raise ValueError("NOTIFY_DELIVERY_LEASE_S must be at least twice NOTIFY_CHANNEL_TIMEOUT_S")
        return cls(pool, channels, sealer, console_url=settings.notify_console_url,
                   tz=ZoneInfo(settings.notify_timezone),
                   policy=RetryPolicy(settings.notify_delivery_max_attempts, settings.notify_delivery_retry_base_s,
                                      settings.notify_delivery_retry_cap_s),
                   lease_s=settings.notify_delivery_lease_s, poll_s=settings.notify_delivery_poll_s,
                   workers=settings.notify_delivery_workers, **kw)

    def wake(self) -> None:
        """Look now (a delivery was planned, or a retry is due) rather than at the next poll."""
        for event in self._wakes:
            event.set()

    async def run(self) -> None:
        """``workers`` loops until cancelled (the runtime's stop); the channels' clients are closed then."""
        self._wakes = [asyncio.Event() for _ in range(self.workers)]
        tasks = [asyncio.create_task(self._loop(wake), name=f"notify-deliveries-{i}")
                 for i, wake in enumerate(self._wakes)]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for channel in self.channels.values():
                await channel.aclose()

    async def _loop(self, wake: asyncio.Event) -> None:
        while True:
            wake.clear()
            try:
                while await self.deliver_once():
                    pass
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database is away: look again at the next poll
                log.warning("delivery round failed", extra={"error": type(exc).__name__})
            try:
                await asyncio.wait_for(wake.wait(), self.poll_s)
            except TimeoutError:
                pass

    async def drain(self) -> int:
        """Deliver until nothing is due now; how many messages were handled (tests, a one-shot run)."""
        done = 0
        while await self.deliver_once():
            done += 1
        return done

    # -- one message -----------------------------------------------------------------------------------------
    async def deliver_once(self) -> bool:
        """Claim one due delivery (or digest group) and send it. False when nothing is due (or only a digest group
        another worker is claiming)."""
        pool = self._pool()
        assert pool is not None, "the delivery worker runs once the runtime has its pool"
        async with pool.acquire() as conn, conn.transaction():
            claimed = await self._claim(conn, self.clock())
        if claimed is None:
            return False
        taken, rows = claimed
        outcome, detail = await self._send(rows)  # no connection held while the provider answers
        async with pool.acquire() as conn:
            await self._record(conn, taken, rows, outcome, detail)
        return True

    async def _claim(self, conn: asyncpg.Connection, now: datetime) -> tuple[list[tuple[str, int]], list[Any]] | None:
        expired = now - self.lease
        lead = await conn.fetchrow(_DUE, now, expired)
        if lead is None:
            return None
        ids = [lead["delivery_id"]]
        if lead["digest"]:
            key = f"notify.digest|{lead['person_id']}|{lead['channel']}|{lead['not_before'].isoformat()}"
            if not await conn.fetchval("SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0))", key):
                return None  # another worker is claiming this group
            ids = [r["delivery_id"] for r in await conn.fetch(_DIGEST_GROUP, lead["person_id"], lead["channel"],
                                                              lead["not_before"], expired)] or ids
        taken = [(r["delivery_id"], r["attempts"]) for r in await conn.fetch(_TAKE, ids, now)]
        rows = list(await conn.fetch(_CONTENT, ids))
        return taken, rows

    async def _send(self, rows: list[Any]) -> tuple[str, Any]:
        first = rows[0]
        channel_name, delivery_id = first["channel"], first["delivery_id"]
        adapter = self.channels.get(channel_name)
        if adapter is None:
            return SKIPPED, "channel not configured"
        if first["disabled"]:
            return SKIPPED, "account disabled"
        if first["address_sealed"] is None or first["verified_at"] is None:
            return SKIPPED, "no verified contact"
        try:
            address = self.sealer.decrypt(bytes(first["address_sealed"]),
                                          f"{first['person_id']}|{channel_name}")
        except Exception as exc:  # sealed under a key no longer held, or tampered
            return FAILED, f"contact cannot be opened ({type(exc).__name__})"
        subject, text = render(channel_name, [Item(r["title"], r["body"], r["link"]) for r in rows], self.console_url)
        started = time.perf_counter()
        with tracer("ward.notify").start_as_current_span(
                "notify deliver", attributes={"ward.channel": channel_name, "ward.delivery_id": delivery_id}) as span:
            try:
                sent = await adapter.send(Outgoing(to=address, subject=subject, text=text,
                                                   idempotency_key=delivery_id))
            except ChannelError as exc:
                span.set_attribute("ward.outcome", "retryable" if exc.retryable else "refused")
                return (RETRY if exc.retryable else FAILED), exc.reason
            except Exception as exc:  # an adapter's bug must not stall the queue: retried like a failure
                span.set_attribute("ward.outcome", "error")
                return RETRY, type(exc).__name__
            finally:
                SEND_SECONDS.labels(channel_name).observe(time.perf_counter() - started)
            span.set_attribute("ward.outcome", SENT)
        return SENT, sent.provider_message_id

    async def _record(self, conn: asyncpg.Connection, taken: list[tuple[str, int]], rows: list[Any], outcome: str,
                      detail: Any) -> None:
        first = rows[0]
        channel, delivery_id = first["channel"], first["delivery_id"]
        attempts = max(n for _, n in taken)
        now = self.clock()
        status, not_before, error, provider_id, sent_at = outcome, None, detail, None, None
        if outcome == SENT:
            error, provider_id, sent_at = None, detail, now
        elif outcome == RETRY and attempts >= self.policy.max_attempts:
            status = FAILED
        elif outcome == RETRY:
            status = "pending"
            not_before = now + self.policy.delay(attempts, self.draw())
            if not any(r["urgent"] for r in rows):  # a retry does not wake anyone at night either
                not_before = timing.release_at(not_before, urgent=False, digest=False, tz=self.tz)
        async with conn.transaction():
            result = await conn.execute(_RECORD, [d for d, _ in taken], [n for _, n in taken], status, not_before,
                                        error, provider_id, sent_at, now)
        DELIVERIES.labels(channel, outcome if status != FAILED else FAILED).inc()
        extra = {"delivery_id": delivery_id, "channel": channel, "attempt": attempts, "outcome": status}
        if error is not None:  # what the channel said (a status, a code, an exception's type), as in last_error
            extra["error"] = error
        if result.endswith(" 0"):
            log.warning("delivery outcome not recorded: its lease was taken over", extra=extra)
        elif status == FAILED:
            log.warning("delivery failed", extra=extra)
        elif status == SKIPPED:
            log.info("delivery skipped", extra=extra)
        elif status == "pending":
            log.info("delivery will be retried", extra={**extra, "retry_in_s": round(
                (not_before - now).total_seconds())})
            asyncio.get_running_loop().call_later(max(0.0, (not_before - now).total_seconds()), self.wake)
