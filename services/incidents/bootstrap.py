"""Composition root of the incidents service: settings -> runtime, application (handlers, unit of work), event
handlers, jobs, routes -> FastAPI app."""

from __future__ import annotations

from fastapi import FastAPI

from services.incidents import (
    api,
    api_assisted,
    api_evidence,
    api_intake,
    api_messages,
    api_open311,
    api_places,
    api_police,
    api_public,
    consumers,
    handlers,
    handlers_assisted,
    handlers_evidence,
    handlers_intake,
    handlers_messages,
    handlers_places,
)
from services.incidents.uow import IncidentsUnitOfWork
from shared.application import Application, PgContext
from shared.contracts.incidents import (
    IncidentAssigned,
    IncidentClosed,
    IncidentDeadlineExtended,
    IncidentOverdue,
    IncidentReferredToMediation,
    IncidentReopened,
    IncidentReported,
    IncidentResolved,
    IncidentReturnedToPolice,
    IncidentsMerged,
    IncidentSupported,
    IncidentTriaged,
    PublicIncidentReported,
    PublicIncidentResolved,
    TipAnswered,
    TipQuestionAsked,
    WarningRecorded,
)
from shared.http import create_app
from shared.runtime import ServiceRuntime
from shared.settings import ServiceSettings

PUBLISHES = [
    IncidentReported, IncidentTriaged, IncidentAssigned, IncidentDeadlineExtended, IncidentOverdue,
    IncidentReferredToMediation, IncidentResolved, IncidentReturnedToPolice, IncidentClosed, IncidentReopened,
    WarningRecorded, PublicIncidentReported, PublicIncidentResolved,
    IncidentSupported, IncidentsMerged,
    TipQuestionAsked, TipAnswered,
]

OVERDUE_CHECK_INTERVAL_S = 3600


def build(settings: ServiceSettings) -> FastAPI:
    runtime = ServiceRuntime(
        settings, publishes=PUBLISHES,
        description="Incident reports and crime tips (tin báo, tố giác tội phạm): intake with reporter protection, "
                    "lifecycle, deadlines, referral to mediation, police warnings and the monthly briefing.",
    )
    runtime.application = Application(
        "incidents",
        lambda conn=None, *, read_only=False: IncidentsUnitOfWork(PgContext.from_runtime(runtime), conn,
                                                                  read_only=read_only, pii=runtime.pii),
        {**handlers.HANDLERS, **handlers_places.HANDLERS, **handlers_evidence.HANDLERS,
         **handlers_assisted.HANDLERS, **handlers_intake.HANDLERS, **handlers_messages.HANDLERS},
    )
    runtime.consume(runtime.application.on_events(consumers.HANDLERS))
    runtime.every("flag-overdue-tips", OVERDUE_CHECK_INTERVAL_S,
                  runtime.application.job("flag-overdue-tips", handlers.flag_overdue_tips))
    # api_places first: its /v1/incidents/map and /nearby would otherwise be taken for an incident's id.
    return create_app(runtime, [api_places.router, api.router, api_police.router, api_public.router,
                                api_evidence.router, api_assisted.router, api_open311.router, api_intake.router,
                                api_messages.router], title="incidents")
