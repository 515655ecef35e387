"""Composition root of the incidents service: settings -> runtime, handlers, jobs, routes -> FastAPI app."""

from __future__ import annotations

from fastapi import FastAPI

from services.incidents import api, api_police, consumers, jobs
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
    IncidentTriaged,
    PublicIncidentReported,
    PublicIncidentResolved,
    WarningRecorded,
)
from shared.http import create_app
from shared.runtime import ServiceRuntime
from shared.settings import ServiceSettings

PUBLISHES = [
    IncidentReported, IncidentTriaged, IncidentAssigned, IncidentDeadlineExtended, IncidentOverdue,
    IncidentReferredToMediation, IncidentResolved, IncidentReturnedToPolice, IncidentClosed, IncidentReopened,
    WarningRecorded, PublicIncidentReported, PublicIncidentResolved,
]

OVERDUE_CHECK_INTERVAL_S = 3600


def build(settings: ServiceSettings) -> FastAPI:
    runtime = ServiceRuntime(
        settings, publishes=PUBLISHES,
        description="Incident reports and crime tips (tin báo, tố giác tội phạm): intake with reporter protection, "
                    "lifecycle, deadlines, referral to mediation, police warnings and the monthly briefing.",
    )
    runtime.consume(consumers.HANDLERS)
    runtime.every("flag-overdue-tips", OVERDUE_CHECK_INTERVAL_S, jobs.flag_overdue_tips)
    return create_app(runtime, [api.router, api_police.router], title="incidents")
