"""Composition root of the feed service: settings -> runtime, application (handlers on its unit of work), the
consumer of every public event, the LISTEN connection that wakes waiting readers, routes -> FastAPI app."""

from __future__ import annotations

from fastapi import FastAPI

from services.feed import (
    api,
    api_contract,
    api_events,
    api_webhooks,
    consumers,
    handlers,
    handlers_webhooks,
    signing,
)
from services.feed.delivery import DeliveryWorker
from services.feed.notify import FeedNotifier
from services.feed.uow import FeedUnitOfWork
from shared.application import Application, PgContext
from shared.events import Event
from shared.http import create_app
from shared.runtime import ServiceRuntime
from shared.settings import ServiceSettings

#: The feed publishes no events of its own (only the head of its audit chain, as every service).
PUBLISHES: list[type[Event]] = []


def build(settings: ServiceSettings) -> FastAPI:
    runtime = ServiceRuntime(
        settings,
        publishes=PUBLISHES,
        description="The public feed: this platform's public events (no personal data) for other wards, pulled as "
                    "CloudEvents batches, streamed as Server-Sent Events or pushed by webhook, to subscribers "
                    "authenticated by API key or OAuth client credentials.",
    )
    webhook_secrets = signing.sealer(settings)
    application = runtime.application = Application(
        runtime.service,
        lambda conn=None, *, read_only=False: FeedUnitOfWork(PgContext.from_runtime(runtime), conn,
                                                             read_only=read_only, webhook_secrets=webhook_secrets),
        {**handlers.HANDLERS, **handlers_webhooks.HANDLERS},
    )
    runtime.consume(application.on_events(consumers.HANDLERS))
    notifier = FeedNotifier(settings.database_url)
    runtime.background("listen", notifier.run)
    worker = DeliveryWorker(settings, lambda: runtime.pool, notifier, secrets=webhook_secrets)
    runtime.background("webhooks", worker.run)  # in every replica: webhooks are leased one at a time
    app = create_app(runtime, [api.router, api_events.router, api_webhooks.router, api_contract.router],
                     title="feed")
    app.state.feed_notifier = notifier
    return app
