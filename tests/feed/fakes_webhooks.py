"""The webhooks' repository in memory: the same methods and results as services/feed/repository_webhooks.py
(tests/feed/test_webhooks_handlers.py runs one suite over both)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from services.feed.repository_webhooks import DELIVERIES, WEBHOOKS
from shared.application import FakeRepository
from shared.idempotency import Sealer
from shared.paging import PageRequest, page_of
from tests.feed.fakes import FakeFeedUnitOfWork

Row = dict[str, Any]
PUBLIC = ("webhook_id", "subscriber_id", "url", "wards", "event_types", "status", "paused_reason", "position",
          "failures", "first_failed_at", "next_attempt_at", "created_at", "updated_at")


def _now() -> datetime:
    return datetime.now(UTC)


class FakeWebhookRepository(FakeRepository):
    def __init__(self) -> None:
        self.rows: dict[str, Row] = {}
        self.log: list[Row] = []
        self.redeliveries: list[tuple[str, int]] = []

    def _public(self, webhook_id: str) -> Row:
        return {k: self.rows[webhook_id][k] for k in PUBLIC}

    async def add(self, webhook_id: str, subscriber_id: str, url: str, wards: list[str] | None,
                  event_types: list[str] | None, secret_sealed: bytes, position: int) -> Row:
        now = _now()
        self.rows[webhook_id] = {
            "webhook_id": webhook_id, "subscriber_id": subscriber_id, "url": url, "wards": wards,
            "event_types": event_types, "secret_sealed": secret_sealed, "status": "active", "paused_reason": None,
            "position": position, "failures": 0, "first_failed_at": None, "next_attempt_at": now,
            "created_at": now, "updated_at": now}
        return self._public(webhook_id)

    async def get(self, webhook_id: str) -> Row | None:
        return self._public(webhook_id) if webhook_id in self.rows else None

    async def page(self, subscriber_id: str, page: PageRequest) -> list[Row]:
        rows = [self._public(w) for w, r in self.rows.items() if r["subscriber_id"] == subscriber_id]
        return page_of(rows, WEBHOOKS, PageRequest(page.limit + 1, page.cursor),
                       key=lambda r: (r["created_at"], r["webhook_id"]))["items"]

    async def set_status(self, webhook_id: str, status: str, reason: str | None) -> Row:
        row = self.rows[webhook_id]
        row.update(status=status, paused_reason=reason, updated_at=_now())
        if status == "active":
            row.update(failures=0, first_failed_at=None, next_attempt_at=_now())
        return self._public(webhook_id)

    async def set_secret(self, webhook_id: str, secret_sealed: bytes, *, previous_until: datetime) -> None:
        row = self.rows[webhook_id]
        row.update(previous_secret_sealed=row["secret_sealed"], previous_secret_until=previous_until,
                   secret_sealed=secret_sealed, updated_at=_now())

    async def deliveries(self, webhook_id: str, page: PageRequest) -> list[Row]:
        rows = [dict(r) for r in self.log if r["webhook_id"] == webhook_id]
        return page_of(rows, DELIVERIES, PageRequest(page.limit + 1, page.cursor),
                       key=lambda r: (r["attempted_at"], r["delivery_id"]))["items"]

    async def delivery(self, webhook_id: str, delivery_id: str) -> Row | None:
        return next((dict(r) for r in self.log if r["webhook_id"] == webhook_id and r["delivery_id"] == delivery_id),
                    None)

    async def request_redelivery(self, webhook_id: str, seq: int) -> None:
        self.redeliveries.append((webhook_id, seq))

    async def log_attempt(self, attempt: Row) -> None:
        self.log.append(dict(attempt))

    async def failed(self, webhook_id: str, failures: int, first_failed_at: datetime, retry_at: datetime) -> None:
        self.rows[webhook_id].update(failures=failures, first_failed_at=first_failed_at, next_attempt_at=retry_at)


class FakeFeedWebhooksUnitOfWork(FakeFeedUnitOfWork):
    def __init__(self, webhook_secrets: Sealer) -> None:
        super().__init__()
        self.webhooks = FakeWebhookRepository()
        self.webhook_secrets = webhook_secrets
