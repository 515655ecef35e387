"""The awards service's unit of work on PostgreSQL: its repositories on the transaction's connection."""

from __future__ import annotations

import asyncpg

from services.awards.repository import (
    AchievementRepository,
    AwardRepository,
    CriterionRepository,
    DirectoryRepository,
    IssuerRepository,
    NominationRepository,
)
from shared.application import PgUnitOfWork


class AwardsUnitOfWork(PgUnitOfWork):
    directory: DirectoryRepository
    achievements: AchievementRepository
    issuers: IssuerRepository
    criteria: CriterionRepository
    nominations: NominationRepository
    awards: AwardRepository

    def bind(self, conn: asyncpg.Connection) -> None:
        self.directory = DirectoryRepository(conn)
        self.achievements = AchievementRepository(conn)
        self.issuers = IssuerRepository(conn)
        self.criteria = CriterionRepository(conn)
        self.nominations = NominationRepository(conn)
        self.awards = AwardRepository(conn)
