"""The feed service's unit of work on PostgreSQL: its repositories on the transaction's connection."""

from __future__ import annotations

import asyncpg

from services.feed.repository import ApiKeyRepository, FeedEventRepository, SubscriberRepository
from services.feed.repository_webhooks import WebhookRepository
from shared.application import PgContext, PgUnitOfWork
from shared.idempotency import Sealer


class FeedUnitOfWork(PgUnitOfWork):
    feed: FeedEventRepository
    subscribers: SubscriberRepository
    keys: ApiKeyRepository
    webhooks: WebhookRepository

    def __init__(self, ctx: PgContext, conn: asyncpg.Connection | None = None, *, read_only: bool = False,
                 webhook_secrets: Sealer | None = None) -> None:
        super().__init__(ctx, conn, read_only=read_only)
        self.webhook_secrets = webhook_secrets  # seals webhook signing secrets (services/feed/signing.py)

    def bind(self, conn: asyncpg.Connection) -> None:
        self.feed = FeedEventRepository(conn)
        self.subscribers = SubscriberRepository(conn)
        self.keys = ApiKeyRepository(conn)
        self.webhooks = WebhookRepository(conn)
