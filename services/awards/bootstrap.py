"""Composition root of the awards service: settings -> runtime, application (handlers on its unit of work),
event handlers, jobs, routes -> FastAPI app."""

from __future__ import annotations

from fastapi import FastAPI

from services.awards import api, api_festival, api_public, consumers, handlers, jobs
from services.awards.uow import AwardsUnitOfWork
from shared.application import Application, PgContext
from shared.contracts.awards import (
    AchievementRecorded,
    AwardGranted,
    AwardRevoked,
    CertificateIssued,
    CriterionAdded,
    IssuerConfigured,
    NominationApproved,
    NominationProposed,
    NominationRejected,
    NominationReviewed,
    PublicAwardGranted,
    PublicAwardRevoked,
)
from shared.http import create_app
from shared.runtime import ServiceRuntime
from shared.settings import ServiceSettings

PUBLISHES = [AchievementRecorded, IssuerConfigured, CriterionAdded, NominationProposed, NominationReviewed,
             NominationApproved, NominationRejected, AwardGranted, AwardRevoked, CertificateIssued, PublicAwardGranted,
             PublicAwardRevoked]


def build(settings: ServiceSettings) -> FastAPI:
    runtime = ServiceRuntime(
        settings,
        publishes=PUBLISHES,
        description="The awards service (thi đua, khen thưởng): achievements from every service's events, criteria, "
                    "nominations and their approval, certificates of merit (Giấy khen), the festival's list.",
    )
    application = runtime.application = Application(
        runtime.service,
        lambda conn=None, *, read_only=False: AwardsUnitOfWork(PgContext.from_runtime(runtime), conn,
                                                               read_only=read_only),
        handlers.HANDLERS,
    )
    runtime.consume(application.on_events(consumers.HANDLERS))
    runtime.every("evaluate-criteria", 24 * 3600, application.job("evaluate-criteria", jobs.evaluate_criteria))
    return create_app(runtime, [api_festival.router, api.router, api_public.router], title="awards")
