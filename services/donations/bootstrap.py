"""Composition root of the donations service: settings -> runtime, handlers, jobs, routes -> FastAPI app."""

from __future__ import annotations

from fastapi import FastAPI

from services.donations import api, consumers, jobs
from shared.contracts.donations import (
    CampaignClosed,
    CampaignOpened,
    CampaignTargetReached,
    ContributionRecorded,
    ContributionReversed,
    ExpenseRecorded,
    PledgeInstalmentOverdue,
    PledgeMade,
    PublicCampaignOpened,
    PublicCampaignTargetReached,
)
from shared.http import create_app
from shared.runtime import ServiceRuntime
from shared.settings import ServiceSettings

PUBLISHES = [CampaignOpened, CampaignTargetReached, CampaignClosed, ContributionRecorded, ContributionReversed,
             PledgeMade, PledgeInstalmentOverdue, ExpenseRecorded, PublicCampaignOpened, PublicCampaignTargetReached]


def build(settings: ServiceSettings) -> FastAPI:
    runtime = ServiceRuntime(
        settings,
        publishes=PUBLISHES,
        description="The donations service (vận động ủng hộ): campaigns, an append-only ledger, pledges, "
                    "expenses and the public transparency report.",
    )
    runtime.consume(consumers.HANDLERS)
    runtime.every("flag-overdue-instalments", 3600, jobs.flag_overdue_instalments)
    return create_app(runtime, [api.router], title="donations")
