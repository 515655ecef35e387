"""Composition root of the awards service: settings -> runtime, handlers, jobs, routes -> FastAPI app."""

from __future__ import annotations

from fastapi import FastAPI

from services.awards import api, api_festival, api_public, consumers, jobs
from shared.contracts.awards import (
    AchievementRecorded,
    AwardGranted,
    AwardRevoked,
    CertificateIssued,
    NominationApproved,
    NominationProposed,
    NominationRejected,
    NominationReviewed,
)
from shared.http import create_app
from shared.runtime import ServiceRuntime
from shared.settings import ServiceSettings

PUBLISHES = [AchievementRecorded, NominationProposed, NominationReviewed, NominationApproved, NominationRejected,
             AwardGranted, AwardRevoked, CertificateIssued]


def build(settings: ServiceSettings) -> FastAPI:
    runtime = ServiceRuntime(
        settings,
        publishes=PUBLISHES,
        description="The awards service (thi đua, khen thưởng): achievements from every service's events, criteria, "
                    "nominations and their approval, certificates of merit (Giấy khen), the festival's list.",
    )
    runtime.consume(consumers.HANDLERS)
    runtime.every("evaluate-criteria", 24 * 3600, jobs.evaluate_criteria)
    return create_app(runtime, [api_festival.router, api.router, api_public.router], title="awards")
