"""The mediation service's unit of work: its repositories on the transaction's connection."""

from __future__ import annotations

import asyncpg

from services.mediation.repository import CaseRepository, ResidentRepository, TeamRepository
from shared.application import PgUnitOfWork


class MediationUnitOfWork(PgUnitOfWork):
    cases: CaseRepository
    teams: TeamRepository
    residents: ResidentRepository

    def bind(self, conn: asyncpg.Connection) -> None:
        self.cases = CaseRepository(conn)
        self.teams = TeamRepository(conn)
        self.residents = ResidentRepository(conn)
