"""Composition root of the donations service: settings -> runtime, the application (handlers on its unit of
work), the projections of the registry's events, the scheduled check, routes -> FastAPI app."""

from __future__ import annotations

from fastapi import FastAPI

from services.donations import api, api_public, consumers, handlers
from services.donations.uow import DonationsUnitOfWork
from shared.application import Application, PgContext
from shared.contracts.donations import (
    CampaignClosed,
    CampaignOpened,
    CampaignTargetReached,
    CampaignTeamCredited,
    ContributionRecorded,
    ContributionReversed,
    ExpenseProposed,
    ExpenseRecorded,
    PledgeInstalmentOverdue,
    PledgeMade,
    PublicCampaignClosed,
    PublicCampaignOpened,
    PublicCampaignTargetReached,
    PublicExpenseRecorded,
)
from shared.http import create_app
from shared.runtime import ServiceRuntime
from shared.settings import ServiceSettings

PUBLISHES = [CampaignOpened, CampaignTargetReached, CampaignTeamCredited, CampaignClosed, ContributionRecorded,
             ContributionReversed, PledgeMade, PledgeInstalmentOverdue, ExpenseRecorded, PublicCampaignOpened,
             PublicCampaignTargetReached, PublicCampaignClosed, PublicExpenseRecorded, ExpenseProposed]


def build(settings: ServiceSettings) -> FastAPI:
    runtime = ServiceRuntime(
        settings,
        publishes=PUBLISHES,
        description="The donations service (vận động ủng hộ): campaigns, an append-only ledger, pledges, "
                    "expenses and the public transparency report.",
    )
    runtime.application = Application(
        "donations",
        lambda conn=None, *, read_only=False: DonationsUnitOfWork(PgContext.from_runtime(runtime), conn,
                                                                  read_only=read_only),
        handlers.HANDLERS)
    runtime.consume(runtime.application.on_events(consumers.HANDLERS))
    runtime.every("flag-overdue-instalments", 3600,
                  runtime.application.job("flag-overdue-instalments", handlers.flag_overdue_instalments))
    return create_app(runtime, [api.router, api_public.router], title="donations")
