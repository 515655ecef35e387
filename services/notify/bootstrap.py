"""Composition root of the notify service: settings -> runtime, application (handlers on its unit of work), the
consumers of the facts someone must act on and of the projections, the scheduled scan (deadlines near,
residences expiring), the channel adapters that send verification codes, routes -> FastAPI app.

The delivery worker (services/notify/delivery.py) runs in every replica as a background task of the runtime, with
the same channel adapters, once at least one channel is configured (with none, deliveries wait as planned).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from services.notify import api, consumers, handlers
from services.notify.delivery import DeliveryWorker
from services.notify.handlers import NotifyConfig
from services.notify.uow import NotifyUnitOfWork
from shared import channels
from shared.application import Application, PgContext
from shared.events import Event
from shared.http import create_app
from shared.idempotency import Sealer
from shared.runtime import ServiceRuntime
from shared.settings import ServiceSettings

#: The notify service publishes no events of its own (only the head of its audit chain, as every service).
PUBLISHES: list[type[Event]] = []
CONTACT_PURPOSE = "contact"


def contact_sealer(settings: ServiceSettings) -> Sealer:
    return Sealer(settings.service_name, settings.notify_key.get_secret_value(),
                  [k.get_secret_value() for k in settings.notify_retired_keys], purpose=CONTACT_PURPOSE)


def config_of(settings: ServiceSettings, clock: Any = None) -> NotifyConfig:
    return NotifyConfig(console_url=settings.notify_console_url, timezone=settings.notify_timezone,
                        tip_warn_days=settings.notify_tip_deadline_warn_days,
                        residence_warn_days=settings.notify_residence_warn_days, sealer=contact_sealer(settings),
                        now=clock)


def channel_adapters(settings: ServiceSettings) -> tuple[dict[str, Any], Any]:
    """The configured channels' adapters (shared/channels.py) and the message type they send."""
    return dict(channels.channels_from(settings)), channels.Outgoing


def build(settings: ServiceSettings, *, clock: Any = None) -> FastAPI:
    """The app; ``clock`` (() -> aware datetime) replaces the wall clock for planning and delivery (tests)."""
    runtime = ServiceRuntime(
        settings,
        publishes=PUBLISHES,
        description="Notifications: works out who must act on the other services' facts (the officer on a tip, the "
                    "mediation team leader, the treasurer, the resident concerned), tells each once in an in-app "
                    "inbox and by their verified channels (email, SMS, Zalo) with quiet hours and a daily digest.",
    )
    config = config_of(settings, clock)
    application = runtime.application = Application(
        runtime.service,
        lambda conn=None, *, read_only=False: NotifyUnitOfWork(PgContext.from_runtime(runtime), conn,
                                                               read_only=read_only, config=config),
        handlers.HANDLERS,
    )
    runtime.consume(application.on_events(consumers.HANDLERS))
    runtime.every("scan", settings.notify_scan_interval_s, application.job("notify.scan", handlers.scan))
    app = create_app(runtime, [api.router, api.contacts_router], title="notify")
    app.state.notify_config = config
    app.state.notify_senders, app.state.notify_outgoing = channel_adapters(settings)
    worker = app.state.delivery_worker = DeliveryWorker.from_settings(
        settings, lambda: runtime.pool, app.state.notify_senders, config.sealer, clock=config.clock)
    if app.state.notify_senders:
        runtime.background("deliveries", worker.run)
    return app
