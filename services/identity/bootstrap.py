"""Composition root of the identity service: settings -> runtime, application (handlers on its unit of work, with
the sealer of second-factor secrets), the token issuer, routes -> FastAPI app."""

from __future__ import annotations

from fastapi import FastAPI

from services.identity import api, consumers, credentials, handlers
from services.identity.tokens import Issuer
from services.identity.uow import IdentityUnitOfWork
from shared.application import Application, PgContext
from shared.contracts.identity import AccountChanged
from shared.events import Event
from shared.http import create_app
from shared.idempotency import Sealer
from shared.runtime import ServiceRuntime
from shared.settings import ServiceSettings

#: The identity service publishes one event, ``AccountChanged`` (ids and roles, for the notify service), and the head
#: of its audit chain, as every service. No event carries a username or a name; sign-ins and role changes are
#: in its audit trail.
PUBLISHES: list[type[Event]] = [AccountChanged]  # ids and roles only (issue 17: the notify service's people)


def totp_sealer(settings: ServiceSettings) -> Sealer:
    return Sealer(settings.service_name, settings.identity_key.get_secret_value(),
                  [k.get_secret_value() for k in settings.identity_retired_keys], purpose=credentials.TOTP_PURPOSE)


def build(settings: ServiceSettings) -> FastAPI:
    runtime = ServiceRuntime(
        settings,
        publishes=PUBLISHES,
        description="Identity: the accounts people sign in with (bound to a ward, roles, argon2id passwords, a "
                    "second factor for officials and police), and the tokens the services verify (EdDSA JWTs, "
                    "JWKS, rotating refresh tokens).",
    )
    sealer = totp_sealer(settings)
    runtime.application = Application(
        runtime.service,
        lambda conn=None, *, read_only=False: IdentityUnitOfWork(PgContext.from_runtime(runtime), conn,
                                                                 read_only=read_only, totp_sealer=sealer),
        handlers.HANDLERS,
    )
    runtime.consume(runtime.application.on_events(consumers.HANDLERS))  # none: no consumer group is joined
    app = create_app(runtime, [api.router, api.sessions, api.discovery], title="identity")
    app.state.issuer = Issuer(settings)
    return app
