"""The feed service's unit of work on PostgreSQL: its repositories on the transaction's connection."""

from __future__ import annotations

import asyncpg

from services.feed.repository import ApiKeyRepository, FeedEventRepository, SubscriberRepository
from shared.application import PgUnitOfWork


class FeedUnitOfWork(PgUnitOfWork):
    feed: FeedEventRepository
    subscribers: SubscriberRepository
    keys: ApiKeyRepository

    def bind(self, conn: asyncpg.Connection) -> None:
        self.feed = FeedEventRepository(conn)
        self.subscribers = SubscriberRepository(conn)
        self.keys = ApiKeyRepository(conn)
