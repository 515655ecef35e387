"""The feed service's repositories in memory: the same methods and results as services/feed/repository.py
(tests/feed/test_handlers.py runs one suite over both, so these cannot drift from the SQL)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

from services.feed.domain import Filter
from services.feed.repository import SUBSCRIBERS_BY_CREATION
from shared.application import FakeRepository, FakeUnitOfWork
from shared.errors import Conflict
from shared.events import CE_SOURCE_PREFIX, PublicEvent
from shared.paging import PageRequest, page_of

Row = dict[str, Any]
_SEQ = itertools.count(1)


def _now() -> datetime:
    return datetime.now(UTC)


class FakeFeedEventRepository(FakeRepository):
    def __init__(self) -> None:
        self.rows: list[Row] = []

    async def append(self, event: PublicEvent) -> bool:
        if any(r["event_id"] == event.id for r in self.rows):
            return False
        self.rows.append({"seq": next(_SEQ), "event_id": event.id, "ward_id": event.ward_id,
                          "event_type": event.event_type, "subject": event.subject,
                          "source": f"{CE_SOURCE_PREFIX}{event.source_service}", "time": event.occurred_at,
                          "data": event.model_dump(mode="json")})
        return True

    async def after(self, seq: int, limit: int, where: Filter) -> list[Row]:
        return [dict(r) for r in self.rows if r["seq"] > seq and where.admits(r)][:limit]

    async def get(self, event_id: str) -> Row | None:
        return next((dict(r) for r in self.rows if str(r["event_id"]) == event_id), None)

    async def last_seq(self) -> int:
        return max((r["seq"] for r in self.rows), default=0)


class FakeSubscriberRepository(FakeRepository):
    def __init__(self) -> None:
        self.rows: dict[str, Row] = {}

    async def add(self, row: Row) -> None:
        if row["oauth_client_id"] is not None and any(
                r["oauth_client_id"] == row["oauth_client_id"] for r in self.rows.values()):
            raise Conflict("another subscriber already has this oauth_client_id")
        self.rows[row["subscriber_id"]] = {
            **{k: row[k] for k in ("subscriber_id", "name", "wards", "event_types", "oauth_client_id",
                                   "created_by")},
            "status": "active", "created_at": _now(), "disabled_at": None, "last_used_at": None, "use_count": 0}

    async def get(self, subscriber_id: str) -> Row | None:
        row = self.rows.get(subscriber_id)
        return None if row is None else dict(row)

    async def by_client(self, oauth_client_id: str) -> Row | None:
        return next((dict(r) for r in self.rows.values() if r["oauth_client_id"] == oauth_client_id), None)

    async def page(self, ward_id: str | None, page: PageRequest) -> list[Row]:
        rows = [dict(r) for r in self.rows.values() if ward_id is None or set(r["wards"]) <= {ward_id}]
        shown = page_of(rows, SUBSCRIBERS_BY_CREATION, PageRequest(page.limit + 1, page.cursor),
                        key=lambda r: (r["created_at"], r["subscriber_id"]))
        return shown["items"]

    async def disable(self, subscriber_id: str) -> None:
        row = self.rows[subscriber_id]
        row["status"], row["disabled_at"] = "disabled", row["disabled_at"] or _now()

    async def count_use(self, subscriber_id: str) -> None:
        row = self.rows[subscriber_id]
        row["use_count"], row["last_used_at"] = row["use_count"] + 1, _now()


class FakeApiKeyRepository(FakeRepository):
    def __init__(self) -> None:
        self.rows: dict[str, Row] = {}

    async def add(self, key_id: str, subscriber_id: str, key_hash: bytes, created_by: str) -> Row:
        self.rows[key_id] = {"key_id": key_id, "subscriber_id": subscriber_id, "key_hash": key_hash,
                             "created_by": created_by, "created_at": _now(), "revoked_at": None,
                             "last_used_at": None, "use_count": 0}
        return {"key_id": key_id, "created_at": self.rows[key_id]["created_at"]}

    async def get(self, key_id: str) -> Row | None:
        row = self.rows.get(key_id)
        return None if row is None else dict(row)

    async def of(self, subscriber_id: str) -> list[Row]:
        rows = sorted((r for r in self.rows.values() if r["subscriber_id"] == subscriber_id),
                      key=lambda r: (r["created_at"], r["key_id"]))
        return [{k: r[k] for k in ("key_id", "created_at", "revoked_at", "last_used_at", "use_count")} for r in rows]

    async def revoke(self, key_id: str) -> None:
        row = self.rows[key_id]
        row["revoked_at"] = row["revoked_at"] or _now()

    async def count_use(self, key_id: str) -> None:
        row = self.rows[key_id]
        row["use_count"], row["last_used_at"] = row["use_count"] + 1, _now()


class FakeFeedUnitOfWork(FakeUnitOfWork):
    def __init__(self) -> None:
        super().__init__()
        self.feed = FakeFeedEventRepository()
        self.subscribers = FakeSubscriberRepository()
        self.keys = FakeApiKeyRepository()
