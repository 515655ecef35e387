"""Composition root of the mediation service: settings -> runtime, handlers, jobs, routes -> FastAPI app."""

from __future__ import annotations

from fastapi import FastAPI

from services.mediation import api, consumers
from shared.contracts.mediation import (
    AgreementFollowedUp,
    CaseFailed,
    CaseOpened,
    CaseRefused,
    CaseSucceeded,
    CaseWithdrawn,
    MediatorAssigned,
    PublicCaseSucceeded,
    SessionHeld,
)
from shared.http import create_app
from shared.runtime import ServiceRuntime
from shared.settings import ServiceSettings

PUBLISHES = [CaseOpened, CaseRefused, MediatorAssigned, SessionHeld, CaseSucceeded, CaseFailed, CaseWithdrawn,
             AgreementFollowedUp, PublicCaseSucceeded]


def build(settings: ServiceSettings) -> FastAPI:
    runtime = ServiceRuntime(
        settings, publishes=PUBLISHES,
        description="Grassroots mediation (hòa giải ở cơ sở): cases, mediators, sessions, outcomes, record book.",
    )
    runtime.consume(consumers.HANDLERS)
    return create_app(runtime, [api.router], title="mediation")
