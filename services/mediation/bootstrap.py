"""Composition root of the mediation service: settings -> runtime, application (handlers and unit of work),
event handlers, routes -> FastAPI app."""

from __future__ import annotations

from fastapi import FastAPI

from services.mediation import api, consumers, handlers
from services.mediation.uow import MediationUnitOfWork
from shared.application import Application, PgContext
from shared.contracts.mediation import (
    AgreementFollowedUp,
    CaseFailed,
    CaseOpened,
    CaseRefused,
    CaseSucceeded,
    CaseWithdrawn,
    MediatorAssigned,
    PublicCaseClosed,
    PublicCaseSucceeded,
    SessionHeld,
)
from shared.http import create_app
from shared.runtime import ServiceRuntime
from shared.settings import ServiceSettings

PUBLISHES = [CaseOpened, CaseRefused, MediatorAssigned, SessionHeld, CaseSucceeded, CaseFailed, CaseWithdrawn,
             AgreementFollowedUp, PublicCaseSucceeded, PublicCaseClosed]


def build(settings: ServiceSettings) -> FastAPI:
    runtime = ServiceRuntime(
        settings, publishes=PUBLISHES,
        description="Grassroots mediation (hòa giải ở cơ sở): cases, mediators, sessions, outcomes, record book.",
    )
    runtime.application = Application(
        "mediation",
        lambda conn=None, *, read_only=False: MediationUnitOfWork(PgContext.from_runtime(runtime), conn,
                                                                  read_only=read_only),
        handlers.HANDLERS,
    )
    runtime.consume(runtime.application.on_events(consumers.HANDLERS))
    return create_app(runtime, [api.router], title="mediation")
