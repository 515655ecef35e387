"""The unit of work of incidents: its repositories on one transaction, and the personal-data protector its
handlers encrypt reporters' and warned persons' identities with (and derive reporters' pseudonyms)."""

from __future__ import annotations

import asyncpg

from services.incidents.repository import IncidentRepository, ProjectionRepository, WarningRepository
from services.incidents.repository_briefing import BriefingRepository
from shared.application import PgContext, PgUnitOfWork
from shared.crypto import PersonalDataProtector


class IncidentsUnitOfWork(PgUnitOfWork):
    incidents: IncidentRepository
    warnings: WarningRepository
    projections: ProjectionRepository
    briefings: BriefingRepository

    def __init__(self, ctx: PgContext, conn: asyncpg.Connection | None = None, *, read_only: bool = False,
                 pii: PersonalDataProtector) -> None:
        super().__init__(ctx, conn, read_only=read_only)
        self.pii = pii

    def bind(self, conn: asyncpg.Connection) -> None:
        self.incidents = IncidentRepository(conn)
        self.warnings = WarningRepository(conn)
        self.projections = ProjectionRepository(conn)
        self.briefings = BriefingRepository(conn)
        self.places = PlaceRepository(conn)  # places (issue 18)
        # Evidence files (issue 18).
        from services.incidents.repository import EvidenceRepository

        self.evidence = EvidenceRepository(conn)
        # Reports in by SMS and Zalo, two-way anonymous messages (issue 17).
        from services.incidents.repository import IntakeRepository, TipMessageRepository

        self.intake = IntakeRepository(conn)
        self.tip_messages = TipMessageRepository(conn)
        # Assisted intake and Open311 (issue 17).
        from services.incidents.repository import AssistedRepository, Open311Repository

        self.assisted = AssistedRepository(conn)
        self.open311 = Open311Repository(conn)


from services.incidents.repository import PlaceRepository  # noqa: E402 - appended with the places (issue 18)

