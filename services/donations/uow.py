"""The donations unit of work on PostgreSQL: one transaction, the service's repositories on its connection."""

from __future__ import annotations

import asyncpg

from services.donations.repository import (
    CampaignRepository,
    ExpenseRepository,
    HouseholdRepository,
    LedgerRepository,
    PledgeRepository,
    TeamRepository,
)
from shared.application import PgUnitOfWork


class DonationsUnitOfWork(PgUnitOfWork):
    teams: TeamRepository
    households: HouseholdRepository
    campaigns: CampaignRepository
    ledger: LedgerRepository
    pledges: PledgeRepository
    expenses: ExpenseRepository

    def bind(self, conn: asyncpg.Connection) -> None:
        self.teams = TeamRepository(conn)
        self.households = HouseholdRepository(conn)
        self.campaigns = CampaignRepository(conn)
        self.ledger = LedgerRepository(conn)
        self.pledges = PledgeRepository(conn)
        self.expenses = ExpenseRepository(conn)
